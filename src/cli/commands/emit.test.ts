import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent, buildWorkflowEvent } from '../../events/builders.js';
import { DEMO_RESOURCE_ID } from '../../simulate/resources.js';
import { apiInputFromFlags, workflowInputFromFlags } from './emit.js';
import { parseSince } from './tail.js';

const apiDefaults = { resourceId: DEMO_RESOURCE_ID, method: 'GET', status: '200', claim: [] as string[], json: false };

test('emit api: defaults make a valid event; the operation follows the method', () => {
  const event = buildApiEvent(apiInputFromFlags({ ...apiDefaults, method: 'post', status: '201' }));
  assert.equal(event.category, 'Audit');
  assert.equal(event.operationName, 'Segments.CreateSegmentAsync');
  assert.equal(event.resultSignature, '201');
});

test('emit api: identity from --user-role, --required-roles and --claim', () => {
  const input = apiInputFromFlags({ ...apiDefaults, userRole: 'Admin', requiredRoles: 'Admin, Owner', claim: ['name=adele', 'x=a=b'] });
  assert.deepEqual(input.identity, { Claims: { name: 'adele', x: 'a=b' }, Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin', 'Owner'] } });
});

test('emit api: bad values name their flag', () => {
  assert.throws(() => apiInputFromFlags({ ...apiDefaults, status: '99' }), /--status/);
  assert.throws(() => apiInputFromFlags({ ...apiDefaults, method: 'G3T' }), /--method/);
  assert.throws(() => apiInputFromFlags({ ...apiDefaults, durationMs: '-1' }), /--duration-ms/);
  assert.throws(() => apiInputFromFlags({ ...apiDefaults, claim: ['novalue'] }), /--claim/);
  assert.throws(() => apiInputFromFlags({ ...apiDefaults, level: 'Loud' }), /--level/);
});

test('emit workflow: phase/stage case-insensitive, result defaults by stage', () => {
  const base = { resourceId: DEMO_RESOURCE_ID, operationType: 'segmentation', json: false };
  const started = workflowInputFromFlags({ ...base, phase: 'workflow', stage: 'started', jobId: 'j1', tasksCount: '2' });
  assert.equal(started.resultType, 'Running');
  assert.equal(buildWorkflowEvent(started).operationName, 'Segmentation.WorkflowStarted');
  const done = workflowInputFromFlags({ ...base, phase: 'task', stage: 'completed', identifier: 't1' });
  assert.equal(done.resultType, 'Successful');
  assert.match(done.workflowJobId, /^[0-9a-f-]{36}$/);
  assert.throws(() => workflowInputFromFlags({ ...base, operationType: 'Nope', phase: 'task', stage: 'started' }), /--operation-type/);
  assert.throws(() => workflowInputFromFlags({ ...base, phase: 'job', stage: 'started' }), /--phase/);
  assert.throws(() => workflowInputFromFlags({ ...base, phase: 'task', stage: 'started', result: 'Done' }), /--result/);
});

test('emit: --correlation-id sets correlationId; without it every event gets a fresh one', () => {
  assert.equal(buildApiEvent(apiInputFromFlags({ ...apiDefaults, correlationId: 'req-42' })).correlationId, 'req-42');
  const a = buildApiEvent(apiInputFromFlags(apiDefaults)).correlationId;
  const b = buildApiEvent(apiInputFromFlags(apiDefaults)).correlationId;
  assert.match(a ?? '', /^[0-9a-f-]{36}$/);
  assert.notEqual(a, b);
  const base = { resourceId: DEMO_RESOURCE_ID, operationType: 'segmentation', phase: 'workflow', stage: 'started', json: false };
  assert.equal(buildWorkflowEvent(workflowInputFromFlags({ ...base, correlationId: 'wf-1' })).correlationId, 'wf-1');
  assert.throws(() => buildApiEvent(apiInputFromFlags({ ...apiDefaults, correlationId: 'has space' })), /correlationId/);
});

test('tail --since: a duration ago or an ISO time', () => {
  assert.equal(parseSince('15m', 1_000_000_000), 1_000_000_000 - 900_000);
  assert.equal(parseSince('2026-01-31T12:00:00Z'), Date.UTC(2026, 0, 31, 12));
  assert.throws(() => parseSince('yesterday'), /--since/);
  assert.throws(() => parseSince('2026-13-45T00:00:00Z'), /--since/);
});
