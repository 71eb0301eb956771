/**
 * `insight-logs forward`: run the forwarder for every configured destination until SIGTERM or
 * SIGINT, then finish in-flight chunks, commit and exit 0. Metrics and health on
 * --metrics-port (127.0.0.1 unless --metrics-host says otherwise).
 */
import type { Command } from 'commander';
import { loadDestinationsFile } from '../../config/destinations.js';
import { topicNamesFromEnv, type TopicNames } from '../../config/topic-names.js';
import { DestinationStore } from '../../destinations/store.js';
import { InsightLogsError } from '../../errors.js';
import { Forwarder } from '../../forwarder/forwarder.js';
import { groupSessionFromEnv, type GroupSession } from '../../forwarder/group-session.js';
import { createKafka, kafkaSettingsFromEnv, type KafkaSettings } from '../../kafka/client.js';
import { settlesWithin, withTimeout } from '../../util/time.js';
import { createLogger, type Logger } from '../../logging.js';
import { ADVERTISED_METRICS_PORT_ENV } from '../../metrics/advertise.js';
import { WORKERS_ENV, defaultWorkerCount, forwarderWorkerIndex, isForwarderWorker, releaseWorkerChannel, serveWorkerChannel, startPrimary } from '../../forwarder/workers.js';
import { parseDuration, parsePort } from '../common.js';
import { asKafkaUnavailable, withDeadline } from '../kafka-cli.js';

interface ForwardFlags {
  metricsPort: string;
  metricsHost: string;
  destinationsFile?: string;
  stopTimeout: string;
  workers?: string;
}

/** --workers, else INSIGHT_LOGS_WORKERS, else undefined (the default is worked out later). */
function parseWorkers(flag: string | undefined): number | undefined {
  const value = flag ?? process.env[WORKERS_ENV];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new InsightLogsError('CONFIG_INVALID', `${flag !== undefined ? '--workers' : WORKERS_ENV}: "${value}" is not a worker count (1-64)`);
  }
  return n;
}

async function forward(flags: ForwardFlags): Promise<void> {
  const metricsPort = parsePort(flags.metricsPort, '--metrics-port');
  const stopTimeoutMs = parseDuration(flags.stopTimeout, '--stop-timeout');
  let workers = parseWorkers(flags.workers);
  const settings = kafkaSettingsFromEnv();
  const names = topicNamesFromEnv();
  const groupSession = groupSessionFromEnv(); // a bad value fails here, before any worker starts
  const worker = isForwarderWorker();
  const logger = worker ? createLogger().child({ worker: forwarderWorkerIndex() }) : createLogger();
  // The file is validated completely before anything connects, and applied once (by the
  // primary, not again by each worker).
  const fromFile = flags.destinationsFile && !worker ? await loadDestinationsFile(flags.destinationsFile) : undefined;
  if (fromFile) {
    const store = new DestinationStore({ kafka: createKafka(settings, logger), logger, topic: names.destinations });
    try {
      await withDeadline(store.apply(fromFile), 60_000, settings, 'writing the destinations file');
    } catch (err) {
      throw asKafkaUnavailable(err, settings);
    } finally {
      await store.close().catch(() => undefined);
    }
  }

  const run = { logger, settings, names, groupSession, metricsHost: flags.metricsHost, stopTimeoutMs };
  if (worker) return runForwarder({ ...run, metricsPort: undefined, worker: true }).finally(releaseWorkerChannel);
  workers ??= defaultWorkerCount(await sourcePartitions(settings, [names.audit, names.operational], logger));
  if (workers === 1) return runForwarder({ ...run, metricsPort, worker: false });
  return runPrimary({ logger, workers, metricsPort, metricsHost: flags.metricsHost, stopTimeoutMs });
}

/**
 * The most partitions of the source topics, or undefined when they cannot be read now (the
 * forwarder itself then reports what is wrong, or creates the topics).
 */
async function sourcePartitions(settings: KafkaSettings, topics: string[], logger: Logger): Promise<number | undefined> {
  const admin = createKafka(settings, logger).admin();
  try {
    return await withTimeout((async () => {
      await admin.connect();
      // Only topics that exist: asking for the metadata of a missing one may auto-create it
      // with the broker's defaults, before the forwarder creates it with the right partitions.
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length === 0) return undefined;
      const { topics: found } = await admin.fetchTopicMetadata({ topics: present });
      return Math.max(...found.map((t) => t.partitions.length));
    })(), 10_000, () => new Error('timeout'));
  } catch {
    return undefined;
  } finally {
    // Bounded: a disconnect while a connect to a slow broker is still going on may never end.
    await settlesWithin(admin.disconnect(), 2000);
  }
}

