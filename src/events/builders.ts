/**
 * Builders that turn what a service knows (an HTTP exchange, a workflow step) into valid
 * records. They derive category, resultType, operationStatus and level, so callers cannot
 * get the routing rule or the status mapping wrong.
 */
import { randomUUID } from 'node:crypto';
import { InsightLogsError } from '../errors.js';
import { assertValidEvent } from './validate.js';
import { categoryFor } from './routing.js';
import { workflowOperationName, type OperationType, type WorkflowPhase, type WorkflowStage } from './operation-types.js';
import type {
  AdditionalInfo, AdditionalInfoInput, ApiEvent, ApiResultType, Identity, Level, OperationStatus, WorkflowEvent,
  WorkflowResultType, WorkflowStatus, WorkflowSubmissionKind, WorkflowType,
} from './types.js';

export function nowIso(): string {
  return new Date().toISOString();
}

export function resultTypeForStatus(status: number): ApiResultType {
  if (status < 400) return 'Success';
  if (status < 500) return 'ClientError';
  return 'Failure';
}

export function operationStatusForStatus(status: number): OperationStatus {
  if (status < 400) return 'Success';
  if (status < 500) return 'ClientError';
  return 'Error';
}

export function levelForStatus(status: number): Level {
  if (status >= 500) return 'Error';
  if (status >= 400) return 'Warning';
  return 'Informational';
}

/** A fresh correlation id for an event that brings none (a random UUID, RFC 4122 version 4). */
export function newCorrelationId(): string {
  return randomUUID();
}

/**
 * `additionalInfo` with the names the Customer Insights documentation uses today:
 * `AffectedEntities` → `AffectedTables`, `entityCount` → `tableCount` (the new name wins when
 * a caller sends both). Undefined stays undefined.
 */
export function normalizeAdditionalInfo(input: AdditionalInfoInput | undefined): AdditionalInfo | undefined {
  if (input === undefined || input === null || typeof input !== 'object') return input as undefined;
  const { AffectedEntities, entityCount, ...rest } = input;
  return compact({
    ...rest,
    AffectedTables: rest.AffectedTables ?? AffectedEntities,
    tableCount: rest.tableCount ?? entityCount,
  });
}

/** Drops keys whose value is undefined, so optional fields are absent rather than undefined. */
function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

export interface ApiEventInput {
  resourceId: string;
  operationName: string;
  method: string;
  status: number;
  time?: string;
  durationMs?: number;
  path?: string;
  uri?: string;
  callerIpAddress?: string;
  userAgent?: string;
  origin?: string;
  identity?: Identity;
  tenantId?: string;
  tenantName?: string;
  callerObjectId?: string;
  instanceId?: string;
  /** Overrides the level derived from the status (5xx Error, 4xx Warning, else Informational). */
  level?: Level;
  /** The request's correlation id (see `correlationIdFromHeaders`); default a new random UUID. */
  correlationId?: string;
}

/** Builds and validates an APIEvent; throws EVENT_INVALID naming each bad field. */
export function buildApiEvent(input: ApiEventInput): ApiEvent {
  const method = input.method.toUpperCase();
  const event: ApiEvent = compact({
    time: input.time ?? nowIso(),
    resourceId: input.resourceId,
    operationName: input.operationName,
    category: categoryFor('APIEvent', method),
    resultType: resultTypeForStatus(input.status),
    resultSignature: String(input.status),
    durationMs: input.durationMs === undefined ? undefined : Math.max(0, Math.round(input.durationMs)),
    callerIpAddress: input.callerIpAddress,
    identity: input.identity,
    properties: compact({
      eventType: 'ApiEvent' as const,
      userAgent: input.userAgent,
      method,
      path: input.path,
      origin: input.origin,
      operationStatus: operationStatusForStatus(input.status),
      tenantId: input.tenantId,
      tenantName: input.tenantName,
      callerObjectId: input.callerObjectId,
      instanceId: input.instanceId,
    }),
    level: input.level ?? levelForStatus(input.status),
    uri: input.uri,
    correlationId: input.correlationId ?? newCorrelationId(),
  });
  if (!Number.isInteger(input.status) || input.status < 100 || input.status > 599) {
    throw new TypeError(`status must be an HTTP status code 100-599, got ${input.status}`);
  }
  assertValidEvent(event);
  return event;
}

export interface WorkflowEventInput {
  resourceId: string;
  operationType: OperationType;
  phase: WorkflowPhase;
  stage: WorkflowStage;
  workflowJobId: string;
  resultType: WorkflowResultType;
  time?: string;
  durationMs?: number;
  level?: Level;
  instanceId?: string;
  startTimestamp?: string;
  endTimestamp?: string;
  submittedTimestamp?: string;
  // Workflow events only:
  tasksCount?: number;
  submittedBy?: string;
  workflowType?: WorkflowType;
  workflowSubmissionKind?: WorkflowSubmissionKind;
  workflowStatus?: WorkflowStatus;
  // Task events only:
  identifier?: string;
  friendlyName?: string;
  error?: string;
  /** `AffectedTables`/`tableCount`, or the older `AffectedEntities`/`entityCount`. */
  additionalInfo?: AdditionalInfoInput;
  /** Default a new random UUID: every event its own. */
  correlationId?: string;
}

/**
 * Levels a new workflow event may have: the Customer Insights documentation lists
 * Informational, Warning and Error for workflow events. `Critical` stays in the schema (the
 * Azure Monitor common schema has it, API events may use it, and removing an Avro enum symbol
 * would make older records undecodable), so readers accept it; builders do not write it.
 */
export const WORKFLOW_LEVELS: readonly Level[] = ['Informational', 'Warning', 'Error'];

/** Builds and validates a WorkflowEvent; the operationName is derived from type, phase and stage. */
export function buildWorkflowEvent(input: WorkflowEventInput): WorkflowEvent {
  if (input.level !== undefined && !WORKFLOW_LEVELS.includes(input.level)) {
    throw new InsightLogsError('EVENT_INVALID', `invalid WorkflowEvent: level must be one of ${WORKFLOW_LEVELS.join(', ')} (the levels the Customer Insights documentation lists for workflow events), got ${String(input.level)}`);
  }
  const event: WorkflowEvent = compact({
    time: input.time ?? nowIso(),
    resourceId: input.resourceId,
    operationName: workflowOperationName(input.operationType, input.phase, input.stage),
    category: categoryFor('WorkflowEvent'),
    resultType: input.resultType,
    durationMs: input.durationMs === undefined ? undefined : Math.max(0, Math.round(input.durationMs)),
    properties: compact({
      eventType: 'WorkflowEvent' as const,
      workflowJobId: input.workflowJobId,
      operationType: input.operationType,
      tasksCount: input.tasksCount,
      submittedBy: input.submittedBy,
      workflowType: input.workflowType,
      workflowSubmissionKind: input.workflowSubmissionKind,
      workflowStatus: input.workflowStatus,
      startTimestamp: input.startTimestamp,
      endTimestamp: input.endTimestamp,
      submittedTimestamp: input.submittedTimestamp,
      instanceId: input.instanceId,
      identifier: input.identifier,
      friendlyName: input.friendlyName,
      error: input.error,
      additionalInfo: normalizeAdditionalInfo(input.additionalInfo),
    }),
    level: input.level ?? (input.resultType === 'Failure' ? 'Error' : 'Informational'),
    correlationId: input.correlationId ?? newCorrelationId(),
  });
  assertValidEvent(event);
  return event;
}
