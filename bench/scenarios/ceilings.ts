/**
 * Ceilings: how fast this broker hands the bench topic to a consumer that does nothing.
 *   - Kafka's own ConsumerPerformance (kafka-consumer-perf-test), Java;
 *   - a kafkajs consumer with the forwarder's fetch settings that only counts records
 *     (eachBatch): the denominator of every forwarder ratio, since the forwarder is kafkajs.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { kafkaClient, uniqueName } from '../../testkit/kafka.js';
import { repoRoot } from '../../testkit/services.js';
import { throughput, type BenchContext, type Throughput } from '../lib/context.js';

const execFileP = promisify(execFile);

export async function javaConsumerPerf(ctx: BenchContext): Promise<Throughput & { fetchEventsPerSec: number; wallMs: number }> {
  const libs = path.join(repoRoot(), '.local', 'kafka', 'libs', '*');
  const started = performance.now();
  const { stdout } = await execFileP('java', [
    '-Xmx512m', '-cp', libs, 'org.apache.kafka.tools.ConsumerPerformance',
    '--bootstrap-server', ctx.brokers.join(','), '--topic', ctx.sourceTopic,
    '--messages', String(ctx.events), '--group', uniqueName('bench-perf'), '--timeout', '120000',
  ], { timeout: 15 * 60_000, maxBuffer: 1 << 20 });
  const wallMs = performance.now() - started;
  // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const lines = stdout.trim().split('\n');
  const header = lines.findIndex((l) => l.includes('nMsg.sec'));
  const cols = lines[header + 1]?.split(',').map((c) => c.trim());
  if (header < 0 || !cols) throw new Error(`ConsumerPerformance: unexpected output:\n${stdout}`);
  const consumed = Number(cols[4]);
  if (consumed < ctx.events) throw new Error(`ConsumerPerformance read ${consumed} of ${ctx.events} messages`);
  const rebalanceMs = Number(cols[6]);
  const fetchMs = Number(cols[7]);
  // From the consumer's start, group join included (like the other rows); JVM start-up excluded (wallMs has it).
  const ms = fetchMs + rebalanceMs;
  return { ...throughput(ctx, ctx.events, ms, { startupMs: rebalanceMs }), fetchEventsPerSec: Number(cols[9]), wallMs };
}

/**
 * The do-nothing loop of the KafkaJS-shaped consumers (kafkajs, and the KafkaJS API of
 * @confluentinc/kafka-javascript): `run` starts the consumer with an eachBatch that only counts;
 * resolves when ctx.events records were seen. Connecting and disconnecting are the caller's.
 */
export async function countBatches(
  ctx: BenchContext, label: string, started: number,
  run: (eachBatch: (payload: { batch: { messages: unknown[] } }) => Promise<void>) => Promise<void>,
): Promise<Throughput> {
  let firstAt: number | undefined;
  let count = 0;
  let doneAt = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} do-nothing: ${count} of ${ctx.events} after 15 min`)), 15 * 60_000);
    run(async ({ batch }) => {
      firstAt ??= performance.now();
      count += batch.messages.length;
      if (count >= ctx.events && !doneAt) {
        doneAt = performance.now();
        clearTimeout(timer);
        resolve();
      }
    }).catch(reject);
  });
  return throughput(ctx, count, doneAt - started, { startupMs: (firstAt ?? started) - started });
}

export async function kafkajsDoNothing(ctx: BenchContext): Promise<Throughput> {
  const consumer = kafkaClient(ctx.brokers).consumer({
    groupId: uniqueName('bench-noop'),
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 500,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  const started = performance.now();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [ctx.sourceTopic], fromBeginning: true });
    return await countBatches(ctx, 'kafkajs', started, (eachBatch) => consumer.run({ eachBatch }));
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
