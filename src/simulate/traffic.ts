/**
 * Realistic, seedable traffic for `insight-logs simulate` and demos: API calls (mostly reads,
 * some configuration changes, some 4xx/5xx) and workflow runs (WorkflowStarted, tasks started
 * and completed, sometimes a failure that skips the rest, WorkflowCompleted) interleaved
 * across several instances. Pure: the same seed and clock give the same events.
 */
import { buildApiEvent, buildWorkflowEvent } from '../events/builders.js';
import type { OperationType } from '../events/operation-types.js';
import type { ApiEvent, InsightEvent, WorkflowEvent, WorkflowResultType } from '../events/types.js';
import { Random } from './random.js';
import { demoResourceId } from './resources.js';

export interface TrafficOptions {
  seed?: number;
  /** Instances (resourceIds) the traffic is spread over (default 3). */
  instances?: number;
  /** Share of API calls answered 4xx/5xx and of tasks that fail (default 0.05). */
  errorRate?: number;
  /** Share of events that belong to workflow runs (default 0.25). */
  workflowShare?: number;
  /** Instance names are `<prefix>-1` … (default CONTOSO). */
  instancePrefix?: string;
  /** Clock in epoch ms (default Date.now); tests pass a fake one. */
  now?: () => number;
}

interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  operationName: string;
  /** `{i}` instance id, `{n}` an object id. */
  path: string;
  weight: number;
  medianMs: number;
}

/** Weighted roughly like a Customer Insights tenant: reads dominate, configuration changes are rare. */
export const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', operationName: 'Workflows.GetWorkFlowStatusAsync', path: '/api/instances/{i}/workflows/{n}/status', weight: 28, medianMs: 45 },
  { method: 'GET', operationName: 'Segments.ListSegmentsAsync', path: '/api/instances/{i}/segments', weight: 14, medianMs: 120 },
  { method: 'GET', operationName: 'Entities.ListEntitiesAsync', path: '/api/instances/{i}/entities', weight: 10, medianMs: 90 },
  { method: 'GET', operationName: 'Measures.GetMeasuresAsync', path: '/api/instances/{i}/measures', weight: 8, medianMs: 150 },
  { method: 'GET', operationName: 'Search.SearchProfilesAsync', path: '/api/instances/{i}/profiles/search', weight: 7, medianMs: 250 },
  { method: 'GET', operationName: 'Instances.GetInstanceAsync', path: '/api/instances/{i}', weight: 6, medianMs: 30 },
  { method: 'POST', operationName: 'Segments.CreateSegmentAsync', path: '/api/instances/{i}/segments', weight: 6, medianMs: 300 },
  { method: 'PUT', operationName: 'Segments.UpdateSegmentAsync', path: '/api/instances/{i}/segments/{n}', weight: 3, medianMs: 280 },
  { method: 'POST', operationName: 'Workflows.SubmitWorkflowJobAsync', path: '/api/instances/{i}/workflows/refresh', weight: 3, medianMs: 400 },
  { method: 'PATCH', operationName: 'Measures.PatchMeasureAsync', path: '/api/instances/{i}/measures/{n}', weight: 2, medianMs: 220 },
  { method: 'DELETE', operationName: 'Segments.DeleteSegmentAsync', path: '/api/instances/{i}/segments/{n}', weight: 2, medianMs: 160 },
  { method: 'POST', operationName: 'DataSources.CreateDataSourceAsync', path: '/api/instances/{i}/datasources', weight: 2, medianMs: 600 },
  { method: 'DELETE', operationName: 'DataSources.DeleteDataSourceAsync', path: '/api/instances/{i}/datasources/{n}', weight: 1, medianMs: 350 },
];

const SUCCESS_STATUS: Record<Endpoint['method'], number> = { GET: 200, POST: 201, PUT: 200, PATCH: 200, DELETE: 204 };
const CLIENT_ERRORS: readonly (readonly [number, number])[] = [[400, 4], [401, 1], [403, 2], [404, 4], [409, 1], [429, 2]];
const SERVER_ERRORS: readonly (readonly [number, number])[] = [[500, 5], [502, 1], [503, 3], [504, 1]];

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Microsoft.PowerPlatform.Connectors/1.0',
  'PowerAutomate/1.0 (Flow)',
  'python-requests/2.32.3',
];
const ROLES = ['Admin', 'Contributor', 'Viewer'] as const;
const USERS = ['adele.vance', 'alex.wilber', 'megan.bowen', 'lynne.robbins', 'svc-etl', 'nestor.wilke'];

