/**
 * The one list of Log Analytics columns: name, type, and where each value comes from in the
 * common-schema event. The request builder (`toRow`, `rowToEvent`), the provisioning template
 * (`insight-logs azure template loganalytics`, `src/azure/templates.ts`), the docs table in
 * docs/sinks/loganalytics.md and the test double's stream declarations are all made from it,
 * and tests fail when any of them drifts.
 *
 * Names and types are those of the official tables `CIEventsAudit` / `CIEventsOperational`
 * (Azure Monitor table reference), so a query written for them runs on our `_CL` custom
 * tables once the table name is changed. Those official tables cannot be written: the Logs
 * Ingestion API writes only custom tables (`*_CL`) and a short list of Azure tables ("Logs
 * Ingestion API in Azure Monitor", Supported tables).
 *
 * Reserved columns: the official tables carry the system columns `_ResourceId`,
 * `_SubscriptionId`, `TenantId`, `SourceSystem` and `Type`. Azure fills them itself; the
 * Logs Ingestion API reserves `Type`, `TenantId`, `resource`, `resourceid`, `resourcename`,
 * `resourcetype`, `subscriptionid` (same page, "Column names"), and `_`-prefixed names are
 * system columns a custom table cannot declare. So the event's `resourceId` goes to our own
 * column `CIResourceId` (not `ResourceId`, which is reserved) and the Customer Insights
 * tenant in `properties.tenantId` / `tenantName` to `CITenantId` / `CITenantName`: three
 * columns the official tables do not have, marked `official: false` below.
 */
import type { CategoryName } from '../../events/routing.js';
import type { InsightEvent } from '../../events/types.js';

/** Column types used here (Log Analytics also has bool, real, dynamic, guid). */
export type ColumnType = 'string' | 'datetime' | 'long' | 'int';

export type TableName = 'CIEventsAudit_CL' | 'CIEventsOperational_CL';

/** The custom tables per category (the official names with the `_CL` suffix custom tables must carry). */
export const TABLE_FOR_CATEGORY: Readonly<Record<CategoryName, TableName>> = Object.freeze({
  audit: 'CIEventsAudit_CL',
  operational: 'CIEventsOperational_CL',
});

/** The DCR stream of a custom table is conventionally `Custom-<table>` (what the portal creates). */
export function streamForTable(table: string): string {
  return `Custom-${table}`;
}

/** Columns Azure Monitor fills itself: never sent, never declared. */
export const SYSTEM_COLUMNS = ['_ResourceId', '_SubscriptionId', 'TenantId', 'SourceSystem', 'Type'] as const;

/** Names the Logs Ingestion API refuses for a stream or custom column (compared case-insensitively). */
export const RESERVED_COLUMN_NAMES = ['Type', 'TenantId', 'resource', 'resourceid', 'resourcename', 'resourcetype', 'subscriptionid', 'tenanted'] as const;

/** How a value is encoded into its column. */
type Encoding =
  /** The value as it is (string, number). */
  | 'plain'
  /** An object or array as a JSON string: the official tables have string columns for them. */
  | 'json';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  /** Where the value comes from, as a dotted path into the common-schema event (docs and `rowToEvent`). */
  readonly source: string;
  /** Only the operational table has it (workflow-event columns). */
  readonly operationalOnly: boolean;
  /** In the official CIEvents tables (false: our addition, see the top of this file). */
  readonly official: boolean;
  readonly encoding: Encoding;
  /** Derived from another field (not written back by `rowToEvent`): e.g. Audience from the claims. */
  readonly derived?: (event: InsightEvent) => unknown;
  readonly description: string;
}

function col(name: string, type: ColumnType, source: string, description: string, more: Partial<Pick<Column, 'operationalOnly' | 'official' | 'encoding' | 'derived'>> = {}): Column {
  return Object.freeze({ name, type, source, description, operationalOnly: false, official: true, encoding: 'plain' as Encoding, ...more });
}

/** First claim present, for columns the official table fills from the caller's token. */
function claim(...names: string[]): (event: InsightEvent) => unknown {
  return (event) => {
    const claims = 'identity' in event ? event.identity?.Claims : undefined;
    if (!claims) return undefined;
    for (const n of names) if (typeof claims[n] === 'string' && claims[n] !== '') return claims[n];
    return undefined;
  };
}

const op = { operationalOnly: true } as const;

