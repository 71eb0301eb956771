/**
 * A forwarder running as the real binary on a test's own topics, with two destinations: a blob
 * one on a private Azurite (so a test can stop storage and start it again) and a dir one, and
 * `simulate` publishing steady traffic with its producer metrics served. What `top` and the
 * Prometheus test look at.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTopics, deleteTopics, kafkaClient, privateTopics, privateTopicsEnv, uniqueName, withAdmin } from '../../testkit/kafka.js';
import { spawnCli, type RunningCli } from './cli.js';
import { startAzurite, type AzuriteInstance } from './azurite.js';

export interface ForwarderStack {
  readonly env: Record<string, string>;
  readonly topics: { audit: string; operational: string; deadLetter: string };
  readonly blob: string;
  readonly dir: string;
  readonly azurite: AzuriteInstance;
  readonly forwarderMetricsPort: number;
  readonly producerMetricsPort: number;
  readonly forwarder: RunningCli;
  /** Publishes `n` messages no schema can decode to the audit topic (dead-lettered as DECODE_FAILED). */
  publishUndecodable(n: number): Promise<void>;
  close(): Promise<void>;
}

const portOf = (line: string): number => Number(/:(\d+)\/metrics/.exec(line)![1]);

export async function startForwarderStack(brokers: string[], options: { rate?: number; name?: string } = {}): Promise<ForwarderStack> {
  const prefix = uniqueName(options.name ?? 'stack');
  const [audit, operational, deadLetter] = privateTopics(prefix);
  await createTopics(brokers, [audit!, operational!], 3);
  const azurite = await startAzurite();
  const work = mkdtempSync(path.join(os.tmpdir(), 'forwarder-stack-'));
  const blob = `${prefix}-blob`;
  const dir = `${prefix}-dir`;
  const file = path.join(work, 'destinations.yaml');
  writeFileSync(file, `destinations:
  - name: ${blob}
    type: blob
    connectionStringEnv: STACK_STORAGE
  - name: ${dir}
    type: dir
    path: ${path.join(work, 'out')}
`);
  const env = { KAFKA_BROKERS: brokers.join(','), ...privateTopicsEnv(prefix), STACK_STORAGE: azurite.connectionString, LOG_LEVEL: 'warn' };
  const forwarder = spawnCli(['forward', '--destinations-file', file, '--metrics-port', '0', '--workers', '1', '--stop-timeout', '5s'], { env, timeoutMs: 30 * 60_000 });
  const simulator = spawnCli(['simulate', '--rate', String(options.rate ?? 40), '--duration', '30m', '--metrics-port', '0', '--progress-every', '1h'], { env, timeoutMs: 30 * 60_000 });
  let forwarderMetricsPort: number;
  let producerMetricsPort: number;
  try {
    forwarderMetricsPort = portOf(await forwarder.waitForOutput(/metrics on http:/, 60_000, 'stderr'));
    producerMetricsPort = portOf(await simulator.waitForOutput(/producer metrics on http:/, 30_000, 'stderr'));
  } catch (err) {
    await Promise.all([forwarder.stop('SIGKILL'), simulator.stop('SIGKILL')]);
    await azurite.dispose();
    throw err;
  }
  return {
    env,
    topics: { audit: audit!, operational: operational!, deadLetter: deadLetter! },
    blob,
    dir,
    azurite,
    forwarderMetricsPort,
    producerMetricsPort,
    forwarder,
    async publishUndecodable(n) {
      const producer = kafkaClient(brokers).producer();
      await producer.connect();
      await producer.send({ topic: audit!, messages: Array.from({ length: n }, (_, i) => ({ key: `bad-${i}`, value: Buffer.from('not avro at all') })) });
      await producer.disconnect();
    },
    async close() {
      await simulator.stop('SIGINT');
      await forwarder.stop('SIGTERM');
      await azurite.dispose();
      rmSync(work, { recursive: true, force: true });
      await withAdmin(brokers, async (admin) => {
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.endsWith(blob) || g.endsWith(dir));
        await admin.deleteGroups(groups).catch(() => undefined);
      }).catch(() => undefined);
      await deleteTopics(brokers, privateTopics(prefix)).catch(() => undefined);
    },
  };
}
