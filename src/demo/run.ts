/**
 * `insight-logs demo`: the whole pipeline on this machine. Starts what is missing of the local
 * services (and leaves them running for the commands it suggests at the end, unless told to
 * stop them; it never stops what it did not start), ensures the topics, applies two destinations (blob on
 * Azurite, a local folder), runs the simulator and the forwarder in this process, shows
 * progress every second, waits until every published record is delivered, then shows where
 * the output is and a few records.
 */
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { parseDestination } from '../config/destinations.js';
import { topicNamesFromEnv, type TopicNames } from '../config/topic-names.js';
import { DestinationStore } from '../destinations/store.js';
import { InsightLogsError, describeError } from '../errors.js';
import { Forwarder } from '../forwarder/forwarder.js';
import { groupIdFor } from '../forwarder/pipeline.js';
import { DEFAULT_BROKERS, createKafka, kafkaSettingsFromEnv } from '../kafka/client.js';
import { ensureTopics } from '../kafka/topics.js';
import { silentLogger, type Logger } from '../logging.js';
import { groupLag, offsetsOfExisting } from '../ops/offsets.js';
import { EventProducer } from '../producer/event-producer.js';
import { maxInFlightFor, publishTraffic, publishedCount, type PublishCounts } from '../simulate/publish-loop.js';
import { TrafficGenerator } from '../simulate/traffic.js';
import { blobEndpointOf, blobOf, blobSize, pickSample, sampleRecords, summarizeDir } from './output.js';
import { ProgressPrinter, progressLine } from './progress.js';
import { JAVA_MISSING_MESSAGE, javaAvailable, parseServicesEnv, runServicesScript, serviceStatus, servicesCommand, type ServiceName } from './services.js';
import { sleep } from '../util/time.js';

export const DEMO_BLOB = 'demo-archive';
export const DEMO_DIR = 'demo-local';
const CONNECTION_ENV = 'AZURE_STORAGE_CONNECTION_STRING';
/** How long the end waits for the destinations to catch up before saying so. */
const DRAIN_TIMEOUT_MS = 90_000;