/** Every column, in table order. */
export const COLUMNS: readonly Column[] = Object.freeze([
  col('TimeGenerated', 'datetime', 'time', 'When the event happened (UTC).'),
  col('OperationName', 'string', 'operationName', 'API operation or `{OperationType}.{Workflow|Task}{Started|Completed}`.'),
  col('Category', 'string', 'category', '`Audit` or `Operational`.'),
  col('ResultType', 'string', 'resultType', 'API: Success, ClientError, Failure; workflow: Running, Skipped, Successful, Failure.'),
  col('ResultSignature', 'string', 'resultSignature', 'API: the HTTP status code.'),
  col('DurationMs', 'long', 'durationMs', 'Duration in milliseconds.'),
  col('Level', 'string', 'level', 'Informational, Warning, Error (or Critical, see docs/design.md).'),
  col('CorrelationId', 'string', 'correlationId', 'The event\'s own id: drop redeliveries with it.'),
  col('CIResourceId', 'string', 'resourceId', 'The Customer Insights instance (`_ResourceId` is reserved for Azure).', { official: false }),
  col('CallerIPAddress', 'string', 'callerIpAddress', 'API: the caller\'s IP address.'),
  col('Uri', 'string', 'uri', 'API: the absolute request URI.'),
  col('EventType', 'string', 'properties.eventType', '`ApiEvent` or `WorkflowEvent`.'),
  col('UserAgent', 'string', 'properties.userAgent', 'API: the caller\'s user agent.'),
  col('Method', 'string', 'properties.method', 'API: the HTTP method.'),
  col('Path', 'string', 'properties.path', 'API: the request path.'),
  col('Origin', 'string', 'properties.origin', 'API: the Origin header.'),
  col('OperationStatus', 'string', 'properties.operationStatus', 'API: Success, ClientError, Error.'),
  col('CITenantId', 'string', 'properties.tenantId', 'API: the Customer Insights tenant (`TenantId` is reserved for Azure).', { official: false }),
  col('CITenantName', 'string', 'properties.tenantName', 'API: the Customer Insights tenant name.', { official: false }),
  col('CallerObjectId', 'string', 'properties.callerObjectId', 'API: the caller\'s Azure AD object id.'),
  col('InstanceId', 'string', 'properties.instanceId', 'The Customer Insights instance id.'),
  col('UserRole', 'string', 'identity.Authorization.UserRole', 'API: the caller\'s role.'),
  col('RequiredRoles', 'string', 'identity.Authorization.RequiredRoles', 'API: roles the operation requires, as a JSON array.', { encoding: 'json' }),
  col('Claims', 'string', 'identity.Claims', 'API: the caller\'s token claims, as a JSON object.', { encoding: 'json' }),
  col('Audience', 'string', 'identity.Claims.aud', 'API: the `aud` claim.', { derived: claim('aud') }),
  col('UserPrincipalName', 'string', 'identity.Claims.upn', 'API: the `upn` claim (else the long-form upn claim, else `preferred_username`).', {
    derived: claim('upn', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'preferred_username'),
  }),
  col('WorkflowJobId', 'string', 'properties.workflowJobId', 'Workflow: the run\'s id, shared by its tasks.', op),
  col('OperationType', 'string', 'properties.operationType', 'Workflow: Ingestion, Segmentation, …', op),
  col('TasksCount', 'int', 'properties.tasksCount', 'Workflow: number of tasks.', op),
  col('SubmittedBy', 'string', 'properties.submittedBy', 'Workflow: who submitted it.', op),
  col('WorkflowType', 'string', 'properties.workflowType', 'Workflow: full or incremental.', op),
  col('WorkflowSubmissionKind', 'string', 'properties.workflowSubmissionKind', 'Workflow: OnDemand or Scheduled.', op),
  col('WorkflowStatus', 'string', 'properties.workflowStatus', 'Workflow: Running or Successful.', op),
  col('StartTime', 'datetime', 'properties.startTimestamp', 'Workflow/task start (UTC).', op),
  col('EndTime', 'datetime', 'properties.endTimestamp', 'Workflow/task end (UTC).', op),
  col('SubmittedTime', 'datetime', 'properties.submittedTimestamp', 'Workflow submission (UTC).', op),
  col('Identifier', 'string', 'properties.identifier', 'Task: its identifier.', op),
  col('FriendlyName', 'string', 'properties.friendlyName', 'Task: its display name.', op),
  col('Error', 'string', 'properties.error', 'Task: the error message.', op),
  col('AdditionalInformation', 'string', 'properties.additionalInfo', 'Task: Kind, AffectedTables, MessageCode, tableCount as a JSON object.', { ...op, encoding: 'json' }),
]);

/** The columns of one table, in order. */
export function columnsOf(table: TableName): readonly Column[] {
  return table === 'CIEventsAudit_CL' ? COLUMNS.filter((c) => !c.operationalOnly) : COLUMNS;
}

/** The columns of a category's table. */
export function columnsFor(category: CategoryName): readonly Column[] {
  return columnsOf(TABLE_FOR_CATEGORY[category]);
}

/** The value at a dotted path of an event (undefined when any step is missing). */
export function valueAt(event: unknown, path: string): unknown {
  let value: unknown = event;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Sets a value at a dotted path, creating the objects on the way. */
export function setValueAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/** The column's raw value for an event, before any size limit; undefined when the event has none. */
export function columnValue(column: Column, event: InsightEvent): unknown {
  const value = column.derived ? column.derived(event) : valueAt(event, column.source);
  if (value === undefined || value === null) return undefined;
  return column.encoding === 'json' ? JSON.stringify(value) : value;
}

/** The columns as the Markdown table of docs/sinks/loganalytics.md (kept equal by a test; `node scripts/azure-templates.mjs` rewrites it). */
export function columnsMarkdownTable(): string {
  const lines = [
    '| column | type | from the event | `CIEventsAudit_CL` | `CIEventsOperational_CL` | in the official table |',
    '|---|---|---|---|---|---|',
  ];
  for (const c of COLUMNS) {
    const how = c.encoding === 'json' ? ' (as JSON text)' : c.derived ? ' (derived)' : '';
    lines.push(`| \`${c.name}\` | ${c.type} | \`${c.source}\`${how} | ${c.operationalOnly ? '—' : 'yes'} | yes | ${c.official ? 'yes' : '**no** (ours)'} |`);
  }
  return `${lines.join('\n')}\n`;
}
