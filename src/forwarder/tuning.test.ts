import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../errors.js';
import { COMMIT_INTERVAL_ENV, DEFAULT_TUNING, PARTITION_CONCURRENCY_ENV, tuningFromEnv } from './tuning.js';

test('defaults when unset or blank', () => {
  assert.deepEqual(tuningFromEnv({}), DEFAULT_TUNING);
  assert.deepEqual(tuningFromEnv({ [PARTITION_CONCURRENCY_ENV]: ' ', [COMMIT_INTERVAL_ENV]: '' }), DEFAULT_TUNING);
});

test('reads both settings', () => {
  assert.deepEqual(tuningFromEnv({ [PARTITION_CONCURRENCY_ENV]: '6', [COMMIT_INTERVAL_ENV]: '0' }), { partitionConcurrency: 6, commitIntervalMs: 0 });
});

test('bad values are CONFIG_INVALID errors naming the variable', () => {
  for (const [name, value] of [[PARTITION_CONCURRENCY_ENV, '0'], [PARTITION_CONCURRENCY_ENV, '2.5'], [PARTITION_CONCURRENCY_ENV, '65'], [COMMIT_INTERVAL_ENV, '-1'], [COMMIT_INTERVAL_ENV, '1s']] as const) {
    assert.throws(() => tuningFromEnv({ [name]: value }), (e: Error) => hasCode(e, 'CONFIG_INVALID') && e.message.startsWith(`${name}: "${value}"`));
  }
});
