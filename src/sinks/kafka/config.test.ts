import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InsightLogsError } from '../../errors.js';
import { parseKafkaSinkSettings } from './config.js';

const P = 'destinations[2]';

function failsWith(raw: Record<string, unknown>, code: string, pathInMessage: string): void {
  assert.throws(() => parseKafkaSinkSettings(raw, P), (err: unknown) => {
    assert.ok(err instanceof InsightLogsError);
    assert.equal(err.code, code);
    assert.ok(err.message.startsWith(pathInMessage), `"${err.message}" should name ${pathInMessage}`);
    return true;
  });
}

test('defaults: category topic names, no TLS, idempotent mode, gzip off', () => {
  const s = parseKafkaSinkSettings({ brokers: ['127.0.0.1:9092'] }, P);
  assert.deepEqual(s.topics, { audit: 'insight-logs-audit', operational: 'insight-logs-operational' });
  assert.equal(s.ssl, false);
  assert.equal(s.sslRejectUnauthorized, true);
  assert.equal(s.exactlyOnce, false);
  assert.equal(s.compression, 'none');
  assert.equal(s.transactionalIdPrefix, 'insight-logs');
  assert.ok(Object.isFrozen(s));
});

test('accepts every documented setting', () => {
  const s = parseKafkaSinkSettings({
    brokers: 'a.example:9093,b.example:9093',
    topics: { audit: 'mirror-audit', operational: 'mirror-operational' },
    ssl: true,
    sasl: { mechanism: 'SCRAM-SHA-512', username: 'forwarder', passwordEnv: 'MIRROR_PASSWORD' },
    compression: 'gzip',
    exactlyOnce: true,
    transactionalIdPrefix: 'prod.eu',
  }, P);
  assert.deepEqual([...s.brokers], ['a.example:9093', 'b.example:9093']);
  assert.equal(s.topics.audit, 'mirror-audit');
  assert.deepEqual({ ...s.sasl }, { mechanism: 'scram-sha-512', username: 'forwarder', passwordEnv: 'MIRROR_PASSWORD' });
  assert.equal(s.exactlyOnce, true);
  // Strings from CLI flags.
  assert.equal(parseKafkaSinkSettings({ brokers: '127.0.0.1:9092', exactlyOnce: 'true' }, P).exactlyOnce, true);
});

test('errors name the path of the bad setting', () => {
  failsWith({}, 'CONFIG_INVALID', `${P}.brokers`);
  failsWith({ brokers: ['nohost'] }, 'CONFIG_INVALID', `${P}.brokers[0]`);
  failsWith({ brokers: ['h:1'], topic: 'x' }, 'CONFIG_INVALID', `${P}.topic`);
  failsWith({ brokers: ['h:1'], topics: { audit: 'bad topic' } }, 'CONFIG_INVALID', `${P}.topics.audit`);
  failsWith({ brokers: ['h:1'], topics: { audit: 'same', operational: 'same' } }, 'CONFIG_INVALID', `${P}.topics`);
  failsWith({ brokers: ['h:1'], compression: 'zstd' }, 'CONFIG_INVALID', `${P}.compression`);
  failsWith({ brokers: ['h:1'], exactlyOnce: 'yes' }, 'CONFIG_INVALID', `${P}.exactlyOnce`);
  failsWith({ brokers: ['h:1'], transactionalIdPrefix: 'has space' }, 'CONFIG_INVALID', `${P}.transactionalIdPrefix`);
  failsWith({ brokers: ['h:1'], ssl: true, sasl: { mechanism: 'gssapi', username: 'u', passwordEnv: 'X' } }, 'CONFIG_INVALID', `${P}.sasl.mechanism`);
});

test('a password is refused: only the name of an environment variable is accepted', () => {
  failsWith({ brokers: ['h:1'], ssl: true, sasl: { mechanism: 'plain', username: 'u', password: 'hunter2' } }, 'CONFIG_INVALID', `${P}.sasl.password`);
  failsWith({ brokers: ['h:1'], ssl: true, sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'Endpoint=sb://x;Key=1' } }, 'CONFIG_INVALID', `${P}.sasl.passwordEnv`);
  assert.throws(() => parseKafkaSinkSettings({ brokers: ['h:1'], sasl: { password: 'hunter2' } }, P), (e: Error) => !e.message.includes('hunter2'));
});

test('insecure settings need allowInsecure, and the error names the setting', () => {
  failsWith({ brokers: ['h:1'], ssl: true, sslRejectUnauthorized: false }, 'INSECURE_SETTING', `${P}.sslRejectUnauthorized`);
  // Verification off is a stated wish to trust anyone, refused even while TLS itself is off.
  failsWith({ brokers: ['h:1'], sslRejectUnauthorized: false }, 'INSECURE_SETTING', `${P}.sslRejectUnauthorized`);
  failsWith({ brokers: ['h:1'], sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'PW' } }, 'INSECURE_SETTING', `${P}.sasl.mechanism`);
  assert.equal(parseKafkaSinkSettings({ brokers: ['h:1'], ssl: true, sslRejectUnauthorized: false, allowInsecure: true }, P).sslRejectUnauthorized, false);
  assert.equal(parseKafkaSinkSettings({ brokers: ['h:1'], sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'PW' }, allowInsecure: true }, P).sasl?.mechanism, 'plain');
  // SCRAM never sends the password itself, so it is fine without TLS.
  assert.equal(parseKafkaSinkSettings({ brokers: ['h:1'], sasl: { mechanism: 'scram-sha-256', username: 'u', passwordEnv: 'PW' } }, P).sasl?.mechanism, 'scram-sha-256');
});
