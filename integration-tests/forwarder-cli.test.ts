/**
 * The CLI end of the forwarder: `destinations add/list/remove/apply` against a real Kafka, and
 * a spawned `insight-logs forward` that delivers, serves /healthz and /metrics, and on SIGTERM
 * finishes, commits everything it delivered and exits 0. Topic names come from the
 * INSIGHT_LOGS_*_TOPIC variables so nothing touches the default topics.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { apiEventWithId, idOf } from './helpers/records.js';
import { createTopics, deleteTopics, kafkaClient, privateTopics, privateTopicsEnv, uniqueName } from '../testkit/kafka.js';
import { freePort, getServices, repoRoot } from '../testkit/services.js';

let brokers: string[];
let prefix: string;
let env: NodeJS.ProcessEnv;
let tmp: string;
const children: ChildProcess[] = [];
const cli = () => path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

function readdirRecursive(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
}

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli(), ...args], { env, encoding: 'utf8', timeout: 90_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  brokers = (await getServices()).kafkaBrokers;
  prefix = uniqueName('fwd-cli');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fwd-cli-'));
  env = {
    ...process.env,
    KAFKA_BROKERS: brokers.join(','),
    ...privateTopicsEnv(prefix),
    LOG_LEVEL: 'info',
  };
  await createTopics(brokers, [`${prefix}-audit`, `${prefix}-operational`], 2);
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (prefix) await deleteTopics(brokers, privateTopics(prefix));
});

test('destinations add, list, remove and apply', { timeout: 120_000 }, () => {
  const a = run('destinations', 'add', 'alpha', '--type', 'memory', '--categories', 'audit', '--set', 'delayMs=1');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(run('destinations', 'add', 'alpha', '--type', 'memory').status, 2, 'adding an existing name without --replace');
  const secret = run('destinations', 'add', 'beta', '--type', 'memory', '--set', 'store=AccountKey=abc123');
  assert.equal(secret.status, 2);
  assert.match(secret.stderr, /store: set an environment variable name, not the secret/);
  assert.ok(!secret.stderr.includes('abc123'));

  const listed = JSON.parse(run('destinations', 'list', '--output', 'json').stdout) as { name: string; categories: string[] }[];
  assert.deepEqual(listed, [{ name: 'alpha', type: 'memory', categories: ['audit'], delayMs: '1' }]);
  assert.match(run('destinations', 'list').stdout, /^NAME\s+TYPE\s+CATEGORIES\s+STATE\s+LAG\s+LAST DELIVERY\s+SETTINGS\nalpha\s+memory\s+audit\s+\S.*\s+\d+\s+unknown\s+delayMs=1\n$/);

  const unknown = run('destinations', 'remove', 'nope');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no destination named "nope"/);

  // One bad entry: nothing of the file is written.
  const bad = path.join(tmp, 'bad.yaml');
  writeFileSync(bad, 'destinations:\n  - { name: gamma, type: memory }\n  - { name: delta, type: memory, conectionStringEnv: X }\n');
  const refused = run('destinations', 'apply', '-f', bad);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /destinations\[1\]\.conectionStringEnv: unknown key/);
  assert.deepEqual((JSON.parse(run('destinations', 'list', '--output', 'json').stdout) as { name: string }[]).map((d) => d.name), ['alpha']);

  const good = path.join(tmp, 'good.json');
  writeFileSync(good, JSON.stringify({ destinations: [{ name: 'gamma', type: 'memory' }, { name: 'alpha', type: 'memory', categories: ['audit'], delayMs: '1' }] }));
  const applied = run('destinations', 'apply', '-f', good);
  assert.equal(applied.status, 0, applied.stderr);
  assert.match(applied.stdout, /1 added \(gamma\), 0 updated, 1 unchanged/);
  assert.equal(run('destinations', 'remove', 'alpha').status, 0);
  assert.equal(run('destinations', 'remove', 'gamma').status, 0);
  assert.deepEqual(JSON.parse(run('destinations', 'list', '--output', 'json').stdout), []);
});

test('SIGTERM: a spawned forward delivers, reports health, then commits and exits 0', { timeout: 150_000 }, async () => {
  const name = uniqueName('sigterm').toLowerCase();
  const file = path.join(tmp, 'forward.yaml');
  const dirName = `${name}-dir`;
  const outDir = path.join(tmp, 'out');
  writeFileSync(file, `destinations:\n  - name: ${name}\n    type: memory\n    delayMs: 1500\n  - name: ${dirName}\n    type: dir\n    path: ${JSON.stringify(outDir)}\n`);
  const producer = kafkaClient(brokers).producer();
  await producer.connect();
  const events = Array.from({ length: 200 }, () => apiEventWithId(randomUUID(), { audit: true }));
  await producer.send({ topic: `${prefix}-audit`, acks: -1, messages: events.map((e) => ({ key: e.resourceId, value: defaultSchemaRegistry().encode('APIEvent', e) })) });
  await producer.disconnect();

  const port = await freePort();
  const child = spawn(process.execPath, [cli(), 'forward', '--destinations-file', file, '--metrics-port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  const committed = async (destination = name) => (await admin.fetchOffsets({ groupId: groupIdFor(destination), topics: [`${prefix}-audit`] }))
    .flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  try {
    const deadline = Date.now() + 90_000;
    let healthy = false;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) assert.fail(`forward exited early (${child.exitCode}):\n${stderr}`);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      if (res?.status === 200) { healthy = true; break; }
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(healthy, `never ready:\n${stderr}`);
    // Stop it mid-stream once something has been committed.
    while ((await committed()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, new RegExp(`insight_logs_records_in_total\\{destination="${name}"`));
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, stderr);
    const logs = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    // One line per worker process (forward runs one per core by default), each with what it delivered.
    const stoppedLines = logs.filter((l) => l.msg === 'pipeline stopped' && l.destination === name);
    assert.ok(stoppedLines.length > 0, 'the pipeline logged its stop');
    const delivered = stoppedLines.reduce((n, l) => n + Number(l.delivered), 0);
    // Everything the processes delivered is committed, nothing more.
    assert.equal(await committed(), delivered);
    assert.ok(delivered > 0);
    // The dir destination: every committed record is in its files (JSON Lines, blob layout).
    const lines = readdirRecursive(outDir).filter((f) => f.endsWith('.json'))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
    const dirCommitted = await committed(dirName);
    assert.ok(dirCommitted > 0 && lines.length >= dirCommitted, `dir: ${lines.length} lines, ${dirCommitted} committed`);
    const wanted = new Set(events.map((e) => idOf(e)));
    assert.ok(lines.every((l) => wanted.has(idOf(JSON.parse(l) as Record<string, unknown>)!)));
    assert.ok(!stderr.includes('AccountKey='), 'no secrets in logs');
  } finally {
    await admin.disconnect();
  }
});
