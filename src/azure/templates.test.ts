/** The templates agree with the code: committed copies, table/stream columns vs the sink's rows, names vs the sinks' constants. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApiEvent, buildWorkflowEvent } from '../events/builders.js';
import { CATEGORY_NAMES } from '../events/routing.js';
import { DEFAULT_CONTAINERS } from '../sinks/blob/config.js';
import { DEFAULT_HUBS } from '../sinks/eventhubs/config.js';
import { RESERVED_COLUMN_NAMES, SYSTEM_COLUMNS, TABLE_FOR_CATEGORY, columnsOf } from '../sinks/loganalytics/columns.js';
import { DEFAULT_STREAMS } from '../sinks/loganalytics/config.js';
import { toRow } from '../sinks/loganalytics/request-builder.js';
import { packageRoot } from '../util/package-root.js';
import { ROLE_DEFINITION_IDS, TEMPLATE_KINDS, armTemplate, armTemplateText, logAnalyticsStreamDeclarations } from './templates.js';

type Resource = { type: string; name: string; properties: Record<string, any>; scope?: string };
const resources = (kind: (typeof TEMPLATE_KINDS)[number]): Resource[] => armTemplate(kind).resources as Resource[];
const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I1';

test('deploy/azure/*.json are exactly what `insight-logs azure template <kind>` prints (regenerate: node scripts/azure-templates.mjs)', () => {
  for (const kind of TEMPLATE_KINDS) {
    assert.equal(readFileSync(join(packageRoot(), 'deploy', 'azure', `${kind}.json`), 'utf8'), armTemplateText(kind), `deploy/azure/${kind}.json is stale`);
  }
});

test('loganalytics: the two custom tables and the DCR streams have exactly the sink\'s columns, names and types', () => {
  const all = resources('loganalytics');
  const tables = all.filter((r) => r.type === 'Microsoft.OperationalInsights/workspaces/tables');
  assert.deepEqual(tables.map((t) => t.properties.schema.name), CATEGORY_NAMES.map((c) => TABLE_FOR_CATEGORY[c]));
  const dcr = all.find((r) => r.type === 'Microsoft.Insights/dataCollectionRules')!;
  for (const category of CATEGORY_NAMES) {
    const table = TABLE_FOR_CATEGORY[category];
    const expected = columnsOf(table).map((c) => ({ name: c.name, type: c.type }));
    assert.deepEqual(tables.find((t) => t.properties.schema.name === table)!.properties.schema.columns, expected, `${table} columns`);
    const stream = DEFAULT_STREAMS[category];
    assert.deepEqual(dcr.properties.streamDeclarations[stream].columns, expected, `${stream} declaration`);
    const flow = (dcr.properties.dataFlows as { streams: string[]; outputStream: string }[]).find((f) => f.streams.includes(stream));
    assert.equal(flow?.outputStream, `Custom-${table}`, `${stream} flows into ${table}`);
  }
  assert.deepEqual(Object.keys(dcr.properties.streamDeclarations).sort(), Object.values(DEFAULT_STREAMS).sort());
  assert.deepEqual(logAnalyticsStreamDeclarations(), dcr.properties.streamDeclarations);
  for (const column of columnsOf('CIEventsOperational_CL')) {
    assert.ok(!RESERVED_COLUMN_NAMES.some((r) => r.toLowerCase() === column.name.toLowerCase()), `${column.name} is reserved`);
    assert.ok(!(SYSTEM_COLUMNS as readonly string[]).includes(column.name) && !column.name.startsWith('_'), `${column.name} is a system column`);
    assert.match(column.name, /^[A-Za-z][A-Za-z0-9_]{0,44}$/, 'column names: a letter, then up to 45 letters, digits, _');
  }
  const role = all.find((r) => r.type === 'Microsoft.Authorization/roleAssignments')!;
  assert.match(role.properties.roleDefinitionId, new RegExp(ROLE_DEFINITION_IDS.monitoringMetricsPublisher));
  assert.match(role.scope!, /dataCollectionRules/);
});

test('every column a row can carry is declared by the template for that row\'s stream', () => {
  const claims = { aud: 'api://x', upn: 'u@x.test' };
  const rows = [
    toRow(buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'POST', status: 200, durationMs: 1, path: '/p', uri: 'https://x.test/p', callerIpAddress: '1.2.3.4', userAgent: 'u', origin: 'o', tenantId: 't', tenantName: 'n', callerObjectId: 'c', instanceId: 'i', identity: { Authorization: { UserRole: 'r', RequiredRoles: ['r'] }, Claims: claims } })),
    toRow(buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 500, durationMs: 1, path: '/p', uri: 'https://x.test/p', callerIpAddress: '1.2.3.4', userAgent: 'u', origin: 'o', tenantId: 't', tenantName: 'n', callerObjectId: 'c', instanceId: 'i', identity: { Authorization: { UserRole: 'r', RequiredRoles: ['r'] }, Claims: claims } })),
    toRow(buildWorkflowEvent({ resourceId: RID, operationType: 'Map', phase: 'Workflow', stage: 'Completed', workflowJobId: 'j', resultType: 'Successful', durationMs: 2, tasksCount: 1, submittedBy: 's', workflowType: 'full', workflowSubmissionKind: 'OnDemand', workflowStatus: 'Successful', startTimestamp: '2026-01-01T00:00:00Z', endTimestamp: '2026-01-01T00:00:01Z', submittedTimestamp: '2026-01-01T00:00:00Z', instanceId: 'i' })),
    toRow(buildWorkflowEvent({ resourceId: RID, operationType: 'Map', phase: 'Task', stage: 'Completed', workflowJobId: 'j', resultType: 'Failure', identifier: 'x', friendlyName: 'y', error: 'e', additionalInfo: { Kind: 'k', AffectedTables: ['t'], MessageCode: 'm', tableCount: 1 } })),
  ];
  const declarations = logAnalyticsStreamDeclarations();
  const seen = new Set<string>();
  for (const row of rows) {
    const stream = DEFAULT_STREAMS[row.Category === 'Audit' ? 'audit' : 'operational'];
    const declared = new Set(declarations[stream]!.columns.map((c) => c.name));
    for (const name of Object.keys(row)) {
      assert.ok(declared.has(name), `${name} is not declared in ${stream}`);
      seen.add(name);
    }
  }
  // And the other way round: these events fill every declared column, so none is dead weight.
  assert.deepEqual([...seen].sort(), declarations[DEFAULT_STREAMS.operational]!.columns.map((c) => c.name).sort());
});

test('eventhubs and storage: the hubs and containers are the sinks\' defaults, with the right built-in roles', () => {
  const hubs = resources('eventhubs').filter((r) => r.type === 'Microsoft.EventHub/namespaces/eventhubs').map((r) => r.name);
  assert.deepEqual(hubs, CATEGORY_NAMES.map((c) => `[format('{0}/{1}', parameters('namespaceName'), '${DEFAULT_HUBS[c]}')]`));
  assert.match(resources('eventhubs').find((r) => r.type === 'Microsoft.Authorization/roleAssignments')!.properties.roleDefinitionId, new RegExp(ROLE_DEFINITION_IDS.eventHubsDataSender));
  const containers = resources('storage').filter((r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers').map((r) => r.name);
  assert.deepEqual(containers, CATEGORY_NAMES.map((c) => `[format('{0}/default/{1}', parameters('storageAccountName'), '${DEFAULT_CONTAINERS[c]}')]`));
  assert.match(resources('storage').find((r) => r.type === 'Microsoft.Authorization/roleAssignments')!.properties.roleDefinitionId, new RegExp(ROLE_DEFINITION_IDS.storageBlobDataContributor));
  assert.deepEqual(ROLE_DEFINITION_IDS, {
    monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
    eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975',
    storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  });
});
