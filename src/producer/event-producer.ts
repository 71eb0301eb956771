/**
 * EventProducer: what a service uses to publish APIEvents and WorkflowEvents to Kafka.
 *
 * Batching. kafkajs has no linger or batch size of its own, so events are queued and sent
 * as arrays of messages with `sendBatch`: a partial batch waits `lingerMs`, a full batch
 * (`maxBatchSize`) goes at once, one batch at a time (MAX_BATCHES_IN_FLIGHT, below).
 * Nobody awaits a round trip per event.
 *
 * Failure policy (also in docs/producer.md):
 * - Bad events are refused at the door: `publish` rejects EVENT_INVALID, nothing is queued.
 * - The queue is bounded (`maxQueueSize` events accepted but not yet acknowledged). When it
 *   is full, `publish` rejects QUEUE_FULL at once: the caller learns and decides, so an audit
 *   event is never dropped silently and memory stays bounded while Kafka is slow or down.
 * - Every accepted event is acknowledged by Kafka (idempotent producer, acks=all) or fails
 *   with PUBLISH_FAILED once `deliveryTimeoutMs` has passed since it was accepted, whether
 *   it was still queued (brokers unreachable: we keep reconnecting until then) or in flight.
 *   PUBLISH_FAILED means "not confirmed": a batch that timed out may still land later, so a
 *   caller that republishes can create a duplicate, never a loss (at-least-once).
 * - `emit` is `publish` without the promise: a failure goes to `onError`, or is logged at
 *   error level; it is never silent.
 * - `flush` and `close` deliver (or fail) everything accepted before them, so they end within
 *   `deliveryTimeoutMs` even with every broker gone. `close` then waits for kafkajs' own
 *   in-flight sends before disconnecting (kafkajs' `disconnect` does not), but at most
 *   `closeTimeoutMs`: after a broker loss a kafkajs request can outlive the events it carried.
 * - Every kafkajs producer the sender created is disconnected, including one whose connect
 *   failed (kafkajs keeps the sockets it opened before the failure). Found on three brokers
 *   with a partition leader killed: `simulate` printed its PUBLISH_FAILED summary, then sat
 *   for minutes on the open sockets of such a producer.
 *
 * Batches go through an `IdempotentSender` (kafka/idempotent-producer.ts), whose rules were
 * each an acknowledged event lost without them: one batch in flight per kafkajs producer;
 * after a failed or partly answered batch a fresh kafkajs producer (a new producer id); the
 * answer checked for every partition. Events without an answer, while within their delivery
 * deadline, go back to the front of the queue and are sent again; one that had landed without
 * an answer is then delivered twice: at-least-once, never a loss. The other partitions of a
 * partly answered batch are acknowledged, so one partition without a leader does not hold up
 * the rest.
 */
import { CompressionTypes, type TopicMessages } from 'kafkajs';
import { defaultSchemaRegistry, type SchemaRegistry } from '../codec/schema-registry.js';
import { InsightLogsError, describeError } from '../errors.js';
import { buildApiEvent, buildWorkflowEvent, type ApiEventInput, type WorkflowEventInput } from '../events/builders.js';
import type { InsightEvent } from '../events/types.js';
import { createKafka, kafkaSettingsFromEnv, type KafkaSettings } from '../kafka/client.js';
import { clusterAnsweredDuring, IdempotentSender, PartialAnswerError, wasAnswered } from '../kafka/idempotent-producer.js';
import { scrubSecrets, silentLogger, type Logger } from '../logging.js';
import { sleep } from '../util/time.js';
import { ProducerMetrics } from '../metrics/producer-metrics.js';
import { toKafkaMessage } from './kafka-message.js';
import { resolveLimits, type EventProducerOptions, type ResolvedLimits } from './options.js';

export type { EventProducerOptions } from './options.js';

/**
 * One: the sender sends one batch at a time anyway (kafka/idempotent-producer.ts, rule 1), and
 * a batch sent again after a failure must go out before anything accepted after it. What
 * queues meanwhile goes out as the next, larger batch.
 */
const MAX_BATCHES_IN_FLIGHT = 1;
/** Cluster-level retries (connect, metadata): fail fast, the producer itself keeps reconnecting. */
const CLUSTER_RETRY = { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 };
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

export interface ProducerStats {
  /** Accepted, waiting to be sent. */
  queued: number;
  /** Handed to kafkajs, not yet acknowledged. */
  inFlight: number;
  published: number;
  failed: number;
}

