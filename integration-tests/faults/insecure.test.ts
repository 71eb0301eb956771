/**
 * Fault: insecure settings are refused unless explicitly allowed, through the real CLI.
 * A kafka destination with TLS verification off or SASL PLAIN without TLS makes
 * `destinations apply` fail with INSECURE_SETTING (exit 2) naming the setting, and nothing is
 * written; with `allowInsecure: true` it is accepted. The same for the forwarder's own
 * KAFKA_* environment (KAFKA_ALLOW_INSECURE=true to accept).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getServices } from '../../testkit/services.js';
import { FaultRun, sleep, spawnCli } from './harness.js';

const SECRET = `insecure-test-password-${process.pid}`;

describe('fault: insecure settings refused unless allowed', { timeout: 120_000 }, () => {
  let run: FaultRun;
  let dir: string;

  before(async () => {
    run = new FaultRun('insecure', { brokers: (await getServices()).kafkaBrokers });
    await run.setup();
    dir = await mkdtemp(path.join(os.tmpdir(), 'insight-logs-insecure-'));
  });

  after(async () => {
    await run?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function apply(name: string, destination: Record<string, unknown>): Promise<{ code: number | null; output: string }> {
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify({ destinations: [{ name, type: 'kafka', brokers: run.brokers, ...destination }] }));
    const p = spawnCli(['destinations', 'apply', '-f', file], run.env({ MIRROR_PASSWORD: SECRET }));
    const { code } = await p.exited;
    return { code, output: p.output() };
  }

  async function listed(): Promise<string> {
    const p = spawnCli(['destinations', 'list', '--output', 'json'], run.env());
    const { code } = await p.exited;
    assert.equal(code, 0, p.output());
    return p.output();
  }

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['tls-unverified', { ssl: true, sslRejectUnauthorized: false }, /sslRejectUnauthorized/],
    ['plain-cleartext', { sasl: { mechanism: 'plain', username: 'mirror', passwordEnv: 'MIRROR_PASSWORD' } }, /SASL PLAIN/],
  ];

  for (const [name, settings, names] of cases) {
    test(`destinations apply: ${name} refused with INSECURE_SETTING, accepted with allowInsecure: true`, async () => {
      const refused = await apply(name, settings);
      assert.equal(refused.code, 2, refused.output);
      assert.match(refused.output, /INSECURE_SETTING/);
      assert.match(refused.output, names, 'the message names the setting');
      assert.match(refused.output, /allowInsecure/, 'the message says how to allow it');
      assert.ok(!(await listed()).includes(`"${name}"`), 'nothing was written');

      const allowed = await apply(name, { ...settings, allowInsecure: true });
      assert.equal(allowed.code, 0, allowed.output);
      assert.ok((await listed()).includes(`"${name}"`), 'written once allowed');
    });
  }

  const envCases: [string, NodeJS.ProcessEnv, RegExp][] = [
    ['KAFKA_SSL_REJECT_UNAUTHORIZED=false', { KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }, /TLS certificate verification is off/],
    ['KAFKA_SASL_MECHANISM=plain without KAFKA_SSL', { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'forwarder', KAFKA_SASL_PASSWORD: SECRET }, /SASL PLAIN without TLS/],
  ];

  for (const [name, env, message] of envCases) {
    test(`forward: ${name} refused with INSECURE_SETTING, accepted with KAFKA_ALLOW_INSECURE=true`, async () => {
      const refused = spawnCli(['forward', '--metrics-port', '0'], run.env(env));
      const { code } = await refused.exited;
      assert.equal(code, 2, refused.output());
      assert.match(refused.output(), /INSECURE_SETTING/);
      assert.match(refused.output(), message);
      assert.match(refused.output(), /KAFKA_ALLOW_INSECURE/);
      assert.ok(!refused.output().includes(SECRET), 'the password is not printed');

      // Allowed: the check passes (connecting may still fail: this broker speaks neither TLS nor SASL).
      const allowed = spawnCli(['forward', '--metrics-port', '0'], run.env({ ...env, KAFKA_ALLOW_INSECURE: 'true' }));
      const outcome = await Promise.race([allowed.exited, sleep(8000).then(() => undefined)]);
      await allowed.stop('SIGKILL');
      assert.ok(!/INSECURE_SETTING/.test(allowed.output()), `still refused as insecure: ${allowed.output()}`);
      if (outcome) assert.notEqual(outcome.code, 2, `exit 2 means a usage error: ${allowed.output()}`);
      assert.ok(!allowed.output().includes(SECRET), 'the password is not printed');
    });
  }
});
