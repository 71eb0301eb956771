#!/usr/bin/env node
// Runs the compiled tests with node:test (build first: npm run build).
//
//   node scripts/run-tests.mjs unit|integration|all [filter ...]
//
// unit:        dist/src/**/*.test.js and dist/bench/**/*.test.js, in parallel (one `node --test` run).
// integration: dist/integration-tests/**/*.test.js, one file at a time (they share a broker),
//              each in its own process, 10 min per file (TEST_FILE_TIMEOUT_MS to change).
//              Without KAFKA_BROKERS and without a Docker engine, `bash scripts/services.sh up`
//              runs first and its KAFKA_BROKERS / AZURE_STORAGE_CONNECTION_STRING are passed on.
// filters:     substrings of file paths; only matching files run.
// Output: the spec reporter on stdout; the last line is `N passed, N failed, N skipped`
//         (.ci/run greps it).
// Exit code: non-zero when a test failed or was cancelled, or when no test ran; under CI
//         (env CI set, not "false") also when a test was skipped: every test is expected to
//         run there, so a skip means a prerequisite CI lacks, a CI bug. A full run (`all`, no
//         filter) also fails when a *.test.ts of the repository has no compiled test that ran.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [mode, ...filters] = process.argv.slice(2);
if (!['unit', 'integration', 'all'].includes(mode ?? '')) {
  console.error('usage: node scripts/run-tests.mjs unit|integration|all [filter ...]');
  process.exit(2);
}
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS || 600_000);

function findTests(dir) {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && entry.name.endsWith('.test.js')) out.push(p);
    }
  };
  walk(abs);
  return out
    .map((p) => path.relative(root, p))
    .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
    .sort();
}

/** The test kit's own check (dist/testkit/services.js): one definition of "a Docker engine answers". */
async function dockerAvailable() {
  const { dockerAvailable: check } = await import(pathToFileURL(path.join(root, 'dist', 'testkit', 'services.js')).href);
  return check();
}

async function ensureServices(env) {
  if (env.KAFKA_BROKERS) return;
  if (await dockerAvailable()) {
    console.log('# Docker engine found: integration tests start their own containers (testcontainers)');
    return;
  }
  console.log('# no KAFKA_BROKERS and no Docker engine: bash scripts/services.sh up');
  const r = spawnSync('bash', [path.join(root, 'scripts', 'services.sh'), 'up'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) {
    console.error('scripts/services.sh up failed');
    console.log('0 passed, 1 failed, 0 skipped');
    process.exit(1);
  }
  // The one parser of `services.sh env` output lives in src/ (built: dist/ exists by now).
  const { parseServicesEnv } = await import(pathToFileURL(path.join(root, 'dist', 'src', 'demo', 'services.js')).href);
  for (const [name, value] of Object.entries(parseServicesEnv(r.stdout))) {
    if (!env[name]) env[name] = value;
  }
  console.log(`# KAFKA_BROKERS=${env.KAFKA_BROKERS}`);
}

const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
/** `file: test name # SKIP reason` of every skipped or todo test, for the summary. */
const skippedTests = [];
const ranFiles = new Set();

/** Runs `node --test` on files: spec to stdout, TAP to a temp file for the counts. */
function runNodeTest(files, env, { concurrency, timeoutMs }) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'run-tests-'));
  const tapFile = path.join(tmp, 'out.tap');
  const args = [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
  ];
  if (concurrency) args.push(`--test-concurrency=${concurrency}`);
  args.push(...files);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          console.error(`# timeout: ${files.join(' ')} ran longer than ${timeoutMs} ms; killing it`);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }, timeoutMs)
      : undefined;
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
      rmSync(tmp, { recursive: true, force: true });
      const counts = {};
      for (const m of tap.matchAll(/^# (pass|fail|cancelled|skipped|todo) (\d+)$/gm)) counts[m[1]] = Number(m[2]);
      for (const m of tap.matchAll(/^\s*ok \d+ - (.*) # (SKIP|TODO)\b(.*)$/gm)) skippedTests.push(`${files.length === 1 ? `${files[0]}: ` : ''}${m[1]} # ${m[2]}${m[3]}`);
      for (const f of files) ranFiles.add(f);
      const summarised = 'pass' in counts;
      for (const k of Object.keys(totals)) totals[k] += counts[k] ?? 0;
      if (!summarised || timedOut) {
        // The process died before its summary (crash, kill, timeout): count the run as a failure.
        console.error(`# ${files.join(' ')}: no complete result (exit ${code ?? signal}${timedOut ? ', timed out' : ''})`);
        totals.fail += 1;
      } else if (code !== 0 && (counts.fail ?? 0) + (counts.cancelled ?? 0) === 0) {
        console.error(`# ${files.join(' ')}: exit code ${code} without a failed test`);
        totals.fail += 1;
      }
      resolve();
    });
  });
}

// The in-memory `memory` destination type is registered only for tests (src/sinks/registry.ts).
const env = { ...process.env, INSIGHT_LOGS_TEST_SINKS: '1' };
if (!existsSync(path.join(root, 'dist'))) {
  console.error('dist/ not found: run `npm run build` first');
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

if (mode === 'unit' || mode === 'all') {
  // The bench's own pure helpers (statistics) are unit-tested too: they decide the figures.
  const files = [...findTests('dist/src'), ...findTests('dist/bench')];
  if (files.length > 0) {
    console.log(`# unit tests: ${files.length} file(s)`);
    await runNodeTest(files, env, { timeoutMs: FILE_TIMEOUT_MS });
  } else {
    console.log('# no unit test files');
  }
}

if (mode === 'integration' || mode === 'all') {
  const files = findTests('dist/integration-tests');
  if (files.length > 0) {
    await ensureServices(env);
    console.log(`# integration tests: ${files.length} file(s), one at a time`);
    for (const file of files) {
      console.log(`# ${file}`);
      await runNodeTest([file], env, { concurrency: 1, timeoutMs: FILE_TIMEOUT_MS });
    }
  } else {
    console.log('# no integration test files');
  }
}

/** Every *.test.ts of the repository (outside node_modules, dist, .local) as the dist/ file that runs it. */
function repositoryTests() {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(path.join(root, d), { withFileTypes: true })) {
      if (entry.name.startsWith('.') || ['node_modules', 'dist'].includes(entry.name)) continue;
      const rel = path.join(d, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.test.ts')) out.push(path.join('dist', rel.replace(/\.ts$/, '.js')));
    }
  };
  walk('.');
  return out.sort();
}

let notRun = [];
if (mode === 'all' && filters.length === 0) {
  notRun = repositoryTests().filter((f) => !ranFiles.has(f));
  for (const f of notRun) console.log(`# never ran: ${f} (its *.test.ts is outside the folders this runner reads, or did not compile)`);
}

const failed = totals.fail + totals.cancelled + notRun.length;
const ran = totals.pass + failed;
const skipped = totals.skipped + totals.todo;
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
for (const s of skippedTests) console.log(`# skipped: ${s}`);
if (totals.cancelled) console.log(`# cancelled ${totals.cancelled} (counted as failed)`);
if (inCi && skipped > 0) console.log(`# CI: ${skipped} test(s) skipped; every test is expected to run in CI (install what the skip reason names)`);
if (ran === 0) console.log('# no tests ran');
console.log(`${totals.pass} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || ran === 0 || (inCi && skipped > 0) ? 1 : 0);
