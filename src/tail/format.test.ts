import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent, buildWorkflowEvent } from '../events/builders.js';
import { formatJson, formatPretty, instanceOf } from './format.js';

const RID = '/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/CONTOSO-1';
const api = buildApiEvent({ time: '2026-01-31T12:00:00.000Z', resourceId: RID, operationName: 'Segments.CreateSegmentAsync', method: 'POST', status: 201, durationMs: 42, path: '/api/segments' });
const task = buildWorkflowEvent({
  time: '2026-01-31T12:00:01.000Z', resourceId: RID, operationType: 'Segmentation', phase: 'Task', stage: 'Completed',
  workflowJobId: 'job-1', resultType: 'Failure', identifier: 'seg-1', error: 'timeout', durationMs: 900,
});

test('pretty API line: time, category, level, operation, result + status, duration, method + path, instance', () => {
  const line = formatPretty(api);
  assert.match(line, /^2026-01-31T12:00:00\.000Z\s+Audit\s+Informational\s+Segments\.CreateSegmentAsync\s+Success 201\s+42ms\s+POST \/api\/segments \[CONTOSO-1\]$/);
  assert.ok(!line.includes('\n'));
});

test('pretty workflow line: job id, task identifier and error', () => {
  const line = formatPretty(task);
  assert.match(line, /Operational\s+Error\s+Segmentation\.TaskCompleted\s+Failure\s+900ms\s+job=job-1 task=seg-1 error="timeout" \[CONTOSO-1\]$/);
});

test('json is the record on one line, parseable back', () => {
  const line = formatJson(task);
  assert.ok(!line.includes('\n'));
  assert.deepEqual(JSON.parse(line), task);
});

test('instanceOf takes the last resourceId segment', () => {
  assert.equal(instanceOf(RID), 'CONTOSO-1');
});
