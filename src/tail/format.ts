/**
 * How `insight-logs tail` prints a record. `json`: the common-schema object on one line,
 * exactly what destinations store, so the output pipes into jq. `pretty`: one readable line
 * per event with the fields an operator scans for.
 */
import type { ApiEvent, InsightEvent, WorkflowEvent } from '../events/types.js';
import type { TaskPosition } from './workflow-progress.js';

export type OutputFormat = 'pretty' | 'json';
export const OUTPUT_FORMATS: readonly [OutputFormat, ...OutputFormat[]] = ['pretty', 'json'];

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

/** A long job id (a GUID) shortened to its first 8 characters; short ids stay whole. */
export function shortJobId(id: string): string {
  return id.length > 12 ? id.slice(0, 8) : id;
}

function workflowDetails(event: WorkflowEvent, position?: TaskPosition): string {
  const p = event.properties;
  const parts = [`job=${shortJobId(p.workflowJobId)}`];
  if (p.identifier) parts.push(`task=${p.identifier}${position ? ` (${position.index}/${position.total})` : ''}`);
  if (p.friendlyName && p.friendlyName !== p.identifier) parts.push(JSON.stringify(p.friendlyName));
  if (p.tasksCount !== undefined) parts.push(`tasks=${p.tasksCount}`);
  if (p.error) parts.push(`error=${JSON.stringify(p.error)}`);
  return parts.join(' ');
}

/** Options of a pretty line: colour by level (terminals only) and a task's place in its run. */
export interface PrettyOptions {
  color?: boolean;
  position?: TaskPosition;
}

const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const RESET = '\x1b[0m';

/** Error and Critical red, Warning yellow, the rest uncoloured. */
export function levelColor(level: string): string | undefined {
  if (level === 'Error' || level === 'Critical') return RED;
  if (level === 'Warning') return YELLOW;
  return undefined;
}

/**
 * Time, category, level, operation, result (with the HTTP status), duration, then the path
 * (API) or job id and task (workflow), then the instance:
 * `2026-01-31T12:00:00.000Z  Audit  Informational  Segments.CreateSegmentAsync  Success 201  42ms  POST /api/segments  [CONTOSO-1]`
 */
export function formatPretty(event: InsightEvent, options: PrettyOptions = {}): string {
  const isWorkflow = event.properties.eventType === 'WorkflowEvent';
  const result = event.resultSignature ? `${event.resultType} ${event.resultSignature}` : event.resultType;
  const duration = event.durationMs === undefined ? '-' : `${event.durationMs}ms`;
  const details = isWorkflow ? workflowDetails(event as WorkflowEvent, options.position) : apiDetails(event as ApiEvent);
  const line = [
    pad(event.time, 28),
    pad(event.category, 11),
    pad(event.level, 13),
    pad(event.operationName, 38),
    pad(result, 15),
    pad(duration, 8),
    details,
    `[${instanceOf(event.resourceId)}]`,
  ].join(' ');
  const color = options.color ? levelColor(event.level) : undefined;
  return color ? `${color}${line}${RESET}` : line;
}

export function formatJson(event: InsightEvent): string {
  return JSON.stringify(event);
}

export function formatRecord(event: InsightEvent, format: OutputFormat, options: PrettyOptions = {}): string {
  return format === 'json' ? formatJson(event) : formatPretty(event, options);
}

/**
 * Colour when writing to a terminal, unless NO_COLOR is set (any non-empty value, see
 * no-color.org) or --no-color was given; FORCE_COLOR=1 forces it (pure).
 */
export function useColor(isTTY: boolean, env: NodeJS.ProcessEnv, flag = true): boolean {
  if (!flag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return isTTY;
}
