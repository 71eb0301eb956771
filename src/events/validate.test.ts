import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InsightLogsError } from '../errors.js';
import { buildApiEvent, buildWorkflowEvent } from './builders.js';
import type { ApiEvent, WorkflowEvent } from './types.js';
import { assertValidEvent, findProblems, isUtcTimestamp, resourceIdProblem } from './validate.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST-1';
const api = (): ApiEvent => buildApiEvent({ resourceId: RID, operationName: 'Segments.Get', method: 'GET', status: 200 });
const workflow = (): WorkflowEvent => buildWorkflowEvent({ resourceId: RID, operationType: 'Ingestion', phase: 'Workflow', stage: 'Started', workflowJobId: 'job-1', resultType: 'Running' });

function pathsOf(event: unknown): string[] {
  return findProblems(event as ApiEvent).map((p) => p.path);
}

describe('validation names the bad field', () => {
  test('valid events have no problems', () => {
    assert.deepEqual(findProblems(api()), []);
    assert.deepEqual(findProblems(workflow()), []);
  });

  const apiCases: [string, (e: ApiEvent) => void][] = [
    ['time', (e) => { e.time = '2026-01-31 12:00:00'; }],
    ['time', (e) => { e.time = '2026-02-30T12:00:00Z'; }],
    ['time', (e) => { e.time = '2026-01-31T12:00:00+02:00'; }],
    ['resourceId', (e) => { e.resourceId = ''; }],
    ['operationName', (e) => { e.operationName = ''; }],
    ['level', (e) => { (e as { level: string }).level = 'Debug'; }],
    ['resultType', (e) => { (e as { resultType: string }).resultType = 'Running'; }],
    ['durationMs', (e) => { e.durationMs = -1; }],
    ['uri', (e) => { e.uri = '/relative/path'; }],
    ['properties.method', (e) => { e.properties.method = 'get'; }],
    ['properties.operationStatus', (e) => { (e.properties as { operationStatus: string }).operationStatus = 'Fine'; }],
    ['identity.Claims', (e) => { e.identity = { Claims: { n: 1 as unknown as string } }; }],
  ];
  for (const [path, mutate] of apiCases) {
    test(`APIEvent ${path}`, () => {
      const e = api();
      mutate(e);
      assert.ok(pathsOf(e).includes(path), `${path} not in ${pathsOf(e).join(',')}`);
      assert.throws(() => assertValidEvent(e), (err: unknown) => err instanceof InsightLogsError && err.code === 'EVENT_INVALID' && err.message.includes(path));
    });
  }

  const workflowCases: [string, (e: WorkflowEvent) => void][] = [
    ['properties.workflowJobId', (e) => { e.properties.workflowJobId = ''; }],
    ['properties.operationType', (e) => { (e.properties as { operationType: string }).operationType = 'Cooking'; }],
    ['operationName', (e) => { e.operationName = 'Ingestion.Started'; }],
    ['operationName', (e) => { e.operationName = 'Export.WorkflowStarted'; }],
    ['resultType', (e) => { (e as { resultType: string }).resultType = 'Success'; }],
    ['properties.workflowType', (e) => { (e.properties as { workflowType: string }).workflowType = 'partial'; }],
    ['properties.workflowSubmissionKind', (e) => { (e.properties as { workflowSubmissionKind: string }).workflowSubmissionKind = 'Manual'; }],
    ['properties.workflowStatus', (e) => { (e.properties as { workflowStatus: string }).workflowStatus = 'Failed'; }],
    ['properties.startTimestamp', (e) => { e.properties.startTimestamp = 'yesterday'; }],
    ['properties.tasksCount', (e) => { e.properties.tasksCount = 1.5; }],
    ['properties.identifier', (e) => { e.properties.identifier = 'task-only field on a workflow event'; }],
  ];
  for (const [path, mutate] of workflowCases) {
    test(`WorkflowEvent ${path}`, () => {
      const e = workflow();
      mutate(e);
      assert.ok(pathsOf(e).includes(path), `${path} not in ${pathsOf(e).join(',')}`);
    });
  }

  test('workflow-only fields on a task event are refused', () => {
    const e = buildWorkflowEvent({ resourceId: RID, operationType: 'Ingestion', phase: 'Task', stage: 'Started', workflowJobId: 'j', resultType: 'Running' });
    e.properties.workflowStatus = 'Running';
    assert.ok(pathsOf(e).includes('properties.workflowStatus'));
  });

  test('every problem is reported, not just the first', () => {
    const e = api();
    e.time = 'x';
    e.operationName = '';
    assert.deepEqual(pathsOf(e).sort(), ['operationName', 'time']);
  });

  test('timestamps: up to 7 fractional digits, UTC only', () => {
    assert.ok(isUtcTimestamp('2026-01-31T12:00:00.1234567Z'));
    assert.ok(isUtcTimestamp('2026-01-31T12:00:00+00:00'));
    assert.ok(!isUtcTimestamp('2026-01-31T12:00:00.12345678Z'));
    assert.ok(!isUtcTimestamp('2026-13-01T00:00:00Z'));
  });
});

