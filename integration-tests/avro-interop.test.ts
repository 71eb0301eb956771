/** The wire format against a second Avro implementation (the Python reference, python3-avro). */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { buildApiEvent, buildWorkflowEvent } from '../src/events/builders.js';
import type { InsightEvent } from '../src/events/types.js';
import { pythonAvro, type PythonAvro } from './helpers/python-avro.js';
import { resourceIdFor } from './helpers/records.js';

const RID = resourceIdFor('INTEROP-1');

const events: { kind: 'APIEvent' | 'WorkflowEvent'; event: InsightEvent }[] = [
  { kind: 'APIEvent', event: buildApiEvent({
    resourceId: RID, operationName: 'Segments.DeleteSegmentAsync', method: 'DELETE', status: 404, time: '2026-01-31T12:34:56.1234567Z',
    durationMs: 12, path: '/api/segments/9', uri: 'https://ci.example.test/api/segments/9', callerIpAddress: '203.0.113.9',
    userAgent: 'ua/ü-1', origin: 'https://app.example.test', tenantId: 't', tenantName: 'Contoso', callerObjectId: 'o', instanceId: 'i',
    identity: { Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin'] }, Claims: { upn: 'a@example.test' } },
  }) },
  { kind: 'APIEvent', event: buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 200, time: '2026-01-31T12:00:00Z' }) },
  { kind: 'WorkflowEvent', event: buildWorkflowEvent({
    resourceId: RID, operationType: 'Segmentation', phase: 'Task', stage: 'Completed', workflowJobId: 'job-1', resultType: 'Failure',
    time: '2026-01-31T12:00:00Z', durationMs: 3000, startTimestamp: '2026-01-31T11:59:57Z', endTimestamp: '2026-01-31T12:00:00Z',
    identifier: 'seg-1', friendlyName: 'Segment', error: 'boom',
    additionalInfo: { Kind: 'Segment', AffectedEntities: ['Customer'], MessageCode: 'E1', entityCount: 3_000_000_000 },
  }) },
  { kind: 'WorkflowEvent', event: buildWorkflowEvent({
    resourceId: RID, operationType: 'Ingestion', phase: 'Workflow', stage: 'Started', workflowJobId: 'job-2', resultType: 'Running',
    time: '2026-01-31T12:00:00Z', tasksCount: 2, submittedBy: 'svc', workflowType: 'incremental', workflowSubmissionKind: 'Scheduled', workflowStatus: 'Running',
  }) },
];

describe('Avro interop with python3-avro', () => {
  let py: PythonAvro;
  const registry = defaultSchemaRegistry();
  before(async () => { py = await pythonAvro(); });

  test('both implementations compute the same canonical form and fingerprint', async () => {
    const fingerprints = await py.fingerprints();
    for (const kind of ['APIEvent', 'WorkflowEvent'] as const) {
      const name = `com.insightlogs.events.${kind}`;
      const theirs = fingerprints[name as 'APIEvent'] ?? fingerprints[kind];
      assert.ok(theirs, `python reported no schema named ${kind}: ${Object.keys(fingerprints).join(', ')}`);
      assert.equal(theirs.canonical, registry.canonicalForm(kind), `${kind} canonical form`);
      assert.equal(theirs.fingerprint, registry.fingerprint(kind), `${kind} fingerprint`);
    }
  });

  test('python decodes what the project writes, with the .avsc files alone', async () => {
    const decoded = await py.decode(events.map((e) => registry.encode(e.kind, e.event)));
    assert.equal(decoded.length, events.length);
    decoded.forEach((d, i) => {
      assert.equal(d.kind.split('.').pop(), events[i]!.kind);
      assert.equal(d.fingerprint, registry.fingerprint(events[i]!.kind));
      assert.deepEqual(d.event, JSON.parse(JSON.stringify(events[i]!.event)));
    });
  });

  test('the project decodes what python writes', async () => {
    for (const kind of ['APIEvent', 'WorkflowEvent'] as const) {
      const mine = events.filter((e) => e.kind === kind);
      const messages = await py.encode(kind, mine.map((e) => e.event));
      assert.equal(messages.length, mine.length);
      messages.forEach((m, i) => {
        assert.deepEqual(m, registry.encode(kind, mine[i]!.event), 'byte-identical to the project encoding');
        const back = registry.decode(m);
        assert.equal(back.kind, kind);
        assert.deepEqual(back.event, mine[i]!.event);
      });
    }
  });
});
