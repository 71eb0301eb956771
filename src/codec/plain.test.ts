import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { buildApiEvent, buildWorkflowEvent } from '../events/builders.js';
import type { InsightEvent } from '../events/types.js';
import { toSinkRecord } from '../forwarder/sink-record.js';
import { packageRoot } from '../util/package-root.js';
import { plainConverter, withoutNulls } from './plain.js';
import { defaultSchemaRegistry, HEADER_LENGTH } from './schema-registry.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST-1';
const schema = (name: string): avro.Schema => JSON.parse(readFileSync(join(packageRoot(), 'schemas', `${name}.avsc`), 'utf8')) as avro.Schema;

const events: [string, InsightEvent][] = [
  ['full API', buildApiEvent({
    resourceId: RID, operationName: 'Segments.UpdateSegmentAsync', method: 'PATCH', status: 200,
    time: '2026-01-31T12:34:56.1234567Z', durationMs: 87, path: '/api/segments/1', uri: 'https://ci.example.test/api/segments/1?x=1',
    callerIpAddress: '203.0.113.9', userAgent: 'ua/1 "quoted" \u2028 é', origin: 'https://app.example.test',
    identity: { Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin', 'Contributor'] }, Claims: { upn: 'a@example.test', oid: '42', '': 'empty key' } },
    tenantId: 't-1', tenantName: 'Contoso', callerObjectId: 'obj-1', instanceId: 'inst-1', level: 'Critical',
  })],
  ['API, identity without Authorization', buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 404, identity: { Claims: {} } } as Parameters<typeof buildApiEvent>[0])],
  ['minimal API', buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 200, time: '2026-01-31T12:00:00Z' })],
  ['full workflow task', buildWorkflowEvent({
    resourceId: RID, operationType: 'Enrichment', phase: 'Task', stage: 'Completed', workflowJobId: 'job-1', resultType: 'Failure',
    time: '2026-01-31T12:00:00Z', durationMs: 5000, level: 'Error', instanceId: 'inst-1',
    startTimestamp: '2026-01-31T11:59:55Z', endTimestamp: '2026-01-31T12:00:00Z', submittedTimestamp: '2026-01-31T11:59:50Z',
    identifier: 'enrich-1', friendlyName: 'Enrich', error: 'boom',
    additionalInfo: { Kind: 'Enrichment', AffectedEntities: ['Customer', 'Contact'], MessageCode: 'E42', entityCount: 3_000_000_000 },
  })],
  ['workflow task, empty additionalInfo', buildWorkflowEvent({ resourceId: RID, operationType: 'Map', phase: 'Task', stage: 'Completed', workflowJobId: 'j', resultType: 'Successful', additionalInfo: {} })],
  ['full workflow run', buildWorkflowEvent({
    resourceId: RID, operationType: 'Ingestion', phase: 'Workflow', stage: 'Completed', workflowJobId: 'job-2', resultType: 'Successful',
    time: '2026-01-31T12:00:00Z', durationMs: 1, tasksCount: 4, submittedBy: 'svc', workflowType: 'full', workflowSubmissionKind: 'OnDemand',
    workflowStatus: 'Successful', startTimestamp: '2026-01-31T11:00:00Z', endTimestamp: '2026-01-31T12:00:00Z', submittedTimestamp: '2026-01-31T10:59:00Z',
  })],
  ['minimal workflow', buildWorkflowEvent({ resourceId: RID, operationType: 'Map', phase: 'Task', stage: 'Started', workflowJobId: 'j', resultType: 'Running', time: '2026-01-31T12:00:00Z' })],
];

test('the schema-specialised converter gives exactly what withoutNulls gives (same keys, same order)', () => {
  for (const name of ['APIEvent', 'WorkflowEvent'] as const) {
    const type = avro.Type.forSchema(schema(name));
    const convert = plainConverter(type);
    for (const [label, event] of events.filter(([, e]) => ('workflowJobId' in e.properties) === (name === 'WorkflowEvent'))) {
      const decoded = type.fromBuffer(type.toBuffer(event));
      const expected = withoutNulls(decoded);
      const actual = convert(decoded);
      assert.deepEqual(actual, expected, label);
      assert.equal(JSON.stringify(actual), JSON.stringify(expected), label);
      assert.ok(!JSON.stringify(actual).includes('null'), `${label}: no null fields`);
    }
  }
});

test('forwarder JSON lines are byte-identical to the former decode path (withoutNulls, then a copy with the category)', () => {
  const registry = defaultSchemaRegistry();
  const source = { topic: 't', partition: 0, offset: '1' };
  for (const [label, event] of events) {
    const kind = 'workflowJobId' in event.properties ? 'WorkflowEvent' as const : 'APIEvent' as const;
    const bytes = registry.encode(kind, event);
    const type = avro.Type.forSchema(schema(kind));
    const former = toSinkRecord(withoutNulls(type.fromBuffer(bytes.subarray(HEADER_LENGTH))) as InsightEvent, source).json;
    const now = toSinkRecord(registry.decode(bytes).event, source, { owned: true }).json;
    assert.equal(now, former, label);
  }
});

test('unusual types fall back to the generic path and still match withoutNulls', () => {
  const type = avro.Type.forSchema({
    type: 'record', name: 'R', fields: [
      { name: 'u', type: ['null', 'string', 'long'], default: null },
      { name: 'm', type: { type: 'map', values: { type: 'record', name: 'V', fields: [{ name: 'x', type: ['null', 'string'], default: null }] } } },
      { name: 'a', type: { type: 'array', items: ['null', 'V'] } },
    ],
  });
  const value = type.fromBuffer(type.toBuffer({ u: 5, m: { k: { x: null }, j: { x: 'y' } }, a: [null, { x: null }, { x: 'z' }] }));
  assert.equal(JSON.stringify(plainConverter(type)(value)), JSON.stringify(withoutNulls(value)));
});
