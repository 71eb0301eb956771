/**
 * Validation of both record kinds against docs/design.md ("Event schemas", "Routing rule"):
 * required fields, enums, formats, the resourceId shape and the routing rule. Used by the
 * producer (reject before publish) and the forwarder (dead-letter what another producer wrote).
 */
import { InsightLogsError } from '../errors.js';
import { isOperationType, parseWorkflowOperationName } from './operation-types.js';
import { categoryFor } from './routing.js';
import { isUtcTimestamp } from './utc-time.js';

export { isUtcTimestamp };
import {
  API_RESULT_TYPES, LEVELS, OPERATION_STATUSES, WORKFLOW_RESULT_TYPES, WORKFLOW_STATUSES,
  WORKFLOW_SUBMISSION_KINDS, WORKFLOW_TYPES, kindOf,
  type ApiEvent, type InsightEvent, type WorkflowEvent,
} from './types.js';

export interface Problem { path: string; message: string }

export const MAX_RESOURCE_ID_LENGTH = 512;
export const MAX_CORRELATION_ID_LENGTH = 128;
/** Printable ASCII without spaces: it is copied from request headers, so nothing that could break a log line or a path. */
const CORRELATION_ID = new RegExp(`^[\\x21-\\x7e]{1,${MAX_CORRELATION_ID_LENGTH}}$`);
/**
 * `/SUBSCRIPTIONS/<sub>/RESOURCEGROUPS/<rg>/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/<instance>`,
 * case-insensitive. Segments allow only the characters Azure allows in those names, which keeps
 * `..`, `%`, `\`, `?`, `#`, control characters and whitespace out of every blob path.
 */
const RESOURCE_ID =
  /^\/SUBSCRIPTIONS\/[A-Z0-9-]{1,64}\/RESOURCEGROUPS\/[A-Z0-9_()-](?:[A-Z0-9_().-]{0,88}[A-Z0-9_()-])?\/PROVIDERS\/MICROSOFT\.D365CUSTOMERINSIGHTS\/INSTANCES\/[A-Z0-9_-]{1,64}$/i;

/**
 * ResourceIds found valid lately: a producer or forwarder sees few distinct ones and millions
 * of events, and the pattern match showed in the forwarder's profile. Bounded; an invalid id
 * is never remembered, so it is checked (and refused) every time.
 */
const VALID_RESOURCE_ID_CACHE_LIMIT = 10_000;
const validResourceIds = new Set<string>();

export function resourceIdProblem(resourceId: unknown): string | undefined {
  if (typeof resourceId !== 'string' || resourceId.length === 0) return 'is required';
  if (validResourceIds.has(resourceId)) return undefined;
  if (resourceId.length > MAX_RESOURCE_ID_LENGTH) return `is longer than ${MAX_RESOURCE_ID_LENGTH} characters`;
  if (resourceId.includes('..') || !RESOURCE_ID.test(resourceId)) {
    return 'must look like /SUBSCRIPTIONS/<sub>/RESOURCEGROUPS/<rg>/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/<instance> (letters, digits, - _ ( ) . only; no "..")';
  }
  if (validResourceIds.size >= VALID_RESOURCE_ID_CACHE_LIMIT) validResourceIds.clear();
  validResourceIds.add(resourceId);
  return undefined;
}

class Checker {
  readonly problems: Problem[] = [];
  add(path: string, message: string): void { this.problems.push({ path, message }); }
  requiredString(path: string, value: unknown): void {
    if (typeof value !== 'string' || value.length === 0) this.add(path, 'is required (non-empty string)');
  }
  optionalString(path: string, value: unknown): void {
    if (value !== undefined && typeof value !== 'string') this.add(path, 'must be a string');
  }
  oneOf(path: string, value: unknown, allowed: readonly string[], required: boolean): void {
    if (value === undefined && !required) return;
    if (typeof value !== 'string' || !allowed.includes(value)) this.add(path, `must be one of ${allowed.join(', ')}`);
  }
  timestamp(path: string, value: unknown, required: boolean): void {
    if (value === undefined && !required) return;
    if (typeof value !== 'string' || !isUtcTimestamp(value)) this.add(path, 'must be a UTC ISO 8601 timestamp like 2026-01-31T12:00:00.0000000Z');
  }
  nonNegativeInteger(path: string, value: unknown): void {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) this.add(path, 'must be a non-negative integer');
  }
}

function checkCommon(c: Checker, event: InsightEvent): void {
  c.timestamp('time', event.time, true);
  const rid = resourceIdProblem(event.resourceId);
  if (rid) c.add('resourceId', rid);
  c.requiredString('operationName', event.operationName);
  c.oneOf('level', event.level, LEVELS, true);
  c.optionalString('resultSignature', event.resultSignature);
  c.nonNegativeInteger('durationMs', event.durationMs);
  if (event.correlationId !== undefined && (typeof event.correlationId !== 'string' || !CORRELATION_ID.test(event.correlationId))) {
    c.add('correlationId', `must be 1-${MAX_CORRELATION_ID_LENGTH} printable ASCII characters without spaces (a UUID, a W3C trace id, a request id)`);
  }
}

