/**
 * The forwarder: watches the destinations store and runs one DestinationPipeline per
 * destination (each its own consumer group, so one slow destination never holds up another),
 * restarting a pipeline whose config changed or whose consumer crashed for good, and stopping
 * one that was removed (its remote resources are left alone). Serves /metrics, /healthz and
 * /readyz when given a port. Usable in-process:
 *
 *   const f = new Forwarder({ kafka: kafkaSettingsFromEnv(), logger });
 *   await f.start(); … await f.stop();
 */
import type { Admin, Kafka } from 'kafkajs';
import { defaultSchemaRegistry, type SchemaRegistry } from '../codec/schema-registry.js';
import { sameDestination, type DestinationConfig } from '../config/destinations.js';
import { DestinationStore, type DestinationWatch } from '../destinations/store.js';
import { describeError } from '../errors.js';
import { AUDIT_TOPIC, DEADLETTER_TOPIC, DESTINATIONS_TOPIC, OPERATIONAL_TOPIC } from '../events/routing.js';
import { createKafka, type KafkaSettings } from '../kafka/client.js';
import { ensureTopics } from '../kafka/topics.js';
import { consumerLag, topicOffsets, type TopicOffsets } from '../ops/offsets.js';
import { silentLogger, type Logger } from '../logging.js';
import { clientIdWithMetricsPort } from '../metrics/advertise.js';
import { ForwarderMetrics, type PipelineStateLabel } from '../metrics/metrics.js';
import { startMetricsServer, type HealthReport, type MetricsServer } from '../metrics/server.js';
import { createSink, defaultSinkRegistry, type SinkRegistry } from '../sinks/registry.js';
import type { RetryOptions } from '../sinks/retry.js';
import { DEFAULT_CHUNK_LIMITS, type ChunkLimits } from './chunking.js';
import { DeadLetterWriter } from './dead-letter.js';
import { DEFAULT_GROUP_SESSION, type GroupSession } from './group-session.js';
import { DestinationPipeline, type PipelineStats } from './pipeline.js';
import { tuningFromEnv, type PipelineTuning } from './tuning.js';
import { settlesWithin, sleep } from '../util/time.js';

export interface ForwarderOptions {
  kafka: KafkaSettings;
  /** Root or parent logger; the forwarder logs through children. Silent by default. */
  logger?: Logger;
  /** Source topics per category (default `insight-logs-audit` / `insight-logs-operational`). */
  topics?: { audit?: string; operational?: string };
  destinationsTopic?: string;
  deadLetterTopic?: string;
  /** Serve /metrics, /healthz, /readyz on this port (0 = any free port); no server when undefined. */
  metricsPort?: number;
  /** Default 127.0.0.1. */
  metricsHost?: string;
  /**
   * The metrics port to advertise in the pipelines' Kafka client id when this forwarder serves
   * none itself (a `--workers` worker: the primary serves it); see metrics/advertise.ts.
   */
  advertisedMetricsPort?: number;
  registry?: SinkRegistry;
  schemas?: SchemaRegistry;
  /** Where sinks look up credentials referenced by variable name (default process.env). */
  env?: NodeJS.ProcessEnv;
  chunkLimits?: Partial<ChunkLimits>;
  /**
   * Backoff between resends of a chunk the destination answered retryable (default 0.5 s
   * doubling up to 30 s, jittered). There is no deadline: a chunk is resent until delivered,
   * dead-lettered, or left uncommitted by a stop or a rebalance (see sinks/retry.ts).
   */
  retry?: RetryOptions;
  /** How long stop() lets in-flight chunks finish (default 30 s). */
  stopTimeoutMs?: number;
  /** A destination seen for the first time starts at the oldest retained record (default true). */
  fromBeginning?: boolean;
  /** How often consumer lag is refreshed (default 15 s). */
  lagIntervalMs?: number;
  /** Consumer group session timeout and heartbeat (default 10 s / 3 s; see group-session.ts). */
  groupSession?: GroupSession;
  /**
   * Partitions delivered at once and the commit interval within a batch; what is not given
   * comes from INSIGHT_LOGS_PARTITION_CONCURRENCY / INSIGHT_LOGS_COMMIT_INTERVAL_MS or the
   * defaults (see tuning.ts).
   */
  tuning?: Partial<PipelineTuning>;
}

