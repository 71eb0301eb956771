/**
 * One destination's pipeline: its own consumer group (`insight-logs-forwarder.<name>`) on the
 * topics of its categories, delivering every record at least once. An offset is committed
 * only when every record up to it is delivered or dead-lettered; transient trouble is waited
 * out (with heartbeats) and the same chunk is sent again; a rebalance or a stop abandons the
 * chunk without committing, so Kafka delivers it again.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { SchemaRegistry } from '../codec/schema-registry.js';
import type { DestinationConfig } from '../config/destinations.js';
import { describeError, type ErrorCode } from '../errors.js';
import { categoryName } from '../events/routing.js';
import type { Logger } from '../logging.js';
import type { ForwarderMetrics } from '../metrics/metrics.js';
import { backoffDelay, type RetryOptions } from '../sinks/retry.js';
import type { OffsetCommit, SendOutcome, Sink, SinkRecord } from '../sinks/sink.js';
import { chunkRecords, type ChunkLimits } from './chunking.js';
import { isReplayForAnother, type DeadLetter, type DeadLetterWriter } from './dead-letter.js';
import { decodeMessage } from './decode.js';
import type { GroupSession } from './group-session.js';
import { OffsetTracker } from './offset-tracker.js';
import { settlesWithin, sleep } from '../util/time.js';

export const GROUP_PREFIX = 'insight-logs-forwarder.';
export const groupIdFor = (destination: string): string => `${GROUP_PREFIX}${destination}`;

export type PipelineState = 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed';

export interface PipelineStats {
  name: string;
  state: PipelineState;
  joined: boolean;
  recordsIn: number;
  delivered: number;
  deadLettered: number;
  retries: number;
  crashes: number;
  /** `topic/partition` → next offset to consume, as committed by this process. */
  committed: Record<string, string>;
  lastError?: string;
}

export interface PipelineOptions {
  config: DestinationConfig;
  sink: Sink;
  kafka: Kafka;
  /** Source topic of each category of this destination. */
  topics: { audit: string; operational: string };
  deadLetter: DeadLetterWriter;
  schemas: SchemaRegistry;
  metrics: ForwarderMetrics;
  logger: Logger;
  chunkLimits: ChunkLimits;
  retry: RetryOptions;
  /** A new group starts at the oldest retained record (default) or only takes new ones. */
  fromBeginning: boolean;
  /** Called when kafkajs gives up on the consumer (it will not restart by itself). */
  onFatalCrash: (error: Error) => void;
  /** Session timeout and heartbeat of the consumer group (how fast a dead member's partitions move). */
  groupSession: GroupSession;
  /** Partitions whose batches are handled at the same time (each one's records still in order). */
  partitionConcurrency: number;
  /**
   * A partition's delivered offsets are committed at most this often while a fetched batch is
   * being delivered (0 = after every chunk); always at the end of the batch and when it stops early.
   */
  commitIntervalMs: number;
}

type Delivery = 'done' | 'abandoned';

/** Signals that the batch must be left uncommitted (stopping or rebalanced). */
class Abandoned extends Error {}

export class DestinationPipeline {
  readonly name: string;
  private readonly consumer: Consumer;
  private tracker = new OffsetTracker();
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private stats: PipelineStats;
  private readonly removeListeners: (() => void)[] = [];
  /** Set by stop(): finish the chunk being sent, start no other. */
  private stopping = false;
  /** Batches being handled (one per partition at most), for stop() to wait on. */
  private readonly inflight = new Set<Promise<unknown>>();
  /** When each `topic/partition` was last committed by this process (ms), for `commitIntervalMs`. */
  private readonly lastCommitAt = new Map<string, number>();

  constructor(private readonly options: PipelineOptions) {
    this.name = options.config.name;
    this.log = options.logger;
    this.stats = { name: this.name, state: 'starting', joined: false, recordsIn: 0, delivered: 0, deadLettered: 0, retries: 0, crashes: 0, committed: {} };
    this.consumer = options.kafka.consumer({
      groupId: groupIdFor(this.name),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
      // Bounded fetches keep a chunk's memory and a stop's wait small.
      maxBytesPerPartition: 4 * 1024 * 1024,
      sessionTimeout: options.groupSession.sessionTimeoutMs,
      heartbeatInterval: options.groupSession.heartbeatIntervalMs,
    });
    const { events } = this.consumer;
    this.removeListeners.push(
      this.consumer.on(events.GROUP_JOIN, () => {
        // A new generation: kafkajs restarts every assigned partition at its committed
        // offset, so in-flight bookkeeping from before is void.
        this.tracker = new OffsetTracker();
        this.stats.joined = true;
        if (this.stats.state === 'starting') this.stats.state = 'running';
      }),
      this.consumer.on(events.REBALANCING, () => { this.stats.joined = false; }),
      this.consumer.on(events.CRASH, ({ payload }) => {
        this.stats.crashes++;
        this.stats.joined = false;
        this.stats.lastError = describeError(payload.error);
        this.log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
        if (!payload.restart && this.stats.state !== 'stopping' && this.stats.state !== 'stopped') {
          this.stats.state = 'crashed';
          options.onFatalCrash(payload.error);
        }
      }),
    );
  }

