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

export async function startPrivateKafka(options: { startTimeoutMs?: number; heapMb?: number } = {}): Promise<PrivateKafka> {
  const libs = kafkaLibs();
  if (!privateKafkaAvailable()) throw new Error(`no Kafka jars in ${libs}: run bash scripts/services.sh up once`);
  const classpath = `${libs}/*`;
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const home = await mkdtemp(path.join(os.tmpdir(), 'private-kafka-'));
  const dataDir = path.join(home, 'data');
  const propsFile = path.join(home, 'server.properties');
  await mkdir(dataDir);
  const template = await readFile(path.join(repoRoot(), 'scripts', 'kafka', 'server.properties.template'), 'utf8');
  await writeFile(propsFile, template
    .replaceAll('@KAFKA_PORT@', String(port))
    .replaceAll('@KAFKA_CONTROLLER_PORT@', String(controllerPort))
    .replaceAll('@KAFKA_LOG_DIR@', dataDir));
  const { stdout: clusterId } = await execFileP('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']);
  await execFileP('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId.trim().split('\n').pop()!, '-c', propsFile, '-g']);

  const brokers = [`127.0.0.1:${port}`];
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