/**
 * How long a removed or changed destination's in-flight chunk may finish before it is aborted
 * (uncommitted, delivered again later). Short, unlike a shutdown's stopTimeoutMs: changes are
 * applied one at a time, so a send hanging on the old target (up to the SDK's own timeouts)
 * would otherwise hold up the changed destination's new pipeline and every other change for
 * the whole stop timeout (30 s seen in the reconfigure fault scenario).
 */
const RECONFIGURE_STOP_TIMEOUT_MS = 5_000;

/** Crashes within this window that make /healthz fail. */
const CRASH_WINDOW_MS = 5 * 60_000;
const UNHEALTHY_AFTER_CRASHES = 3;

export class Forwarder {
  private readonly kafka: Kafka;
  /** The pipelines' client: its id carries the metrics port, for `insight-logs top` to find us. */
  private pipelineKafka: Kafka;
  private readonly logger: Logger;
  private readonly store: DestinationStore;
  private readonly deadLetter: DeadLetterWriter;
  readonly metrics = new ForwarderMetrics();
  private readonly registry: SinkRegistry;
  private readonly schemas: SchemaRegistry;
  private readonly tuning: PipelineTuning;
  private readonly topics: { audit: string; operational: string };
  private readonly pipelines = new Map<string, DestinationPipeline>();
  private readonly configs = new Map<string, DestinationConfig>();
  /** Destinations that could not start (bad settings, missing secret): name → problem. */
  private readonly broken = new Map<string, string>();
  private readonly crashTimes = new Map<string, number[]>();
  private readonly finishedStats = new Map<string, PipelineStats>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private watch: DestinationWatch | undefined;
  private admin: Admin | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private server: MetricsServer | undefined;
  private storeLoaded = false;
  private stopping = false;
  /** Changes are applied one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ForwarderOptions) {
    this.logger = (options.logger ?? silentLogger).child({ component: 'forwarder' });
    this.kafka = createKafka(options.kafka, this.logger);
    this.pipelineKafka = this.kafka;
    this.registry = options.registry ?? defaultSinkRegistry();
    this.schemas = options.schemas ?? defaultSchemaRegistry();
    this.tuning = { ...tuningFromEnv(process.env), ...options.tuning };
    this.topics = { audit: options.topics?.audit ?? AUDIT_TOPIC, operational: options.topics?.operational ?? OPERATIONAL_TOPIC };
    this.store = new DestinationStore({
      kafka: this.kafka,
      topic: options.destinationsTopic ?? DESTINATIONS_TOPIC,
      logger: this.logger,
      registry: this.registry,
      ...(options.env ? { env: options.env } : {}),
    });
    this.deadLetter = new DeadLetterWriter(this.kafka, options.deadLetterTopic ?? DEADLETTER_TOPIC);
    this.metrics.observePipelines(() => this.pipelineStates());
  }

  /** Each destination's pipeline state, for `insight_logs_pipelines` ('broken': it could not start). */
  private *pipelineStates(): Iterable<readonly [string, PipelineStateLabel]> {
    for (const [name, pipeline] of this.pipelines) yield [name, pipeline.snapshot().state];
    for (const name of this.broken.keys()) yield [name, 'broken'];
  }

  /** The metrics server's port once started (useful with metricsPort 0). */
  get metricsPort(): number | undefined {
    return this.server?.port;
  }

  /** Connects, loads the destinations and starts their pipelines; resolves once they are started (not necessarily joined). */
  async start(): Promise<void> {
    if (this.options.metricsPort !== undefined) {
      this.server = await startMetricsServer({
        port: this.options.metricsPort,
        ...(this.options.metricsHost ? { host: this.options.metricsHost } : {}),
        registry: this.metrics.registry,
        health: () => this.health(),
      });
      this.logger.info({ port: this.server.port, host: this.server.host }, 'metrics on /metrics, /healthz, /readyz');
    }
    const advertised = this.server?.port ?? this.options.advertisedMetricsPort;
    if (advertised !== undefined) this.pipelineKafka = createKafka({ ...this.options.kafka, clientId: clientIdWithMetricsPort(this.options.kafka.clientId, advertised) }, this.logger);
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.ensureOwnTopics(this.admin);
    await this.deadLetter.connect();
    this.watch = await this.store.watch((destinations, info) => this.enqueue(destinations, info.initial), { untilCaughtUp: true });
    await this.queue;
    this.storeLoaded = true;
    const interval = this.options.lagIntervalMs ?? 15_000;
    this.lagTimer = setInterval(() => { void this.refreshLag(); }, interval);
    this.lagTimer.unref();
    this.logger.info({ destinations: [...this.configs.keys()] }, 'forwarder started');
  }

