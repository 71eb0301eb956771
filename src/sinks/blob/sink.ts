/**
 * The `blob` destination: each record goes as one JSON line into the hourly append blob of
 * its resource (layout in ../layout/path.ts), container per category.
 *
 * Retries are safe: every append carries `appendPosition` = the length we believe the blob
 * has. When the service answers 412 (the blob is longer), our previous try may have landed
 * with its reply lost; the bytes at our position are compared with our block, and when they
 * match the block counts as delivered instead of being written twice.
 */
import { InsightLogsError, describeError } from '../../errors.js';
import { scrubSecrets, type Logger } from '../../logging.js';
import { KeyedQueue } from '../keyed-queue.js';
import { mapInWorkerPool } from '../worker-pool.js';
import { groupByFile, type FileGroup } from '../layout/lines.js';
import { continuationName } from '../layout/path.js';
import type { HealthResult, RejectedRecord, SendOptions, SendOutcome, Sink, SinkContext, SinkRecord, SinkType } from '../sink.js';
import { classifyBlobError } from './classify.js';
import { CONNECTION_STRING_ENV_FLAG, azureCredentials } from '../azure-auth.js';
import { BLOB_AUTH, STORAGE_AAD_AUDIENCE, parseBlobSettings, type BlobSinkSettings } from './config.js';
import { packBlocks } from './request-builder.js';
import { createBlobService, type AppendBlobState, type BlobService } from './service.js';

/** Blobs written at the same time; the lines of one blob always go in order. */
const GROUP_CONCURRENCY = 4;
const HEALTHCHECK_TIMEOUT_MS = 5_000;
/** Position conflicts, roll-overs and re-creations tolerated for one block before the batch is retried later. */
const MAX_STEPS_PER_BLOCK = 20;
/** Blob positions remembered; older hours are forgotten (and re-read with getProperties if written again). */
const MAX_CURSORS = 10_000;

/** Where the sink writes a blob next: which continuation part, and its length as far as we know. */
interface BlobCursor {
  part: number;
  state?: AppendBlobState;
}

export class BlobSink implements Sink {
  readonly type = 'blob';
  private readonly logger: Logger;
  private readonly containersReady = new Map<string, Promise<void>>();
  private readonly cursors = new Map<string, BlobCursor>();
  /**
   * Appends to one blob go one at a time even across concurrent sends (the forwarder sends
   * from several source partitions at once): each append is conditioned on the length the
   * cursor remembers, so two interleaved appends would race that bookkeeping.
   */
  private readonly appendsPerBlob = new KeyedQueue();
  /** Continuation blobs already warned about (bounded like the cursors): one warning per blob, not per append. */
  private readonly continuationsWarned = new Set<string>();
  private closed = false;

  constructor(
    private readonly settings: BlobSinkSettings,
    private readonly context: Pick<SinkContext, 'name' | 'categories' | 'logger'>,
    private readonly service: BlobService,
  ) {
    this.logger = context.logger.child({ component: 'blob-sink', destination: context.name });
  }

  async send(batch: readonly SinkRecord[], options: SendOptions = {}): Promise<SendOutcome> {
    if (this.closed) throw new Error('blob sink: send after close');
    const { groups, rejected } = groupByFile(batch);
    for (const r of rejected) this.logger.warn({ code: r.code, reason: r.reason }, 'record rejected: unsafe path part');
    try {
      const tooLarge = await mapInWorkerPool(groups, GROUP_CONCURRENCY, (group) => this.writeGroup(group, options.abortSignal));
      rejected.push(...tooLarge.flat());
    } catch (error) {
      return this.retryableOutcome(error);
    }
    return rejected.length > 0 ? { status: 'delivered', rejected } : { status: 'delivered' };
  }

