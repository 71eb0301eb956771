import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent } from '../events/builders.js';
import { toSinkRecord } from '../forwarder/sink-record.js';
import { categoryOfBatch, type SinkRecord } from './sink.js';

const RESOURCE = '/SUBSCRIPTIONS/S/RESOURCEGROUPS/R/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I';
function record(method: string, offset: number): SinkRecord {
  const event = buildApiEvent({ resourceId: RESOURCE, operationName: 'Op.Run', method, status: 200, durationMs: 1, path: '/p' });
  return toSinkRecord(event, { topic: 't', partition: 0, offset: String(offset) });
}

test('categoryOfBatch: the one (recomputed) category of a batch; none for an empty batch', () => {
  assert.equal(categoryOfBatch([record('POST', 0), record('DELETE', 1)]), 'audit');
  assert.equal(categoryOfBatch([record('GET', 0)]), 'operational');
  assert.equal(categoryOfBatch([]), undefined);
});

test('categoryOfBatch: a batch mixing categories is a programmer error (chunking never sends one)', () => {
  assert.throws(() => categoryOfBatch([record('GET', 0), record('POST', 1)]), /mixes categories/);
});
