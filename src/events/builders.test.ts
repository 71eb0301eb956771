import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InsightLogsError } from '../errors.js';
import { buildApiEvent, buildWorkflowEvent, levelForStatus, operationStatusForStatus, resultTypeForStatus } from './builders.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST-1';

describe('status mapping', () => {
  const cases: [number, string, string, string][] = [
    [199, 'Success', 'Success', 'Informational'],
    [200, 'Success', 'Success', 'Informational'],
    [399, 'Success', 'Success', 'Informational'],
    [400, 'ClientError', 'ClientError', 'Warning'],
    [499, 'ClientError', 'ClientError', 'Warning'],
    [500, 'Failure', 'Error', 'Error'],
  ];
  for (const [status, resultType, operationStatus, level] of cases) {
    test(`${status} → ${resultType} / ${operationStatus} / ${level}`, () => {
      assert.equal(resultTypeForStatus(status), resultType);
      assert.equal(operationStatusForStatus(status), operationStatus);
      assert.equal(levelForStatus(status), level);
      const e = buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'get', status });
      assert.equal(e.resultType, resultType);
      assert.equal(e.resultSignature, String(status));
      assert.equal(e.properties.operationStatus, operationStatus);
      assert.equal(e.level, level);
      assert.equal(e.properties.method, 'GET');
    });
  }

  test('status outside 100-599 is refused', () => {
    for (const status of [99, 600, 200.5, Number.NaN]) {
      assert.throws(() => buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status }), /status/);
    }
  });
});

describe('builders', () => {
  test('unset optional fields are absent, not undefined', () => {
    const e = buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'DELETE', status: 204 });
    // correlationId is always set (a new UUID when the caller brings none); the rest only when given.
    assert.deepEqual(Object.keys(e).sort(), ['category', 'correlationId', 'level', 'operationName', 'properties', 'resourceId', 'resultSignature', 'resultType', 'time']);
    assert.deepEqual(Object.keys(e.properties).sort(), ['eventType', 'method', 'operationStatus']);
    assert.equal(e.category, 'Audit');
  });

  test('durationMs is rounded and never negative', () => {
    assert.equal(buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 200, durationMs: 12.6 }).durationMs, 13);
    assert.equal(buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 200, durationMs: -3 }).durationMs, 0);
  });

  test('workflow operationName derives from type, phase and stage; failure is an Error', () => {
    const e = buildWorkflowEvent({ resourceId: RID, operationType: 'Export', phase: 'Task', stage: 'Completed', workflowJobId: 'j', resultType: 'Failure', error: 'x' });
    assert.equal(e.operationName, 'Export.TaskCompleted');
    assert.equal(e.category, 'Operational');
    assert.equal(e.level, 'Error');
  });

  test('an invalid input throws EVENT_INVALID naming the field', () => {
    assert.throws(() => buildWorkflowEvent({ resourceId: RID, operationType: 'Export', phase: 'Task', stage: 'Started', workflowJobId: 'j', resultType: 'Running', tasksCount: 2 }),
      (e: unknown) => e instanceof InsightLogsError && e.code === 'EVENT_INVALID' && e.message.includes('properties.tasksCount'));
  });
});

test('workflow events take Informational, Warning or Error, not Critical (API events still may)', () => {
  const base = { resourceId: RID, operationType: 'Map' as const, phase: 'Task' as const, stage: 'Completed' as const, workflowJobId: 'j', resultType: 'Failure' as const };
  assert.equal(buildWorkflowEvent({ ...base, level: 'Warning' }).level, 'Warning');
  assert.throws(() => buildWorkflowEvent({ ...base, level: 'Critical' }), /level must be one of Informational, Warning, Error/);
  assert.equal(buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 500, level: 'Critical' }).level, 'Critical');
});

