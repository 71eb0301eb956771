/**
 * The npm package as a user gets it: `npm pack`, the tarball installed into an empty folder,
 * its `insight-logs` binary run from there. The demo runs from the installed package with the
 * package's own scripts/services.sh (state under the installed package, not this checkout):
 * it uses the shared Kafka and starts an Azurite of its own on a free port (found on the PATH,
 * as after `npm install -g azurite`), which it must leave running with a stop command that
 * works; the "Next:" commands it prints must work as printed. The Dockerfile must copy what
 * package.json `files` ships. Never stops a service it did not start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deleteTopics, uniqueName } from '../testkit/kafka.js';
import { freePort, getServices, repoRoot } from '../testkit/services.js';

const execFileP = promisify(execFile);

interface Run { code: number; stdout: string; stderr: string }

/** Runs a command to its end; a non-zero exit is a result, not an exception. */
async function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileP(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: options.timeoutMs, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

const explain = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

let tmp: string;
let app: string;
let packedFiles: string[];
let brokers: string[];
let bin: string;
/** The installed package's services.sh, to stop (only) the Azurite its demo started. */
let installedServices: string;
const topicPrefix = uniqueName('pack-demo');
const TOPIC_ROLES = ['audit', 'operational', 'deadletter', 'destinations'] as const;
/** Private topic names (INSIGHT_LOGS_<ROLE>_TOPIC), so the demo never touches the default ones. */
const topicEnv = Object.fromEntries(TOPIC_ROLES.map((role) => [`INSIGHT_LOGS_${role.toUpperCase()}_TOPIC`, `${topicPrefix}-${role}`]));

before(async () => {
  brokers = (await getServices()).kafkaBrokers;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'pack-it-'));
  app = path.join(tmp, 'app');
  mkdirSync(app);
  const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: repoRoot(), timeoutMs: 120_000 });
  assert.equal(packed.code, 0, explain(packed));
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = info!.files.map((f) => f.path);
  // Node dependencies come from the npm cache the checkout's install filled.
  const installed = await run('npm', ['install', path.join(tmp, info!.filename), '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, timeoutMs: 150_000 });
  assert.equal(installed.code, 0, explain(installed));
  bin = path.join(app, 'node_modules', '.bin', 'insight-logs');
  installedServices = path.join(app, 'node_modules', 'insight-logs', 'scripts', 'services.sh');
}, { timeout: 300_000 });

after(async () => {
  if (installedServices) await run('bash', [installedServices, 'down', 'azurite'], { cwd: app, timeoutMs: 60_000 });
  if (brokers) await deleteTopics(brokers, Object.values(topicEnv));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the package ships the demo\'s scripts and no unit tests', () => {
  for (const file of ['scripts/services.sh', 'scripts/kafka/pom.xml', 'scripts/kafka/server.properties.template', 'schemas/APIEvent.avsc', 'schemas/history/APIEvent.v1.avsc', 'dist/src/cli/main.js']) {
    assert.ok(packedFiles.includes(file), `${file} is in the package`);
  }
  assert.deepEqual(packedFiles.filter((f) => /\.test\./.test(f)), []);
});

test('the Dockerfile runtime stage copies every path package.json files ships', () => {
  const root = repoRoot();
  const files = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] }).files.filter((f) => !f.startsWith('!'));
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const copied = [...runtime.matchAll(/^COPY (?:--from=\S+ )?(\S+) /gm)].map((m) => m[1]!.replace(/^\/app\//, ''));
  assert.deepEqual(files.filter((f) => !copied.includes(f)), [], `COPY lines of the runtime stage: ${copied.join(', ')}`);
  const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8');
  for (const f of files.filter((f) => f.startsWith('scripts/'))) assert.ok(ignored.includes(`!${f}`), `.dockerignore lets ${f} into the build context`);
});

test('insight-logs --help and demo --help run from the installed package', { timeout: 60_000 }, async () => {
  const help = await run(bin, ['--help'], { cwd: app, timeoutMs: 30_000 });
  assert.equal(help.code, 0, explain(help));
  assert.match(help.stdout, /Usage: insight-logs/);
  assert.match(help.stdout, /\bdemo\b/);
  const demoHelp = await run(bin, ['demo', '--help'], { cwd: app, timeoutMs: 30_000 });
  assert.equal(demoHelp.code, 0, explain(demoHelp));
  assert.match(demoHelp.stdout, /--stop-services/);
});

test('insight-logs demo from the installed package: starts what is missing, keeps it running, the printed commands work', {
  timeout: 180_000,
  skip: !/^(127\.0\.0\.1|localhost):\d+$/.test(process.env.KAFKA_BROKERS?.split(',')[0] ?? '127.0.0.1:9092') && 'the demo uses services on this machine only',
}, async () => {
  const kafkaPort = brokers[0]!.split(':').pop()!;
  const azuritePort = String(await freePort());
  const env: NodeJS.ProcessEnv = {
    // Azurite on the PATH, as after `npm install -g azurite` (the package does not ship it).
    PATH: `${path.join(repoRoot(), 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_PORT: kafkaPort,
    AZURITE_PORT: azuritePort,
    ...topicEnv,
  };
  const demo = await run(bin, ['demo', '--duration', '3s', '--rate', '50', '--out', path.join(tmp, 'out')], { cwd: app, env, timeoutMs: 150_000 });
  assert.equal(demo.code, 0, explain(demo));
  const text = demo.stdout;
  assert.match(text, /^services: starting Azurite \(bash (\S+\/)?node_modules\/insight-logs\/scripts\/services\.sh up\)$/m, text);
  assert.match(text, /^done: published \d+ events; delivered demo-archive \d+, demo-local \d+; lag 0/m, text);

  // The Next: commands, run as printed, from where the user stands.
  const next = /^Next: (.+)$/m.exec(text)?.[1];
  assert.ok(next, text);
  const commands = next.split(/;\s+/);
  assert.deepEqual(commands.map((c) => c.replace(/ .*/, '')), ['npx', 'npx', 'npx'], next);
  for (const command of commands) {
    const r = await run('bash', ['-c', command], { cwd: app, env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${command}: ${explain(r)}`);
    if (command.includes('destinations list')) assert.match(r.stdout, /demo-archive/);
    if (command.includes('tail')) assert.equal(r.stdout.trim().split('\n').length, 20, r.stdout);
  }

  // What it started keeps running; the printed stop command stops that and nothing else.
  const stop = /^services: Azurite \(started by this demo\) keeps running for the commands above; stop it with: (.+)$/m.exec(text)?.[1];
  assert.ok(stop, text);
  assert.ok(await azuriteAnswers(azuritePort), 'Azurite still answers after the demo');
  const stopped = await run('bash', ['-c', stop], { cwd: app, env, timeoutMs: 60_000 });
  assert.equal(stopped.code, 0, explain(stopped));
  assert.equal(await azuriteAnswers(azuritePort), false, 'the printed command stopped it');
  const status = await run(bin, ['status'], { cwd: app, env, timeoutMs: 60_000 });
  assert.equal(status.code, 0, `the shared Kafka still answers: ${explain(status)}`);
});

async function azuriteAnswers(port: string): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/devstoreaccount1?comp=list`, { signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}
