/**
 * WorkflowTracker: the events of one workflow run, with one `workflowJobId` throughout.
 *
 *   const run = await startWorkflow(producer, { resourceId, operationType: 'Segmentation', … });
 *   const task = await run.startTask({ identifier: 'seg-1', friendlyName: 'Build segment' });
 *   await task.complete();            // or task.fail(err) / task.skip()
 *   await run.complete();             // or run.fail(err)
 *
 * Each step publishes (and can be awaited): `{Type}.WorkflowStarted`, `{Type}.TaskStarted`,
 * `{Type}.TaskCompleted`, `{Type}.WorkflowCompleted`. Durations come from a monotonic clock,
 * timestamps from the wall clock.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors.js';
import { buildWorkflowEvent, nowIso, type WorkflowEventInput } from '../events/builders.js';
import type { OperationType } from '../events/operation-types.js';
import type { AdditionalInfoInput, InsightEvent, WorkflowSubmissionKind, WorkflowType } from '../events/types.js';
import { scrubSecrets } from '../logging.js';

/** What the tracker needs from a producer; EventProducer satisfies it. */
export interface EventPublisher {
  publish(event: InsightEvent): Promise<void>;
}

export interface StartWorkflowOptions {
  resourceId: string;
  operationType: OperationType;
  tasksCount: number;
  submittedBy: string;
  workflowType: WorkflowType;
  submissionKind: WorkflowSubmissionKind;
  instanceId?: string;
  /** Default: a new UUID. */
  workflowJobId?: string;
  /** When the run was submitted; default: now. */
  submittedTimestamp?: string;
}

export interface TaskOptions {
  identifier: string;
  friendlyName: string;
}

class Stopwatch {
  readonly startTimestamp = nowIso();
  private readonly started = process.hrtime.bigint();
  elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e6;
  }
}

/** The message of an error for a task event, without secrets or stack. */
function errorText(error: unknown): string {
  return scrubSecrets(describeError(error));
}

type Common = Pick<WorkflowEventInput, 'resourceId' | 'operationType' | 'workflowJobId' | 'instanceId'>;

export class WorkflowTask {
  private finished = false;

  constructor(private readonly producer: EventPublisher, private readonly common: Common,
    readonly identifier: string, readonly friendlyName: string, private readonly clock: Stopwatch) {}

  complete(options: { additionalInfo?: AdditionalInfoInput } = {}): Promise<void> {
    return this.end('Successful', options.additionalInfo);
  }

  fail(error: unknown, options: { additionalInfo?: AdditionalInfoInput } = {}): Promise<void> {
    return this.end('Failure', options.additionalInfo, errorText(error));
  }

  skip(): Promise<void> {
    return this.end('Skipped');
  }

  private async end(resultType: 'Successful' | 'Failure' | 'Skipped', additionalInfo?: AdditionalInfoInput, error?: string): Promise<void> {
    if (this.finished) throw new Error(`task ${this.identifier} of workflow ${this.common.workflowJobId} already ended`);
    this.finished = true;
    await this.producer.publish(buildWorkflowEvent({
      ...this.common,
      phase: 'Task', stage: 'Completed', resultType,
      durationMs: this.clock.elapsedMs(),
      startTimestamp: this.clock.startTimestamp,
      endTimestamp: nowIso(),
      identifier: this.identifier, friendlyName: this.friendlyName,
      error, additionalInfo,
    }));
  }
}

export class WorkflowRun {
  private finished = false;

  constructor(private readonly producer: EventPublisher, private readonly common: Common,
    private readonly workflowFields: Pick<WorkflowEventInput, 'tasksCount' | 'submittedBy' | 'workflowType' | 'workflowSubmissionKind' | 'submittedTimestamp'>,
    private readonly clock: Stopwatch) {}

  get workflowJobId(): string {
    return this.common.workflowJobId;
  }

  async startTask(options: TaskOptions): Promise<WorkflowTask> {
    const clock = new Stopwatch();
    await this.producer.publish(buildWorkflowEvent({
      ...this.common,
      phase: 'Task', stage: 'Started', resultType: 'Running',
      startTimestamp: clock.startTimestamp,
      identifier: options.identifier, friendlyName: options.friendlyName,
    }));
    return new WorkflowTask(this.producer, this.common, options.identifier, options.friendlyName, clock);
  }

  complete(): Promise<void> {
    return this.end(true);
  }

  /** Ends the run with resultType Failure; workflow events carry no error text (task events do). */
  fail(_error?: unknown): Promise<void> {
    return this.end(false);
  }

  private async end(successful: boolean): Promise<void> {
    if (this.finished) throw new Error(`workflow ${this.common.workflowJobId} already ended`);
    this.finished = true;
    await this.producer.publish(buildWorkflowEvent({
      ...this.common, ...this.workflowFields,
      phase: 'Workflow', stage: 'Completed',
      resultType: successful ? 'Successful' : 'Failure',
      ...(successful ? { workflowStatus: 'Successful' as const } : {}),
      durationMs: this.clock.elapsedMs(),
      startTimestamp: this.clock.startTimestamp,
      endTimestamp: nowIso(),
    }));
  }
}

export class WorkflowTracker {
  constructor(private readonly producer: EventPublisher) {}

  /** Publishes `{Type}.WorkflowStarted` and returns the run. */
  async start(options: StartWorkflowOptions): Promise<WorkflowRun> {
    const clock = new Stopwatch();
    const common: Common = {
      resourceId: options.resourceId,
      operationType: options.operationType,
      workflowJobId: options.workflowJobId ?? randomUUID(),
      instanceId: options.instanceId,
    };
    const workflowFields = {
      tasksCount: options.tasksCount,
      submittedBy: options.submittedBy,
      workflowType: options.workflowType,
      workflowSubmissionKind: options.submissionKind,
      submittedTimestamp: options.submittedTimestamp ?? clock.startTimestamp,
    };
    await this.producer.publish(buildWorkflowEvent({
      ...common, ...workflowFields,
      phase: 'Workflow', stage: 'Started', resultType: 'Running', workflowStatus: 'Running',
      startTimestamp: clock.startTimestamp,
    }));
    return new WorkflowRun(this.producer, common, workflowFields, clock);
  }
}

export function startWorkflow(producer: EventPublisher, options: StartWorkflowOptions): Promise<WorkflowRun> {
  return new WorkflowTracker(producer).start(options);
}
