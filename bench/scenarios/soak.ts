/**
 * Memory under a long steady load: the forwarder (child process, Kafka → Kafka, topics with a
 * short retention so the disk stays bounded) while the bench publishes `rate`/s for `seconds`.
 * VmRSS of the child is sampled every second; reported at start (after 10 s), middle, end,
 * the peak and the least-squares slope over the run after its first 10 %.
 */
import { deleteTopics, withAdmin } from '../../testkit/kafka.js';
import { GROUP_PREFIX } from '../../src/forwarder/pipeline.js';
import { EventProducer } from '../../src/producer/event-producer.js';
import type { BenchContext } from '../lib/context.js';
import { startForwarderChild } from '../lib/forwarder-child.js';
import { benchKafkaSettings, createBenchTopics, groupLag, pollUntil } from '../lib/kafka.js';
import { slope } from '../lib/stats.js';
import { publishAtRate } from '../lib/steady.js';

export interface SoakResult {
  rate: number;
  seconds: number;
  published: number;
  rssStartMiB: number;
  rssMiddleMiB: number;
  rssEndMiB: number;
  rssPeakMiB: number;
  /** MiB per minute; near 0 means flat. */
  slopeMiBPerMin: number;
  /** Seconds after the last publish until the forwarder had no lag. */
  drainSeconds: number;
  samples: number;
}

export async function soak(ctx: BenchContext, rate: number, seconds: number): Promise<SoakResult> {
  const name = `bench-${ctx.runId}-soak`;
  const source = `${name}-src`;
  const targets = { audit: `${name}-out-a`, operational: `${name}-out-o` };
  // Keep about two minutes of data: a 10-minute soak at 10k/s would otherwise leave GBs behind.
  await createBenchTopics(ctx.brokers, [source, targets.audit, targets.operational], ctx.partitions, 120_000);
  const child = startForwarderChild({
    brokers: ctx.brokers, topic: source, runId: ctx.runId, workDir: ctx.workDir, label: name,
    destinations: [{ name, type: 'kafka', brokers: ctx.brokers, topics: targets }],
  });
  const producer = new EventProducer({
    kafka: benchKafkaSettings(ctx.brokers, ctx.runId),
    topics: { audit: source, operational: source },
    maxQueueSize: rate * 5,
    deliveryTimeoutMs: 60_000,
  });
  try {
    await producer.connect();
    const published = await publishAtRate(producer, ctx.runId, rate, seconds);
    const lastPublish = Date.now();
    const drained = await withAdmin(ctx.brokers, (admin) => pollUntil('soak drain', async () => {
      const lag = await groupLag(admin, `${GROUP_PREFIX}${name}`, source);
      return { done: lag === 0, progress: `lag ${lag}` };
    }, 10 * 60_000, 500));
    const samples = [...child.rss];
    const at = (fraction: number): number => {
      const t = samples[samples.length - 1]!.atMs * fraction;
      return samples.find((s) => s.atMs >= t)?.rssMiB ?? Number.NaN;
    };
    const startAt = samples.find((s) => s.atMs >= 10_000)?.rssMiB ?? samples[0]!.rssMiB;
    const steady = samples.filter((s) => s.atMs >= samples[samples.length - 1]!.atMs * 0.1);
    return {
      rate,
      seconds,
      published,
      rssStartMiB: startAt,
      rssMiddleMiB: at(0.5),
      rssEndMiB: samples[samples.length - 1]!.rssMiB,
      rssPeakMiB: samples.reduce((m, s) => Math.max(m, s.rssMiB), 0),
      slopeMiBPerMin: slope(steady.map((s) => ({ x: s.atMs / 60_000, y: s.rssMiB }))),
      drainSeconds: (drained - lastPublish) / 1000,
      samples: samples.length,
    };
  } finally {
    await producer.close();
    await child.stop();
    await deleteTopics(ctx.brokers, [source, targets.audit, targets.operational]).catch(() => undefined);
  }
}
