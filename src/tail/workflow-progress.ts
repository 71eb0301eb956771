/**
 * Remembers, per workflow run seen by `tail`, how many tasks it has (from WorkflowStarted's
 * tasksCount) and which tasks started, so a task line can say `2/4`. Bounded: the oldest runs
 * are forgotten first.
 */
import type { WorkflowEvent } from '../events/types.js';

const MAX_RUNS = 10_000;

export interface TaskPosition {
  /** 1-based position of the task in its run (order of first appearance). */
  index: number;
  total: number;
}

export class WorkflowProgress {
  private readonly runs = new Map<string, { total?: number; tasks: Map<string, number> }>();

  /** Notes the event; for a task of a run whose size is known, returns its position. */
  note(event: WorkflowEvent): TaskPosition | undefined {
    const p = event.properties;
    const id = p.workflowJobId;
    let run = this.runs.get(id);
    if (!run) {
      run = { tasks: new Map() };
      this.runs.set(id, run);
      if (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
    }
    if (p.tasksCount !== undefined) run.total = p.tasksCount;
    if (!p.identifier) return undefined;
    let index = run.tasks.get(p.identifier);
    if (index === undefined) run.tasks.set(p.identifier, (index = run.tasks.size + 1));
    return run.total === undefined ? undefined : { index, total: run.total };
  }
}
