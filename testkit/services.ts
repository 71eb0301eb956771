/**
 * Real Kafka and Azurite for integration tests and the bench, from (first match wins):
 *   1. env `KAFKA_BROKERS` (comma separated) and `AZURE_STORAGE_CONNECTION_STRING`;
 *   2. a reachable Docker engine: apache/kafka and Azurite containers via testcontainers;
 *   3. `bash scripts/services.sh up`: a local Kafka (jars from Maven) and Azurite, no Docker.
 * Memoised within a process. `stop()` stops containers this process started; local services
 * started by the script are shared between test files and stay up (`services.sh down`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseServicesEnv } from '../src/demo/services.js';

const execFileP = promisify(execFile);

export const KAFKA_IMAGE = 'apache/kafka:4.1.1';
export const AZURITE_IMAGE = 'mcr.microsoft.com/azure-storage/azurite:3.35.0';
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Services {
  kafkaBrokers: string[];
  storageConnectionString: string;
  /** How the services were obtained. */
  source: 'env' | 'docker' | 'local';
  stop(): Promise<void>;
}

export function azuriteConnectionString(host: string, port: number, protocol: 'http' | 'https' = 'http'): string {
  return (
    `DefaultEndpointsProtocol=${protocol};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=${protocol}://${host}:${port}/${AZURITE_ACCOUNT};`
  );
}

/** The repository root: the nearest directory above this file holding package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a Docker engine answers `/_ping` (DOCKER_HOST or the default socket). */
export async function dockerAvailable(timeoutMs = 2000): Promise<boolean> {
  const dockerHost = process.env.DOCKER_HOST;
  let opts: http.RequestOptions;
  if (dockerHost?.startsWith('tcp://') || dockerHost?.startsWith('http://')) {
    const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    opts = { host: u.hostname, port: Number(u.port || 2375), path: '/_ping' };
  } else {
    const socketPath = dockerHost?.startsWith('unix://')
      ? dockerHost.slice('unix://'.length)
      : '/var/run/docker.sock';
    if (!existsSync(socketPath)) return false;
    opts = { socketPath, path: '/_ping' };
  }
  return new Promise((resolve) => {
    const req = http.get({ ...opts, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

async function fromDocker(): Promise<Services> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const runtime = await getContainerRuntimeClient();
  const host = runtime.info.containerRuntime.host;
  const kafkaPort = await freePort();
  const kafka = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: 9092, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_NUM_PARTITIONS: '3',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000)
    .start();
  let azurite;
  try {
    azurite = await new GenericContainer(AZURITE_IMAGE)
      .withCommand([
        'azurite-blob', '--blobHost', '0.0.0.0', '--blobPort', '10000', '--skipApiVersionCheck', '--loose',
      ])
      .withExposedPorts(10000)
      .withWaitStrategy(Wait.forListeningPorts())
      .withStartupTimeout(120_000)
      .start();
  } catch (err) {
    await kafka.stop().catch(() => undefined);
    throw err;
  }
  const started = azurite;
  return {
    kafkaBrokers: [`${host}:${kafkaPort}`],
    storageConnectionString: azuriteConnectionString(started.getHost(), started.getMappedPort(10000)),
    source: 'docker',
    async stop() {
      await Promise.allSettled([kafka.stop(), started.stop()]);
    },
  };
}

async function fromScript(): Promise<Services> {
  const root = repoRoot();
  const script = path.join(root, 'scripts', 'services.sh');
  let stdout: string;
  try {
    ({ stdout } = await execFileP('bash', [script, 'up'], { cwd: root, timeout: 600_000, maxBuffer: 1 << 20 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`bash scripts/services.sh up failed: ${e.stderr?.trim() || e.message}`);
  }
  const env = parseServicesEnv(stdout);
  const brokers = env.KAFKA_BROKERS;
  const conn = env.AZURE_STORAGE_CONNECTION_STRING;
  if (!brokers || !conn) throw new Error(`unexpected output from services.sh up:\n${stdout}`);
  return {
    kafkaBrokers: brokers.split(',').map((b) => b.trim()).filter(Boolean),
    storageConnectionString: conn,
    source: 'local',
    async stop() {
      /* shared between test processes: left running, stop with `bash scripts/services.sh down` */
    },
  };
}

async function resolveServices(): Promise<Services> {
  const envBrokers = process.env.KAFKA_BROKERS?.trim();
  const envConn = process.env.AZURE_STORAGE_CONNECTION_STRING?.trim();
  if (envBrokers && envConn) {
    return {
      kafkaBrokers: envBrokers.split(',').map((b) => b.trim()).filter(Boolean),
      storageConnectionString: envConn,
      source: 'env',
      async stop() {},
    };
  }
  const services = (await dockerAvailable()) ? await fromDocker() : await fromScript();
  // A partial environment overrides what we started.
  if (envBrokers) services.kafkaBrokers = envBrokers.split(',').map((b) => b.trim()).filter(Boolean);
  if (envConn) services.storageConnectionString = envConn;
  return services;
}

let memo: Promise<Services> | undefined;

export function getServices(): Promise<Services> {
  if (!memo) {
    memo = resolveServices();
    memo.catch(() => {
      memo = undefined;
    });
  }
  return memo;
}