  get topics(): string[] {
    return this.options.config.categories.map((c) => this.options.topics[c]);
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: this.options.fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Each partition's batches stay in order (kafkajs hands a partition to one handler at a
      // time); several partitions are delivered at once so a sink round trip does not idle the rest.
      partitionsConsumedConcurrently: this.options.partitionConcurrency,
      eachBatch: (payload) => {
        const handled = this.handleBatch(payload);
        const settled = handled.catch(() => undefined);
        this.inflight.add(settled);
        void settled.then(() => this.inflight.delete(settled));
        return handled;
      },
    });
    this.log.info({ topics: this.topics, groupId: groupIdFor(this.name) }, 'pipeline started');
  }

  /**
   * Stops fetching, lets the in-flight chunk finish (up to `timeoutMs`; then it is aborted and
   * not committed), commits what was delivered, closes the sink.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.stats.state === 'stopped') return;
    this.stats.state = 'stopping';
    this.stopping = true;
    try {
      // kafkajs ignores commits once its own stop() has begun, so first stop fetching, let
      // the running chunk finish and commit, and only then stop the consumer.
      try {
        this.consumer.pause(this.topics.map((topic) => ({ topic })));
      } catch {
        // not running yet: nothing in flight
      }
      const inflight = Promise.all([...this.inflight]);
      if (!(await settlesWithin(inflight, timeoutMs))) {
        this.log.warn({ timeoutMs }, 'in-flight chunk did not finish in time: abandoned uncommitted, it will be delivered again');
        this.abort.abort();
        if (!(await settlesWithin(inflight, 5000))) this.log.warn('in-flight chunk ignores the abort; stopping anyway');
      }
      await settlesWithin(this.consumer.stop().catch((err: unknown) => this.log.warn({ err }, 'consumer stop failed')), 10_000);
      await settlesWithin(this.consumer.disconnect().catch(() => undefined), 5000);
    } finally {
      for (const remove of this.removeListeners) remove();
      await this.options.sink.close().catch((err: unknown) => this.log.warn({ err }, 'sink close failed'));
      this.stats.state = 'stopped';
      this.stats.joined = false;
      this.log.info({ delivered: this.stats.delivered, deadLettered: this.stats.deadLettered }, 'pipeline stopped');
    }
  }

  snapshot(): PipelineStats {
    return { ...this.stats, committed: { ...this.stats.committed } };
  }

  /** Consumer group id, topics and committed offsets, for lag. */
  get groupId(): string {
    return groupIdFor(this.name);
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    if (batch.messages.length === 0) return;
    const tracker = this.tracker;
    tracker.track(topic, partition, batch.messages.map((m) => m.offset), batch.lastOffset());
    this.options.metrics.recordsIn.inc({ destination: this.name, topic }, batch.messages.length);
    this.stats.recordsIn += batch.messages.length;

    const good: SinkRecord[] = [];
    const bad: DeadLetter[] = [];
    const replaysForOthers: string[] = [];
    for (const message of batch.messages) {
      if (isReplayForAnother(message.headers, this.name)) {
        replaysForOthers.push(message.offset);
        continue;
      }
      const source = { topic, partition, offset: message.offset };
      const result = decodeMessage(this.options.schemas, message.value, source);
      if (!result.ok) bad.push(this.deadLetterOf(message, source, result.code, result.reason));
      // A record on a topic of ours whose own (recomputed) category this destination does not
      // take: the producer put it on the wrong topic. A destination taking only the other
      // category never reads this topic, so skipping it here would lose it (an audit event on
      // the operational topic): dead-letter it instead.
      else if (!this.options.config.categories.includes(categoryName(result.record.event.category))) {
        const category = result.record.event.category;
        bad.push(this.deadLetterOf(message, source, 'EVENT_INVALID',
          `a ${category} record arrived on topic ${topic}; destination ${this.name} takes only ${this.options.config.categories.join(', ')} and a destination taking ${category} does not read this topic`));
      }
      else good.push(result.record);
    }

    try {
      tracker.markDone(topic, partition, replaysForOthers);
      if (bad.length) {
        await this.deadLetterNow(bad, payload);
        tracker.markDone(topic, partition, bad.map((d) => d.source.offset));
      }
      await this.commitIfDue(tracker, topic, partition, payload);

      let complete = true;
      for (const chunk of chunkRecords(good, this.options.chunkLimits)) {
        if (!isRunning() || isStale() || this.stopping || (await this.deliver(tracker, chunk, payload)) === 'abandoned') {
          complete = false;
          break;
        }
        const last = chunk[chunk.length - 1]!;
        payload.resolveOffset(last.offset);
      }
      if (complete && isRunning() && !isStale() && !this.stopping) {
        payload.resolveOffset(batch.lastOffset());
        await this.commit(tracker, topic, partition, payload);
      } else {
        await this.commitOnTheWayOut(tracker, topic, partition, payload);
      }
    } catch (err) {
      if (err instanceof Abandoned) {
        await this.commitOnTheWayOut(tracker, topic, partition, payload);
        return;
      }
      throw err;
    }
  }

  /**
   * A batch left early (stopping, aborted, rebalanced): what was delivered before is still
   * committed unless the partition may have moved (stale), so a stop redelivers nothing that
   * was delivered. A failure here only means more redelivery later.
   */
  private async commitOnTheWayOut(tracker: OffsetTracker, topic: string, partition: number, payload: EachBatchPayload): Promise<void> {
    try {
      await this.commit(tracker, topic, partition, payload);
    } catch (err) {
      this.log.warn({ err, topic, partition }, 'commit of delivered records failed while leaving a batch; they will be delivered again');
    }
  }

  /**
   * Sends one chunk until it is delivered or refused for good (then dead-lettered), waiting
   * `backoffDelay` between resends with no deadline; 'abandoned' when the pipeline stops or
   * the partition is lost meanwhile (nothing of the chunk is committed then). Commits after.
   */
  private async deliver(tracker: OffsetTracker, chunk: SinkRecord[], payload: EachBatchPayload): Promise<Delivery> {
    const { topic, partition } = payload.batch;
    const offsets = chunk.map((r) => r.offset);
    const sink = this.options.sink;
    for (let attempt = 1; ; attempt++) {
      if (!payload.isRunning() || payload.isStale() || this.abort.signal.aborted) return 'abandoned';
      let outcome: SendOutcome;
      let committedInside: OffsetCommit | undefined;
      const keepAlive = setInterval(() => { payload.heartbeat().catch(() => undefined); }, 3000);
      try {
        if (sink.sendAndCommit) {
          const candidate = tracker.committableIf(topic, partition, offsets);
          const commits: OffsetCommit[] = candidate ? [{ groupId: this.groupId, ...candidate }] : [];
          outcome = await sink.sendAndCommit(chunk, commits, { abortSignal: this.abort.signal });
          committedInside = candidate ? { groupId: this.groupId, ...candidate } : undefined;
        } else {
          outcome = await sink.send(chunk, { abortSignal: this.abort.signal });
        }
      } catch (err) {
        // send() should not throw; if it does, nothing is known to be stored: try again.
        outcome = { status: 'retryable', error: err instanceof Error ? err : new Error(String(err)) };
      } finally {
        clearInterval(keepAlive);
      }

      if (outcome.status === 'retryable') {
        if (this.abort.signal.aborted || this.stopping) return 'abandoned';
        this.stats.retries++;
        this.options.metrics.retries.inc({ destination: this.name });
        const delay = backoffDelay(attempt, this.options.retry, outcome.retryAfterMs);
        this.stats.lastError = describeError(outcome.error);
        this.log.warn({ err: outcome.error, attempt, delayMs: delay, records: chunk.length }, 'destination busy or unreachable; will retry the same chunk');
        if (!(await this.waitWithHeartbeats(delay, payload))) return 'abandoned';
        continue;
      }

      const rejected: DeadLetter[] = [];
      if (outcome.status === 'failed') {
        this.log.error({ err: outcome.error, code: outcome.code, records: chunk.length }, 'destination refused the chunk for good; dead-lettering it');
        for (const r of chunk) rejected.push(this.deadLetterOfRecord(r, payload, outcome.code, describeError(outcome.error)));
      } else {
        for (const r of outcome.rejected ?? []) rejected.push(this.deadLetterOfRecord(r.record, payload, r.code, r.reason));
        if (outcome.truncatedValues) this.options.metrics.truncatedValues.inc({ destination: this.name }, outcome.truncatedValues);
      }
      if (rejected.length) await this.deadLetterNow(rejected, payload);
      const deliveredCount = chunk.length - rejected.length;
      if (deliveredCount > 0) {
        const rejectedOffsets = new Set(rejected.map((d) => d.source.offset));
        const bytes = chunk.reduce((n, r) => (rejectedOffsets.has(r.offset) ? n : n + Buffer.byteLength(r.json)), 0);
        this.stats.delivered += deliveredCount;
        this.options.metrics.recordsOut.inc({ destination: this.name }, deliveredCount);
        this.options.metrics.bytesOut.inc({ destination: this.name }, bytes);
        this.options.metrics.batches.inc({ destination: this.name });
        this.options.metrics.lastSuccess.set({ destination: this.name }, Date.now() / 1000);
      }
      tracker.markDone(topic, partition, offsets);
      if (committedInside) {
        tracker.markCommitted(topic, partition, committedInside.offset);
        this.noteCommitted(committedInside.topic, committedInside.partition, committedInside.offset, payload.batch.highWatermark);
      }
      await this.commitIfDue(tracker, topic, partition, payload);
      return 'done';
    }
  }

  /** Sleeps in slices, heartbeating; false when the batch must be abandoned. */
  private async waitWithHeartbeats(ms: number, payload: EachBatchPayload): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!payload.isRunning() || payload.isStale() || this.abort.signal.aborted || this.stopping) return false;
      await sleep(Math.min(1000, until - Date.now()), this.abort.signal);
      if (this.abort.signal.aborted) return false;
      await payload.heartbeat().catch(() => undefined);
    }
    return payload.isRunning() && !payload.isStale() && !this.abort.signal.aborted;
  }

  /** Writes to the dead-letter topic, retrying until acknowledged (or the batch is abandoned). */
  private async deadLetterNow(entries: DeadLetter[], payload: EachBatchPayload): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.deadLetter.write(entries);
        break;
      } catch (err) {
        this.log.warn({ err, attempt, records: entries.length }, 'dead-letter write failed; retrying before any commit');
        if (!(await this.waitWithHeartbeats(backoffDelay(attempt, this.options.retry), payload))) throw new Abandoned();
      }
    }
    this.stats.deadLettered += entries.length;
    const byCode = new Map<ErrorCode, number>();
    for (const e of entries) byCode.set(e.code, (byCode.get(e.code) ?? 0) + 1);
    for (const [code, n] of byCode) this.options.metrics.deadLettered.inc({ destination: this.name, code }, n);
    this.log.warn({ records: entries.length, codes: [...byCode.keys()] }, 'records dead-lettered');
  }

  /** Commits within a batch only when the partition's last commit is `commitIntervalMs` old: one round trip saved per chunk. */
  private async commitIfDue(tracker: OffsetTracker, topic: string, partition: number, payload: EachBatchPayload): Promise<void> {
    const last = this.lastCommitAt.get(`${topic}/${partition}`);
    if (last !== undefined && Date.now() - last < this.options.commitIntervalMs) return;
    await this.commit(tracker, topic, partition, payload);
  }

  private async commit(tracker: OffsetTracker, topic: string, partition: number, payload: EachBatchPayload): Promise<void> {
    const candidate = tracker.committable(topic, partition);
    if (!candidate || payload.isStale()) return;
    await this.consumer.commitOffsets([candidate]);
    tracker.markCommitted(topic, partition, candidate.offset);
    this.lastCommitAt.set(`${topic}/${partition}`, Date.now());
    this.noteCommitted(topic, partition, candidate.offset, payload.batch.highWatermark);
  }

  private noteCommitted(topic: string, partition: number, offset: string, highWatermark?: string): void {
    this.stats.committed[`${topic}/${partition}`] = offset;
    if (highWatermark !== undefined) this.setLag(topic, partition, BigInt(highWatermark) - BigInt(offset));
  }

  setLag(topic: string, partition: number, lag: bigint): void {
    this.options.metrics.consumerLag.set({ destination: this.name, topic, partition: String(partition) }, Number(lag < 0n ? 0n : lag));
  }

  private deadLetterOf(message: KafkaMessage, source: DeadLetter['source'], code: ErrorCode, reason: string): DeadLetter {
    return { value: message.value, key: message.key, source, destination: this.name, code, reason };
  }

  private deadLetterOfRecord(record: SinkRecord, payload: EachBatchPayload, code: ErrorCode, reason: string): DeadLetter {
    const message = payload.batch.messages.find((m) => m.offset === record.offset);
    return {
      value: message?.value ?? Buffer.from(record.json),
      key: message?.key ?? Buffer.from(record.event.resourceId),
      source: { topic: record.topic, partition: record.partition, offset: record.offset },
      destination: this.name,
      code,
      reason,
    };
  }
}
