/**
 * `insight-logs forward --workers N`: one forwarder process per core.
 *
 * Node runs a forwarder's JavaScript on one core; the work per record (Avro decode,
 * validation, JSON, layout) is CPU-bound, so a second core doubles what one machine forwards.
 * Each worker is a complete forwarder and a member of every destination's consumer group, so
 * Kafka splits the partitions between them exactly as it does between forwarders on different
 * machines: ordering per partition, commit-after-delivery and exactly-once are unchanged
 * (docs/forwarder.md, "Using every core", has the measurements that chose processes over
 * worker threads).
 *
 * The primary process does no forwarding. It starts the workers, serves one /metrics
 * (the workers' registries aggregated by prom-client: counters summed, gauges as declared in
 * metrics.ts), /healthz and /readyz (healthy when every worker is), restarts a worker that
 * dies after it started, and on SIGTERM/SIGINT stops every worker cleanly and exits when
 * they have. If the primary itself dies, the workers lose their channel and exit at once
 * (node:cluster's rule), leaving their uncommitted records to be delivered again.
 */
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../logging.js';
import { ADVERTISED_METRICS_PORT_ENV } from '../metrics/advertise.js';
import { startMetricsServer, type HealthReport, type MetricsServer } from '../metrics/server.js';

export const WORKERS_ENV = 'INSIGHT_LOGS_WORKERS';
/** Set in a worker's environment: its index (0-based), for logs. */
const WORKER_INDEX_ENV = 'INSIGHT_LOGS_WORKER_INDEX';

/**
 * How many forwarder processes `forward` runs when not told: one per core, but no more than
 * the source topics have partitions (Kafka gives a partition to one group member, so a worker
 * beyond that count would only hold memory). `partitions` undefined: not known, cores only.
 */
export function defaultWorkerCount(partitions?: number): number {
  const cores = Math.max(1, os.availableParallelism());
  return partitions === undefined ? cores : Math.max(1, Math.min(cores, partitions));
}

export function isForwarderWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_INDEX_ENV] !== undefined;
}

/**
 * Lets a worker end once its forwarder is done, with the exit code the CLI set: its channel to
 * the primary would otherwise keep it alive for ever (a worker whose start failed never exited,
 * and the primary waited for it; seen in the broker-restart fault). `cluster.worker.disconnect()`
 * marks the disconnect as wanted, so node:cluster does not turn it into exit code 0.
 */
export function releaseWorkerChannel(): void {
  setImmediate(() => cluster.worker?.disconnect());
  // Whatever else is still open (a Kafka client closing), the exit code is already set.
  setTimeout(() => process.exit(), 5000).unref();
}

/** This worker's index (0-based), for its log lines; undefined outside a worker. */
export function forwarderWorkerIndex(): number | undefined {
  return isForwarderWorker() ? Number(process.env[WORKER_INDEX_ENV]) : undefined;
}

type FromWorker =
  | { kind: 'insight-logs:loaded' }
  | { kind: 'insight-logs:started'; destinations: number }
  | { kind: 'insight-logs:health'; requestId: number; report: HealthReport };
type ToWorker = { kind: 'insight-logs:health?'; requestId: number } | { kind: 'insight-logs:go' };

/**
 * Worker side: answers the primary's health questions and registers the metrics registry for
 * aggregation; `started` tells the primary that the forwarder is running.
 */
export function serveWorkerChannel(options: { registry: Registry; health: () => HealthReport }): { ready(): Promise<void>; started(destinations: number): void } {
  AggregatorRegistry.setRegistries([options.registry]);
  // prom-client installs the worker's answer to the primary's metrics requests in the
  // AggregatorRegistry constructor (not in setRegistries): construct one for that.
  new AggregatorRegistry();
  process.on('message', (message: ToWorker) => {
    if (message?.kind !== 'insight-logs:health?') return;
    process.send?.({ kind: 'insight-logs:health', requestId: message.requestId, report: options.health() } satisfies FromWorker);
  });
  return {
    ready() {
      // Wait for the primary's go: it comes when every worker has loaded, so they join the
      // consumer groups together (one rebalance at start instead of one per late joiner).
      return new Promise<void>((resolve) => {
        const onGo = (message: ToWorker): void => {
          if (message?.kind !== 'insight-logs:go') return;
          process.off('message', onGo);
          resolve();
        };
        process.on('message', onGo);
        process.send?.({ kind: 'insight-logs:loaded' } satisfies FromWorker);
      });
    },
    started(destinations) {
      process.send?.({ kind: 'insight-logs:started', destinations } satisfies FromWorker);
    },
  };
}

export interface PrimaryOptions {
  workers: number;
  metricsPort?: number;
  metricsHost?: string;
  logger: Logger;
  /** How long a stop waits for the workers (their own stop timeout plus a margin). */
  stopTimeoutMs: number;
  /** The process arguments a worker is started with (default: this process's). */
  args?: string[];
}

