/**
 * The `dir` destination: the blob layout under a local folder, for demos and debugging.
 * Every file of a batch gets one append and an fsync before the batch counts as delivered.
 * File-system errors (read-only, not a folder, disk full) are retryable: a human can fix them
 * and nothing is lost meanwhile.
 */
import path from 'node:path';
import { InsightLogsError } from '../../errors.js';
import type { Logger } from '../../logging.js';
import { KeyedQueue } from '../keyed-queue.js';
import { mapInWorkerPool } from '../worker-pool.js';
import type { HealthResult, SendOutcome, Sink, SinkContext, SinkRecord, SinkType } from '../sink.js';
import { parseDirSettings, type DirSinkSettings } from './config.js';
import { buildFileAppends, type FileAppend } from './request-builder.js';
import { appendDurably, probeWritable } from './service.js';

const FILE_CONCURRENCY = 8;
/** Files whose tail was checked for a torn line in this process; older ones are forgotten. */
const MAX_CHECKED_FILES = 10_000;

/** Node errors that say the file system refused us; anything else is a programmer error. */
const FS_CODES = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOENT', 'ENOSPC', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EDQUOT', 'EBUSY', 'EAGAIN', 'ENAMETOOLONG', 'ELOOP']);

export class DirSink implements Sink {
  readonly type = 'dir';
  readonly root: string;
  private readonly logger: Logger;
  private readonly checkedFiles = new Set<string>();
  /** One append at a time per file, even across concurrent sends (several source partitions at once). */
  private readonly appendsPerFile = new KeyedQueue();
  private closed = false;

  constructor(settings: DirSinkSettings, context: Pick<SinkContext, 'name' | 'logger'>) {
    this.root = path.resolve(settings.path);
    this.logger = context.logger.child({ component: 'dir-sink', destination: context.name });
  }

  async send(batch: readonly SinkRecord[]): Promise<SendOutcome> {
    if (this.closed) throw new Error('dir sink: send after close');
    const { appends, rejected } = buildFileAppends(this.root, batch);
    for (const r of rejected) this.logger.warn({ code: r.code, reason: r.reason }, 'record rejected: unsafe path part');
    try {
      await mapInWorkerPool(appends, FILE_CONCURRENCY, (append) => this.appendToFile(append));
    } catch (failure) {
      const error = failure as NodeJS.ErrnoException;
      if (!FS_CODES.has(error?.code ?? '')) throw error;
      const message = `cannot write under ${this.root} (${error.code}: ${error.message})`;
      this.logger.warn({ code: error.code }, message);
      return { status: 'retryable', error: new InsightLogsError('SINK_UNAVAILABLE', message, { cause: error, retryable: true }) };
    }
    return rejected.length > 0 ? { status: 'delivered', rejected } : { status: 'delivered' };
  }

  private async appendToFile({ file, body }: FileAppend): Promise<void> {
    const { repairedTornLine } = await this.appendsPerFile.run(file, () => appendDurably(file, body, !this.checkedFiles.has(file)));
    if (repairedTornLine) this.logger.warn({ file }, 'file ended in a partial line (earlier crash); started the new lines on a fresh line');
    if (this.checkedFiles.size >= MAX_CHECKED_FILES) this.checkedFiles.clear();
    this.checkedFiles.add(file);
  }

  async healthcheck(): Promise<HealthResult> {
    if (this.closed) return { ok: false, problem: 'the sink is closed' };
    try {
      await probeWritable(this.root);
      return { ok: true, detail: `folder ${this.root} is writable` };
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      return { ok: false, problem: `folder ${this.root} is not writable (${e.code ?? 'error'}: ${e.message})` };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export type { DirSinkSettings } from './config.js';

export const dirSinkType: SinkType<DirSinkSettings> = {
  type: 'dir',
  title: 'a local folder',
  description: 'the blob layout under a local folder (demos, debugging)',
  addFlags: [{ flag: '--path <dir>', key: 'path', help: 'the folder to write to' }],
  parseSettings: parseDirSettings,
  create: (settings, context) => new DirSink(settings, context),
};
