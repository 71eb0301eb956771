/**
 * How `insight-logs tail` prints a record. `json`: the common-schema object on one line,
 * exactly what destinations store, so the output pipes into jq. `pretty`: one readable line
 * per event with the fields an operator scans for.
 */
import type { ApiEvent, InsightEvent, WorkflowEvent } from '../events/types.js';

export type OutputFormat = 'pretty' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['pretty', 'json'];

/** The instance name: the last segment of the resourceId. */
export function instanceOf(resourceId: string): string {
  const i = resourceId.lastIndexOf('/');
  return i >= 0 ? resourceId.slice(i + 1) : resourceId;
}

const pad = (text: string, width: number): string => (text.length >= width ? text : text + ' '.repeat(width - text.length));

function apiDetails(event: ApiEvent): string {
  const p = event.properties;
  return `${p.method} ${p.path ?? event.uri ?? ''}`.trimEnd();
}

function workflowDetails(event: WorkflowEvent): string {
  const p = event.properties;
  const parts = [`job=${p.workflowJobId}`];
  if (p.identifier) parts.push(`task=${p.identifier}`);
  if (p.tasksCount !== undefined) parts.push(`tasks=${p.tasksCount}`);
  if (p.error) parts.push(`error=${JSON.stringify(p.error)}`);
  return parts.join(' ');
}

/**
 * Time, category, level, operation, result (with the HTTP status), duration, then the path
 * (API) or job id and task (workflow), then the instance:
 * `2026-01-31T12:00:00.000Z  Audit  Informational  Segments.CreateSegmentAsync  Success 201  42ms  POST /api/segments  [CONTOSO-1]`
 */
export function formatPretty(event: InsightEvent): string {
  const isWorkflow = event.properties.eventType === 'WorkflowEvent';
  const result = event.resultSignature ? `${event.resultType} ${event.resultSignature}` : event.resultType;
  const duration = event.durationMs === undefined ? '-' : `${event.durationMs}ms`;
  const details = isWorkflow ? workflowDetails(event as WorkflowEvent) : apiDetails(event as ApiEvent);
  return [
    pad(event.time, 28),
    pad(event.category, 11),
    pad(event.level, 13),
    pad(event.operationName, 38),
    pad(result, 15),
    pad(duration, 8),
    details,
    `[${instanceOf(event.resourceId)}]`,
  ].join(' ');
}

export function formatJson(event: InsightEvent): string {
  return JSON.stringify(event);
}

export function formatRecord(event: InsightEvent, format: OutputFormat): string {
  return format === 'json' ? formatJson(event) : formatPretty(event);
}
