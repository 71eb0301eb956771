/** Realistic test records of both kinds, each with a unique id so readers can count them. */
import { randomUUID } from 'node:crypto';
import { buildApiEvent, buildWorkflowEvent } from '../../src/events/builders.js';
import { OPERATION_TYPES } from '../../src/events/operation-types.js';
import type { InsightEvent } from '../../src/events/types.js';
import { toSinkRecord } from '../../src/forwarder/sink-record.js';
import type { SinkRecord } from '../../src/sinks/sink.js';

export function resourceIdFor(instance: string): string {
  return `/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-INSIGHTS/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/${instance}`;
}

/**
 * An API event whose `uri` carries a unique id (`?testId=<id>`), so an oracle can find every
 * record in every destination. `audit` picks POST (Audit) or GET (Operational).
 */
export function apiEventWithId(id: string, options: { audit?: boolean; instance?: string; time?: string } = {}): InsightEvent {
  return buildApiEvent({
    resourceId: resourceIdFor(options.instance ?? 'TEST-INSTANCE-1'),
    operationName: options.audit ? 'Segments.CreateSegmentAsync' : 'Workflows.GetWorkFlowStatusAsync',
    method: options.audit ? 'POST' : 'GET',
    status: 200,
    durationMs: 42,
    path: '/api/instances/test/segments',
    uri: `https://ci.example.test/api/instances/test/segments?testId=${id}`,
    userAgent: 'insight-logs-tests',
    callerIpAddress: '10.0.0.1',
    ...(options.time ? { time: options.time } : {}),
  });
}

export function workflowEventWithId(id: string, options: { instance?: string; time?: string } = {}): InsightEvent {
  return buildWorkflowEvent({
    resourceId: resourceIdFor(options.instance ?? 'TEST-INSTANCE-1'),
    operationType: OPERATION_TYPES[id.length % OPERATION_TYPES.length]!,
    phase: 'Task',
    stage: 'Completed',
    workflowJobId: id,
    resultType: 'Successful',
    identifier: 'task-1',
    friendlyName: 'test task',
    ...(options.time ? { time: options.time } : {}),
  });
}

/** The unique id an event made by this module carries. */
export function idOf(event: InsightEvent | Record<string, any>): string | undefined {
  const e = event as Record<string, any>;
  if (typeof e.uri === 'string') return new URL(e.uri).searchParams.get('testId') ?? undefined;
  return e.properties?.workflowJobId;
}

/** `n` sink records of one category, with offsets 0..n-1 of a fake source partition. */
export function makeSinkRecords(n: number, options: { audit?: boolean; topic?: string; instance?: string } = {}): SinkRecord[] {
  const topic = options.topic ?? (options.audit ? 'insight-logs-audit' : 'insight-logs-operational');
  return Array.from({ length: n }, (_, i) => {
    const id = randomUUID();
    const event = options.audit || i % 2 === 0 ? apiEventWithId(id, { audit: options.audit ?? false, ...(options.instance ? { instance: options.instance } : {}) }) : workflowEventWithId(id, options.instance ? { instance: options.instance } : {});
    return toSinkRecord(event, { topic, partition: 0, offset: String(i) });
  });
}