/** Resolves on the first SIGTERM/SIGINT with what `onFirst` returns; a second one exits at once unless `ignoreSecond`. */
function onStopSignal<T>(logger: Logger, onFirst: (signal: NodeJS.Signals) => Promise<T>, ignoreSecond: boolean): Promise<T> {
  return new Promise<T>((resolve) => {
    let signalled = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (signalled) {
        if (ignoreSecond) return;
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      signalled = true;
      void onFirst(signal).then(resolve);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

/** `forward --workers N` (N > 1): this process starts the workers and serves their metrics. */
async function runPrimary(options: { logger: Logger; workers: number; metricsPort: number; metricsHost: string; stopTimeoutMs: number }): Promise<void> {
  const { logger } = options;
  const primary = await startPrimary({ ...options, stopTimeoutMs: options.stopTimeoutMs + 15_000 });
  const stopped = onStopSignal(logger, (signal) => {
    logger.info({ signal }, 'shutting down: every worker finishes its in-flight chunks and commits');
    return primary.stop();
  }, false);
  try {
    let started: { destinations: number };
    try {
      started = await primary.started;
    } catch (code) {
      await primary.stop();
      // The worker printed its own error; exit with its code (e.g. 69 when Kafka is unreachable).
      process.exitCode = typeof code === 'number' && code !== 0 ? code : 1;
      return;
    }
    process.stderr.write(`insight-logs: forwarding to ${started.destinations} destination(s) with ${options.workers} workers; metrics on http://${options.metricsHost}:${primary.metricsPort}/metrics\n`);
    process.exitCode = await stopped;
  } finally {
    // The workers are gone; a Kafka client left connecting (the partition lookup) must not keep
    // the primary alive.
    setTimeout(() => process.exit(), 2000).unref();
  }
}

async function runForwarder(options: {
  logger: Logger; settings: KafkaSettings; names: TopicNames; groupSession: GroupSession;
  metricsPort: number | undefined; metricsHost: string; stopTimeoutMs: number; worker: boolean;
}): Promise<void> {
  const { logger, settings, names, groupSession, metricsPort, stopTimeoutMs } = options;
  const advertised = options.worker ? Number(process.env[ADVERTISED_METRICS_PORT_ENV]) : NaN;
  const forwarder = new Forwarder({
    kafka: settings,
    logger,
    metricsPort,
    ...(advertised > 0 ? { advertisedMetricsPort: advertised } : {}),
    metricsHost: options.metricsHost,
    stopTimeoutMs,
    topics: { audit: names.audit, operational: names.operational },
    deadLetterTopic: names.deadLetter,
    destinationsTopic: names.destinations,
    groupSession,
  });
  const channel = options.worker ? serveWorkerChannel({ registry: forwarder.metrics.registry, health: () => forwarder.health() }) : undefined;
  // A worker gets Ctrl-C's SIGINT from the terminal and the primary's SIGTERM: one stop only;
  // the primary decides when waiting is over.
  const stopped = onStopSignal(logger, (signal) => {
    logger.info({ signal }, 'shutting down: finishing in-flight chunks and committing');
    return forwarder.stop().catch((err: unknown) => {
      logger.error({ err }, 'shutdown was not clean');
      process.exitCode = 1;
    });
  }, options.worker);
  await channel?.ready();
  try {
    await forwarder.start();
  } catch (err) {
    await forwarder.stop().catch(() => undefined);
    throw asKafkaUnavailable(err, settings);
  }
  if (channel) channel.started(forwarder.destinations().length);
  else process.stderr.write(`insight-logs: forwarding to ${forwarder.destinations().length} destination(s); metrics on http://${options.metricsHost}:${forwarder.metricsPort}/metrics\n`);
  await stopped;
  // Everything is flushed and committed. A kafkajs consumer that crashed while disconnecting
  // schedules its own restart and would keep the process alive forever (kafkajs#1327, seen
  // after a broker restart): if anything is still pending shortly after, exit anyway.
  setTimeout(() => process.exit(), 2000).unref();
}

export function register(program: Command): void {
  program
    .command('forward')
    .description('forward every record to every configured destination (at least once) until SIGTERM/SIGINT')
    .option('--metrics-port <port>', 'port of /metrics, /healthz and /readyz (0 = any free port)', '9464')
    .option('--metrics-host <host>', 'address to bind the metrics server to', '127.0.0.1')
    .option('--destinations-file <file>', 'apply this destinations file first, then run')
    .option('--stop-timeout <duration>', 'how long a shutdown waits for in-flight chunks', '30s')
    .option('--workers <n>', `forwarder processes sharing the work, each a consumer group member (default: ${WORKERS_ENV}, else one per core)`)
    .addHelpText('after', `
Destinations come from the destinations topic (see: insight-logs destinations); changes apply
without a restart. Kafka settings: KAFKA_BROKERS and the other KAFKA_* variables.
Tuning (environment):
  INSIGHT_LOGS_SESSION_TIMEOUT_MS      10000 (6000-1800000): how long a dead forwarder holds its partitions
  INSIGHT_LOGS_WORKERS                 one per core (1-64): forwarder processes (same as --workers)
  INSIGHT_LOGS_PARTITION_CONCURRENCY   3 (1-64): partitions delivered at once per destination
  INSIGHT_LOGS_COMMIT_INTERVAL_MS      1000 (0-60000): offset commits within a batch; 0 = after every chunk
See docs/forwarder.md for the delivery guarantees, metrics and shutdown.

Examples:
  $ insight-logs forward
  $ insight-logs forward --destinations-file destinations.yaml --metrics-port 9464`)
    .action(forward);
}