describe('caller-supplied category', () => {
  test('a category that contradicts the routing rule is rejected', () => {
    const e = api();
    e.category = 'Audit';
    assert.ok(pathsOf(e).includes('category'));
    const post = buildApiEvent({ resourceId: RID, operationName: 'Segments.Create', method: 'POST', status: 201 });
    post.category = 'Operational';
    assert.ok(pathsOf(post).includes('category'));
    const w = workflow();
    w.category = 'Audit';
    assert.ok(pathsOf(w).includes('category'));
  });
});

describe('hostile resourceIds are rejected', () => {
  const prefix = '/SUBSCRIPTIONS/SUB/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/';
  test('a well-formed id passes, in any letter case', () => {
    assert.equal(resourceIdProblem(`${prefix}INST-1`), undefined);
    assert.equal(resourceIdProblem(`${prefix}inst-1`.toLowerCase()), undefined);
  });
  const hostile: Record<string, string> = {
    'dot-dot segment': `${prefix}..`,
    'dot-dot in resource group': '/SUBSCRIPTIONS/SUB/RESOURCEGROUPS/../PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I',
    'percent-encoded dot-dot': `${prefix}%2e%2e`,
    'encoded slash': `${prefix}A%2fB`,
    backslash: `${prefix}A\\..\\B`,
    'control character': `${prefix}A\u0000B`,
    newline: `${prefix}A\nB`,
    'question mark': `${prefix}A?x=1`,
    hash: `${prefix}A#frag`,
    'extra segment': `${prefix}A/B`,
    'trailing slash': `${prefix}A/`,
    'leading space': ` ${prefix}A`,
    '2,000 characters': `${prefix}${'A'.repeat(2000)}`,
    'wrong provider': '/SUBSCRIPTIONS/SUB/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.STORAGE/INSTANCES/A',
    empty: '',
  };
  for (const [name, rid] of Object.entries(hostile)) {
    test(name, () => {
      assert.notEqual(resourceIdProblem(rid), undefined);
      const e = api();
      e.resourceId = rid;
      assert.ok(pathsOf(e).includes('resourceId'));
    });
  }
});

describe('UTC timestamps (events/utc-time.ts, shared with the blob layout)', () => {
  test('calendar rules without a Date round trip: leap years, month lengths, hour bounds', () => {
    assert.ok(isUtcTimestamp('2024-02-29T23:59:59Z'), 'leap day');
    assert.ok(isUtcTimestamp('2000-02-29T00:00:00Z'), 'leap day of a year divisible by 400');
    assert.ok(!isUtcTimestamp('1900-02-29T00:00:00Z'), 'no leap day in a year divisible by 100');
    assert.ok(!isUtcTimestamp('2023-02-29T00:00:00Z'));
    assert.ok(!isUtcTimestamp('2024-04-31T00:00:00Z'));
    assert.ok(isUtcTimestamp('2024-12-31T00:00:00-00:00'));
    for (const bad of ['2024-00-10T00:00:00Z', '2024-01-00T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:60:00Z', '2024-01-01T00:00:60Z', '2024-01-01T00:00:00+0000', '2024-01-01T00:00:00z', '2024-01-01T00:00Z', 42, null]) {
      assert.ok(!isUtcTimestamp(bad), String(bad));
    }
  });
});