interface Pending {
  topic: string;
  message: TopicMessages['messages'][number];
  event: InsightEvent;
  deadline: number;
  settled: boolean;
  /** Called once: acknowledged (no error) or failed. A callback, not a promise: `emit` needs none. */
  done(error?: InsightLogsError): void;
  /** `flush()` calls waiting for this event. */
  waiters?: (() => void)[];
}

/** kafkajs retries for one batch, summing to about the delivery timeout so a batch never retries forever. */
function sendRetry(deliveryTimeoutMs: number): { retries: number; initialRetryTime: number; maxRetryTime: number } {
  const initialRetryTime = 100;
  const maxRetryTime = Math.max(initialRetryTime, Math.min(2000, Math.floor(deliveryTimeoutMs / 4)));
  let total = 0;
  let wait = initialRetryTime;
  let retries = 0;
  while (total < deliveryTimeoutMs && retries < 100) {
    total += Math.min(wait, maxRetryTime);
    wait *= 2;
    retries++;
  }
  return { retries, initialRetryTime, maxRetryTime };
}

/** Whether kafkajs' failure is worth sending again (connection lost, leader moved, broker busy). */
function retriable(err: unknown): boolean {
  const e = err as { name?: string; retriable?: boolean; cause?: { retriable?: boolean } };
  return e.name === 'KafkaJSNumberOfRetriesExceeded' ? e.cause?.retriable === true : e.retriable === true;
}

export class EventProducer {
  private readonly settings: KafkaSettings;
  private readonly logger: Logger;
  private readonly limits: ResolvedLimits;
  private readonly registry: SchemaRegistry;
  private readonly onError: EventProducerOptions['onError'];
  /** Our one idempotent kafkajs producer at a time (a fresh one after a failure). */
  private readonly sender: IdempotentSender;
  /** Published and failed events and what is pending, for the service's /metrics (see producer-metrics.ts). */
  readonly metrics: ProducerMetrics;
  private readonly untrackMetrics: () => void;

  private readonly queue: Pending[] = [];
  private readonly inFlightBatches = new Set<Pending[]>();
  private inFlightEvents = 0;
  private published = 0;
  private failed = 0;

