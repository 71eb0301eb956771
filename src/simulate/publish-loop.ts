/**
 * The one publish loop of `insight-logs simulate` and `insight-logs demo`: a token bucket
 * paces a traffic generator to `rate` events per second; events are published concurrently
 * (the producer batches them) with a bounded number in flight; it stops at the duration, at
 * `maxEvents` or on abort, and then waits for every event already handed to the producer.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../errors.js';
import { kindOf, type InsightEvent } from '../events/types.js';
import { TokenBucket } from './token-bucket.js';

/** How often the loop takes tokens: small batches per tick instead of one timer per event. */
const TICK_MS = 50;

export interface PublishCounts {
  audit: number;
  operational: number;
  api: number;
  workflow: number;
  failed: number;
}

export interface PublishProgress extends PublishCounts {
  /** Events handed to the producer so far. */
  generated: number;
  /** Handed to the producer, not yet acknowledged or failed. */
  inFlight: number;
  elapsedMs: number;
}

export interface PublishResult extends PublishProgress {
  /** The first publish error, for the summary; undefined when none failed. */
  firstError?: string;
  /** True when `abortSignal` ended the loop before the duration. */
  aborted: boolean;
}

export interface PublishLoopOptions {
  producer: { publish(event: InsightEvent): Promise<unknown> };
  generator: { next(): InsightEvent };
  /** Events per second. */
  rate: number;
  durationMs: number;
  /** Stop after this many events (default: no limit). */
  maxEvents?: number;
  abortSignal?: AbortSignal;
  /** `onProgress` is called about this often (default 1 s). */
  progressEveryMs?: number;
  /** Awaited, so a progress step may read Kafka; publishing pauses meanwhile. */
  onProgress?(progress: PublishProgress): void | Promise<void>;
}

/** Events published (acknowledged by Kafka). */
export function publishedCount(counts: PublishCounts): number {
  return counts.audit + counts.operational;
}

/**
 * The in-flight bound for a rate, also the producer's `maxQueueSize`: room for about a second
 * of traffic while Kafka is slow, never unbounded. A bigger backlog only costs memory and GC
 * (at 250,000 pending events the generator itself slowed to a crawl).
 */
export function maxInFlightFor(rate: number): number {
  return Math.min(Math.max(2_000, rate), 20_000);
}

export async function publishTraffic(o: PublishLoopOptions): Promise<PublishResult> {
  const startedAt = Date.now();
  const maxEvents = o.maxEvents ?? Number.POSITIVE_INFINITY;
  const maxInFlight = maxInFlightFor(o.rate);
  const progressEveryMs = o.progressEveryMs ?? 1000;
  const counts: PublishCounts = { audit: 0, operational: 0, api: 0, workflow: 0, failed: 0 };
  const pending = new Set<Promise<void>>();
  let generated = 0;
  let firstError: string | undefined;
  const progress = (): PublishProgress => ({ ...counts, generated, inFlight: pending.size, elapsedMs: Date.now() - startedAt });

  const publish = (event: InsightEvent): void => {
    const promise = o.producer.publish(event).then(
      () => {
        if (event.category === 'Audit') counts.audit++; else counts.operational++;
        if (kindOf(event) === 'APIEvent') counts.api++; else counts.workflow++;
      },
      (err: unknown) => {
        counts.failed++;
        firstError ??= describeError(err);
      },
    ).finally(() => pending.delete(promise));
    pending.add(promise);
  };

  const bucket = new TokenBucket(o.rate, Math.max(1, o.rate), startedAt);
  let nextProgress = startedAt + progressEveryMs;
  while (!o.abortSignal?.aborted) {
    const now = Date.now();
    if (now - startedAt >= o.durationMs || generated >= maxEvents) break;
    // Back-pressure: when Kafka lags, generate less rather than grow memory without bound.
    const n = bucket.take(now, Math.min(maxEvents - generated, maxInFlight - pending.size));
    for (let i = 0; i < n; i++) publish(o.generator.next());
    generated += n;
    if (now >= nextProgress) {
      nextProgress += progressEveryMs;
      await o.onProgress?.(progress());
    }
    await delay(TICK_MS);
  }
  await Promise.allSettled([...pending]);
  return { ...progress(), firstError, aborted: Boolean(o.abortSignal?.aborted) };
}
