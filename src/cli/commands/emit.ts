/**
 * `insight-logs emit api|workflow`: publish one event from the shell and wait for Kafka's
 * acknowledgement. Every flag is checked before connecting; a bad value names its flag.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { InsightLogsError } from '../../errors.js';
import type { FieldPath } from '../../events/fields.js';
import { WORKFLOW_LEVELS, buildApiEvent, buildWorkflowEvent, type ApiEventInput, type WorkflowEventInput } from '../../events/builders.js';
import { OPERATION_TYPES, isOperationType } from '../../events/operation-types.js';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import {
  LEVELS, WORKFLOW_RESULT_TYPES, WORKFLOW_STATUSES, WORKFLOW_SUBMISSION_KINDS, WORKFLOW_TYPES, kindOf,
  type Identity, type InsightEvent, type Level,
} from '../../events/types.js';
import { EventProducer } from '../../producer/event-producer.js';
import { DEMO_RESOURCE_ID } from '../../simulate/resources.js';
import { cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

/** A plausible operationName per method, so `emit api --method POST --status 201` just works. */
const DEFAULT_OPERATION: Record<string, string> = {
  GET: 'Workflows.GetWorkFlowStatusAsync',
  POST: 'Segments.CreateSegmentAsync',
  PUT: 'Segments.UpdateSegmentAsync',
  PATCH: 'Segments.PatchSegmentAsync',
  DELETE: 'Segments.DeleteSegmentAsync',
};

/** Event field paths (src/events/fields.ts) → the flag that sets them, so validation errors point at the flag. */
const FLAG_OF: Partial<Record<FieldPath, string>> = {
  time: '--time', resourceId: '--resource-id', operationName: '--operation', durationMs: '--duration-ms', uri: '--uri',
  callerIpAddress: '--caller-ip', 'properties.method': '--method', 'properties.tasksCount': '--tasks-count',
  'properties.submittedBy': '--submitted-by', 'properties.workflowType': '--workflow-type',
  'properties.workflowSubmissionKind': '--submission-kind', 'properties.workflowStatus': '--workflow-status',
  'properties.identifier': '--identifier', 'properties.friendlyName': '--friendly-name', 'properties.error': '--error',
  'properties.workflowJobId': '--job-id', correlationId: '--correlation-id',
};

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], caseInsensitive = false): T | undefined {
  if (value === undefined) return undefined;
  const found = allowed.find((a) => (caseInsensitive ? a.toLowerCase() === value.toLowerCase() : a === value));
  if (!found) throw new InsightLogsError('CONFIG_INVALID', `${flag}: "${value}" is not one of ${allowed.join(', ')}`);
  return found;
}

function nonNegative(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new InsightLogsError('CONFIG_INVALID', `${flag}: "${value}" is not a whole number ≥ 0`);
  return Number(value);
}

function httpStatus(value: string): number {
  const n = Number(value);
  if (!/^\d{3}$/.test(value.trim()) || n < 100 || n > 599) throw new InsightLogsError('CONFIG_INVALID', `--status: "${value}" is not an HTTP status code (100-599)`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Builds with the shared builder; EVENT_INVALID messages get the flag name next to each field. */
function build<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof InsightLogsError && err.code === 'EVENT_INVALID') {
      let message = err.message;
      for (const [path, flag] of Object.entries(FLAG_OF)) {
        message = message.replace(new RegExp(`(^|[:;] )${path.replace(/\./g, '\\.')} `), `$1${path} (${flag}) `);
      }
      throw new InsightLogsError('EVENT_INVALID', message, { cause: err });
    }
    if (err instanceof InsightLogsError) throw err;
    throw new InsightLogsError('EVENT_INVALID', err instanceof Error ? err.message : String(err), { cause: err });
  }
}

async function publishOne(event: InsightEvent, json: boolean): Promise<void> {
  const settings = cliKafkaSettings();
  const names = topicNamesFromEnv();
  const topics = { audit: names.audit, operational: names.operational };
  const producer = new EventProducer({ kafka: settings, logger: cliLogger(), topics, lingerMs: 0, deliveryTimeoutMs: 10_000 });
  try {
    await withDeadline(producer.connect(), 15_000, settings, 'connecting');
    await producer.publish(event);
  } finally {
    await producer.close();
  }
  if (json) process.stdout.write(JSON.stringify(event) + '\n');
  else process.stdout.write(`published ${kindOf(event)} ${event.operationName} (${event.category}) to ${event.category === 'Audit' ? topics.audit : topics.operational}\n`);
}

interface ApiFlags {
  resourceId: string; operation?: string; method: string; status: string; path?: string; uri?: string; durationMs?: string;
  callerIp?: string; userAgent?: string; origin?: string; tenantId?: string; tenantName?: string; callerObjectId?: string;
  instanceId?: string; userRole?: string; requiredRoles?: string; claim: string[]; level?: string; time?: string; correlationId?: string; json: boolean;
}

