import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent, buildWorkflowEvent } from '../../events/builders.js';
import { toSinkRecord } from '../../forwarder/sink-record.js';
import type { SinkRecord } from '../sink.js';
import { groupBySourcePartition, groupByTopic, piecesOf, splitInHalves, toMessage, transactionalIdFor, withoutCommitted } from './request-builder.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I1';
const topics = { audit: 'mirror-audit', operational: 'mirror-operational' };

function api(method: string, offset: number, partition = 0): SinkRecord {
  const event = buildApiEvent({ resourceId: RID, operationName: 'Segments.X', method, status: 200, path: '/api/x', uri: 'https://h.test/api/x' } as never);
  return toSinkRecord(event, { topic: 'src', partition, offset: String(offset) });
}
function workflow(offset: number): SinkRecord {
  const event = buildWorkflowEvent({ resourceId: RID, operationType: 'Ingestion', phase: 'Workflow', stage: 'Started', workflowJobId: 'j1', resultType: 'Running' } as never);
  return toSinkRecord(event, { topic: 'src', partition: 0, offset: String(offset) });
}

test('a message is the record JSON, keyed by resourceId, with kind header, on its category topic', () => {
  const post = toMessage(api('POST', 0), topics);
  assert.equal(post.topic, 'mirror-audit');
  assert.equal(post.key, RID);
  assert.deepEqual(JSON.parse(post.value).category, 'Audit');
  assert.deepEqual(post.headers, { kind: 'APIEvent', category: 'audit' });
  assert.equal(toMessage(api('GET', 1), topics).topic, 'mirror-operational');
  const wf = toMessage(workflow(2), topics);
  assert.equal(wf.topic, 'mirror-operational');
  assert.equal(wf.headers.kind, 'WorkflowEvent');
});

test('groupByTopic keeps order within each topic', () => {
  const msgs = [api('POST', 0), api('GET', 1), api('PUT', 2)].map((r) => toMessage(r, topics));
  const batches = groupByTopic(msgs);
  assert.deepEqual(batches.map((b) => [b.topic, b.messages.length]), [['mirror-audit', 2], ['mirror-operational', 1]]);
  assert.equal(JSON.parse(batches[0]!.messages[1]!.value).properties.method, 'PUT');
});

test('splitInHalves', () => {
  assert.deepEqual(splitInHalves([1, 2, 3]), [[1, 2], [3]]);
  assert.deepEqual(splitInHalves([1, 2]), [[1], [2]]);
});

test('groupBySourcePartition pairs records with their partition offsets, offsets-only partitions included', () => {
  const records = [api('GET', 5, 0), api('GET', 9, 1), api('GET', 6, 0)];
  const work = groupBySourcePartition(records, [
    { groupId: 'g', topic: 'src', partition: 0, offset: '7' },
    { groupId: 'g', topic: 'src', partition: 1, offset: '10' },
    { groupId: 'g', topic: 'src', partition: 2, offset: '3' },
  ]);
  assert.deepEqual(work.map((w) => [w.partition, w.records.map((r) => r.offset), w.offsets.map((o) => o.offset)]), [
    [0, ['5', '6'], ['7']], [1, ['9'], ['10']], [2, [], ['3']],
  ]);
});

test('transactional id is stable per destination and source partition', () => {
  assert.equal(transactionalIdFor('insight-logs', 'mirror', 'insight-logs-audit', 2), 'insight-logs.mirror.insight-logs-audit-2');
});

test('withoutCommitted skips records and offsets an earlier owner already committed', () => {
  const [w] = groupBySourcePartition([api('GET', 5), api('GET', 6), api('GET', 7)], [{ groupId: 'g', topic: 'src', partition: 0, offset: '8' }]);
  assert.deepEqual(withoutCommitted(w!, 7n).records.map((r) => r.offset), ['7']);
  assert.equal(withoutCommitted(w!, 7n).offsets.length, 1);
  const done = withoutCommitted(w!, 8n);
  assert.equal(done.records.length, 0);
  assert.equal(done.offsets.length, 0, 'never move the group backwards or commit the same offset again');
  assert.equal(withoutCommitted(w!, undefined), w);
});

test('piecesOf keeps order and stays under the byte target; a large record travels alone', () => {
  const records = Array.from({ length: 50 }, (_, i) => api('GET', i));
  const size = records[0]!.json.length + records[0]!.event.resourceId.length;
  const pieces = piecesOf(records, size * 10);
  assert.deepEqual(pieces.flat().map((r) => r.offset), records.map((r) => r.offset));
  for (const p of pieces) assert.ok(p.reduce((n, r) => n + r.json.length + r.event.resourceId.length, 0) <= size * 12);
  assert.ok(pieces.length >= 4);
  assert.deepEqual(piecesOf(records.slice(0, 2), 1).map((p) => p.length), [1, 1]);
});