export interface ForwarderPrimary {
  readonly metricsPort: number | undefined;
  /** Resolves when every worker has started (or rejects with the exit code of one that could not). */
  readonly started: Promise<{ destinations: number }>;
  /** Stops every worker (SIGTERM, then SIGKILL after the timeout); resolves with the exit code to use. */
  stop(): Promise<number>;
}

/** A worker that dies within this long of its previous start is not restarted faster than this. */
const RESTART_DELAY_MS = 1000;
const HEALTH_ANSWER_MS = 2000;

export async function startPrimary(options: PrimaryOptions): Promise<ForwarderPrimary> {
  const log = options.logger;
  cluster.setupPrimary({ args: options.args ?? process.argv.slice(2), silent: false });
  const live = new Map<number, Worker>();
  const startedWorkers = new Set<number>();
  let stopping = false;
  let requestSeq = 0;
  let resolveStarted!: (v: { destinations: number }) => void;
  let rejectStarted!: (code: number) => void;
  const started = new Promise<{ destinations: number }>((resolve, reject) => { resolveStarted = resolve; rejectStarted = reject; });
  started.catch(() => undefined);
  let everyoneStarted = false;

  const loaded = new Set<number>();
  let allLoaded = false;
  const fork = (index: number): void => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index), ...(server ? { [ADVERTISED_METRICS_PORT_ENV]: String(server.port) } : {}) });
    live.set(index, worker);
    worker.on('message', (message: FromWorker) => {
      if (message?.kind === 'insight-logs:loaded') {
        loaded.add(index);
        // At start, all together; a replacement later goes at once.
        if (allLoaded) worker.send({ kind: 'insight-logs:go' } satisfies ToWorker);
        else if (loaded.size === options.workers) {
          allLoaded = true;
          for (const w of live.values()) w.send({ kind: 'insight-logs:go' } satisfies ToWorker);
        }
        return;
      }
      if (message?.kind !== 'insight-logs:started') return;
      startedWorkers.add(index);
      log.info({ worker: index, pid: worker.process.pid }, 'forwarder worker started');
      if (!everyoneStarted && startedWorkers.size === options.workers) {
        everyoneStarted = true;
        resolveStarted({ destinations: message.destinations });
      }
    });
    worker.on('exit', (code, signal) => {
      live.delete(index);
      if (stopping) return;
      if (!startedWorkers.has(index)) {
        // It could not start (bad settings, Kafka unreachable): the others would fail alike.
        log.error({ worker: index, code, signal }, 'forwarder worker exited before it started');
        rejectStarted(code ?? 1);
        return;
      }
      log.error({ worker: index, code, signal }, 'forwarder worker died; starting another (its partitions move to the others meanwhile)');
      setTimeout(() => { if (!stopping) fork(index); }, RESTART_DELAY_MS).unref();
    });
  };
  const health = async (): Promise<HealthReport> => {
    const answers = await Promise.all([...live.entries()].map(([index, worker]) => askHealth(worker, ++requestSeq).then((report) => [index, report] as const)));
    const detail: Record<string, unknown> = {};
    let healthy = live.size === options.workers;
    let ready = healthy;
    for (const [index, report] of answers) {
      detail[`worker-${index}`] = report ?? 'no answer';
      healthy &&= report?.healthy ?? false;
      ready &&= report?.ready ?? false;
    }
    return { healthy, ready, detail };
  };

  // The server first, so each worker can advertise its port (metrics/advertise.ts).
  let server: MetricsServer | undefined;
  if (options.metricsPort !== undefined) {
    const aggregator = new AggregatorRegistry();
    server = await startMetricsServer({
      port: options.metricsPort,
      host: options.metricsHost,
      registry: { contentType: aggregator.contentType as Registry['contentType'], metrics: () => aggregator.clusterMetrics() },
      health,
    });
  }

  for (let i = 0; i < options.workers; i++) fork(i);

  return {
    metricsPort: server?.port,
    started,
    async stop() {
      stopping = true;
      const exits = [...live.values()].map((worker) => new Promise<number>((resolve) => {
        if (worker.isDead()) return resolve(worker.process.exitCode ?? 0);
        worker.once('exit', (code) => resolve(code ?? 1));
        worker.process.kill('SIGTERM');
      }));
      const timer = setTimeout(() => {
        log.warn({ timeoutMs: options.stopTimeoutMs }, 'workers did not stop in time: killing them (their uncommitted records will be delivered again)');
        for (const worker of live.values()) worker.process.kill('SIGKILL');
      }, options.stopTimeoutMs);
      const codes = await Promise.all(exits);
      clearTimeout(timer);
      await server?.close();
      return codes.some((c) => c !== 0) ? 1 : 0;
    },
  };
}

function askHealth(worker: Worker, requestId: number): Promise<HealthReport | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { worker.off('message', onMessage); resolve(undefined); }, HEALTH_ANSWER_MS);
    const onMessage = (message: FromWorker): void => {
      if (message?.kind !== 'insight-logs:health' || message.requestId !== requestId) return;
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(message.report);
    };
    worker.on('message', onMessage);
    try {
      worker.send({ kind: 'insight-logs:health?', requestId } satisfies ToWorker);
    } catch {
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(undefined);
    }
  });
}
