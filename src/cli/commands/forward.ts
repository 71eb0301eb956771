/**
 * `insight-logs forward`: run the forwarder for every configured destination until SIGTERM or
 * SIGINT, then finish in-flight chunks, commit and exit 0. Metrics and health on
 * --metrics-port (127.0.0.1 unless --metrics-host says otherwise).
 */
import type { Command } from 'commander';
import { loadDestinationsFile } from '../../config/destinations.js';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { DestinationStore } from '../../destinations/store.js';
import { InsightLogsError } from '../../errors.js';
import { Forwarder } from '../../forwarder/forwarder.js';
import { groupSessionFromEnv } from '../../forwarder/group-session.js';
import { createKafka, kafkaSettingsFromEnv } from '../../kafka/client.js';
import { createLogger } from '../../logging.js';
import { parseDuration } from '../common.js';
import { asKafkaUnavailable, withDeadline } from '../kafka-cli.js';

interface ForwardFlags {
  metricsPort: string;
  metricsHost: string;
  destinationsFile?: string;
  stopTimeout: string;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InsightLogsError('CONFIG_INVALID', `--metrics-port: "${value}" is not a port (0-65535; 0 picks a free one)`);
  return n;
}

async function forward(flags: ForwardFlags): Promise<void> {
  const metricsPort = parsePort(flags.metricsPort);
  const stopTimeoutMs = parseDuration(flags.stopTimeout, '--stop-timeout');
  const settings = kafkaSettingsFromEnv();
  const names = topicNamesFromEnv();
  const groupSession = groupSessionFromEnv();
  const logger = createLogger();
  // The file is validated completely before anything connects.
  const fromFile = flags.destinationsFile ? await loadDestinationsFile(flags.destinationsFile) : undefined;
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

  const forwarder = new Forwarder({
    kafka: settings,
    logger,
    metricsPort,
    metricsHost: flags.metricsHost,
    stopTimeoutMs,
    topics: { audit: names.audit, operational: names.operational },
    deadLetterTopic: names.deadLetter,
    destinationsTopic: names.destinations,
    groupSession,
  });
  let signalled: NodeJS.Signals | undefined;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      signalled = signal;
      logger.info({ signal }, 'shutting down: finishing in-flight chunks and committing');
      forwarder.stop().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown was not clean');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  try {
    await forwarder.start();
  } catch (err) {
    await forwarder.stop().catch(() => undefined);
    throw asKafkaUnavailable(err, settings);
  }
  process.stderr.write(`insight-logs: forwarding to ${forwarder.destinations().length} destination(s); metrics on http://${flags.metricsHost}:${forwarder.metricsPort}/metrics\n`);
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
    .addHelpText('after', `
Destinations come from the destinations topic (see: insight-logs destinations); changes apply
without a restart. Kafka settings: KAFKA_BROKERS and the other KAFKA_* variables.
Tuning (environment):
  INSIGHT_LOGS_SESSION_TIMEOUT_MS      10000 (6000-1800000): how long a dead forwarder holds its partitions
  INSIGHT_LOGS_PARTITION_CONCURRENCY   3 (1-64): partitions delivered at once per destination
  INSIGHT_LOGS_COMMIT_INTERVAL_MS      1000 (0-60000): offset commits within a batch; 0 = after every chunk
See docs/forwarder.md for the delivery guarantees, metrics and shutdown.

Examples:
  $ insight-logs forward
  $ insight-logs forward --destinations-file destinations.yaml --metrics-port 9464`)
    .action(forward);
}