/** Workflow kinds and their tasks, roughly as a refresh runs them. */
const WORKFLOWS: readonly { type: OperationType; tasks: readonly string[] }[] = [
  { type: 'Ingestion', tasks: ['Contacts', 'Orders', 'WebActivity', 'LoyaltyMembers'] },
  { type: 'Match', tasks: ['MatchPairs', 'Deduplicate'] },
  { type: 'Merge', tasks: ['MergeCustomers'] },
  { type: 'Segmentation', tasks: ['High value customers', 'Churn risk', 'New this month'] },
  { type: 'Measures', tasks: ['Lifetime value', 'Average order value'] },
  { type: 'Export', tasks: ['Blob export', 'Marketing export'] },
  { type: 'Enrichment', tasks: ['Brand affinity'] },
  { type: 'Intelligence', tasks: ['Churn model'] },
];

interface Instance {
  resourceId: string;
  name: string;
  instanceId: string;
  tenantId: string;
  tenantName: string;
}

interface User {
  name: string;
  objectId: string;
  role: (typeof ROLES)[number];
  ip: string;
  userAgent: string;
}

interface Task { identifier: string; friendlyName: string; startedAt?: string }

interface Run {
  instance: Instance;
  type: OperationType;
  jobId: string;
  tasks: Task[];
  /** Next task index to act on. */
  taskIndex: number;
  /** Whether the current task has been started. */
  taskStarted: boolean;
  failed: boolean;
  started: boolean;
  startedAt: string;
  submittedAt: string;
  submittedBy: string;
  workflowType: 'full' | 'incremental';
  submissionKind: 'OnDemand' | 'Scheduled';
}

export class TrafficGenerator {
  private readonly random: Random;
  private readonly now: () => number;
  private readonly errorRate: number;
  private readonly workflowShare: number;
  private readonly instances: Instance[];
  private readonly users: User[];
  private readonly runs: Run[] = [];
  private readonly maxRuns: number;

  constructor(options: TrafficOptions = {}) {
    this.random = new Random(options.seed ?? 1);
    this.now = options.now ?? Date.now;
    this.errorRate = clamp01(options.errorRate ?? 0.05);
    this.workflowShare = clamp01(options.workflowShare ?? 0.25);
    const count = Math.max(1, Math.floor(options.instances ?? 3));
    const prefix = options.instancePrefix ?? 'CONTOSO';
    this.instances = Array.from({ length: count }, (_, i) => {
      const name = `${prefix}-${i + 1}`;
      return { resourceId: demoResourceId(name), name, instanceId: this.random.uuid(), tenantId: this.random.uuid(), tenantName: `${prefix.toLowerCase()}-tenant-${i + 1}` };
    });
    this.users = USERS.map((name, i) => ({
      name,
      objectId: this.random.uuid(),
      role: ROLES[i % ROLES.length]!,
      ip: i % 2 === 0 ? `10.${this.random.int(0, 255)}.${this.random.int(0, 255)}.${this.random.int(1, 254)}` : `20.${this.random.int(40, 200)}.${this.random.int(0, 255)}.${this.random.int(1, 254)}`,
      userAgent: USER_AGENTS[i % USER_AGENTS.length]!,
    }));
    this.maxRuns = count * 2;
  }

  /** The resourceIds traffic goes to. */
  resourceIds(): string[] {
    return this.instances.map((i) => i.resourceId);
  }

  /** The next event: an API call or the next step of a workflow run. */
  next(): InsightEvent {
    return this.random.chance(this.workflowShare) ? this.nextWorkflowStep() : this.nextApiCall();
  }

  private time(): string {
    return new Date(this.now()).toISOString();
  }

  nextApiCall(): ApiEvent {
    const r = this.random;
    const endpoint = r.weighted(ENDPOINTS.map((e) => [e, e.weight] as const));
    const instance = r.pick(this.instances);
    const user = r.pick(this.users);
    let status = SUCCESS_STATUS[endpoint.method];
    if (r.chance(this.errorRate)) status = r.chance(0.7) ? r.weighted(CLIENT_ERRORS) : r.weighted(SERVER_ERRORS);
    const path = endpoint.path.replace('{i}', instance.instanceId).replace('{n}', r.hex(8));
    const median = status >= 500 ? endpoint.medianMs * 8 : status >= 400 ? endpoint.medianMs / 3 : endpoint.medianMs;
    const requiredRoles = endpoint.method === 'GET' ? ['Viewer', 'Contributor', 'Admin'] : endpoint.method === 'DELETE' ? ['Admin'] : ['Contributor', 'Admin'];
    return buildApiEvent({
      time: this.time(),
      resourceId: instance.resourceId,
      operationName: endpoint.operationName,
      method: endpoint.method,
      status,
      durationMs: r.latency(median),
      path,
      uri: `https://api.ci.ai${path}`,
      callerIpAddress: user.ip,
      userAgent: user.userAgent,
      origin: 'https://home.ci.ai',
      identity: {
        Authorization: { UserRole: user.role, RequiredRoles: requiredRoles },
        Claims: {
          'http://schemas.microsoft.com/identity/claims/objectidentifier': user.objectId,
          'http://schemas.microsoft.com/identity/claims/tenantid': instance.tenantId,
          name: user.name,
          appid: 'd2ab9e62-4c14-4c07-9d7b-3f1c1a2b3c4d',
        },
      },
      tenantId: instance.tenantId,
      tenantName: instance.tenantName,
      callerObjectId: user.objectId,
      instanceId: instance.instanceId,
      // From the seeded generator (not crypto): the same seed gives the same traffic, ids included.
      correlationId: r.uuid(),
    });
  }

