/**
 * The field names of both record kinds, in the order of their Avro schemas
 * (`schemas/APIEvent.avsc`, `schemas/WorkflowEvent.avsc`; docs/design.md, "Event schemas").
 * The one list that `tail --filter`, the Log Analytics columns and `emit`'s flag map are
 * checked against; fields.test.ts fails when the schemas and this list drift apart.
 */

export const API_FIELDS = [
  'time', 'resourceId', 'operationName', 'category', 'resultType', 'resultSignature', 'durationMs',
  'callerIpAddress', 'identity', 'properties', 'level', 'uri', 'correlationId',
] as const;

export const WORKFLOW_FIELDS = [
  'time', 'resourceId', 'operationName', 'category', 'resultType', 'resultSignature', 'durationMs',
  'properties', 'level', 'correlationId',
] as const;

export const API_PROPERTIES = [
  'eventType', 'userAgent', 'method', 'path', 'origin', 'operationStatus', 'tenantId', 'tenantName',
  'callerObjectId', 'instanceId',
] as const;

export const WORKFLOW_PROPERTIES = [
  'eventType', 'workflowJobId', 'operationType', 'tasksCount', 'submittedBy', 'workflowType',
  'workflowSubmissionKind', 'workflowStatus', 'startTimestamp', 'endTimestamp', 'submittedTimestamp',
  'instanceId', 'identifier', 'friendlyName', 'error', 'additionalInfo',
] as const;

/** `identity.Authorization.*` (API events). `identity.Claims` is a map: any claim name. */
export const AUTHORIZATION_FIELDS = ['UserRole', 'RequiredRoles'] as const;

/** `properties.additionalInfo.*` (task events). */
export const ADDITIONAL_INFO_FIELDS = ['Kind', 'AffectedTables', 'MessageCode', 'tableCount'] as const;

export type ApiField = (typeof API_FIELDS)[number];
export type WorkflowField = (typeof WORKFLOW_FIELDS)[number];
export type TopLevelField = ApiField | WorkflowField;
export type PropertyField = (typeof API_PROPERTIES)[number] | (typeof WORKFLOW_PROPERTIES)[number];

/** The values of both lists once each, in first-seen order. */
function union<T extends string>(...lists: readonly (readonly T[])[]): readonly T[] {
  return [...new Set(lists.flat())];
}

/** Top-level fields of either kind (API order, which includes every workflow field). */
export const TOP_LEVEL_FIELDS: readonly TopLevelField[] = union<TopLevelField>(API_FIELDS, WORKFLOW_FIELDS);

/** `properties.*` names of either kind. */
export const PROPERTY_FIELDS: readonly PropertyField[] = union<PropertyField>(API_PROPERTIES, WORKFLOW_PROPERTIES);

/** A dotted path to a field of either kind, e.g. `properties.method` (claims excepted). */
export type FieldPath =
  | TopLevelField
  | `properties.${PropertyField}`
  | `identity.Authorization.${(typeof AUTHORIZATION_FIELDS)[number]}`
  | `properties.additionalInfo.${(typeof ADDITIONAL_INFO_FIELDS)[number]}`;
