import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent } from '../events/builders.js';
import { toSinkRecord } from './sink-record.js';
import { chunkRecords } from './chunking.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I1';
const record = (i: number, method: string, pathLength = 10) =>
  toSinkRecord(buildApiEvent({ resourceId: RID, operationName: 'Op', method, status: 200, path: '/' + 'x'.repeat(pathLength) }), { topic: 't', partition: 0, offset: String(i) });

test('splits by record count, keeping order', () => {
  const records = Array.from({ length: 7 }, (_, i) => record(i, 'GET'));
  const chunks = chunkRecords(records, { maxRecords: 3, maxBytes: 1e9 });
  assert.deepEqual(chunks.map((c) => c.length), [3, 3, 1]);
  assert.deepEqual(chunks.flat().map((r) => r.offset), records.map((r) => r.offset));
});

test('splits by bytes; a record larger than the limit travels alone', () => {
  const small = record(0, 'GET', 10);
  const size = Buffer.byteLength(small.json) + 1;
  const records = [record(0, 'GET'), record(1, 'GET'), record(2, 'GET', 5000), record(3, 'GET')];
  const chunks = chunkRecords(records, { maxRecords: 100, maxBytes: size * 2 });
  assert.deepEqual(chunks.map((c) => c.map((r) => r.offset)), [['0', '1'], ['2'], ['3']]);
});

test('never mixes categories in one chunk', () => {
  const records = [record(0, 'GET'), record(1, 'POST'), record(2, 'GET'), record(3, 'DELETE')];
  const chunks = chunkRecords(records, { maxRecords: 100, maxBytes: 1e9 });
  assert.equal(chunks.length, 2);
  for (const chunk of chunks) assert.equal(new Set(chunk.map((r) => r.event.category)).size, 1);
  assert.deepEqual(chunks.flat().map((r) => r.offset).sort(), ['0', '1', '2', '3']);
});

test('no records, no chunks', () => {
  assert.deepEqual(chunkRecords([]), []);
});
