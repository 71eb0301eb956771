import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent, buildWorkflowEvent } from '../../events/builders.js';
import type { InsightEvent } from '../../events/types.js';
import { toSinkRecord } from '../../forwarder/sink-record.js';
import { MAX_CHUNK_BYTES, halves, planChunks, rowBytes, rowToEvent, toRow } from './request-builder.js';

const RESOURCE = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I1';

function api(method: string, pad = 0): InsightEvent {
  return buildApiEvent({ resourceId: RESOURCE, operationName: 'Segments.CreateSegmentAsync', method, status: 201, durationMs: 7, uri: `https://ci.example.test/api?x=${'a'.repeat(pad)}` });
}
const rec = (e: InsightEvent, i = 0) => toSinkRecord(e, { topic: 't', partition: 0, offset: String(i) });

test('a row has the PascalCase columns, Properties/Identity as objects, no made-up values', () => {
  const event = { ...api('POST'), identity: { Claims: { oid: 'o' } } } as InsightEvent;
  const row = toRow(rec(event).event);
  const e = rec(event).event as unknown as Record<string, unknown>;
  assert.equal(row.TimeGenerated, e.time);
  assert.equal(row.ResourceId, RESOURCE);
  assert.equal(row.Category, 'Audit');
  assert.equal(row.ResultSignature, '201');
  assert.equal(row.DurationMs, 7);
  assert.deepEqual(row.Identity, { Claims: { oid: 'o' } });
  assert.equal((row.Properties as Record<string, unknown>).method, 'POST');
  assert.ok(!('CallerIpAddress' in row), 'absent fields stay absent');
  assert.deepEqual(rowToEvent(row), e);
  const workflow = buildWorkflowEvent({ resourceId: RESOURCE, operationType: 'Ingestion', phase: 'Workflow', stage: 'Started', workflowJobId: 'job-1', resultType: 'Running' });
  const wrow = toRow(rec(workflow).event);
  assert.equal((wrow.Properties as Record<string, unknown>).workflowJobId, 'job-1');
  assert.ok(!('Uri' in wrow));
  const noTime = { ...(e as object) } as Record<string, unknown>;
  delete noTime.time;
  assert.ok(!('TimeGenerated' in toRow(noTime as unknown as InsightEvent)));
});

test('chunks keep order, stay within the bound the SDK will not split again, and oversize rows are set aside', () => {
  const records = Array.from({ length: 300 }, (_, i) => rec(api('GET', 5000), i));
  const big = rec(api('GET', MAX_CHUNK_BYTES), 300);
  const { chunks, tooLarge } = planChunks([...records.slice(0, 150), big, ...records.slice(150)]);
  assert.deepEqual(tooLarge.map((t) => t.record), [big]);
  assert.ok(chunks.length >= 2);
  assert.deepEqual(chunks.flatMap((c) => c.records), records, 'every record once, in order');
  for (const c of chunks) {
    assert.equal(c.bytes, Buffer.byteLength(JSON.stringify(c.rows)));
    assert.ok(c.bytes <= MAX_CHUNK_BYTES);
    // The SDK re-chunks when the sum of row sizes reaches 1,000,000: ours never does.
    assert.ok(c.rows.reduce((n, r) => n + rowBytes(r), 0) < 1_000_000);
  }
  const [a, b] = halves(chunks[0]!);
  assert.equal(a.rows.length + b.rows.length, chunks[0]!.rows.length);
  assert.equal(a.bytes, Buffer.byteLength(JSON.stringify(a.rows)));
  assert.equal(b.bytes, Buffer.byteLength(JSON.stringify(b.rows)));
});

test('a small bound makes one chunk per row', () => {
  const records = [rec(api('POST')), rec(api('GET')), rec(api('DELETE'))];
  const one = rowBytes(toRow(records[0]!.event)) + 2;
  assert.equal(planChunks(records, one + 10).chunks.length, 3);
});
