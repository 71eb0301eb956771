import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../errors.js';
import { assertKnownKeys, envVarName, optionalBoolean, optionalInteger, optionalString } from './settings.js';

function failsAt(run: () => unknown, path: string, notEchoed?: string): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(hasCode(err, 'CONFIG_INVALID'), String(err));
    assert.ok(err.message.startsWith(`${path}: `), err.message);
    if (notEchoed) assert.ok(!err.message.includes(notEchoed), 'the value must not be echoed');
    return true;
  });
}

test('envVarName: one rule for every credential reference; secrets and values are refused without being echoed', () => {
  assert.equal(envVarName('AZURE_STORAGE_CONNECTION_STRING', 'p'), 'AZURE_STORAGE_CONNECTION_STRING');
  assert.equal(envVarName('_x1', 'p'), '_x1');
  assert.equal(envVarName('A'.repeat(128), 'p'), 'A'.repeat(128));
  failsAt(() => envVarName('A'.repeat(129), 'p.tokenEnv'), 'p.tokenEnv');
  failsAt(() => envVarName('1ABC', 'p'), 'p');
  failsAt(() => envVarName(42, 'p'), 'p');
  failsAt(() => envVarName('AccountName=a;AccountKey=SECRETKEY', 'p.connectionStringEnv', 'ANY'), 'p.connectionStringEnv', 'SECRETKEY');
  assert.throws(() => envVarName('eyJ0.eXAi', 'p', 'LOGS_INGESTION_TOKEN'), /such as LOGS_INGESTION_TOKEN/);
});

test('assertKnownKeys names the path of the first unknown key and what is allowed', () => {
  assertKnownKeys({ a: 1 }, ['a', 'b'], 'd');
  assert.throws(() => assertKnownKeys({ a: 1, c: 2 }, ['a', 'b'], 'destinations[1]'), /destinations\[1\]\.c: unknown key \(allowed here: a, b\)/);
});

test('optionalBoolean accepts booleans and the strings true/false (CLI --set)', () => {
  assert.equal(optionalBoolean(undefined, 'p'), undefined);
  assert.equal(optionalBoolean(true, 'p'), true);
  assert.equal(optionalBoolean('false', 'p'), false);
  failsAt(() => optionalBoolean('yes', 'p.ssl'), 'p.ssl');
});

test('optionalInteger: whole numbers in range, digit strings accepted', () => {
  assert.equal(optionalInteger(undefined, 'p', { min: 0 }), undefined);
  assert.equal(optionalInteger('65536', 'p', { min: 1024, max: 4 * 1024 * 1024 }), 65536);
  assert.equal(optionalInteger(0, 'p', { min: 0 }), 0);
  failsAt(() => optionalInteger(5, 'p.maxBlockBytes', { min: 1024, max: 4096 }), 'p.maxBlockBytes');
  failsAt(() => optionalInteger(1.5, 'p', { min: 0 }), 'p');
  failsAt(() => optionalInteger('-1', 'p', { min: 0 }), 'p');
  assert.throws(() => optionalInteger(0, 'p', { min: 1 }), /must be a whole number ≥ 1/);
});

test('optionalString refuses empty strings and non-strings', () => {
  assert.equal(optionalString('s', 'p'), 's');
  failsAt(() => optionalString(' ', 'p.store'), 'p.store');
  failsAt(() => optionalString(3, 'p.store'), 'p.store');
});
