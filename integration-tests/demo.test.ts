/**
 * `insight-logs demo` as a first-time user runs it, against the shared local services (which it
 * must reuse and leave running): it says where the output is, shows records, the blob and the
 * folder really hold what was published, and the "Next:" commands it prints work as printed.
 * (Services the demo starts itself, left running with a stop command: pack.test.ts.) Ctrl-C mid-run stops it cleanly (exit 130); with
 * no Kafka answering and no java, it says what to install. Topic names are private
 * (INSIGHT_LOGS_*_TOPIC) so the run never touches the default topics.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BlobServiceClient } from '@azure/storage-blob';
import { runCli, spawnCli } from './helpers/cli.js';
import { deleteTopics, uniqueName } from '../testkit/kafka.js';
import { freePort, getServices, repoRoot } from '../testkit/services.js';

let brokers: string[];
let connectionString: string;
let tmp: string;
const prefixes: string[] = [];

/** Env for one demo run: private topics, the services' ports for scripts/services.sh. */
function demoEnv(): NodeJS.ProcessEnv {
  const prefix = uniqueName('demo-it');
  prefixes.push(prefix);
  const kafkaPort = brokers[0]!.split(':').pop()!;
  const azuritePort = /BlobEndpoint=https?:\/\/[^:/]+:(\d+)/.exec(connectionString)?.[1] ?? '10000';
  return {
    KAFKA_PORT: kafkaPort,
    AZURITE_PORT: azuritePort,
    INSIGHT_LOGS_AUDIT_TOPIC: `${prefix}-audit`,
    INSIGHT_LOGS_OPERATIONAL_TOPIC: `${prefix}-operational`,
    INSIGHT_LOGS_DEADLETTER_TOPIC: `${prefix}-deadletter`,
    INSIGHT_LOGS_DESTINATIONS_TOPIC: `${prefix}-destinations`,
  };
}

function servicesAnswer(): { kafka: boolean; azurite: boolean } {
  const r = spawnSync('bash', [path.join(repoRoot(), 'scripts', 'services.sh'), 'status'], { encoding: 'utf8', env: { ...process.env, ...demoEnv() } });
  return { kafka: /^Kafka:.*, answering on/m.test(r.stdout), azurite: /^Azurite:.*, answering on/m.test(r.stdout) };
}

before(async () => {
  const services = await getServices();
  brokers = services.kafkaBrokers;
  connectionString = services.storageConnectionString;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'demo-it-'));
});

after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await deleteTopics(brokers, prefixes.flatMap((p) => ['audit', 'operational', 'deadletter', 'destinations'].map((s) => `${p}-${s}`)));
});

