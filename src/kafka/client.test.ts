import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaSettingsFromEnv, parseBrokers } from './client.js';
import { hasCode } from '../errors.js';

test('brokers default to 127.0.0.1:9092 and are parsed from a comma list', () => {
  assert.deepEqual(kafkaSettingsFromEnv({}).brokers, ['127.0.0.1:9092']);
  assert.deepEqual(parseBrokers(' a:1, b.example:9093 '), ['a:1', 'b.example:9093']);
  assert.throws(() => parseBrokers('nohostport'), (e) => hasCode(e, 'CONFIG_INVALID') && /nohostport/.test((e as Error).message));
  assert.throws(() => parseBrokers(''), (e) => hasCode(e, 'CONFIG_INVALID'));
});

test('SASL PLAIN without TLS is refused unless explicitly allowed', () => {
  const env = { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p4ssw0rd' };
  assert.throws(() => kafkaSettingsFromEnv(env), (e) => hasCode(e, 'INSECURE_SETTING') && !(e as Error).message.includes('p4ssw0rd'));
  assert.equal(kafkaSettingsFromEnv({ ...env, KAFKA_ALLOW_INSECURE: 'true' }).sasl?.mechanism, 'plain');
  assert.equal(kafkaSettingsFromEnv({ ...env, KAFKA_SSL: 'true' }).ssl, true);
});

test('TLS verification off is refused unless explicitly allowed', () => {
  assert.throws(() => kafkaSettingsFromEnv({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }), (e) => hasCode(e, 'INSECURE_SETTING'));
  assert.equal(kafkaSettingsFromEnv({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false', KAFKA_ALLOW_INSECURE: '1' }).sslRejectUnauthorized, false);
});

test('bad values name the variable; a missing SASL password is a clear error', () => {
  assert.throws(() => kafkaSettingsFromEnv({ KAFKA_SSL: 'maybe' }), /KAFKA_SSL: expected true or false/);
  assert.throws(() => kafkaSettingsFromEnv({ KAFKA_SASL_MECHANISM: 'gssapi' }), /KAFKA_SASL_MECHANISM/);
  assert.throws(() => kafkaSettingsFromEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' }), (e) => hasCode(e, 'SECRET_MISSING'));
});
