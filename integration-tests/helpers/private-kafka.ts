/**
 * A SECOND, private Kafka broker for tests that stop and restart the broker (the shared one on
 * 9092 keeps running for everyone else): the jars of `scripts/services.sh` (`.local/kafka/libs`),
 * the same properties template, free ports, its own temp data dir. `stop()` sends SIGTERM (a
 * controlled shutdown) and `restart()` starts it again on the same ports and data, so topics,
 * records and committed offsets survive, as they would on a real broker restart.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { kafkaClient } from '../../testkit/kafka.js';
import { freePort, repoRoot } from '../../testkit/services.js';

const execFileP = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface PrivateKafka {
  readonly brokers: string[];
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  readonly running: boolean;
  /** SIGTERM (controlled shutdown), SIGKILL after `graceMs` (default 60 s); data stays. */
  stop(graceMs?: number): Promise<void>;
  /** Starts again on the same ports and data dir; resolves once the broker answers metadata. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** The last lines the broker printed (for failure messages). */
  logTail(): string;
  /** Stop and remove the data dir. */
  dispose(): Promise<void>;
}

export function kafkaLibs(): string {
  return path.join(repoRoot(), '.local', 'kafka', 'libs');
}

/** True when the jars `scripts/services.sh up` fetches are there (a private broker can run). */
export function privateKafkaAvailable(): boolean {
  if (!existsSync(kafkaLibs())) return false;
  return readdirSync(kafkaLibs()).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
}