  /**
   * Stops fetching, lets in-flight chunks finish (bounded by stopTimeoutMs; an abandoned chunk
   * is not committed), commits, closes sinks and connections. Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info('forwarder stopping');
    for (const t of this.restartTimers) clearTimeout(t);
    if (this.lagTimer) clearInterval(this.lagTimer);
    // kafkajs disconnects can hang on a connection left stale by a broker restart (seen in
    // the broker-restart fault scenario: 20 s, then the watch consumer crashed and restarted
    // itself): each step is bounded so a stop always ends.
    const bounded = async (what: string, step: Promise<unknown> | undefined, ms = 10_000): Promise<void> => {
      if (step && !(await settlesWithin(step.catch((err: unknown) => this.logger.warn({ err }, `${what} failed`)), ms))) {
        this.logger.warn({ timeoutMs: ms }, `${what} did not finish in time; going on`);
      }
    };
    await bounded('stopping the destinations watch', this.watch?.stop());
    await this.queue;
    await Promise.all([...this.pipelines.keys()].map((name) => this.stopPipeline(name)));
    await bounded('closing the dead-letter producer', this.deadLetter.close());
    await bounded('closing the destinations store', this.store.close());
    await bounded('disconnecting the admin client', this.admin?.disconnect());
    await this.server?.close();
    this.logger.info('forwarder stopped');
  }

  /** Records delivered, dead-lettered and committed offsets of a destination (also after it stopped). */
  pipelineStats(name: string): PipelineStats | undefined {
    return this.pipelines.get(name)?.snapshot() ?? this.finishedStats.get(name);
  }

  destinations(): DestinationConfig[] {
    return [...this.configs.values()];
  }

  health(): HealthReport {
    const detail: Record<string, unknown> = {};
    let healthy = true;
    let ready = this.storeLoaded && !this.stopping;
    for (const [name, pipeline] of this.pipelines) {
      const s = pipeline.snapshot();
      const recentCrashes = this.recentCrashes(name);
      detail[name] = { state: s.state, joined: s.joined, crashes: recentCrashes, ...(s.lastError ? { lastError: s.lastError } : {}) };
      if (s.state === 'crashed' || recentCrashes >= UNHEALTHY_AFTER_CRASHES) healthy = false;
      if (!s.joined) ready = false;
    }
    for (const [name, problem] of this.broken) {
      detail[name] = { state: 'broken', problem };
      healthy = false;
    }
    return { healthy, ready, detail };
  }

