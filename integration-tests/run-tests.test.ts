/**
 * The test runner tells the truth (scripts/run-tests.mjs, run on a scratch repository): skipped
 * tests are in the last line, a skip fails the run under CI, and a full run fails when a
 * *.test.ts of the repository never ran (deleted from dist, or in a folder the runner skips).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../testkit/services.js';

function scratchRepository(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'run-tests-'));
  mkdirSync(path.join(root, 'scripts'));
  copyFileSync(path.join(repoRoot(), 'scripts', 'run-tests.mjs'), path.join(root, 'scripts', 'run-tests.mjs'));
  mkdirSync(path.join(root, 'src'));
  mkdirSync(path.join(root, 'dist', 'src'), { recursive: true });
  writeFileSync(path.join(root, 'src', 'a.test.ts'), '');
  writeFileSync(path.join(root, 'src', 'gone.test.ts'), '');
  writeFileSync(path.join(root, 'dist', 'src', 'a.test.js'), `
import { test } from 'node:test';
test('runs', () => {});
test('needs a tool', { skip: 'tool missing' }, () => {});
`);
  return root;
}

function run(root: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; lastLine: string; stdout: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'run-tests.mjs'), ...args], { cwd: root, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 60_000 });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status, lastLine: lines[lines.length - 1] ?? '', stdout: r.stdout };
}

test('a skipped test is counted in the summary, and fails the run only under CI', { timeout: 120_000 }, () => {
  const root = scratchRepository();
  try {
    const local = run(root, ['unit'], {});
    assert.equal(local.lastLine, '1 passed, 0 failed, 1 skipped');
    assert.match(local.stdout, /# skipped: dist\/src\/a\.test\.js: needs a tool # SKIP tool missing/);
    assert.equal(local.status, 0);
    const ci = run(root, ['unit'], { CI: 'true' });
    assert.equal(ci.lastLine, '1 passed, 0 failed, 1 skipped');
    assert.equal(ci.status, 1, 'a skip under CI fails the run');
    const full = run(root, ['all'], {});
    assert.match(full.stdout, /# never ran: dist\/src\/gone\.test\.js/);
    assert.equal(full.lastLine, '1 passed, 1 failed, 1 skipped');
    assert.equal(full.status, 1, 'a test file that never ran fails a full run');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
