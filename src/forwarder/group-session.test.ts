import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_GROUP_SESSION, groupSessionFromEnv, SESSION_TIMEOUT_ENV } from './group-session.js';

test('group session: 10 s / 3 s by default', () => {
  assert.deepEqual(groupSessionFromEnv({}), { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 3_000 });
  assert.equal(groupSessionFromEnv({ [SESSION_TIMEOUT_ENV]: ' ' }), DEFAULT_GROUP_SESSION);
});

test('group session: the env variable sets the timeout, the heartbeat stays at most a third', () => {
  assert.deepEqual(groupSessionFromEnv({ [SESSION_TIMEOUT_ENV]: '6000' }), { sessionTimeoutMs: 6000, heartbeatIntervalMs: 2000 });
  assert.deepEqual(groupSessionFromEnv({ [SESSION_TIMEOUT_ENV]: '45000' }), { sessionTimeoutMs: 45_000, heartbeatIntervalMs: 3000 });
});

test('group session: values the broker refuses are config errors naming the variable', () => {
  for (const bad of ['5999', '1800001', '10s', '-1', '1e4']) {
    assert.throws(() => groupSessionFromEnv({ [SESSION_TIMEOUT_ENV]: bad }), (err: Error & { code?: string }) =>
      err.code === 'CONFIG_INVALID' && err.message.startsWith(SESSION_TIMEOUT_ENV), bad);
  }
});
