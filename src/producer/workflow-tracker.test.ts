import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InsightEvent, WorkflowEvent } from '../events/types.js';
import { findProblems } from '../events/validate.js';
import { startWorkflow } from './workflow-tracker.js';

const RESOURCE_ID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST-1';

class FakePublisher {
  readonly events: WorkflowEvent[] = [];
  async publish(event: InsightEvent): Promise<void> {
    this.events.push(event as WorkflowEvent);
  }
}

const start = (p: FakePublisher) => startWorkflow(p, {
  resourceId: RESOURCE_ID, operationType: 'Segmentation', tasksCount: 3, submittedBy: 'scheduler',
  workflowType: 'incremental', submissionKind: 'Scheduled', instanceId: 'inst-1',
});

describe('WorkflowTracker', () => {
  test('a run emits started/task/completed events sharing one workflowJobId', async () => {
    const p = new FakePublisher();
    const run = await start(p);
    const t1 = await run.startTask({ identifier: 'seg-1', friendlyName: 'Segment one' });
    await t1.complete({ additionalInfo: { Kind: 'Segment', AffectedEntities: ['Customer'], MessageCode: 'OK', entityCount: 12 } });
    const t2 = await run.startTask({ identifier: 'seg-2', friendlyName: 'Segment two' });
    await t2.fail(new Error('bad AccountKey=abc123 in settings'));
    const t3 = await run.startTask({ identifier: 'seg-3', friendlyName: 'Segment three' });
    await t3.skip();
    await run.complete();

    assert.deepEqual(p.events.map((e) => e.operationName), [
      'Segmentation.WorkflowStarted',
      'Segmentation.TaskStarted', 'Segmentation.TaskCompleted',
      'Segmentation.TaskStarted', 'Segmentation.TaskCompleted',
      'Segmentation.TaskStarted', 'Segmentation.TaskCompleted',
      'Segmentation.WorkflowCompleted',
    ]);
    assert.match(run.workflowJobId, /^[0-9a-f-]{36}$/);
    for (const e of p.events) {
      assert.equal(e.properties.workflowJobId, run.workflowJobId);
      assert.equal(e.category, 'Operational');
      assert.equal(e.resourceId, RESOURCE_ID);
      assert.deepEqual(findProblems(e), [], e.operationName);
    }
    const [started, , c1, , c2, , c3, done] = p.events as [WorkflowEvent, WorkflowEvent, WorkflowEvent, WorkflowEvent, WorkflowEvent, WorkflowEvent, WorkflowEvent, WorkflowEvent];
    assert.equal(started.resultType, 'Running');
    assert.equal(started.properties.workflowStatus, 'Running');
    assert.equal(started.properties.tasksCount, 3);
    assert.equal(started.properties.workflowType, 'incremental');
    assert.equal(started.properties.workflowSubmissionKind, 'Scheduled');
    assert.ok(started.properties.submittedTimestamp && started.properties.startTimestamp);

    assert.equal(c1.resultType, 'Successful');
    assert.equal(c1.properties.identifier, 'seg-1');
    // Input with the older names is written with today's (AffectedTables, tableCount).
    assert.deepEqual(c1.properties.additionalInfo, { Kind: 'Segment', AffectedTables: ['Customer'], MessageCode: 'OK', tableCount: 12 });
    const ids = p.events.map((e) => e.correlationId);
    assert.ok(ids.every((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)), 'every event has a correlation id');
    assert.equal(new Set(ids).size, ids.length, 'each event its own');
    assert.equal(c2.resultType, 'Failure');
    assert.equal(c2.level, 'Error');
    assert.equal(c2.properties.error, 'bad AccountKey=[REDACTED] in settings');
    assert.equal(c3.resultType, 'Skipped');
    for (const c of [c1, c2, c3]) {
      assert.ok(c.durationMs !== undefined && c.durationMs >= 0);
      assert.ok(c.properties.startTimestamp! <= c.properties.endTimestamp!);
      assert.equal(c.properties.tasksCount, undefined, 'task events carry no workflow-only fields');
      assert.equal(c.properties.workflowStatus, undefined);
    }
    assert.equal(done.resultType, 'Successful');
    assert.equal(done.properties.workflowStatus, 'Successful');
    assert.ok(done.durationMs !== undefined && done.durationMs >= 0);
    assert.ok(done.properties.endTimestamp! >= done.properties.startTimestamp!);
    assert.equal(done.properties.identifier, undefined, 'workflow events carry no task-only fields');
  });

  test('a failed run ends with resultType Failure and no workflowStatus', async () => {
    const p = new FakePublisher();
    const run = await start(p);
    await run.fail(new Error('x'));
    const done = p.events.at(-1)!;
    assert.equal(done.operationName, 'Segmentation.WorkflowCompleted');
    assert.equal(done.resultType, 'Failure');
    assert.equal(done.level, 'Error');
    assert.equal(done.properties.workflowStatus, undefined);
  });

  test('ending twice is refused', async () => {
    const p = new FakePublisher();
    const run = await start(p);
    const task = await run.startTask({ identifier: 't', friendlyName: 'T' });
    await task.complete();
    await assert.rejects(task.skip(), /already ended/);
    await run.complete();
    await assert.rejects(run.complete(), /already ended/);
    assert.equal(p.events.length, 4);
  });

  test('a publish failure reaches the caller', async () => {
    const failing = { publish: async () => { throw new Error('QUEUE_FULL'); } };
    await assert.rejects(startWorkflow(failing, { resourceId: RESOURCE_ID, operationType: 'Export', tasksCount: 1, submittedBy: 'u', workflowType: 'full', submissionKind: 'OnDemand' }), /QUEUE_FULL/);
  });
});
