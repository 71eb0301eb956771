/**
 * The producer SDK as a service sees it:
 *   - cost of one `emit` on the caller's event loop (Avro encoding, routing, queueing; the
 *     delivery happens later and is excluded), against one pino log line to /dev/null
 *     measured in the same process and run;
 *   - publish throughput: events/s acknowledged by Kafka (acks=all, idempotent);
 *   - the ceiling next to it, same broker and run: Kafka's own ProducerPerformance (Java,
 *     kafka-producer-perf-test) with the same record size, acks=all and idempotence.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../testkit/services.js';
import pino from 'pino';
import { deleteTopics, uniqueName } from '../../testkit/kafka.js';
import { EventProducer } from '../../src/producer/event-producer.js';
import type { InsightEvent } from '../../src/events/types.js';
import type { BenchContext } from '../lib/context.js';
import { benchEvent } from '../lib/events.js';
import { benchKafkaSettings, createBenchTopics } from '../lib/kafka.js';
import { publishEvents, type PublishResult } from '../lib/preload.js';
import { percentile } from '../lib/stats.js';

export interface EmitCost { emitMicros: number; pinoMicros: number; ratio: number; emits: number; emitP99Micros: number; pinoP99Micros: number }

const WARMUP = 2_000;

function timeLoop(n: number, body: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) body(i);
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

/** p99 of single calls in µs (each timed on its own: the tail a caller's request feels, GC pauses included). */
function p99Of(n: number, body: (i: number) => void): number {
  const micros = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    body(i);
    micros[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  return percentile(micros, 99);
}

export async function emitCost(ctx: BenchContext, emits: number): Promise<EmitCost> {
  const topic = uniqueName('bench-emit');
  await createBenchTopics(ctx.brokers, [topic], ctx.partitions);
  const events: InsightEvent[] = Array.from({ length: 2 * emits + WARMUP }, (_, i) => benchEvent(i, ctx.runId));
  const producer = new EventProducer({
    kafka: benchKafkaSettings(ctx.brokers, ctx.runId),
    topics: { audit: topic, operational: topic },
    maxQueueSize: 2 * emits + WARMUP + 1,
    maxBatchSize: 1000,
    deliveryTimeoutMs: 120_000,
    onError: (err) => { throw err; },
  });
  const logger = pino(pino.destination('/dev/null'));
  try {
    await producer.connect();
    // Warm up both paths (JIT, first connection) before timing.
    for (let i = 0; i < WARMUP; i++) producer.emit(events[i]!);
    for (let i = 0; i < WARMUP; i++) logger.info({ method: 'GET', path: '/api/x', status: 200, durationMs: i }, 'request completed');
    await producer.flush();
    const emitMicros = timeLoop(emits, (i) => producer.emit(events[WARMUP + i]!));
    const pinoMicros = timeLoop(emits, (i) => {
      const e = events[WARMUP + i] as { operationName: string; durationMs?: number; resultSignature?: string; uri?: string };
      logger.info({ operationName: e.operationName, status: e.resultSignature, durationMs: e.durationMs, uri: e.uri }, 'request completed');
    });
    await producer.flush();
    const emitP99Micros = p99Of(emits, (i) => producer.emit(events[WARMUP + emits + i]!));
    const pinoP99Micros = p99Of(emits, (i) => {
      const e = events[WARMUP + emits + i] as { operationName: string; durationMs?: number; resultSignature?: string; uri?: string };
      logger.info({ operationName: e.operationName, status: e.resultSignature, durationMs: e.durationMs, uri: e.uri }, 'request completed');
    });
    await producer.flush();
    const stats = producer.stats();
    if (stats.failed > 0) throw new Error(`${stats.failed} emits failed`);
    return { emitMicros, pinoMicros, ratio: emitMicros / pinoMicros, emits, emitP99Micros, pinoP99Micros };
  } finally {
    await producer.close();
    await deleteTopics(ctx.brokers, [topic]).catch(() => undefined);
  }
}

/** Publish throughput, and the peak RSS of this process meanwhile (the producer runs in it; the bench's own few MiB included). */
export async function publishThroughput(ctx: BenchContext, count: number): Promise<PublishResult & { peakRssMiB: number }> {
  const topic = uniqueName('bench-publish');
  await createBenchTopics(ctx.brokers, [topic], ctx.partitions);
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 100);
  try {
    const result = await publishEvents(ctx.brokers, topic, ctx.runId, count);
    return { ...result, peakRssMiB: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20 };
  } finally {
    clearInterval(sampler);
    await deleteTopics(ctx.brokers, [topic]).catch(() => undefined);
  }
}

const execFileP = promisify(execFile);

export interface JavaProducerPerf { eventsPerSec: number; mbPerSec: number; records: number; recordBytes: number }

/**
 * Kafka's ProducerPerformance on a fresh topic of the bench's partitions: `records` records of
 * the bench's Avro size, acks=all, idempotent, as fast as it can (`--throughput -1`).
 */
export async function javaProducerPerf(ctx: BenchContext, records: number): Promise<JavaProducerPerf> {
  const topic = uniqueName('bench-java-publish');
  await createBenchTopics(ctx.brokers, [topic], ctx.partitions);
  const recordBytes = Math.round(ctx.avroBytesPerEvent);
  try {
    const { stdout } = await execFileP('java', [
      '-Xmx512m', '-cp', path.join(repoRoot(), '.local', 'kafka', 'libs', '*'), 'org.apache.kafka.tools.ProducerPerformance',
      '--topic', topic, '--num-records', String(records), '--record-size', String(recordBytes), '--throughput', '-1',
      '--producer-props', `bootstrap.servers=${ctx.brokers.join(',')}`, 'acks=all', 'enable.idempotence=true',
    ], { timeout: 10 * 60_000, maxBuffer: 1 << 22 });
    // Last line: "N records sent, X records/sec (Y MB/sec), … avg latency, … max latency, …"
    const m = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(stdout.trim().split('\n').at(-1) ?? '');
    if (!m) throw new Error(`ProducerPerformance: unexpected output:\n${stdout.slice(-2000)}`);
    if (Number(m[1]) < records) throw new Error(`ProducerPerformance sent ${m[1]} of ${records} records`);
    return { eventsPerSec: Number(m[2]), mbPerSec: Number(m[3]), records, recordBytes };
  } finally {
    await deleteTopics(ctx.brokers, [topic]).catch(() => undefined);
  }
}
