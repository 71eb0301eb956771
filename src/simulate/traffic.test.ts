import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findProblems } from '../events/validate.js';
import type { ApiEvent, InsightEvent, WorkflowEvent } from '../events/types.js';
import { TrafficGenerator } from './traffic.js';

function fakeClock(start = Date.UTC(2026, 0, 31, 12)): () => number {
  let t = start;
  return () => (t += 7);
}

function generate(n: number, options: ConstructorParameters<typeof TrafficGenerator>[0] = {}): InsightEvent[] {
  const gen = new TrafficGenerator({ now: fakeClock(), ...options });
  return Array.from({ length: n }, () => gen.next());
}

describe('TrafficGenerator', () => {
  const events = generate(5000, { seed: 42, errorRate: 0.05 });
  const api = events.filter((e): e is ApiEvent => e.properties.eventType === 'ApiEvent');
  const workflow = events.filter((e): e is WorkflowEvent => e.properties.eventType === 'WorkflowEvent');

  test('every event is valid', () => {
    for (const e of events) assert.deepEqual(findProblems(e), [], JSON.stringify(e));
  });

  test('mix: about a quarter workflow events, API mostly reads with a minority of audit writes', () => {
    const workflowShare = workflow.length / events.length;
    assert.ok(workflowShare > 0.2 && workflowShare < 0.3, `workflow share ${workflowShare}`);
    const gets = api.filter((e) => e.properties.method === 'GET').length / api.length;
    assert.ok(gets > 0.7 && gets < 0.85, `GET share ${gets}`);
    const audit = api.filter((e) => e.category === 'Audit').length / api.length;
    assert.ok(audit > 0.15 && audit < 0.3, `audit share ${audit}`);
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.ok(api.some((e) => e.properties.method === m), `some ${m}`);
    assert.ok(new Set(api.map((e) => e.operationName)).size >= 8, 'several operation names');
    assert.ok(api.some((e) => e.operationName === 'Workflows.GetWorkFlowStatusAsync'));
    assert.ok(api.some((e) => e.operationName === 'Segments.CreateSegmentAsync'));
  });

  test('error rate: about 5% of API calls are 4xx/5xx, both kinds present', () => {
    const errors = api.filter((e) => Number(e.resultSignature) >= 400);
    const share = errors.length / api.length;
    assert.ok(share > 0.03 && share < 0.07, `error share ${share}`);
    assert.ok(errors.some((e) => e.resultType === 'ClientError' && e.level === 'Warning'));
    assert.ok(errors.some((e) => e.resultType === 'Failure' && e.level === 'Error'));
  });

  test('error rate 0 gives no failures at all', () => {
    const clean = generate(2000, { seed: 3, errorRate: 0 });
    assert.ok(clean.every((e) => e.resultType !== 'Failure' && e.resultType !== 'ClientError'));
  });

  test('API events carry caller, user agent and identity with claims and roles', () => {
    for (const e of api.slice(0, 200)) {
      assert.ok(e.callerIpAddress && e.properties.userAgent && e.properties.path && e.uri);
      assert.ok(e.identity?.Authorization?.UserRole);
      assert.ok((e.identity?.Authorization?.RequiredRoles.length ?? 0) > 0);
      assert.ok(Object.keys(e.identity?.Claims ?? {}).length > 0);
    }
  });

  test('spread over the requested instances', () => {
    const gen = new TrafficGenerator({ seed: 5, instances: 4, instancePrefix: 'FABRIKAM', now: fakeClock() });
    const seen = new Set(Array.from({ length: 500 }, () => gen.next().resourceId));
    assert.deepEqual([...seen].sort(), gen.resourceIds().sort());
    assert.equal(seen.size, 4);
    assert.ok([...seen].every((r) => /INSTANCES\/FABRIKAM-\d$/.test(r)));
  });

  test('every simulated event has its own correlationId (the same seed gives the same ids)', () => {
    const events = generate(3000, { seed: 11 });
    const ids = events.map((e) => e.correlationId);
    assert.ok(ids.every((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(generate(50, { seed: 11 }).map((e) => e.correlationId), ids.slice(0, 50));
  });

  test('same seed and clock, same events; another seed, other events', () => {
    assert.deepEqual(generate(300, { seed: 9 }), generate(300, { seed: 9 }));
    assert.notDeepEqual(generate(300, { seed: 9 }), generate(300, { seed: 10 }));
  });

  test('workflow runs are consistent sequences sharing a job id', () => {
    const byJob = new Map<string, WorkflowEvent[]>();
    for (const e of workflow) {
      const list = byJob.get(e.properties.workflowJobId) ?? [];
      list.push(e);
      byJob.set(e.properties.workflowJobId, list);
    }
    let completed = 0;
    let failedRuns = 0;
    for (const [job, run] of byJob) {
      assert.equal(run[0]!.operationName.endsWith('.WorkflowStarted'), true, `${job} starts with WorkflowStarted`);
      assert.ok(new Set(run.map((e) => e.resourceId)).size === 1, 'one instance per run');
      assert.ok(new Set(run.map((e) => e.properties.operationType)).size === 1, 'one operation type per run');
      const tasksCount = run[0]!.properties.tasksCount!;
      const open = new Set<string>();
      const done: WorkflowEvent[] = [];
      let failed = false;
      for (const e of run.slice(1)) {
        const id = e.properties.identifier;
        if (e.operationName.endsWith('.TaskStarted')) {
          assert.ok(id && !open.has(id), 'a task starts once');
          assert.ok(!failed, 'no task starts after a failure');
          open.add(id);
        } else if (e.operationName.endsWith('.TaskCompleted')) {
          if (e.resultType === 'Skipped') assert.ok(failed, 'tasks are skipped only after a failure');
          else assert.ok(open.delete(id!), 'a task completes after it started');
          if (e.resultType === 'Failure') {
            failed = true;
            assert.ok(e.properties.error, 'a failed task says why');
          }
          done.push(e);
        } else {
          assert.ok(e.operationName.endsWith('.WorkflowCompleted'));
          assert.equal(e, run[run.length - 1], 'WorkflowCompleted is last');
          assert.equal(done.length, tasksCount, 'every task completed or skipped');
          assert.equal(e.resultType, failed ? 'Failure' : 'Successful');
          completed++;
          if (failed) failedRuns++;
        }
      }
    }
    assert.ok(completed > 20, `completed runs ${completed}`);
    assert.ok(failedRuns > 0, 'some runs fail');
  });
});