  /** Resolves when every pipeline has joined its group; rejects after `timeoutMs`. */
  async waitUntilReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.health().ready) {
      if (Date.now() > deadline) throw new Error(`forwarder not ready after ${timeoutMs} ms: ${JSON.stringify(this.health().detail)}`);
      await sleep(100);
    }
  }

  private enqueue(destinations: DestinationConfig[], initial: boolean): Promise<void> {
    const run = this.queue.then(() => this.reconcile(destinations, initial));
    this.queue = run.catch((err: unknown) => this.logger.error({ err }, 'applying destination changes failed'));
    return this.queue;
  }

  private async reconcile(wanted: DestinationConfig[], initial: boolean): Promise<void> {
    if (this.stopping) return;
    const byName = new Map(wanted.map((d) => [d.name, d]));
    const toStop = [...this.configs.keys()].filter((name) => {
      const next = byName.get(name);
      return !next || !sameDestination(this.configs.get(name)!, next);
    });
    for (const name of this.broken.keys()) if (!byName.has(name)) this.broken.delete(name);
    await Promise.all(toStop.map(async (name) => {
      this.logger.info({ destination: name, reason: byName.has(name) ? 'changed' : 'removed' }, 'stopping destination');
      await this.stopPipeline(name, Math.min(RECONFIGURE_STOP_TIMEOUT_MS, this.options.stopTimeoutMs ?? 30_000));
      if (!byName.has(name)) await this.metrics.forget(name);
    }));
    const toStart = wanted.filter((d) => !this.configs.has(d.name));
    await Promise.all(toStart.map((d) => this.startPipeline(d)));
    if (!initial && (toStop.length || toStart.length)) {
      this.logger.info({ destinations: [...this.configs.keys()] }, 'destinations updated');
    }
  }

  private async startPipeline(config: DestinationConfig): Promise<void> {
    this.configs.set(config.name, config);
    this.broken.delete(config.name);
    const logger = this.logger.child({ destination: config.name });
    let pipeline: DestinationPipeline;
    try {
      const sink = createSink(this.registry, config, { logger, env: this.options.env ?? process.env });
      pipeline = new DestinationPipeline({
        config,
        sink,
        kafka: this.pipelineKafka,
        topics: this.topics,
        deadLetter: this.deadLetter,
        schemas: this.schemas,
        metrics: this.metrics,
        logger,
        chunkLimits: { ...DEFAULT_CHUNK_LIMITS, ...this.options.chunkLimits },
        retry: { initialDelayMs: 500, maxDelayMs: 30_000, ...this.options.retry },
        fromBeginning: this.options.fromBeginning ?? true,
        onFatalCrash: (error) => this.onFatalCrash(config, error),
        groupSession: this.options.groupSession ?? DEFAULT_GROUP_SESSION,
        partitionConcurrency: this.tuning.partitionConcurrency,
        commitIntervalMs: this.tuning.commitIntervalMs,
      });
      this.pipelines.set(config.name, pipeline);
      await pipeline.start();
    } catch (err) {
      // One bad destination must not stop the others: report it and try again later.
      const problem = describeError(err);
      logger.error({ err }, 'destination could not start; retrying in 30 s');
      this.broken.set(config.name, problem);
      const failed = this.pipelines.get(config.name);
      this.pipelines.delete(config.name);
      this.configs.delete(config.name);
      await failed?.stop(1000).catch(() => undefined);
      this.restartLater(config, 30_000);
    }
  }

  private async stopPipeline(name: string, timeoutMs = this.options.stopTimeoutMs ?? 30_000): Promise<void> {
    const pipeline = this.pipelines.get(name);
    this.pipelines.delete(name);
    this.configs.delete(name);
    if (!pipeline) return;
    await pipeline.stop(timeoutMs);
    this.finishedStats.set(name, pipeline.snapshot());
  }

  private onFatalCrash(config: DestinationConfig, error: Error): void {
    this.metrics.pipelineCrashes.inc({ destination: config.name });
    const times = [...(this.crashTimes.get(config.name) ?? []), Date.now()];
    this.crashTimes.set(config.name, times);
    const delay = Math.min(60_000, 1000 * 2 ** Math.min(6, this.recentCrashes(config.name)));
    this.logger.error({ destination: config.name, err: error, restartDelayMs: delay }, 'pipeline crashed; restarting');
    this.restartLater(config, delay);
  }

  /** Restarts a destination after `delayMs` if it is still configured the same way. */
  private restartLater(config: DestinationConfig, delayMs: number): void {
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      this.queue = this.queue.then(async () => {
        if (this.stopping) return;
        const current = this.configs.get(config.name);
        if (current && !sameDestination(current, config)) return;
        if (current) await this.stopPipeline(config.name);
        else if (!this.broken.has(config.name)) return; // removed meanwhile
        await this.startPipeline(config);
      }).catch((err: unknown) => this.logger.error({ err }, 'restart failed'));
    }, delayMs);
    timer.unref();
    this.restartTimers.add(timer);
  }

  private recentCrashes(name: string): number {
    const since = Date.now() - CRASH_WINDOW_MS;
    return (this.crashTimes.get(name) ?? []).filter((t) => t >= since).length;
  }

  /**
   * The topics this forwarder reads and writes, under the names it was given, created when
   * missing the way `insight-logs topics ensure` creates them (configured replication factor).
   */
  private async ensureOwnTopics(admin: Admin): Promise<void> {
    await ensureTopics(admin, {
      names: { ...this.topics, deadLetter: this.deadLetter.topic, destinations: this.store.topic },
      logger: this.logger,
      ...(this.options.env ? { env: this.options.env } : {}),
    });
  }

  /** Refreshes the consumer lag gauge of every pipeline (see `consumerLag`, which `status` uses too). */
  private async refreshLag(): Promise<void> {
    const admin = this.admin;
    if (!admin || this.stopping) return;
    try {
      const offsets = new Map<string, TopicOffsets>();
      for (const topic of new Set([this.topics.audit, this.topics.operational])) offsets.set(topic, await topicOffsets(admin, topic));
      for (const pipeline of this.pipelines.values()) {
        const lag = await consumerLag(admin, pipeline.groupId, offsets, pipeline.topics);
        for (const p of lag.partitions) pipeline.setLag(p.topic, p.partition, p.lag);
      }
    } catch (err) {
      this.logger.debug({ err }, 'lag refresh failed');
    }
  }
}
