import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../errors.js';
import { SinkRegistry } from '../sinks/registry.js';
import { memorySinkType } from '../sinks/memory/sink.js';
import type { SinkType } from '../sinks/sink.js';
import { assertKnownKeys, envVarName } from './settings.js';
import { destinationToJson, parseDestination, parseDestinationsText, sameDestination } from './destinations.js';

/** A stand-in type with a credential reference, validated the way real sinks do. */
const fakeBlob: SinkType<{ connectionStringEnv: string }> = {
  type: 'blob',
  title: 'a fake blob',
  description: 'validates like blob, creates nothing',
  parseSettings(raw, path) {
    assertKnownKeys(raw, ['connectionStringEnv'], path);
    return { connectionStringEnv: envVarName(raw.connectionStringEnv, `${path}.connectionStringEnv`) };
  },
  create: () => { throw new Error('not in unit tests'); },
};
const registry = new SinkRegistry([memorySinkType, fakeBlob]);

function rejects(text: string, pattern: RegExp): void {
  assert.throws(() => parseDestinationsText(text, 'file.yaml', registry), (err: unknown) => {
    assert.ok(hasCode(err, 'CONFIG_INVALID') || hasCode(err, 'SINK_TYPE_UNKNOWN'), String(err));
    assert.match((err as Error).message, pattern);
    return true;
  });
}

describe('destinations file', () => {
  test('parses YAML; categories default to both; result is frozen', () => {
    const [a, b] = parseDestinationsText(`
destinations:
  - name: archive
    type: blob
    connectionStringEnv: AZURE_STORAGE_CONNECTION_STRING
  - name: only-audit
    type: memory
    categories: [audit]
`, 'f', registry);
    assert.deepEqual(a!.categories, ['audit', 'operational']);
    assert.deepEqual(a!.settings, { connectionStringEnv: 'AZURE_STORAGE_CONNECTION_STRING' });
    assert.deepEqual(b!.categories, ['audit']);
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a!.settings) && Object.isFrozen(a!.categories));
  });

  test('parses JSON too', () => {
    const list = parseDestinationsText('{"destinations":[{"name":"m","type":"memory","categories":"operational"}]}', 'f', registry);
    assert.deepEqual(list.map((d) => [d.name, d.categories]), [['m', ['operational']]]);
  });

  test('an unknown key names its path', () => {
    rejects(`
destinations:
  - { name: a, type: memory }
  - { name: b, type: memory }
  - { name: c, type: blob, conectionStringEnv: X }
`, /destinations\[2\]\.conectionStringEnv: unknown key/);
    rejects('destinations: []\nextra: 1\n', /\(file\)\.extra: unknown key/);
  });

  test('a variable NAME that mentions a password is accepted (only secret-shaped values are refused)', () => {
    const [dest] = parseDestinationsText('destinations:\n  - name: a\n    type: blob\n    connectionStringEnv: MIRROR_KAFKA_PASSWORD\n', 'f', registry);
    assert.equal(dest?.settings.connectionStringEnv, 'MIRROR_KAFKA_PASSWORD');
  });

  test('duplicate names are rejected', () => {
    rejects('destinations:\n  - { name: a, type: memory }\n  - { name: a, type: memory }\n', /destinations\[1\]\.name: "a" is already used by destinations\[0\]/);
  });

  test('a secret where a variable name is expected is refused without echoing it', () => {
    const secret = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net';
    for (const value of [secret, 'Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=abc', 'https://a.blob.core.windows.net/?sv=1&sig=abc', 'password=hunter2', 'Bearer eyJhbGciOiJIUzI1NiJ9']) {
      assert.throws(() => parseDestinationsText(`destinations:\n  - name: a\n    type: blob\n    connectionStringEnv: "${value}"\n`, 'f', registry), (err: Error) => {
        assert.match(err.message, /destinations\[0\]\.connectionStringEnv: set an environment variable name, not the secret/);
        assert.ok(!err.message.includes('c2VjcmV0') && !err.message.includes('abc'), 'the secret must not be echoed');
        return true;
      });
    }
  });

  test('bad names, unknown types, bad categories, bad YAML', () => {
    rejects('destinations:\n  - { name: Bad_Name, type: memory }\n', /destinations\[0\]\.name:/);
    rejects('destinations:\n  - { name: a, type: ftp }\n', /destinations\[0\]\.type: unknown destination type "ftp"/);
    rejects('destinations:\n  - { name: a, type: memory, categories: [audit, security] }\n', /destinations\[0\]\.categories\[1\]: must be audit or operational/);
    rejects('destinations:\n  - { name: a, type: memory, categories: [] }\n', /destinations\[0\]\.categories/);
    rejects('destinations: [\n', /file\.yaml.*not valid YAML/);
    rejects('destinations: 3\n', /destinations: must be a list/);
  });

  test('the JSON form round-trips and compares regardless of key order', () => {
    const a = parseDestination({ name: 'x', type: 'memory', store: 's', categories: ['operational', 'audit'] }, 'd', registry);
    const b = parseDestination(JSON.parse(JSON.stringify(destinationToJson(a))), 'd', registry);
    assert.ok(sameDestination(a, b));
    const c = parseDestination({ store: 's', type: 'memory', name: 'x' }, 'd', registry);
    assert.ok(sameDestination(a, c));
    const d = parseDestination({ name: 'x', type: 'memory', store: 'other' }, 'd', registry);
    assert.ok(!sameDestination(a, d));
  });
});
