/**
 * Bench records: realistic API and workflow events of 0.5–1 KB as JSON, a fixed mix
 * (60 % API GET, 20 % API POST/PATCH/DELETE = audit, 20 % workflow task events), spread over
 * 16 instances so keys land on every partition. Each event carries a unique id: API events in
 * `uri` (`?benchId=<id>`), workflow events in `properties.workflowJobId`; the id may embed
 * the publish time (`<epochMs>.<seq>`) for latency measurements.
 */
import { buildApiEvent, buildWorkflowEvent } from '../../src/events/builders.js';
import { OPERATION_TYPES } from '../../src/events/operation-types.js';
import type { InsightEvent } from '../../src/events/types.js';

const INSTANCES = 16;
const WRITE_METHODS = ['POST', 'PATCH', 'DELETE'] as const;

export function benchResourceId(instance: number, runId: string): string {
  return `/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-BENCH/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/BENCH-${runId.toUpperCase()}-${instance}`;
}

/** The i-th bench event of a run; `id` defaults to the sequence number. */
export function benchEvent(i: number, runId: string, id: string = String(i)): InsightEvent {
  const resourceId = benchResourceId(i % INSTANCES, runId);
  const slot = i % 10;
  if (slot < 8) {
    const write = slot >= 6;
    const method = write ? WRITE_METHODS[i % WRITE_METHODS.length]! : 'GET';
    return buildApiEvent({
      resourceId,
      operationName: write ? 'Segments.UpdateSegmentAsync' : 'Workflows.GetWorkFlowStatusAsync',
      method,
      status: i % 50 === 0 ? 503 : i % 17 === 0 ? 404 : 200,
      durationMs: 12 + (i % 900),
      path: `/api/instances/bench-${i % INSTANCES}/segments/seg-${i % 311}`,
      uri: `https://ci.bench.example/api/instances/bench-${i % INSTANCES}/segments/seg-${i % 311}?api-version=2024-01-01&benchId=${id}`,
      callerIpAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
      origin: 'https://home.ci.ai.dynamics.com',
      tenantId: '6b1c3f4e-0d7a-4c1b-9f2e-3a4b5c6d7e8f',
      tenantName: 'contoso',
      callerObjectId: `caller-${i % 97}`,
      instanceId: `bench-${i % INSTANCES}`,
    });
  }
  return buildWorkflowEvent({
    resourceId,
    operationType: OPERATION_TYPES[i % OPERATION_TYPES.length]!,
    phase: 'Task',
    stage: 'Completed',
    workflowJobId: id,
    resultType: 'Successful',
    durationMs: 1000 + (i % 60_000),
    instanceId: `bench-${i % INSTANCES}`,
    identifier: `task-${i % 13}`,
    friendlyName: 'Ingest Contoso orders from the data lake (incremental)',
    startTimestamp: '2025-01-01T00:00:00.0000000Z',
    endTimestamp: '2025-01-01T00:01:00.0000000Z',
    submittedTimestamp: '2025-01-01T00:00:00.0000000Z',
  });
}

/** The id an event made by `benchEvent` carries. */
export function benchIdOf(record: Record<string, any>): string | undefined {
  if (typeof record.uri === 'string') {
    const at = record.uri.indexOf('benchId=');
    return at >= 0 ? record.uri.slice(at + 8) : undefined;
  }
  return record.properties?.workflowJobId;
}
