import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent } from '../../events/builders.js';
import { toSinkRecord } from '../../forwarder/sink-record.js';
import type { SinkRecord } from '../sink.js';
import { BODY_FRAME_BYTES, MAX_PARTITION_KEY_LENGTH, groupByPartitionKey, packBodies, partitionKeyFor } from './request-builder.js';

function record(i: number, resourceId = '/SUBSCRIPTIONS/S/RESOURCEGROUPS/R/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I', method = 'GET', pad = 0): SinkRecord {
  const event = buildApiEvent({
    resourceId, operationName: 'Op.Run', method, status: 200, durationMs: 1, path: '/p', uri: `https://x.test/p?i=${i}&pad=${'x'.repeat(pad)}`,
  });
  return toSinkRecord(event, { topic: 't', partition: 0, offset: String(i) });
}

test('bodies are {"records":[…]} JSON holding every record once, in order, each within the limit', () => {
  const records = Array.from({ length: 200 }, (_, i) => record(i));
  const limit = 4096;
  const { bodies, tooLarge } = packBodies('k', records, limit);
  assert.equal(tooLarge.length, 0);
  assert.ok(bodies.length > 1 && bodies.length < 200, `expected several records per body, got ${bodies.length} bodies`);
  const seen: string[] = [];
  for (const b of bodies) {
    assert.ok(b.body.length <= limit, `body of ${b.body.length} bytes over ${limit}`);
    const parsed = JSON.parse(b.body.toString('utf8')) as { records: { uri: string }[] };
    assert.deepEqual(Object.keys(parsed), ['records']);
    assert.equal(parsed.records.length, b.records.length);
    seen.push(...parsed.records.map((r) => r.uri));
  }
  assert.deepEqual(seen, records.map((r) => (r.event as { uri: string }).uri));
});

test('packing is tight: a body plus the next record would exceed the limit', () => {
  const records = Array.from({ length: 50 }, (_, i) => record(i));
  const limit = 2000;
  const { bodies } = packBodies('k', records, limit);
  for (let i = 0; i < bodies.length - 1; i++) {
    const nextRecord = bodies[i + 1]!.records[0]!;
    assert.ok(bodies[i]!.body.length + 1 + Buffer.byteLength(nextRecord.json) > limit);
  }
});

test('a record too large even alone is set apart, the others still packed', () => {
  const big = record(1, undefined, 'GET', 5000);
  const { bodies, tooLarge } = packBodies('k', [record(0), big, record(2)], 3000);
  assert.deepEqual(tooLarge, [big]);
  assert.equal(bodies.flatMap((b) => b.records).length, 2);
  // Exactly at the limit still fits.
  const exact = packBodies('k', [big], BODY_FRAME_BYTES + Buffer.byteLength(big.json));
  assert.equal(exact.tooLarge.length, 0);
});

test('partition key is the resourceId, or a stable digest when longer than Event Hubs allows', () => {
  const short = '/SUBSCRIPTIONS/S/RESOURCEGROUPS/R/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I';
  assert.equal(partitionKeyFor(short), short);
  const long = `/SUBSCRIPTIONS/${'0'.repeat(36)}/RESOURCEGROUPS/${'G'.repeat(60)}/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/${'1'.repeat(36)}`;
  const key = partitionKeyFor(long);
  assert.ok(key.length <= MAX_PARTITION_KEY_LENGTH);
  assert.equal(partitionKeyFor(long), key);
  assert.notEqual(partitionKeyFor(`${long}2`), key);
});

test('groups by partition key, keeping order', () => {
  const a = '/SUBSCRIPTIONS/S/RESOURCEGROUPS/R/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/A';
  const b = '/SUBSCRIPTIONS/S/RESOURCEGROUPS/R/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/B';
  const records = [record(0, a), record(1, b), record(2, a, 'POST')];
  const byKey = groupByPartitionKey(records);
  assert.deepEqual([...byKey.keys()], [a, b]);
  assert.deepEqual(byKey.get(a)!.map((r) => r.offset), ['0', '2']);
});