test('demo reuses running services, delivers everything to blob and folder, says where and shows records', { timeout: 120_000 }, async () => {
  const out = path.join(tmp, 'out');
  const env = demoEnv();
  const result = await runCli(['demo', '--duration', '5s', '--rate', '100', '--out', out], { env, cwd: tmp, timeoutMs: 110_000 });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const text = result.stdout;

  assert.match(text, /already answer; using them/);
  assert.doesNotMatch(text, /services: stopping/, 'it did not start the services, so it must not stop them');
  assert.deepEqual(servicesAnswer(), { kafka: true, azurite: true });

  // Progress lines (stdout is a pipe: one plain line per update), then the drain to lag 0.
  assert.ok((text.match(/^\[\s*\d+s\/5s\] (publishing|delivering) /gm) ?? []).length >= 3, text);
  const done = /^done: published (\d+) events; delivered demo-archive (\d+), demo-local (\d+); lag 0/m.exec(text);
  assert.ok(done, text);
  const published = Number(done[1]);
  assert.ok(published >= 300, `about 500 events expected at 100/s for 5 s, got ${published}`);
  assert.equal(Number(done[2]), published);
  assert.equal(Number(done[3]), published);

  // Where the output is.
  assert.match(text, /containers insight-logs-audit and insight-logs-operational/);
  assert.match(text, /az storage blob list --connection-string "\$AZURE_STORAGE_CONNECTION_STRING" -c insight-logs-audit/);
  assert.ok(!text.includes('AccountKey='), 'the connection string (a secret) is never printed');
  const blob = /sample blob: (insight-logs-(?:audit|operational))\/(resourceId=\S+\/PT1H\.json) \((\d+) bytes\)/.exec(text);
  assert.ok(blob, text);
  assert.ok(text.includes(`directory (demo-local): ${out} (${published} records in `), text);
  const sampleFile = /sample file: (\S+PT1H\.json)/.exec(text)?.[1];
  assert.ok(sampleFile?.startsWith(out), text);
  const records = text.split('A few records from the sample file:\n')[1]?.split('\n').filter((l) => /^ {2}\d{4}-\d\d-\d\dT\S+Z\s+(Audit|Operational)\s/.test(l)) ?? [];
  assert.ok(records.length >= 3, `records shown:\n${text}`);
  assert.match(text, /forwarder: stopped/);

  // The folder holds exactly what was published; the blob holds every line of the sample file.
  const lines = spawnSync('bash', ['-c', `find "${out}" -name PT1H.json -exec cat {} + | wc -l`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(Number(lines), published);
  const fileLines = readFileSync(sampleFile!, 'utf8').split('\n').filter(Boolean);
  assert.equal(path.relative(out, sampleFile!), path.join(blob[1]!, ...blob[2]!.split('/')));
  const downloaded = (await BlobServiceClient.fromConnectionString(connectionString).getContainerClient(blob[1]!).getBlobClient(blob[2]!).downloadToBuffer()).toString('utf8');
  const blobLines = new Set(downloaded.split('\n'));
  for (const line of fileLines) assert.ok(blobLines.has(line), `blob ${blob[2]} lacks a line of the folder's copy: ${line.slice(0, 120)}`);

  // The Next: commands work as printed, from the checkout (npx finds its binary there).
  const next = /^Next: (.+)$/m.exec(text)?.[1];
  assert.ok(next, text);
  for (const command of next.split(/;\s+/)) {
    assert.match(command, /^npx insight-logs /);
    const r = spawnSync('bash', ['-c', command], { cwd: repoRoot(), env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${command}: ${r.stdout}\n${r.stderr}`);
  }
});

test('Ctrl-C mid-demo stops cleanly with exit 130 and leaves the services running', { timeout: 90_000 }, async () => {
  const demo = spawnCli(['demo', '--duration', '60s', '--rate', '50', '--out', path.join(tmp, 'out-int')], { env: demoEnv(), cwd: tmp, timeoutMs: 80_000 });
  await demo.waitForOutput(/^\[\s*2s\/60s\] publishing/, 40_000);
  const sent = Date.now();
  const result = await demo.stop('SIGINT');
  assert.equal(result.code, 130, `${result.stdout}\n${result.stderr}`);
  assert.ok(Date.now() - sent < 30_000, 'stops within seconds');
  assert.match(result.stdout, /interrupted: stopping/);
  assert.match(result.stdout, /forwarder: stopped \(offsets committed\)/);
  assert.doesNotMatch(result.stdout, /^done: /m);
  assert.equal(result.stderr.trim(), '', 'no error on stderr');
  assert.deepEqual(servicesAnswer(), { kafka: true, azurite: true });
});

test('without Kafka answering and without java, it says what to install and exits non-zero', { timeout: 60_000 }, async () => {
  // A PATH with only what scripts/services.sh status needs: no java anywhere.
  const bin = path.join(tmp, 'bin-nojava');
  mkdirSync(bin);
  for (const tool of ['bash', 'cat', 'dirname']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, path.join(bin, tool));
  }
  symlinkSync(process.execPath, path.join(bin, 'node'));
  const env = { ...demoEnv(), PATH: bin, KAFKA_PORT: String(await freePort()), AZURITE_PORT: String(await freePort()) };
  const result = await runCli(['demo', '--duration', '2s'], { env, cwd: tmp, timeoutMs: 50_000 });
  assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, /PREREQUISITE_MISSING: .*Java 17/);
  assert.match(result.stderr, /sudo apt-get install -y openjdk-17-jre-headless/);
  assert.match(result.stderr, /docker compose up -d {3}\(see docs\/docker-compose\.md\)/);
  assert.doesNotMatch(result.stdout, /services: starting/);
  assert.ok(!existsSync(path.join(tmp, 'insight-logs-out')), 'nothing went further than the check');
});
