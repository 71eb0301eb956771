/**
 * `insight-logs simulate`: realistic traffic of both kinds at a steady rate, published by the
 * publish loop it shares with the demo (src/simulate/publish-loop.ts). Progress goes to stderr
 * every few seconds, a summary to stdout at the end; Ctrl-C stops generating, waits for what
 * was accepted, and still prints the summary.
 */
import type { Command } from 'commander';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { InsightLogsError } from '../../errors.js';
import { EventProducer } from '../../producer/event-producer.js';
import { maxInFlightFor, publishTraffic, publishedCount, type PublishCounts } from '../../simulate/publish-loop.js';
import { TrafficGenerator } from '../../simulate/traffic.js';
import { parseDuration, parsePort, parsePositiveInt } from '../common.js';
import { startMetricsServer } from '../../metrics/server.js';
import { cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

interface SimulateFlags {
  rate: string; duration: string; instances: string; errorRate: string; seed?: string; maxEvents?: string;
  instancePrefix: string; progressEvery: string; metricsPort?: string; metricsHost: string;
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

export function formatSummary(counts: PublishCounts, elapsedMs: number): string {
  const published = publishedCount(counts);
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
  const maxEvents = flags.maxEvents === undefined ? undefined : parsePositiveInt(flags.maxEvents, '--max-events');
  const progressEveryMs = parseDuration(flags.progressEvery, '--progress-every');
  const metricsPort = flags.metricsPort === undefined ? undefined : parsePort(flags.metricsPort, '--metrics-port');
  if (!/^[A-Za-z0-9_-]{1,48}$/.test(flags.instancePrefix)) {
    throw new InsightLogsError('CONFIG_INVALID', `--instance-prefix: "${flags.instancePrefix}" may use letters, digits, - and _ only (at most 48)`);
  }

  const settings = cliKafkaSettings();
  const names = topicNamesFromEnv();
  const producer = new EventProducer({
    kafka: settings, logger: cliLogger(), topics: { audit: names.audit, operational: names.operational },
    maxQueueSize: maxInFlightFor(rate), deliveryTimeoutMs: 30_000,
  });
  const generator = new TrafficGenerator({ seed, instances, errorRate, instancePrefix: flags.instancePrefix });

  const stop = new AbortController();
  const onSignal = () => {
    process.stderr.write('simulate: stopping, waiting for events already accepted…\n');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result;
  // The producer SDK's own metrics (published, failed by code, pending), as a service would expose them.
  const server = metricsPort === undefined ? undefined
    : await startMetricsServer({ port: metricsPort, host: flags.metricsHost, registry: producer.metrics.registry, health: () => ({ healthy: true, ready: true, detail: {} }) });
  if (server) process.stderr.write(`simulate: producer metrics on http://${server.host}:${server.port}/metrics\n`);
  try {
    await withDeadline(producer.connect(), 15_000, settings, 'connecting');
    process.stderr.write(`simulate: ${rate} events/s for ${flags.duration} over ${instances} instance(s) (${generator.resourceIds()[0]} …), error rate ${errorRate}, seed ${seed}\n`);
    result = await publishTraffic({
      producer, generator, rate, durationMs, maxEvents, abortSignal: stop.signal, progressEveryMs,
      onProgress: (p) => {
        process.stderr.write(`simulate: ${(p.elapsedMs / 1000).toFixed(0)} s  generated ${p.generated}  ${formatSummary(p, p.elapsedMs)}  in flight ${p.inFlight}\n`);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await producer.close();
    await server?.close();
  }
  process.stdout.write(`simulate: ${formatSummary(result, result.elapsedMs)}\n`);
  if (result.failed > 0) {
    throw new InsightLogsError('PUBLISH_FAILED', `${result.failed} of ${result.generated} events were not published (first error: ${result.firstError})`);
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
    .option('--metrics-port <port>', 'serve the producer SDK\'s metrics on <port>/metrics while running (0 = any free port)')
    .option('--metrics-host <host>', 'address to bind the metrics server to', '127.0.0.1')
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