  private retryableOutcome(error: unknown): SendOutcome {
    const failure = classifyBlobError(error);
    const reason = failure.kind === 'retryable' ? failure.reason : `storage kept refusing the append (${failure.kind})`;
    const retryAfterMs = failure.kind === 'retryable' ? failure.retryAfterMs : undefined;
    // Refused credentials: name the destination, what storage said (expired, wrong audience …) and what to fix.
    const refused = failure.kind === 'retryable' && failure.operator && /refused the credentials|no Azure AD token/.test(failure.reason);
    const fix = refused && this.settings.auth.kind === 'azureAd'
      ? `; to fix: check the Azure AD sign-in (DefaultAzureCredential: AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET, workload or managed identity): the token must be current, for audience ${STORAGE_AAD_AUDIENCE}, and its identity needs the Storage Blob Data Contributor role on the account or container`
      : '';
    const message = refused
      ? `destination '${this.context.name}': blob storage ${this.service.endpoint}: ${reason}: ${scrubSecrets(describeError(error))}${fix}`
      : `blob storage ${this.service.endpoint}: ${reason}`;
    if (failure.kind === 'retryable' && failure.operator) this.logger.error({ err: error }, `${message}; records are kept and retried until this is fixed`);
    else this.logger.warn({ err: error }, message);
    const wrapped = new InsightLogsError('SINK_UNAVAILABLE', scrubSecrets(message), { cause: error, retryable: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    return retryAfterMs !== undefined ? { status: 'retryable', error: wrapped, retryAfterMs } : { status: 'retryable', error: wrapped };
  }

  private async writeGroup(group: FileGroup, abortSignal?: AbortSignal): Promise<RejectedRecord[]> {
    const container = this.settings.containers[group.category];
    const { blocks, tooLarge } = packBlocks(group.records, this.settings.maxBlockBytes);
    await this.appendsPerBlob.run(`${container}/${group.blobName}`, async () => {
      for (const block of blocks) await this.appendSafely(container, group.blobName, block.body, abortSignal);
    });
    return tooLarge;
  }

  private ensureContainer(container: string, abortSignal?: AbortSignal): Promise<void> {
    let ready = this.containersReady.get(container);
    if (!ready) {
      ready = this.service.createContainerIfMissing(container, abortSignal);
      this.containersReady.set(container, ready);
      // A failed creation is not cached: the next attempt tries again.
      ready.catch(() => this.containersReady.delete(container));
    }
    return ready;
  }

  private cursorFor(container: string, baseName: string): BlobCursor {
    const key = `${container}/${baseName}`;
    let cursor = this.cursors.get(key);
    if (!cursor) {
      if (this.cursors.size >= MAX_CURSORS) this.cursors.delete(this.cursors.keys().next().value!);
      cursor = { part: 0 };
      this.cursors.set(key, cursor);
    }
    return cursor;
  }

  /** Appends one block exactly once to the blob (or its current continuation); throws on transient trouble. */
  private async appendSafely(container: string, baseName: string, body: Buffer, abortSignal?: AbortSignal): Promise<void> {
    const cursor = this.cursorFor(container, baseName);
    let lastError: unknown;
    for (let step = 0; step < MAX_STEPS_PER_BLOCK; step++) {
      await this.ensureContainer(container, abortSignal);
      const name = continuationName(baseName, cursor.part);
      if (!cursor.state) {
        await this.service.createAppendBlobIfMissing(container, name, abortSignal);
        cursor.state = await this.service.getAppendBlobState(container, name, abortSignal);
      }
      if (cursor.state.committedBlocks >= this.settings.maxBlocksPerBlob) {
        this.rollOver(cursor, container, name, `${cursor.state.committedBlocks} blocks`);
        continue;
      }
      const knownLength = cursor.state.length;
      try {
        cursor.state = await this.service.appendBlock(container, name, body, knownLength, abortSignal);
        return;
      } catch (error) {
        lastError = error;
        const failure = classifyBlobError(error);
        if (failure.kind === 'position-mismatch') {
          const now = await this.service.getAppendBlobState(container, name, abortSignal);
          cursor.state = now;
          if (await this.landedAt(container, name, knownLength, body, now, abortSignal)) {
            this.logger.debug({ container, blob: name, position: knownLength }, 'an earlier attempt of this block had landed; not writing it twice');
            return;
          }
          continue;
        }
        if (failure.kind === 'blob-full') {
          this.rollOver(cursor, container, name, failure.reason);
          continue;
        }
        if (failure.kind === 'missing') {
          if (failure.what === 'container') this.containersReady.delete(container);
          cursor.state = undefined;
          continue;
        }
        // Transport trouble: keep the known length, so a retry of a block that did land meets a 412 and is recognised.
        throw error;
      }
    }
    throw new InsightLogsError('SINK_UNAVAILABLE', `blob ${container}/${baseName}: gave up after ${MAX_STEPS_PER_BLOCK} conflicting appends`, { cause: lastError, retryable: true });
  }

  /** True when the blob holds exactly `body` at `position`: the only place an append conditioned on that position can land. */
  private async landedAt(container: string, name: string, position: number, body: Buffer, now: AppendBlobState, abortSignal?: AbortSignal): Promise<boolean> {
    if (now.length < position + body.length) return false;
    const bytes = await this.service.readRange(container, name, position, body.length, abortSignal);
    return bytes.equals(body);
  }

  /**
   * `PT1H-1.json`, `PT1H-2.json` … are this project's extension: Azure documents only
   * `PT1H.json`, and a reader that opens only that name misses every record in them. So a
   * roll-over is a warning, once per continuation blob (docs/sinks/blob.md, "Continuation blobs").
   */
  private rollOver(cursor: BlobCursor, container: string, name: string, why: string): void {
    cursor.part++;
    cursor.state = undefined;
    const next = continuationName(name, cursor.part);
    const key = `${container}/${next}`;
    if (this.continuationsWarned.has(key)) return;
    if (this.continuationsWarned.size >= MAX_CURSORS) this.continuationsWarned.delete(this.continuationsWarned.values().next().value!);
    this.continuationsWarned.add(key);
    this.logger.warn(
      { container, blob: name, continuation: next, why },
      `append blob is full (${why}); writing on in continuation blob ${next}, an insight-logs extension: tools that read only PT1H.json will not see these records`,
    );
  }

  async healthcheck(options: SendOptions = {}): Promise<HealthResult> {
    if (this.closed) return { ok: false, problem: 'the sink is closed' };
    const containers = this.context.categories.map((c) => this.settings.containers[c]);
    const problems: string[] = [];
    const missing: string[] = [];
    for (const container of containers) {
      const signals = [AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS), ...(options.abortSignal ? [options.abortSignal] : [])];
      try {
        if (!(await this.service.containerExists(container, AbortSignal.any(signals)))) missing.push(container);
      } catch (error) {
        const failure = classifyBlobError(error);
        const reason = signals[0]!.aborted ? `no answer within ${HEALTHCHECK_TIMEOUT_MS} ms` : failure.kind === 'retryable' ? failure.reason : failure.kind;
        problems.push(`cannot use ${this.service.endpoint} (${reason})`);
        break; // one answer about the account is enough
      }
    }
    if (problems.length > 0) return { ok: false, problem: problems.join('; ') };
    const detail = missing.length > 0 ? `; containers ${missing.join(', ')} will be created on first write` : '';
    return { ok: true, detail: `blob storage ${this.service.endpoint} answers${detail}` };
  }

  async close(): Promise<void> {
    // The SDK keeps no connections that need closing; forget state so a late send is a programmer error.
    this.closed = true;
    this.cursors.clear();
  }
}

export type { BlobSinkSettings } from './config.js';

export const blobSinkType: SinkType<BlobSinkSettings> = {
  type: 'blob',
  title: 'Azure Blob',
  description: "Azure Storage append blobs in Azure Monitor's layout",
  addFlags: [
    CONNECTION_STRING_ENV_FLAG,
    { flag: '--account-url <url>', key: 'accountUrl', help: 'account URL for Azure AD sign-in instead of a connection string' },
  ],
  parseSettings: parseBlobSettings,
  create(settings, context) {
    const path = `destinations[${context.name}]`;
    let service: BlobService;
    try {
      service = createBlobService(azureCredentials(settings.auth, context.env, path, BLOB_AUTH));
    } catch (error) {
      if (error instanceof InsightLogsError) throw error;
      throw new InsightLogsError('CONFIG_INVALID', `${path}.connectionStringEnv: the storage connection string could not be used: ${scrubSecrets((error as Error).message)}`, { cause: error });
    }
    return new BlobSink(settings, context, service);
  },
};