  /** Whether the sender's current kafkajs producer is connected (not after a failed batch: it takes a fresh one). */
  private connected = false;
  private connecting: Promise<void> | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: EventProducerOptions = {}) {
    this.limits = resolveLimits(options);
    this.settings = options.kafka ?? kafkaSettingsFromEnv();
    this.logger = (options.logger ?? silentLogger).child({ component: 'producer' });
    this.registry = options.registry ?? defaultSchemaRegistry();
    this.onError = options.onError;
    this.sender = new IdempotentSender(createKafka(this.settings, this.logger, { retry: CLUSTER_RETRY }), { retry: sendRetry(this.limits.deliveryTimeoutMs) });
    this.metrics = options.metrics ?? new ProducerMetrics();
    this.untrackMetrics = this.metrics.track(() => this.queue.length + this.inFlightEvents);
  }

  /**
   * Connects now (otherwise the first publish does). Rejects KAFKA_UNAVAILABLE when no broker
   * answers; while the cluster answers but one of its listed brokers does not, keeps trying
   * (at most `deliveryTimeoutMs`).
   */
  async connect(): Promise<void> {
    if (this.closing) throw this.closedError();
    // A cluster that answers but lists a dead broker (not yet fenced) fails an attempt that the
    // next one may pass: keep trying then, within the delivery timeout; fail at once otherwise.
    const giveUpAt = Date.now() + this.limits.deliveryTimeoutMs;
    for (let delay = RECONNECT_MIN_MS; ; delay = Math.min(RECONNECT_MAX_MS, delay * 2)) {
      try {
        await this.sender.connect();
        this.connected = true;
        return;
      } catch (err) {
        if (this.closing || !retriable(err) || !clusterAnsweredDuring(err) || Date.now() + delay > giveUpAt) throw this.unavailable(err);
        this.logger.warn(`connect: the cluster answers but a broker it lists does not; trying again in ${delay} ms: ${scrubSecrets(describeError(err))}`);
        await sleep(delay);
      }
    }
  }

  /** Resolves when Kafka acknowledged the event (acks=all). Rejects EVENT_INVALID, QUEUE_FULL, PUBLISH_FAILED or PRODUCER_CLOSED. */
  publish(event: InsightEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const refused = this.accept(event, (error) => (error ? reject(error) : resolve()));
      if (refused) reject(refused);
    });
  }

  /** Fire and forget: never throws, never blocks; a failure goes to `onError` or the error log. */
  emit(event: InsightEvent): void {
    const refused = this.accept(event, (error) => { if (error) this.emitFailed(error, event); });
    if (refused) this.emitFailed(refused, event);
  }

  /**
   * Queues an event, to be settled through `done`; or returns why it was refused at the door
   * (`done` is then never called). The one path of `publish` and `emit`.
   */
  private accept(event: InsightEvent, done: Pending['done']): InsightLogsError | undefined {
    const refuse = (error: InsightLogsError): InsightLogsError => {
      this.metrics.failed.inc({ code: error.code });
      return error;
    };
    if (this.closing) return refuse(this.closedError());
    let outgoing;
    try {
      outgoing = toKafkaMessage(event, this.registry, this.limits.topics);
    } catch (err) {
      return refuse(err instanceof InsightLogsError ? err : new InsightLogsError('EVENT_INVALID', describeError(err), { cause: err }));
    }
    if (this.queue.length + this.inFlightEvents >= this.limits.maxQueueSize) {
      return refuse(new InsightLogsError('QUEUE_FULL',
        `${this.limits.maxQueueSize} events are waiting for Kafka (slow or unreachable); retry later, or raise maxQueueSize`, { retryable: true }));
    }
    this.queue.push({ topic: outgoing.topic, message: outgoing.message, event, deadline: Date.now() + this.limits.deliveryTimeoutMs, settled: false, done });
    this.schedule();
    return undefined;
  }

  private emitFailed(error: InsightLogsError, event: InsightEvent): void {
    if (this.onError) {
      try {
        this.onError(error, event);
        return;
      } catch (hookError) {
        this.logger.error({ code: 'PUBLISH_FAILED' }, `onError threw: ${scrubSecrets(describeError(hookError))}`);
      }
    }
    this.logger.error({ code: error.code, operationName: event?.operationName }, scrubSecrets(`event not published: ${error.message}`));
  }

  /** Builds (status → resultType, level …) and publishes an APIEvent. */
  async publishApi(input: ApiEventInput): Promise<void> {
    return this.publish(this.build(() => buildApiEvent(input)));
  }

  /** Builds (operationName from type, phase and stage) and publishes a WorkflowEvent. */
  async publishWorkflow(input: WorkflowEventInput): Promise<void> {
    return this.publish(this.build(() => buildWorkflowEvent(input)));
  }

  /** Resolves when everything accepted so far is acknowledged or failed. Never rejects. */
  async flush(): Promise<void> {
    const waiting: Promise<void>[] = [];
    for (const p of [...this.queue, ...[...this.inFlightBatches].flat()]) {
      if (!p.settled) waiting.push(new Promise<void>((resolve) => { (p.waiters ??= []).push(resolve); }));
    }
    this.dispatch();
    await Promise.all(waiting);
  }

  /** Flushes, waits for kafkajs' in-flight sends, then disconnects. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  stats(): ProducerStats {
    return { queued: this.queue.length, inFlight: this.inFlightEvents, published: this.published, failed: this.failed };
  }

  private build(make: () => InsightEvent): InsightEvent {
    try {
      return make();
    } catch (err) {
      if (err instanceof InsightLogsError) throw err;
      throw new InsightLogsError('EVENT_INVALID', describeError(err), { cause: err });
    }
  }

  private async shutdown(): Promise<void> {
    // Bounded: every accepted event settles by its delivery deadline (the sweeper).
    await this.flush();
    clearTimeout(this.lingerTimer);
    clearTimeout(this.reconnectTimer);
    this.stopSweeper();
    await this.sender.close(Date.now() + this.limits.closeTimeoutMs, (what) => {
      this.logger.warn(`close: gave up waiting for ${what} after closeTimeoutMs (${this.limits.closeTimeoutMs} ms)`);
    });
    this.untrackMetrics();
  }

  private closedError(): InsightLogsError {
    return new InsightLogsError('PRODUCER_CLOSED', 'the producer is closed; create a new EventProducer to publish again');
  }

  private unavailable(err: unknown): InsightLogsError {
    return new InsightLogsError('KAFKA_UNAVAILABLE',
      `cannot reach Kafka at ${this.settings.brokers.join(',')}: ${scrubSecrets(describeError(err))}; check KAFKA_BROKERS and that the brokers are up`,
      { cause: err, retryable: true });
  }

  private schedule(): void {
    this.startSweeper();
    if (this.queue.length >= this.limits.maxBatchSize) this.dispatch();
    else this.lingerTimer ??= setTimeout(() => { this.lingerTimer = undefined; this.dispatch(); }, this.limits.lingerMs);
  }

  /** Sends as many batches as the in-flight limit allows, connecting first if needed. */
  private dispatch(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (this.queue.length === 0 || this.reconnectTimer || this.connecting) return;
    if (!this.connected) {
      this.connecting = this.sender.connect().then(
        () => { this.connected = true; this.reconnectDelay = RECONNECT_MIN_MS; },
        (err: unknown) => this.retryConnectLater(err),
      ).finally(() => {
        this.connecting = undefined;
        if (this.connected) this.dispatch();
      });
      return;
    }
    while (this.queue.length > 0 && this.inFlightBatches.size < MAX_BATCHES_IN_FLIGHT) {
      void this.send(this.queue.splice(0, this.limits.maxBatchSize));
    }
  }

  private retryConnectLater(err: unknown): void {
    if (this.reconnectTimer || this.queue.length === 0) return;
    this.logger.warn(`Kafka unreachable, retrying in ${this.reconnectDelay} ms: ${scrubSecrets(describeError(err))}`);
    this.reconnectTimer = setTimeout(() => { this.reconnectTimer = undefined; this.dispatch(); }, this.reconnectDelay);
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
  }

  private async send(batch: Pending[]): Promise<void> {
    this.inFlightBatches.add(batch);
    this.inFlightEvents += batch.length;
    const byTopic = new Map<string, TopicMessages['messages']>();
    for (const p of batch) {
      const list = byTopic.get(p.topic);
      if (list) list.push(p.message);
      else byTopic.set(p.topic, [p.message]);
    }
    /** The events of the batch without an acknowledgement (all of them when the send threw). */
    let failed = batch;
    try {
      await this.sender.send({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        acks: -1,
        compression: this.limits.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      });
      for (const p of batch) this.settle(p);
    } catch (err) {
      // The sender takes a fresh kafkajs producer after a failure: connect it before the next batch.
      this.connected = false;
      if (err instanceof PartialAnswerError) failed = batch.filter((p) => !wasAnswered(err.answered, p.topic, p.message));
      const unacknowledged = new Set(failed);
      for (const p of batch) if (!unacknowledged.has(p)) this.settle(p);
      const now = Date.now();
      const again = new Set(retriable(err) ? failed.filter((p) => !p.settled && p.deadline > now) : []);
      const error = new InsightLogsError('PUBLISH_FAILED', `Kafka did not acknowledge the event: ${scrubSecrets(describeError(err))}`, { cause: err, retryable: true });
      for (const p of failed) if (!again.has(p)) this.settle(p, error);
      if (again.size > 0) {
        // First in the queue again, so it stays ahead of what was accepted after it; sent
        // after a backoff through a fresh producer (the sweeper still fails it at its deadline).
        this.queue.unshift(...again);
        // Batches fail in any order: keep acceptance order, which the sweeper relies on.
        this.queue.sort((a, b) => a.deadline - b.deadline);
        this.retryConnectLater(err);
      }
    } finally {
      this.inFlightBatches.delete(batch);
      this.inFlightEvents -= batch.length;
      if (this.queue.length > 0) this.dispatch();
      else this.stopSweeperWhenIdle();
    }
  }

  private settle(p: Pending, error?: InsightLogsError): void {
    if (p.settled) return;
    p.settled = true;
    if (error) {
      this.failed++;
      this.metrics.failed.inc({ code: error.code });
      p.done(error);
    } else {
      this.published++;
      this.metrics.published.inc({ topic: p.topic });
      p.done();
    }
    if (p.waiters) for (const wake of p.waiters) wake();
  }

  /** Fails events whose delivery timeout passed, queued or in flight. */
  private sweep(): void {
    const now = Date.now();
    const expired = (): InsightLogsError => new InsightLogsError('PUBLISH_FAILED',
      `not acknowledged by Kafka within deliveryTimeoutMs (${this.limits.deliveryTimeoutMs} ms): brokers at ${this.settings.brokers.join(',')} unreachable or too slow`,
      { retryable: true });
    // The queue is in acceptance order, so deadlines only grow along it.
    let n = 0;
    while (n < this.queue.length && this.queue[n]!.deadline <= now) n++;
    if (n > 0) {
      const error = expired();
      for (const p of this.queue.splice(0, n)) this.settle(p, error);
    }
    for (const batch of this.inFlightBatches) {
      if (batch[0]!.deadline > now) continue;
      const error = expired();
      for (const p of batch) if (p.deadline <= now) this.settle(p, error);
    }
    this.stopSweeperWhenIdle();
  }

  private startSweeper(): void {
    const every = Math.min(1000, Math.max(10, Math.floor(this.limits.deliveryTimeoutMs / 10)));
    this.sweepTimer ??= setInterval(() => this.sweep(), every);
  }

  private stopSweeperWhenIdle(): void {
    if (this.queue.length === 0 && this.inFlightBatches.size === 0) this.stopSweeper();
  }

  private stopSweeper(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}