async function brokerAnswers(brokers: string[]): Promise<boolean> {
  const admin = kafkaClient(brokers).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface PrivateKafkaOptions {
  startTimeoutMs?: number;
  heapMb?: number;
  /**
   * The port the broker tells clients to use (its listener stays on a free port of its own):
   * a proxy there (helpers/kafka-proxy.ts) then carries all of the clients' traffic, which the
   * broker's metadata would otherwise send straight to the broker. `brokers` is this address.
   */
  advertisedPort?: number;
  /** The broker's listener port (a free one when unset), for a proxy that must know it before the start. */
  port?: number;
}

export async function startPrivateKafka(options: PrivateKafkaOptions = {}): Promise<PrivateKafka> {
  const libs = kafkaLibs();
  if (!privateKafkaAvailable()) throw new Error(`no Kafka jars in ${libs}: run bash scripts/services.sh up once`);
  const classpath = `${libs}/*`;
  const port = options.port ?? await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const home = await mkdtemp(path.join(os.tmpdir(), 'private-kafka-'));
  const dataDir = path.join(home, 'data');
  const propsFile = path.join(home, 'server.properties');
  await mkdir(dataDir);
  const template = await readFile(path.join(repoRoot(), 'scripts', 'kafka', 'server.properties.template'), 'utf8');
  const rendered = options.advertisedPort === undefined ? template
    : template.replace('advertised.listeners=PLAINTEXT://127.0.0.1:@KAFKA_PORT@', `advertised.listeners=PLAINTEXT://127.0.0.1:${options.advertisedPort}`);
  await writeFile(propsFile, rendered
    .replaceAll('@KAFKA_PORT@', String(port))
    .replaceAll('@KAFKA_CONTROLLER_PORT@', String(controllerPort))
    .replaceAll('@KAFKA_LOG_DIR@', dataDir));
  const { stdout: clusterId } = await execFileP('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']);
  await execFileP('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId.trim().split('\n').pop()!, '-c', propsFile, '-g']);

  const brokers = [`127.0.0.1:${options.advertisedPort ?? port}`];
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  let child: ChildProcess | undefined;
  let output = '';
  const killOnExit = (): void => void child?.kill('SIGKILL');
  process.on('exit', killOnExit);

  async function start(): Promise<void> {
    if (child) return;
    const proc = spawn('java', [`-Xmx${options.heapMb ?? 384}m`, '-Xms64m', '-cp', classpath, 'kafka.Kafka', propsFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const keep = (d: Buffer): void => { output = (output + d.toString()).slice(-8000); };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.once('exit', () => { if (child === proc) child = undefined; });
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (child !== proc) throw new Error(`private Kafka exited during startup on ${brokers[0]}:\n${output}`);
      if (await brokerAnswers(brokers)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`private Kafka did not answer on ${brokers[0]} within ${startTimeoutMs} ms:\n${output}`);
      }
      await sleep(500);
    }
  }

  async function stop(graceMs = 60_000): Promise<void> {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    child = undefined;
  }

  await start();
  return {
    brokers,
    port,
    controllerPort,
    dataDir,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    logTail: () => output.slice(-3000),
    async dispose() {
      await stop();
      process.removeListener('exit', killOnExit);
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** One node of a private cluster: a combined broker + controller JVM. */
export interface ClusterNode {
  readonly id: number;
  readonly broker: string;
  readonly running: boolean;
  /** SIGKILL (a crash: no controlled shutdown) or SIGTERM; resolves once the JVM exited. */
  stop(signal?: 'SIGKILL' | 'SIGTERM', graceMs?: number): Promise<void>;
  /** Starts again on the same ports and data; resolves once the cluster lists it as a broker. */
  start(): Promise<void>;
}

export interface PrivateKafkaCluster {
  readonly brokers: string[];
  readonly nodes: ClusterNode[];
  node(id: number): ClusterNode;
  /** Broker id leading each partition of `topic` (metadata from a live node). */
  leaders(topic: string): Promise<Map<number, number>>;
  logTail(id: number): string;
  dispose(): Promise<void>;
}

export interface ClusterOptions {
  nodes?: number;
  /**
   * First of 2 × nodes consecutive ports (brokers, then controllers); env
   * `KAFKA_CLUSTER_PORT_BASE` when unset, free ports when neither is given.
   */
  portBase?: number;
  /** Heap of each JVM (default 256 MB: three nodes fit a 2-core test machine). */
  heapMb?: number;
  startTimeoutMs?: number;
}

/** Live broker ids, as a node that answers sees them (undefined when none answers). */
async function liveBrokerIds(brokers: string[]): Promise<number[] | undefined> {
  const admin = kafkaClient(brokers).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const { brokers: live } = await admin.describeCluster();
    return live.map((b) => b.nodeId).sort();
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * A private KRaft cluster of `nodes` (default 3) combined broker + controller nodes on
 * 127.0.0.1, for the fault scenarios that kill a partition leader. Internal topics are
 * replicated 3 ways with min.insync.replicas 2, topics get Kafka's own defaults (1 replica, min.insync.replicas 1: what the product must override), and the broker
 * session timeout is short so a killed node is fenced (and leadership moves) within seconds.
 */
export async function startPrivateKafkaCluster(options: ClusterOptions = {}): Promise<PrivateKafkaCluster> {
  const libs = kafkaLibs();
  if (!privateKafkaAvailable()) throw new Error(`no Kafka jars in ${libs}: run bash scripts/services.sh up once`);
  const classpath = `${libs}/*`;
  const count = options.nodes ?? 3;
  const base = options.portBase ?? (process.env.KAFKA_CLUSTER_PORT_BASE ? Number(process.env.KAFKA_CLUSTER_PORT_BASE) : undefined);
  if (base !== undefined && (!Number.isInteger(base) || base < 1024 || base + 2 * count > 65_535)) {
    throw new Error(`KAFKA_CLUSTER_PORT_BASE: ${base} leaves no room for ${2 * count} ports`);
  }
  const ports: number[] = [];
  for (let i = 0; i < 2 * count; i++) {
    if (base !== undefined) ports.push(base + i);
    else {
      let p = await freePort();
      while (ports.includes(p)) p = await freePort();
      ports.push(p);
    }
  }
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const brokerPort = (id: number): number => ports[id - 1]!;
  const controllerPort = (id: number): number => ports[count + id - 1]!;
  const brokers = ids.map((id) => `127.0.0.1:${brokerPort(id)}`);
  const voters = ids.map((id) => `${id}@127.0.0.1:${controllerPort(id)}`).join(',');
  const home = await mkdtemp(path.join(os.tmpdir(), 'private-kafka-cluster-'));
  const template = await readFile(path.join(repoRoot(), 'scripts', 'kafka', 'server.properties.template'), 'utf8');
  const { stdout: uuidOut } = await execFileP('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']);
  const clusterId = uuidOut.trim().split('\n').pop()!;
  const replicas = Math.min(3, count);
  const minIsr = Math.min(2, replicas);
  const propsFiles = new Map<number, string>();
  await Promise.all(ids.map(async (id) => {
    const dataDir = path.join(home, `node-${id}`);
    await mkdir(dataDir);
    const propsFile = path.join(home, `node-${id}.properties`);
    // Java Properties: a key given twice takes the last value, so these override the template.
    const overrides = [
      `node.id=${id}`,
      `controller.quorum.voters=${voters}`,
      `offsets.topic.replication.factor=${replicas}`,
      `transaction.state.log.replication.factor=${replicas}`,
      `transaction.state.log.min.isr=${minIsr}`,
      `share.coordinator.state.topic.replication.factor=${replicas}`,
      `share.coordinator.state.topic.min.isr=${minIsr}`,
      'default.replication.factor=1', // Kafka's own broker defaults: the product must not rely on them
      'min.insync.replicas=1',
      // One offsets partition: one group coordinator a scenario can find and kill.
      'offsets.topic.num.partitions=1',
      'transaction.state.log.num.partitions=1',
      'broker.session.timeout.ms=4000',
      'broker.heartbeat.interval.ms=1000',
      'num.io.threads=2',
      'num.replica.fetchers=1',
      'log.segment.bytes=16777216',
    ];
    await writeFile(propsFile, template
      .replaceAll('@KAFKA_PORT@', String(brokerPort(id)))
      .replaceAll('@KAFKA_CONTROLLER_PORT@', String(controllerPort(id)))
      .replaceAll('@KAFKA_LOG_DIR@', dataDir) + `\n# Cluster node ${id} of ${count}\n${overrides.join('\n')}\n`);
    await execFileP('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile]);
    propsFiles.set(id, propsFile);
  }));

  const children = new Map<number, ChildProcess>();
  const outputs = new Map<number, string>();
  const killAll = (): void => { for (const c of children.values()) c.kill('SIGKILL'); };
  process.on('exit', killAll);
  const startTimeoutMs = options.startTimeoutMs ?? 180_000;

  function spawnNode(id: number): ChildProcess {
    const proc = spawn('java', [`-Xmx${options.heapMb ?? 256}m`, '-Xms64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
      '-cp', classpath, 'kafka.Kafka', propsFiles.get(id)!], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(id, proc);
    const keep = (d: Buffer): void => { outputs.set(id, ((outputs.get(id) ?? '') + d.toString()).slice(-8000)); };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.once('exit', () => { if (children.get(id) === proc) children.delete(id); });
    return proc;
  }

  /** Until every id in `want` is a live broker as seen from node `via`. */
  async function waitForBrokers(want: number[], via: string[]): Promise<void> {
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      for (const id of want) if (!children.has(id)) throw new Error(`Kafka node ${id} exited during startup:\n${outputs.get(id) ?? ''}`);
      const live = await liveBrokerIds(via);
      if (live && want.every((id) => live.includes(id))) return;
      if (Date.now() > deadline) throw new Error(`Kafka nodes ${want.join(',')} not all live within ${startTimeoutMs} ms (live: ${live?.join(',') ?? 'none'})`);
      await sleep(500);
    }
  }

  const nodes: ClusterNode[] = ids.map((id) => ({
    id,
    broker: `127.0.0.1:${brokerPort(id)}`,
    get running() {
      return children.has(id);
    },
    async stop(signal = 'SIGKILL', graceMs = 60_000) {
      const proc = children.get(id);
      if (!proc) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      children.delete(id);
    },
    async start() {
      if (children.has(id)) return;
      spawnNode(id);
      await waitForBrokers([id], [`127.0.0.1:${brokerPort(id)}`]);
    },
  }));

  try {
    for (const id of ids) spawnNode(id);
    await waitForBrokers(ids, brokers);
  } catch (err) {
    killAll();
    await rm(home, { recursive: true, force: true });
    throw err;
  }

  return {
    brokers,
    nodes,
    node(id) {
      const n = nodes.find((x) => x.id === id);
      if (!n) throw new Error(`no node ${id} in this cluster`);
      return n;
    },
    async leaders(topic) {
      const live = nodes.filter((n) => n.running).map((n) => n.broker);
      const admin = kafkaClient(live).admin();
      await admin.connect();
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        return new Map(topics[0]!.partitions.map((p) => [p.partitionId, p.leader]));
      } finally {
        await admin.disconnect();
      }
    },
    logTail: (id) => (outputs.get(id) ?? '').slice(-3000),
    async dispose() {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      process.removeListener('exit', killAll);
      await rm(home, { recursive: true, force: true });
    },
  };
}
