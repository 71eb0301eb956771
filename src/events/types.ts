/**
 * The two record kinds, shaped as the Azure Monitor resource-log common schema
 * (docs/design.md, "Event schemas"). Optional fields are absent (undefined) when unset.
 */
import type { OperationType } from './operation-types.js';

export type Category = 'Audit' | 'Operational';
export const CATEGORIES: readonly Category[] = ['Audit', 'Operational'];

export type Level = 'Informational' | 'Warning' | 'Error' | 'Critical';
export const LEVELS: readonly Level[] = ['Informational', 'Warning', 'Error', 'Critical'];

export type ApiResultType = 'Success' | 'ClientError' | 'Failure';
export const API_RESULT_TYPES: readonly ApiResultType[] = ['Success', 'ClientError', 'Failure'];
export type OperationStatus = 'Success' | 'ClientError' | 'Error';
export const OPERATION_STATUSES: readonly OperationStatus[] = ['Success', 'ClientError', 'Error'];

export type WorkflowResultType = 'Running' | 'Skipped' | 'Successful' | 'Failure';
export const WORKFLOW_RESULT_TYPES: readonly WorkflowResultType[] = ['Running', 'Skipped', 'Successful', 'Failure'];
export type WorkflowType = 'full' | 'incremental';
export const WORKFLOW_TYPES: readonly WorkflowType[] = ['full', 'incremental'];
export type WorkflowSubmissionKind = 'OnDemand' | 'Scheduled';
export const WORKFLOW_SUBMISSION_KINDS: readonly WorkflowSubmissionKind[] = ['OnDemand', 'Scheduled'];
export type WorkflowStatus = 'Running' | 'Successful';
export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = ['Running', 'Successful'];

export type EventKind = 'APIEvent' | 'WorkflowEvent';
export const EVENT_KINDS: readonly EventKind[] = ['APIEvent', 'WorkflowEvent'];

export interface Identity {
  Authorization?: { UserRole?: string; RequiredRoles: string[] };
  Claims: Record<string, string>;
}

export interface ApiProperties {
  eventType: 'ApiEvent';
  userAgent?: string;
  method: string;
  path?: string;
  origin?: string;
  operationStatus?: OperationStatus;
  tenantId?: string;
  tenantName?: string;
  callerObjectId?: string;
  instanceId?: string;
}

export interface ApiEvent {
  time: string;
  resourceId: string;
  operationName: string;
  category: Category;
  resultType: ApiResultType;
  resultSignature?: string;
  durationMs?: number;
  callerIpAddress?: string;
  identity?: Identity;
  properties: ApiProperties;
  level: Level;
  uri?: string;
  /**
   * The event's own id (W3C trace id, a request id, or a random UUID): readers of an
   * at-least-once destination drop redeliveries with it. Optional on input (older records
   * have none); the builders always set it.
   */
  correlationId?: string;
}

/**
 * `properties.additionalInfo` of task events, with the names the Customer Insights
 * documentation uses today (`AffectedTables`, `tableCount`; it used to say `AffectedEntities`,
 * `entityCount`). Both spellings are accepted on input (`AdditionalInfoInput`); only these are written.
 */
export interface AdditionalInfo {
  Kind?: string;
  AffectedTables?: string[];
  MessageCode?: string;
  tableCount?: number;
}

/** The older names, still accepted from callers and read from older Avro records (schema aliases). */
export interface LegacyAdditionalInfo {
  AffectedEntities?: string[];
  entityCount?: number;
}

export type AdditionalInfoInput = AdditionalInfo & LegacyAdditionalInfo;

export interface WorkflowProperties {
  eventType: 'WorkflowEvent';
  workflowJobId: string;
  operationType: OperationType;
  tasksCount?: number;
  submittedBy?: string;
  workflowType?: WorkflowType;
  workflowSubmissionKind?: WorkflowSubmissionKind;
  workflowStatus?: WorkflowStatus;
  startTimestamp?: string;
  endTimestamp?: string;
  submittedTimestamp?: string;
  instanceId?: string;
  identifier?: string;
  friendlyName?: string;
  error?: string;
  additionalInfo?: AdditionalInfo;
}

export interface WorkflowEvent {
  time: string;
  resourceId: string;
  operationName: string;
  category: Category;
  resultType: WorkflowResultType;
  resultSignature?: string;
  durationMs?: number;
  properties: WorkflowProperties;
  level: Level;
  /** See ApiEvent.correlationId. */
  correlationId?: string;
}

export type InsightEvent = ApiEvent | WorkflowEvent;

/** A decoded or built event together with its kind, so callers never sniff fields. */
export type TypedEvent =
  | { kind: 'APIEvent'; event: ApiEvent }
  | { kind: 'WorkflowEvent'; event: WorkflowEvent };

export function kindOf(event: InsightEvent): EventKind {
  return event.properties.eventType === 'WorkflowEvent' ? 'WorkflowEvent' : 'APIEvent';
}