export interface DemoOptions {
  durationMs: number;
  rate: number;
  /** Folder of the dir destination (resolved against the working directory). */
  out: string;
  /**
   * Leave running the services this demo started, and say how to stop them. The CLI does
   * unless --stop-services: the "Next:" commands the demo prints need Kafka.
   */
  keepServices: boolean;
  /** stdout */
  write(text: string): void;
  /** Progress redrawn in place when true. */
  tty: boolean;
  /** Aborted on Ctrl-C. */
  abortSignal: AbortSignal;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export type DemoOutcome = 'completed' | 'interrupted';

/** Brings up what does not answer yet; returns what this call started. */
async function ensureServices(o: DemoOptions, env: NodeJS.ProcessEnv): Promise<ServiceName[]> {
  const before = serviceStatus(env);
  const missing: ServiceName[] = (['kafka', 'azurite'] as const).filter((s) => !before[s]);
  if (missing.length === 0) {
    o.write('services: Kafka and Azurite already answer; using them (they stay running)\n');
    return [];
  }
  if (missing.includes('kafka') && !javaAvailable(env)) throw new InsightLogsError('PREREQUISITE_MISSING', JAVA_MISSING_MESSAGE);
  o.write(`services: starting ${missing.map(displayName).join(' and ')} (${servicesCommand(['up'])}${missing.includes('kafka') ? '; the first run fetches the Kafka jars' : ''})\n`);
  try {
    await runServicesScript(['up'], (line) => o.write(`  ${line}\n`), env);
  } catch (err) {
    await stopServices(o, missing, env);
    throw err;
  }
  return missing;
}

async function stopServices(o: DemoOptions, started: readonly ServiceName[], env: NodeJS.ProcessEnv): Promise<void> {
  for (const s of started) {
    await runServicesScript(['down', s], (line) => o.write(`  ${line}\n`), env).catch((err: unknown) => o.write(`  could not stop ${s}: ${describeError(err)}\n`));
  }
}

/** Total lag of the demo destinations' groups; undefined when it cannot be read. */
async function demoLag(admin: Admin, names: TopicNames): Promise<bigint | undefined> {
  try {
    const { found } = await offsetsOfExisting(admin, [names.audit, names.operational]);
    let total = 0n;
    for (const d of [DEMO_BLOB, DEMO_DIR]) total += (await groupLag(admin, groupIdFor(d), found, [names.audit, names.operational])).totalLag;
    return total;
  } catch {
    return undefined;
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoOutcome> {
  const baseEnv = o.env ?? process.env;
  const logger = o.logger ?? silentLogger;
  const { abortSignal: signal } = o;
  const started = await ensureServices(o, baseEnv);
  const interrupted = (): DemoOutcome => 'interrupted';
  let forwarder: Forwarder | undefined;
  let producer: EventProducer | undefined;
  let admin: Admin | undefined;
  try {
    if (signal.aborted) return interrupted();
    const local = parseServicesEnv(await runServicesScript(['env'], () => undefined, baseEnv));
    const brokers = local.KAFKA_BROKERS ?? DEFAULT_BROKERS;
    const connectionString = local[CONNECTION_ENV];
    if (!connectionString) throw new InsightLogsError('CONFIG_INVALID', `${servicesCommand(['env'])} printed no AZURE_STORAGE_CONNECTION_STRING`);
    // Only the local services: never a cluster or storage account the caller's environment points at.
    const kafkaSettings = kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers });
    const sinkEnv: NodeJS.ProcessEnv = { ...baseEnv, [CONNECTION_ENV]: connectionString };
    const names = topicNamesFromEnv(baseEnv);
    const outDir = path.resolve(o.out);
    const cli = cliCommand(brokers, baseEnv);

    const kafka = createKafka(kafkaSettings, logger);
    admin = kafka.admin();
    await admin.connect();
    const topics = await ensureTopics(admin, { names, logger });
    o.write(`topics: ${topics.topics.map((t) => `${t.topic} (${t.status})`).join(', ')}\n`);

    const store = new DestinationStore({ kafka, logger, topic: names.destinations });
    try {
      await store.apply([
        parseDestination({ name: DEMO_BLOB, type: 'blob', connectionStringEnv: CONNECTION_ENV }, DEMO_BLOB),
        parseDestination({ name: DEMO_DIR, type: 'dir', path: outDir }, DEMO_DIR),
      ]);
    } finally {
      await store.close().catch(() => undefined);
    }
    o.write(`destinations: ${DEMO_BLOB} (blob on Azurite at ${blobEndpointOf(connectionString)}, connection string from $${CONNECTION_ENV}), ${DEMO_DIR} (dir ${outDir})\n`);
    if (signal.aborted) return interrupted();

    forwarder = new Forwarder({ kafka: kafkaSettings, logger, env: sinkEnv, metricsPort: 0, topics: { audit: names.audit, operational: names.operational }, deadLetterTopic: names.deadLetter, destinationsTopic: names.destinations });
    await forwarder.start();
    const ready = new AbortController();
    await Promise.race([forwarder.waitUntilReady(60_000).finally(() => ready.abort()), sleep(60_000, AbortSignal.any([signal, ready.signal]))]);
    if (signal.aborted) return interrupted();
    o.write(`forwarder: running in this process (metrics on http://127.0.0.1:${forwarder.metricsPort}/metrics)\n`);

    producer = new EventProducer({ kafka: kafkaSettings, logger, topics: { audit: names.audit, operational: names.operational }, maxQueueSize: maxInFlightFor(o.rate) });
    await producer.connect();
    o.write(`simulator: ${o.rate} events/s for ${Math.round(o.durationMs / 1000)} s (API calls and workflow runs across 3 instances)\n\n`);

    const destinations = forwarder.destinations().map((d) => d.name).sort();
    const delivered = () => destinations.map((name) => ({ name, count: forwarder!.pipelineStats(name)?.delivered ?? 0 }));
    const progress = new ProgressPrinter(o.write, o.tty);
    let lag: bigint | undefined;
    const startedAt = Date.now();
    const show = (phase: 'publishing' | 'delivering', p: PublishCounts) => progress.update(progressLine({ elapsedMs: Date.now() - startedAt, durationMs: o.durationMs, phase, published: publishedCount(p), failed: p.failed, delivered: delivered(), lag }));

    const published = await publishTraffic({
      producer, generator: new TrafficGenerator({ instances: 3 }), rate: o.rate, durationMs: o.durationMs,
      abortSignal: signal, progressEveryMs: 1000,
      onProgress: async (p) => {
        lag = await demoLag(admin!, names);
        show('publishing', p);
      },
    });
    if (signal.aborted) {
      progress.done();
      return interrupted();
    }

    // Delivering: until both demo destinations have committed everything (bounded).
    const drainUntil = Date.now() + DRAIN_TIMEOUT_MS;
    for (;;) {
      lag = await demoLag(admin, names);
      show('delivering', published);
      if (lag === 0n || signal.aborted || Date.now() > drainUntil) break;
      await sleep(1000, signal);
    }
    progress.done();
    if (signal.aborted) return interrupted();

    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    o.write(`\n${lag === 0n ? 'done' : 'stopped waiting'}: published ${publishedCount(published)} events${published.failed ? ` (${published.failed} failed: ${published.firstError})` : ''}; delivered ${delivered().map((d) => `${d.name} ${d.count}`).join(', ')}; lag ${lag ?? '?'} (${seconds} s)\n`);
    if (lag !== 0n) o.write(`warning: the destinations had not caught up after ${DRAIN_TIMEOUT_MS / 1000} s; see: ${cli} status\n`);
    await printWhere(o, outDir, connectionString, cli);
    return 'completed';
  } finally {
    await producer?.close().catch(() => undefined);
    if (forwarder) {
      await forwarder.stop().catch((err: unknown) => o.write(`forwarder did not stop cleanly: ${describeError(err)}\n`));
      o.write('forwarder: stopped (offsets committed)\n');
    }
    await admin?.disconnect().catch(() => undefined);
    if (started.length && !o.keepServices) {
      o.write(`services: stopping ${started.map(displayName).join(' and ')} (started by this demo; --stop-services)\n`);
      await stopServices(o, started, baseEnv);
    } else if (started.length) {
      const [verb, pronoun] = started.length > 1 ? ['keep', 'them'] : ['keeps', 'it'];
      // `down` alone stops both: name the one service when the other was running before.
      const down = servicesCommand(started.length > 1 ? ['down'] : ['down', ...started]);
      o.write(`services: ${started.map(displayName).join(' and ')} (started by this demo) ${verb} running for the commands above; stop ${pronoun} with: ${down}\n`);
    }
  }
}

function displayName(service: ServiceName): string {
  return service === 'kafka' ? 'Kafka' : 'Azurite';
}

/**
 * How to run the CLI from where the user stands: `npx` finds the binary in a checkout and in
 * a project that installed the package. KAFKA_BROKERS is spelled out when the shell's own
 * setting would point the command elsewhere than the demo's Kafka.
 */
function cliCommand(brokers: string, env: NodeJS.ProcessEnv): string {
  return (env.KAFKA_BROKERS ?? DEFAULT_BROKERS) === brokers ? 'npx insight-logs' : `KAFKA_BROKERS=${brokers} npx insight-logs`;
}

async function printWhere(o: DemoOptions, outDir: string, connectionString: string, cli: string): Promise<void> {
  const dir = await summarizeDir(outDir);
  const sample = await pickSample(outDir, dir.files);
  o.write('\nWhere the output is:\n');
  o.write(`  blob (${DEMO_BLOB}): Azurite at ${blobEndpointOf(connectionString)}, containers insight-logs-audit and insight-logs-operational\n`);
  if (sample) {
    const { container, name } = blobOf(outDir, sample);
    const size = await blobSize(connectionString, container, name);
    o.write(`    sample blob: ${container}/${name}${size === undefined ? ' (could not read it)' : ` (${size} bytes)`}\n`);
  }
  o.write(`    list them:   eval "$(${servicesCommand(['env'])})"; az storage blob list --connection-string "$AZURE_STORAGE_CONNECTION_STRING" -c insight-logs-audit -o table\n`);
  o.write(`  directory (${DEMO_DIR}): ${outDir} (${dir.records} records in ${dir.files.length} files, JSON Lines)\n`);
  if (sample) {
    o.write(`    sample file: ${sample}\n`);
    const records = await sampleRecords(sample, 5);
    o.write(`\nA few records from the sample file:\n${records.map((r) => `  ${r}`).join('\n')}\n`);
  }
  o.write(`\nNext: ${cli} tail --from-beginning --max 20;  ${cli} status;  ${cli} destinations list\n`);
  o.write(`The destinations stay configured; remove them with: ${cli} destinations remove ${DEMO_BLOB} (and ${DEMO_DIR})\n\n`);
}
