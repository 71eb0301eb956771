/**
 * The in-memory destination: records land in a named in-process store. Makes the forwarder
 * testable without a remote, and can act flaky (`retryableTimes`) or slow (`delayMs`).
 */
import { InsightLogsError } from '../../errors.js';
import { sleep } from '../../util/time.js';
import type { RejectedRecord, SendOutcome, Sink, SinkContext, SinkRecord, SinkType } from '../sink.js';
import { parseMemorySettings, type MemorySettings } from './config.js';
import { memoryStore } from './store.js';

export class MemorySink implements Sink {
  readonly type = 'memory';
  private retryablesLeft: number;
  private closed = false;

  constructor(private readonly settings: MemorySettings, private readonly context: Pick<SinkContext, 'name'>) {
    this.retryablesLeft = settings.retryableTimes ?? 0;
  }

  get store() {
    return memoryStore(this.settings.store ?? this.context.name);
  }

  async send(batch: readonly SinkRecord[]): Promise<SendOutcome> {
    if (this.closed) throw new Error('memory sink: send after close');
    const store = this.store;
    store.sends++;
    if (this.settings.delayMs) await sleep(this.settings.delayMs);
    if (store.unavailable || this.retryablesLeft > 0) {
      if (!store.unavailable) this.retryablesLeft--;
      const error = new InsightLogsError('SINK_UNAVAILABLE', 'memory sink: simulated transient failure', { retryable: true });
      return this.settings.retryAfterMs !== undefined ? { status: 'retryable', error, retryAfterMs: this.settings.retryAfterMs } : { status: 'retryable', error };
    }
    const limit = this.settings.maxRecordBytes;
    const rejected: RejectedRecord[] = [];
    const accepted: SinkRecord[] = [];
    for (const record of batch) {
      if (limit !== undefined && Buffer.byteLength(record.json) > limit) {
        rejected.push({ record, code: 'RECORD_TOO_LARGE', reason: `record is ${Buffer.byteLength(record.json)} bytes, the limit is ${limit}` });
      } else accepted.push(record);
    }
    store.add(accepted);
    return rejected.length ? { status: 'delivered', rejected } : { status: 'delivered' };
  }

  async healthcheck() {
    if (this.closed) return { ok: false as const, problem: 'closed' };
    if (this.store.unavailable) return { ok: false as const, problem: 'memory store marked unavailable' };
    return { ok: true as const };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export const memorySinkType: SinkType<MemorySettings> = {
  type: 'memory',
  title: 'process memory (tests only)',
  description: 'records kept in this process, lost with it (tests only)',
  parseSettings: parseMemorySettings,
  create: (settings, context) => new MemorySink(settings, context),
};