export function apiInputFromFlags(flags: ApiFlags): ApiEventInput {
  const method = flags.method.toUpperCase();
  if (!/^[A-Z]{3,10}$/.test(method)) throw new InsightLogsError('CONFIG_INVALID', `--method: "${flags.method}" is not an HTTP method like GET or POST`);
  const claims: Record<string, string> = {};
  for (const c of flags.claim) {
    const i = c.indexOf('=');
    if (i <= 0) throw new InsightLogsError('CONFIG_INVALID', `--claim: "${c}" is not name=value`);
    claims[c.slice(0, i)] = c.slice(i + 1);
  }
  const roles = flags.requiredRoles?.split(',').map((r) => r.trim()).filter(Boolean);
  let identity: Identity | undefined;
  if (flags.userRole !== undefined || roles !== undefined || Object.keys(claims).length > 0) {
    identity = { Claims: claims };
    if (flags.userRole !== undefined || roles !== undefined) identity.Authorization = { ...(flags.userRole ? { UserRole: flags.userRole } : {}), RequiredRoles: roles ?? [] };
  }
  const input: ApiEventInput = {
    resourceId: flags.resourceId,
    operationName: flags.operation ?? DEFAULT_OPERATION[method] ?? `Api.${method[0]}${method.slice(1).toLowerCase()}Async`,
    method,
    status: httpStatus(flags.status),
  };
  const optional: Partial<ApiEventInput> = {
    path: flags.path, uri: flags.uri, durationMs: nonNegative('--duration-ms', flags.durationMs), callerIpAddress: flags.callerIp,
    userAgent: flags.userAgent, origin: flags.origin, tenantId: flags.tenantId, tenantName: flags.tenantName,
    callerObjectId: flags.callerObjectId, instanceId: flags.instanceId, identity, time: flags.time,
    level: oneOf<Level>('--level', flags.level, LEVELS), correlationId: flags.correlationId,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (input as unknown as Record<string, unknown>)[k] = v;
  return input;
}

interface WorkflowFlags {
  resourceId: string; operationType: string; phase: string; stage: string; jobId?: string; result?: string; durationMs?: string;
  level?: string; time?: string; instanceId?: string; tasksCount?: string; submittedBy?: string; workflowType?: string;
  submissionKind?: string; workflowStatus?: string; identifier?: string; friendlyName?: string; error?: string; correlationId?: string; json: boolean;
}

export function workflowInputFromFlags(flags: WorkflowFlags): WorkflowEventInput {
  const operationType = OPERATION_TYPES.find((t) => t.toLowerCase() === flags.operationType.toLowerCase());
  if (!operationType || !isOperationType(operationType)) {
    throw new InsightLogsError('CONFIG_INVALID', `--operation-type: "${flags.operationType}" is not one of ${OPERATION_TYPES.join(', ')}`);
  }
  const phase = oneOf('--phase', flags.phase, ['Workflow', 'Task'] as const, true)!;
  const stage = oneOf('--stage', flags.stage, ['Started', 'Completed'] as const, true)!;
  const resultType = oneOf('--result', flags.result, WORKFLOW_RESULT_TYPES, true) ?? (stage === 'Started' ? 'Running' : 'Successful');
  const input: WorkflowEventInput = {
    resourceId: flags.resourceId, operationType, phase, stage, resultType, workflowJobId: flags.jobId ?? randomUUID(),
  };
  const optional: Partial<WorkflowEventInput> = {
    durationMs: nonNegative('--duration-ms', flags.durationMs), level: oneOf<Level>('--level', flags.level, WORKFLOW_LEVELS), time: flags.time,
    instanceId: flags.instanceId, tasksCount: nonNegative('--tasks-count', flags.tasksCount), submittedBy: flags.submittedBy,
    workflowType: oneOf('--workflow-type', flags.workflowType, WORKFLOW_TYPES),
    workflowSubmissionKind: oneOf('--submission-kind', flags.submissionKind, WORKFLOW_SUBMISSION_KINDS),
    workflowStatus: oneOf('--workflow-status', flags.workflowStatus, WORKFLOW_STATUSES),
    identifier: flags.identifier, friendlyName: flags.friendlyName, error: flags.error, correlationId: flags.correlationId,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (input as unknown as Record<string, unknown>)[k] = v;
  return input;
}

export function register(program: Command): void {
  const emit = program
    .command('emit')
    .description('publish one event from the shell (waits for Kafka\'s acknowledgement)')
    .addHelpText('after', `
Examples:
  $ insight-logs emit api --method POST --path /api/instances/contoso/segments --status 201
  $ insight-logs emit workflow --operation-type Segmentation --phase workflow --stage started`);

  emit
    .command('api')
    .description('publish one APIEvent (POST/PUT/PATCH/DELETE go to the audit topic, others to operational)')
    .option('--resource-id <id>', 'instance resourceId', DEMO_RESOURCE_ID)
    .option('--operation <name>', 'operationName (default by method, e.g. Segments.CreateSegmentAsync for POST)')
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--status <code>', 'HTTP status code (sets resultType, operationStatus and level)', '200')
    .option('--path <path>', 'request path, e.g. /api/instances/x/segments')
    .option('--uri <uri>', 'absolute request URI')
    .option('--duration-ms <n>', 'duration in milliseconds')
    .option('--caller-ip <ip>', 'callerIpAddress')
    .option('--user-agent <ua>', 'properties.userAgent')
    .option('--origin <origin>', 'properties.origin')
    .option('--tenant-id <id>', 'properties.tenantId')
    .option('--tenant-name <name>', 'properties.tenantName')
    .option('--caller-object-id <id>', 'properties.callerObjectId')
    .option('--instance-id <id>', 'properties.instanceId')
    .option('--user-role <role>', 'identity.Authorization.UserRole')
    .option('--required-roles <a,b>', 'identity.Authorization.RequiredRoles, comma separated')
    .option('--claim <name=value>', 'identity claim (repeatable)', collect, [])
    .option('--level <level>', `override the level derived from the status (${LEVELS.join(', ')})`)
    .option('--time <iso>', 'event time (default now), UTC ISO 8601')
    .option('--correlation-id <id>', 'the event\'s correlationId (default a new UUID)')
    .option('--json', 'print the published record as JSON', false)
    .addHelpText('after', `
Default resourceId: ${DEMO_RESOURCE_ID}

Examples:
  $ insight-logs emit api --method POST --status 201
  $ insight-logs emit api --method DELETE --status 204 --operation Segments.DeleteSegmentAsync \\
      --path /api/instances/contoso/segments/42 --duration-ms 35 --caller-ip 10.1.2.3
  $ insight-logs emit api --method GET --status 500 --json`)
    .action(async (flags: ApiFlags) => {
      const event = build(() => buildApiEvent(apiInputFromFlags(flags)));
      await publishOne(event, flags.json);
    });

  emit
    .command('workflow')
    .description('publish one WorkflowEvent (always operational)')
    .option('--resource-id <id>', 'instance resourceId', DEMO_RESOURCE_ID)
    .option('--operation-type <type>', `one of ${OPERATION_TYPES.join(', ')}`, 'Segmentation')
    .option('--phase <phase>', 'workflow or task', 'workflow')
    .option('--stage <stage>', 'started or completed', 'started')
    .option('--job-id <id>', 'workflowJobId shared by a run\'s events (default a new UUID)')
    .option('--result <result>', `${WORKFLOW_RESULT_TYPES.join(', ')} (default Running when started, Successful when completed)`)
    .option('--duration-ms <n>', 'duration in milliseconds')
    .option('--level <level>', `override the level: ${WORKFLOW_LEVELS.join(', ')} (default Error for Failure, else Informational)`)
    .option('--time <iso>', 'event time (default now), UTC ISO 8601')
    .option('--instance-id <id>', 'properties.instanceId')
    .option('--tasks-count <n>', 'workflow events: number of tasks')
    .option('--submitted-by <who>', 'workflow events: who submitted the run')
    .option('--workflow-type <type>', 'workflow events: full or incremental')
    .option('--submission-kind <kind>', 'workflow events: OnDemand or Scheduled')
    .option('--workflow-status <status>', 'workflow events: Running or Successful')
    .option('--identifier <id>', 'task events: task identifier')
    .option('--friendly-name <name>', 'task events: task display name')
    .option('--error <text>', 'task events: error message')
    .option('--correlation-id <id>', 'the event\'s correlationId (default a new UUID)')
    .option('--json', 'print the published record as JSON', false)
    .addHelpText('after', `
Default resourceId: ${DEMO_RESOURCE_ID}

Examples:
  $ insight-logs emit workflow --operation-type Segmentation --phase workflow --stage started \\
      --job-id 7f3c --tasks-count 2 --workflow-type full --submission-kind OnDemand
  $ insight-logs emit workflow --phase task --stage completed --job-id 7f3c \\
      --identifier seg-1 --friendly-name "High value customers" --result Failure --error "timeout"`)
    .action(async (flags: WorkflowFlags) => {
      const event = build(() => buildWorkflowEvent(workflowInputFromFlags(flags)));
      await publishOne(event, flags.json);
      if (!flags.json && !flags.jobId) process.stdout.write(`workflowJobId ${event.properties.workflowJobId}\n`);
    });
}
