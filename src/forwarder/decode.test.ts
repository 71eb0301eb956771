import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSchemaRegistry } from '../codec/schema-registry.js';
import { buildApiEvent } from '../events/builders.js';
import type { ApiEvent } from '../events/types.js';
import { decodeMessage } from './decode.js';
import { deadLetterMessage, DEADLETTER_HEADERS } from './dead-letter.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I1';
const source = { topic: 't', partition: 1, offset: '7' };
const registry = defaultSchemaRegistry();

test('a valid message becomes a record with the category recomputed', () => {
  const event = buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'DELETE', status: 204 });
  // A producer lying about the category does not get to choose the route.
  const bytes = registry.encode('APIEvent', { ...event, category: 'Operational' } as ApiEvent);
  const result = decodeMessage(registry, bytes, source);
  assert.ok(result.ok);
  assert.equal(result.record.event.category, 'Audit');
  assert.deepEqual([result.record.topic, result.record.partition, result.record.offset], ['t', 1, '7']);
});

test('garbage, unknown fingerprints, empty values and invalid events are classified', () => {
  const garbage = decodeMessage(registry, Buffer.from('not avro'), source);
  assert.deepEqual(garbage.ok ? undefined : garbage.code, 'DECODE_FAILED');
  const unknown = decodeMessage(registry, Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 0xab), Buffer.from([0])]), source);
  assert.deepEqual(unknown.ok ? undefined : unknown.code, 'SCHEMA_UNKNOWN_FINGERPRINT');
  const empty = decodeMessage(registry, null, source);
  assert.deepEqual(empty.ok ? undefined : empty.code, 'DECODE_FAILED');
  const event = buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 200 });
  const invalid = decodeMessage(registry, registry.encode('APIEvent', { ...event, resourceId: '/not/a/resource' }), source);
  assert.ok(!invalid.ok);
  assert.equal(invalid.code, 'EVENT_INVALID');
  assert.match(invalid.reason, /resourceId/);
});

test('dead-letter messages keep bytes and key and carry every header, secrets scrubbed', () => {
  const value = Buffer.from([1, 2, 3]);
  const message = deadLetterMessage({
    value, key: Buffer.from('k'), source, destination: 'archive', code: 'SINK_UNAVAILABLE',
    reason: 'refused by https://a.blob.core.windows.net/c?sv=1&sig=SECRETSIG AccountKey=SECRETKEY',
  }, new Date('2026-01-02T03:04:05.000Z'));
  assert.equal(message.value, value);
  assert.equal(String(message.key), 'k');
  const h = message.headers as Record<string, string>;
  assert.equal(h[DEADLETTER_HEADERS.code], 'SINK_UNAVAILABLE');
  assert.equal(h[DEADLETTER_HEADERS.sourceTopic], 't');
  assert.equal(h[DEADLETTER_HEADERS.sourcePartition], '1');
  assert.equal(h[DEADLETTER_HEADERS.sourceOffset], '7');
  assert.equal(h[DEADLETTER_HEADERS.destination], 'archive');
  assert.equal(h[DEADLETTER_HEADERS.time], '2026-01-02T03:04:05.000Z');
  assert.ok(!h[DEADLETTER_HEADERS.reason]!.includes('SECRET'), h[DEADLETTER_HEADERS.reason]);
});
