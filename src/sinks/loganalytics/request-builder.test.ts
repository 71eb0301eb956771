import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent, buildWorkflowEvent } from '../../events/builders.js';
import type { InsightEvent } from '../../events/types.js';
import { toSinkRecord } from '../../forwarder/sink-record.js';
import { COLUMNS, columnsOf } from './columns.js';
import { MAX_CHUNK_BYTES, MAX_FIELD_BYTES, buildRow, halves, planChunks, rowBytes, rowToEvent, toRow, truncateValue } from './request-builder.js';

const RESOURCE = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I1';

function api(method: string, pad = 0): InsightEvent {
  return buildApiEvent({ resourceId: RESOURCE, operationName: 'Segments.CreateSegmentAsync', method, status: 201, durationMs: 7, uri: `https://ci.example.test/api?x=${'a'.repeat(pad)}` });
}
const rec = (e: InsightEvent, i = 0) => toSinkRecord(e, { topic: 't', partition: 0, offset: String(i) });

test('an API row has the official flat columns, properties and identity mapped, no made-up values', () => {
  const event = buildApiEvent({
    resourceId: RESOURCE, operationName: 'Segments.CreateSegmentAsync', method: 'post', status: 201, durationMs: 7,
    uri: 'https://ci.example.test/api/segments', path: '/api/segments', userAgent: 'ua/1', origin: 'https://portal.test',
    callerIpAddress: '10.1.2.3', tenantId: 't-1', tenantName: 'Contoso', callerObjectId: 'oid-1', instanceId: 'inst-1',
    identity: { Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin', 'Contributor'] }, Claims: { aud: 'api://ci', upn: 'a@contoso.test' } },
    correlationId: 'corr-1',
  });
  const row = toRow(event);
  assert.deepEqual(row, {
    TimeGenerated: event.time, OperationName: 'Segments.CreateSegmentAsync', Category: 'Audit', ResultType: 'Success',
    ResultSignature: '201', DurationMs: 7, Level: 'Informational', CorrelationId: 'corr-1', CIResourceId: RESOURCE,
    CallerIPAddress: '10.1.2.3', Uri: 'https://ci.example.test/api/segments', EventType: 'ApiEvent', UserAgent: 'ua/1',
    Method: 'POST', Path: '/api/segments', Origin: 'https://portal.test', OperationStatus: 'Success', CITenantId: 't-1',
    CITenantName: 'Contoso', CallerObjectId: 'oid-1', InstanceId: 'inst-1', UserRole: 'Admin',
    RequiredRoles: '["Admin","Contributor"]', Claims: '{"aud":"api://ci","upn":"a@contoso.test"}', Audience: 'api://ci',
    UserPrincipalName: 'a@contoso.test',
  });
  assert.deepEqual(rowToEvent(row), event, 'a row maps back to the very event');
  for (const name of Object.keys(row)) assert.ok(columnsOf('CIEventsAudit_CL').some((c) => c.name === name), `${name} is an audit column`);
});

test('a workflow row fills the operational columns with the right types; datetimes stay ISO strings', () => {
  const workflow = buildWorkflowEvent({
    resourceId: RESOURCE, operationType: 'Ingestion', phase: 'Workflow', stage: 'Completed', workflowJobId: 'job-1', resultType: 'Successful',
    durationMs: 1500, tasksCount: 3, submittedBy: 'me', workflowType: 'full', workflowSubmissionKind: 'OnDemand', workflowStatus: 'Successful',
    startTimestamp: '2026-01-01T10:00:00.0000000Z', endTimestamp: '2026-01-01T10:00:01.5000000Z', submittedTimestamp: '2026-01-01T09:59:59Z',
  });
  const row = toRow(workflow);
  assert.equal(row.WorkflowJobId, 'job-1');
  assert.equal(row.TasksCount, 3);
  assert.equal(row.DurationMs, 1500);
  assert.equal(row.StartTime, '2026-01-01T10:00:00.0000000Z');
  assert.equal(row.EndTime, '2026-01-01T10:00:01.5000000Z');
  assert.equal(row.SubmittedTime, '2026-01-01T09:59:59Z');
  assert.equal(row.EventType, 'WorkflowEvent');
  assert.equal(typeof row.CorrelationId, 'string');
  assert.ok(!('Uri' in row) && !('Method' in row));
  for (const c of COLUMNS) {
    const v = row[c.name];
    if (v === undefined) continue;
    if (c.type === 'long' || c.type === 'int') assert.ok(Number.isInteger(v), `${c.name} is an integer`);
    else assert.equal(typeof v, 'string', `${c.name} is a string`);
  }
  assert.deepEqual(rowToEvent(row), workflow);
  const task = buildWorkflowEvent({
    resourceId: RESOURCE, operationType: 'Ingestion', phase: 'Task', stage: 'Completed', workflowJobId: 'job-1', resultType: 'Failure',
    identifier: 'task-1', friendlyName: 'Load', error: 'boom', additionalInfo: { Kind: 'Ingest', AffectedTables: ['A'], MessageCode: 'M1', tableCount: 1 },
  });
  const taskRow = toRow(task);
  assert.equal(taskRow.AdditionalInformation, '{"Kind":"Ingest","AffectedTables":["A"],"MessageCode":"M1","tableCount":1}');
  assert.equal(taskRow.Error, 'boom');
  assert.deepEqual(rowToEvent(taskRow), task);
  const noTime = { ...(api('GET') as object) } as Record<string, unknown>;
  delete noTime.time;
  assert.ok(!('TimeGenerated' in toRow(noTime as unknown as InsightEvent)));
});

test('values over 64 KB are cut on a character boundary with a visible marker and counted', () => {
  assert.deepEqual(truncateValue('short'), { value: 'short', truncated: false });
  const euro = '€'.repeat(30_000); // 90,000 bytes of UTF-8
  const cut = truncateValue(euro);
  assert.equal(cut.truncated, true);
  assert.ok(Buffer.byteLength(cut.value) <= MAX_FIELD_BYTES);
  assert.ok(!cut.value.includes('\uFFFD'), 'no half character');
  assert.match(cut.value, /…\[truncated by insight-logs: 90000 bytes\]$/);
  const { row, truncated } = buildRow(api('POST', 100_000));
  assert.deepEqual(truncated, ['Uri']);
  assert.ok(Buffer.byteLength(String(row.Uri)) <= MAX_FIELD_BYTES);
  const plan = planChunks([rec(api('POST', 100_000)), rec(api('POST')), rec(api('POST', 70_000))]);
  assert.equal(plan.truncatedValues, 2);
  assert.deepEqual([...plan.truncatedColumns], ['Uri']);
});

/** An event with 16 string columns of 70 KB each: still over 1 MB after cutting each to 64 KB. */
function hugeEvent(): InsightEvent {
  const big = (c: string) => c.repeat(70_000);
  const e = api('POST') as unknown as Record<string, any>;
  return {
    ...e, operationName: big('o'), resultSignature: big('r'), callerIpAddress: big('c'), uri: `https://h.test/${big('u')}`,
    properties: { ...e.properties, userAgent: big('a'), path: big('p'), origin: big('g'), tenantId: big('t'), tenantName: big('n'), callerObjectId: big('b'), instanceId: big('i') },
    identity: { Authorization: { UserRole: big('R'), RequiredRoles: [big('Q')] }, Claims: { aud: big('A'), upn: big('U') } },
  } as unknown as InsightEvent;
}

test('chunks keep order, stay within the bound the SDK will not split again, and oversize rows are set aside', () => {
  const records = Array.from({ length: 300 }, (_, i) => rec(api('GET', 5000), i));
  const big = rec(hugeEvent(), 300);
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