  private startRun(): Run {
    const r = this.random;
    const workflow = r.pick(WORKFLOWS);
    const taskCount = r.int(1, workflow.tasks.length);
    const now = this.time();
    const run: Run = {
      instance: r.pick(this.instances),
      type: workflow.type,
      jobId: r.uuid(),
      tasks: workflow.tasks.slice(0, taskCount).map((friendlyName, i) => ({ identifier: `${workflow.type.toLowerCase()}-${i + 1}-${r.hex(6)}`, friendlyName })),
      taskIndex: 0,
      taskStarted: false,
      failed: false,
      started: false,
      startedAt: now,
      submittedAt: now,
      submittedBy: r.pick(USERS),
      workflowType: r.chance(0.7) ? 'incremental' : 'full',
      submissionKind: r.chance(0.6) ? 'Scheduled' : 'OnDemand',
    };
    this.runs.push(run);
    return run;
  }

  /** Starts a run or advances an open one by one event. */
  nextWorkflowStep(): WorkflowEvent {
    const r = this.random;
    const startNew = this.runs.length === 0 || (this.runs.length < this.maxRuns && r.chance(0.3));
    const run = startNew ? this.startRun() : r.pick(this.runs);
    // Every event its own correlation id, from the seeded generator like the rest.
    const common = { resourceId: run.instance.resourceId, operationType: run.type, workflowJobId: run.jobId, instanceId: run.instance.instanceId, correlationId: r.uuid() };

    if (!run.started) {
      run.started = true;
      run.startedAt = this.time();
      return buildWorkflowEvent({
        ...common, time: run.startedAt, phase: 'Workflow', stage: 'Started', resultType: 'Running',
        tasksCount: run.tasks.length, submittedBy: run.submittedBy, workflowType: run.workflowType,
        workflowSubmissionKind: run.submissionKind, workflowStatus: 'Running',
        submittedTimestamp: run.submittedAt, startTimestamp: run.startedAt,
      });
    }

    const task = run.tasks[run.taskIndex];
    if (task && run.failed) {
      // After a failure the remaining tasks are skipped: one TaskCompleted(Skipped) each.
      run.taskIndex++;
      return buildWorkflowEvent({
        ...common, time: this.time(), phase: 'Task', stage: 'Completed', resultType: 'Skipped', durationMs: 0,
        identifier: task.identifier, friendlyName: task.friendlyName,
      });
    }
    if (task && !run.taskStarted) {
      run.taskStarted = true;
      task.startedAt = this.time();
      return buildWorkflowEvent({
        ...common, time: task.startedAt, phase: 'Task', stage: 'Started', resultType: 'Running',
        identifier: task.identifier, friendlyName: task.friendlyName, startTimestamp: task.startedAt,
      });
    }
    if (task) {
      run.taskStarted = false;
      run.taskIndex++;
      const failed = r.chance(this.errorRate);
      if (failed) run.failed = true;
      const time = this.time();
      return buildWorkflowEvent({
        ...common, time, phase: 'Task', stage: 'Completed', resultType: failed ? 'Failure' : 'Successful',
        durationMs: r.latency(20_000), identifier: task.identifier, friendlyName: task.friendlyName,
        startTimestamp: task.startedAt!, endTimestamp: time,
        ...(failed ? {
          error: `${task.friendlyName}: ${r.pick(['source unavailable', 'timeout reading data', 'schema mismatch in column CustomerId', 'quota exceeded'])}`,
          additionalInfo: { Kind: run.type, AffectedTables: [task.friendlyName], MessageCode: r.pick(['DataSourceUnavailable', 'Timeout', 'SchemaMismatch', 'QuotaExceeded']), tableCount: 1 },
        } : {}),
      });
    }

    // Every task done: the run completes and is closed.
    this.runs.splice(this.runs.indexOf(run), 1);
    const time = this.time();
    const result: WorkflowResultType = run.failed ? 'Failure' : 'Successful';
    return buildWorkflowEvent({
      ...common, time, phase: 'Workflow', stage: 'Completed', resultType: result,
      durationMs: r.latency(60_000), tasksCount: run.tasks.length, submittedBy: run.submittedBy,
      workflowType: run.workflowType, workflowSubmissionKind: run.submissionKind,
      ...(run.failed ? {} : { workflowStatus: 'Successful' as const }),
      submittedTimestamp: run.submittedAt, startTimestamp: run.startedAt, endTimestamp: time,
    });
  }
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
