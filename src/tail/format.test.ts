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

test('colour by level only when asked: Error/Critical red, Warning yellow, others plain', async () => {
  const { levelColor, useColor } = await import('./format.js');
  assert.equal(formatPretty(task, { color: true }).startsWith('\x1b[31m'), true);
  assert.ok(formatPretty(task, { color: true }).endsWith('\x1b[0m'));
  assert.ok(!formatPretty(task).includes('\x1b['));
  assert.ok(!formatPretty(api, { color: true }).includes('\x1b['), 'Informational stays plain');
  assert.equal(levelColor('Warning'), '\x1b[33m');
  assert.equal(levelColor('Critical'), '\x1b[31m');
  assert.equal(useColor(true, {}), true);
  assert.equal(useColor(false, {}), false);
  assert.equal(useColor(true, { NO_COLOR: '1' }), false);
  assert.equal(useColor(true, {}, false), false, '--no-color');
  assert.equal(useColor(false, { FORCE_COLOR: '1' }), true);
});

test('workflow lines: short job id, task i/n once the run size is known, friendly name', async () => {
  const { WorkflowProgress } = await import('./workflow-progress.js');
  const jobId = '3f2a9c1e-7b4d-4e21-9a0b-5c6d7e8f9a01';
  const start = buildWorkflowEvent({ time: '2026-01-31T12:00:00.000Z', resourceId: RID, operationType: 'Ingestion', phase: 'Workflow', stage: 'Started', resultType: 'Running', workflowJobId: jobId, tasksCount: 4 });
  const t2 = (id: string, name: string) => buildWorkflowEvent({ time: '2026-01-31T12:00:02.000Z', resourceId: RID, operationType: 'Ingestion', phase: 'Task', stage: 'Started', resultType: 'Running', workflowJobId: jobId, identifier: id, friendlyName: name });
  const progress = new WorkflowProgress();
  assert.equal(progress.note(start), undefined);
  assert.match(formatPretty(start), /job=3f2a9c1e tasks=4 \[CONTOSO-1\]$/);
  const a = t2('ingestion-1-aa', 'Contacts');
  const b = t2('ingestion-2-bb', 'Orders');
  progress.note(a);
  const position = progress.note(b);
  assert.deepEqual(position, { index: 2, total: 4 });
  assert.match(formatPretty(b, { position: position! }), /job=3f2a9c1e task=ingestion-2-bb \(2\/4\) "Orders" \[CONTOSO-1\]$/);
  assert.deepEqual(progress.note(b), { index: 2, total: 4 }, 'the same task keeps its place (completed after started)');
  assert.equal(new WorkflowProgress().note(b), undefined, 'unknown run size: no position');
});
