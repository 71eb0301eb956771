/**
 * `insight-logs forward --workers 2`: two forwarder processes share each destination's
 * consumer group. Checked against a real Kafka: every record delivered once to a dir
 * destination, the primary's /metrics sums the workers' counters, /healthz reports each
 * worker, a worker killed with -9 is replaced and delivery goes on, SIGTERM stops everything
 * with everything committed and exit 0; a bad --workers value is refused before anything starts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricsUrlOfMember } from '../src/metrics/advertise.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { apiEventWithId, idOf } from './helpers/records.js';
import { createTopics, deleteTopics, kafkaClient, privateTopics, privateTopicsEnv, publishEvents, uniqueName } from '../testkit/kafka.js';
import { freePort, getServices, repoRoot } from '../testkit/services.js';

let brokers: string[];
let prefix: string;
let env: NodeJS.ProcessEnv;
let tmp: string;
const children: ChildProcess[] = [];
const cli = () => path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  brokers = (await getServices()).kafkaBrokers;
  prefix = uniqueName('fwd-workers');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fwd-workers-'));
  env = {
    ...process.env,
    KAFKA_BROKERS: brokers.join(','),
    ...privateTopicsEnv(prefix),
    LOG_LEVEL: 'info',
  };
  await createTopics(brokers, [`${prefix}-audit`, `${prefix}-operational`], 4);
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (prefix) await deleteTopics(brokers, privateTopics(prefix));
});

async function publish(n: number): Promise<string[]> {
  const events = Array.from({ length: n }, () => apiEventWithId(randomUUID(), { audit: true }));
  // In sends of 500: one request of thousands of records is above the broker's limit.
  await publishEvents(brokers, `${prefix}-audit`, events, 500);
  return events.map((e) => idOf(e)!);
}

function linesIn(dir: string): string[] {
  let files: string[] = [];
  try {
    files = readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => path.join(e.parentPath ?? e.path, e.name));
  } catch {
    return [];
  }
  return files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
}

test('a bad --workers value is refused with exit 2 before anything starts', () => {
  for (const value of ['0', 'two', '65']) {
    const r = spawnSync(process.execPath, [cli(), 'forward', '--workers', value], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--workers: ".*" is not a worker count \(1-64\)/);
  }
});

test('workers that cannot start (Kafka unreachable) end forward with their exit code, promptly, once', async () => {
  const port = await freePort(); // nothing listens there
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli(), 'forward', '--workers', '2', '--metrics-port', '0'], {
    env: { ...env, KAFKA_BROKERS: `127.0.0.1:${port}` }, encoding: 'utf8', timeout: 90_000,
  });
  assert.notEqual(r.signal, 'SIGTERM', `forward hung (killed after 90 s):\n${r.stderr.slice(-3000)}`);
  assert.equal(r.status, 69, r.stderr.slice(-3000));
  assert.match(r.stderr, /127\.0\.0\.1:\d+/, 'the error names the broker');
  assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
});

test('two workers share the groups: delivered once each, metrics summed, a killed worker replaced, SIGTERM commits all', { timeout: 240_000 }, async () => {
  const name = uniqueName('workers').toLowerCase();
  const outDir = path.join(tmp, 'out');
  const file = path.join(tmp, 'forward.yaml');
  writeFileSync(file, `destinations:\n  - name: ${name}\n    type: dir\n    path: ${JSON.stringify(outDir)}\n`);
  const port = await freePort();
  const child = spawn(process.execPath, [cli(), 'forward', '--workers', '2', '--destinations-file', file, '--metrics-port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-200_000); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logs = () => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  const committed = async () => (await admin.fetchOffsets({ groupId: groupIdFor(name), topics: [`${prefix}-audit`] }))
    .flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  const waitFor = async (what: string, ok: () => Promise<boolean> | boolean, ms = 90_000) => {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (child.exitCode !== null) assert.fail(`forward exited early (${child.exitCode}):\n${stderr.slice(-5000)}`);
      if (Date.now() > deadline) assert.fail(`${what} did not happen within ${ms} ms:\n${stderr.slice(-5000)}`);
      await sleep(300);
    }
  };
  try {
    await waitFor('both workers started', () => /forwarding to 1 destination\(s\) with 2 workers/.test(stderr));
    // Ready: every worker's pipeline joined the group (the primary asks each one).
    await waitFor('ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200);
    const first = await publish(3000);
    await waitFor('all 3000 committed', async () => (await committed()) === 3000);

    // Two processes, each a member of the group, each delivering part of the partitions.
    const workerPids = new Set(logs().filter((l) => l.msg === 'forwarder worker started').map((l) => l.pid as number));
    assert.equal(workerPids.size, 2, 'two workers started');
    assert.ok(!workerPids.has(child.pid!), 'the primary forwards nothing itself');
    const pipelines = new Set(logs().filter((l) => l.msg === 'pipeline started').map((l) => l.worker));
    assert.deepEqual([...pipelines].sort(), [0, 1], 'each worker runs the pipeline');
    const group = await admin.describeGroups([groupIdFor(name)]);
    assert.equal(group.groups[0]!.members.length, 2);
    // Each worker advertises the primary's metrics port (what `insight-logs top` finds them by).
    assert.deepEqual(group.groups[0]!.members.map((m) => metricsUrlOfMember(m)), [`http://127.0.0.1:${port}/metrics`, `http://127.0.0.1:${port}/metrics`]);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const out = /insight_logs_records_out_total\{destination="([^"]+)"\} (\d+)/.exec(metrics);
    assert.ok(out && out[1] === name, metrics.slice(0, 2000));
    assert.equal(Number(out[2]), 3000, 'the primary sums both workers\' counters');
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json() as { status: string; detail: Record<string, unknown> };
    assert.equal(health.status, 'ok');
    assert.deepEqual(Object.keys(health.detail).sort(), ['worker-0', 'worker-1']);

    // A worker killed with -9 is replaced; its partitions move and nothing is lost.
    const victim = [...workerPids][0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor('the primary noticed', () => logs().some((l) => l.msg?.toString().startsWith('forwarder worker died')));
    const second = await publish(2000);
    await waitFor('all 5000 committed', async () => (await committed()) === 5000, 120_000);
    await waitFor('a replacement worker', () => new Set(logs().filter((l) => l.msg === 'forwarder worker started').map((l) => l.pid)).size === 3);

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr.slice(-5000));
    assert.equal(await committed(), 5000);
    const ids = new Set(linesIn(outDir).map((l) => idOf(JSON.parse(l) as Record<string, unknown>)));
    const missing = [...first, ...second].filter((id) => !ids.has(id));
    assert.deepEqual(missing, [], `${missing.length} records missing from the dir destination`);
    const stopped = logs().filter((l) => l.msg === 'pipeline stopped');
    assert.equal(stopped.length, 2, 'both live workers stopped their pipeline cleanly');
  } finally {
    await admin.disconnect();
  }
});