function checkApi(c: Checker, event: ApiEvent): void {
  const p = event.properties;
  c.oneOf('resultType', event.resultType, API_RESULT_TYPES, true);
  c.optionalString('callerIpAddress', event.callerIpAddress);
  c.optionalString('uri', event.uri);
  if (event.uri !== undefined && !/^https?:\/\/\S+$/i.test(event.uri)) c.add('uri', 'must be an absolute http(s) URI');
  if (typeof p.method !== 'string' || !/^[A-Z]{3,10}$/.test(p.method)) c.add('properties.method', 'must be an upper-case HTTP method like GET or POST');
  c.oneOf('properties.operationStatus', p.operationStatus, OPERATION_STATUSES, false);
  for (const key of ['userAgent', 'path', 'origin', 'tenantId', 'tenantName', 'callerObjectId', 'instanceId'] as const) {
    c.optionalString(`properties.${key}`, p[key]);
  }
  if (event.identity !== undefined) {
    if (typeof event.identity !== 'object' || event.identity === null) c.add('identity', 'must be an object');
    else if (event.identity.Claims !== undefined && (typeof event.identity.Claims !== 'object' || Object.values(event.identity.Claims).some((v) => typeof v !== 'string'))) {
      c.add('identity.Claims', 'must map claim names to strings');
    }
  }
}

function checkWorkflow(c: Checker, event: WorkflowEvent): void {
  const p = event.properties;
  c.oneOf('resultType', event.resultType, WORKFLOW_RESULT_TYPES, true);
  c.requiredString('properties.workflowJobId', p.workflowJobId);
  if (typeof p.operationType !== 'string' || !isOperationType(p.operationType)) c.add('properties.operationType', 'must be one of the 19 operation types (Ingestion, DataPreparation, …, Relationship)');
  const parsed = typeof event.operationName === 'string' ? parseWorkflowOperationName(event.operationName) : undefined;
  if (!parsed) c.add('operationName', 'must be {OperationType}.{Workflow|Task}{Started|Completed}');
  else if (parsed.type !== p.operationType) c.add('operationName', `names ${parsed.type} but properties.operationType is ${String(p.operationType)}`);
  c.nonNegativeInteger('properties.tasksCount', p.tasksCount);
  c.oneOf('properties.workflowType', p.workflowType, WORKFLOW_TYPES, false);
  c.oneOf('properties.workflowSubmissionKind', p.workflowSubmissionKind, WORKFLOW_SUBMISSION_KINDS, false);
  c.oneOf('properties.workflowStatus', p.workflowStatus, WORKFLOW_STATUSES, false);
  for (const key of ['startTimestamp', 'endTimestamp', 'submittedTimestamp'] as const) c.timestamp(`properties.${key}`, p[key], false);
  if (parsed?.phase === 'Task') {
    for (const key of ['tasksCount', 'workflowType', 'workflowSubmissionKind', 'workflowStatus', 'submittedBy'] as const) {
      if (p[key] !== undefined) c.add(`properties.${key}`, 'is for workflow events only, not task events');
    }
  } else if (parsed?.phase === 'Workflow') {
    for (const key of ['identifier', 'friendlyName', 'error', 'additionalInfo'] as const) {
      if (p[key] !== undefined) c.add(`properties.${key}`, 'is for task events only, not workflow events');
    }
  }
}

/** All problems of an event; empty when valid. */
export function findProblems(event: InsightEvent): Problem[] {
  const c = new Checker();
  if (typeof event !== 'object' || event === null || typeof event.properties !== 'object' || event.properties === null) {
    c.add('properties', 'is required (object)');
    return c.problems;
  }
  const kind = kindOf(event);
  if (kind === 'APIEvent' && event.properties.eventType !== 'ApiEvent') c.add('properties.eventType', 'must be ApiEvent or WorkflowEvent');
  checkCommon(c, event);
  if (kind === 'APIEvent') checkApi(c, event as ApiEvent);
  else checkWorkflow(c, event as WorkflowEvent);
  const method = kind === 'APIEvent' ? (event as ApiEvent).properties.method : undefined;
  const expected = categoryFor(kind, method);
  if (event.category !== expected) c.add('category', `must be ${expected} (derived from the event, never set by the caller)`);
  return c.problems;
}

export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.path} ${p.message}`).join('; ');
}

/** Throws EVENT_INVALID naming every bad field. */
export function assertValidEvent(event: InsightEvent): void {
  const problems = findProblems(event);
  if (problems.length > 0) throw new InsightLogsError('EVENT_INVALID', `invalid ${kindOf(event)}: ${formatProblems(problems)}`);
}
