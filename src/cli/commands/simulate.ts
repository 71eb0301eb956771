/**
 * `insight-logs simulate`: realistic traffic of both kinds at a steady rate. Events are
 * published concurrently (the producer batches them); a token bucket paces them per tick.
 * Progress goes to stderr every few seconds, a summary to stdout at the end; Ctrl-C stops
 * generating, waits for what was accepted, and still prints the summary.
 */
import type { Command } from 'commander';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { InsightLogsError, describeError } from '../../errors.js';
import { kindOf, type InsightEvent } from '../../events/types.js';
import { EventProducer } from '../../producer/event-producer.js';
import { TokenBucket } from '../../simulate/token-bucket.js';
import { TrafficGenerator } from '../../simulate/traffic.js';
import { parseDuration, parsePositiveInt } from '../common.js';
import { cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

interface SimulateFlags {
  rate: string; duration: string; instances: string; errorRate: string; seed?: string; maxEvents?: string;
  instancePrefix: string; progressEvery: string;
}

const TICK_MS = 50;

export interface SimulateCounts {
  audit: number; operational: number; api: number; workflow: number; failed: number;
}

function parseRate(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1 || value.trim() === '') throw new InsightLogsError('CONFIG_INVALID', `${flag}: "${value}" is not a fraction between 0 and 1 (e.g. 0.05)`);
  return n;
}

function parseSeed(value: string | undefined): number {
  if (value === undefined) return Math.floor(Math.random() * 2 ** 31);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) throw new InsightLogsError('CONFIG_INVALID', `--seed: "${value}" is not a whole number`);
  return Number(value);
}

export function formatSummary(counts: SimulateCounts, elapsedMs: number): string {
  const published = counts.audit + counts.operational;
  const seconds = Math.max(elapsedMs, 1) / 1000;
  return `published ${published} events in ${seconds.toFixed(1)} s (${(published / seconds).toFixed(1)}/s): ` +
    `audit ${counts.audit}, operational ${counts.operational} (api ${counts.api}, workflow ${counts.workflow}); failed ${counts.failed}`;
}

async function simulate(flags: SimulateFlags): Promise<void> {
  const rate = parsePositiveInt(flags.rate, '--rate');
  const durationMs = parseDuration(flags.duration, '--duration');
  const instances = parsePositiveInt(flags.instances, '--instances');
  const errorRate = parseRate(flags.errorRate, '--error-rate');
  const seed = parseSeed(flags.seed);
  const maxEvents = flags.maxEvents === undefined ? Number.POSITIVE_INFINITY : parsePositiveInt(flags.maxEvents, '--max-events');
  const progressEveryMs = parseDuration(flags.progressEvery, '--progress-every');
  if (!/^[A-Za-z0-9_-]{1,48}$/.test(flags.instancePrefix)) {
    throw new InsightLogsError('CONFIG_INVALID', `--instance-prefix: "${flags.instancePrefix}" may use letters, digits, - and _ only (at most 48)`);
  }

  const settings = cliKafkaSettings();
  const names = topicNamesFromEnv();
  // Room for about a second of traffic while Kafka is slow, never unbounded: a bigger backlog
  // only costs memory and GC (at 250,000 pending events the generator itself slowed to a crawl).
  const maxInFlight = Math.min(Math.max(2_000, rate), 20_000);
  const producer = new EventProducer({
    kafka: settings, logger: cliLogger(), topics: { audit: names.audit, operational: names.operational },
    maxQueueSize: maxInFlight, deliveryTimeoutMs: 30_000,
  });
  const generator = new TrafficGenerator({ seed, instances, errorRate, instancePrefix: flags.instancePrefix });
  const counts: SimulateCounts = { audit: 0, operational: 0, api: 0, workflow: 0, failed: 0 };
  let firstError: string | undefined;
  const pending = new Set<Promise<void>>();

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let started = Date.now();
  let generated = 0;
  try {
    await withDeadline(producer.connect(), 15_000, settings, 'connecting');
    started = Date.now();
    process.stderr.write(`simulate: ${rate} events/s for ${flags.duration} over ${instances} instance(s) (${generator.resourceIds()[0]} …), error rate ${errorRate}, seed ${seed}\n`);

    const publish = (event: InsightEvent) => {
      const promise = producer.publish(event).then(
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

    const bucket = new TokenBucket(rate, Math.max(1, rate), started);
    let nextProgress = started + progressEveryMs;
    while (!stop.signal.aborted) {
      const now = Date.now();
      if (now - started >= durationMs || generated >= maxEvents) break;
      // Back-pressure: when Kafka lags, generate less rather than grow memory without bound.
      const room = Math.min(maxEvents - generated, maxInFlight - pending.size);
      const n = bucket.take(now, room);
      for (let i = 0; i < n; i++) publish(generator.next());
      generated += n;
      if (now >= nextProgress) {
        nextProgress += progressEveryMs;
        process.stderr.write(`simulate: ${((now - started) / 1000).toFixed(0)} s  generated ${generated}  ${formatSummary(counts, now - started)}  in flight ${pending.size}\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    if (stop.signal.aborted) process.stderr.write('simulate: stopping, waiting for events already accepted…\n');
    await Promise.allSettled([...pending]);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await producer.close();
  }
  process.stdout.write(`simulate: ${formatSummary(counts, Date.now() - started)}\n`);
  if (counts.failed > 0) {
    throw new InsightLogsError('PUBLISH_FAILED', `${counts.failed} of ${generated} events were not published (first error: ${firstError})`);
  }
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('publish realistic mixed traffic: API calls and workflow runs across several instances')
    .option('--rate <n>', 'events per second', '100')
    .option('--duration <duration>', 'how long to run, e.g. 30s, 5m', '30s')
    .option('--instances <n>', 'instances (resourceIds) to spread traffic over', '3')
    .option('--error-rate <fraction>', 'share of API calls answered 4xx/5xx and of tasks that fail', '0.05')
    .option('--seed <n>', 'seed for reproducible traffic (default random, printed)')
    .option('--max-events <n>', 'stop after this many events')
    .option('--instance-prefix <name>', 'instance names are <prefix>-1, <prefix>-2 …', 'CONTOSO')
    .option('--progress-every <duration>', 'progress line interval on stderr', '5s')
    .addHelpText('after', `
About a quarter of the events belong to workflow runs (WorkflowStarted, tasks started and
completed, WorkflowCompleted, one workflowJobId); the rest are API calls, mostly GET, with
POST/PUT/PATCH/DELETE going to the audit topic. Exits 1 if any event failed to publish.

Examples:
  $ insight-logs simulate
  $ insight-logs simulate --rate 500 --duration 2m --instances 5 --error-rate 0.1
  $ insight-logs simulate --seed 42 --max-events 1000 --instance-prefix LOADTEST`)
    .action(simulate);
}
