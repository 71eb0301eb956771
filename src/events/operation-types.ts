/** The 19 workflow operation types of Customer Insights diagnostics (docs/design.md, "Event schemas"). */
export const OPERATION_TYPES = [
  'Ingestion', 'DataPreparation', 'Map', 'Match', 'Merge', 'ProfileStore', 'Search', 'Activity',
  'AttributeMeasures', 'EntityMeasures', 'Measures', 'Segmentation', 'Enrichment', 'Intelligence',
  'AiBuilder', 'Insights', 'Export', 'ModelManagement', 'Relationship',
] as const;

export type OperationType = (typeof OPERATION_TYPES)[number];

export type WorkflowPhase = 'Workflow' | 'Task';
export type WorkflowStage = 'Started' | 'Completed';

const OPERATION_TYPE_SET: ReadonlySet<string> = new Set(OPERATION_TYPES);

export function isOperationType(value: string): value is OperationType {
  return OPERATION_TYPE_SET.has(value);
}

/** `{OperationType}.{Workflow|Task}{Started|Completed}`, e.g. `Segmentation.TaskCompleted`. */
export function workflowOperationName(type: OperationType, phase: WorkflowPhase, stage: WorkflowStage): string {
  return `${type}.${phase}${stage}`;
}

const WORKFLOW_OPERATION_NAME = /^([A-Za-z]+)\.(Workflow|Task)(Started|Completed)$/;

/** Parses a workflow operationName; undefined when it is not one of the 19 × 4 valid names. */
export function parseWorkflowOperationName(
  name: string,
): { type: OperationType; phase: WorkflowPhase; stage: WorkflowStage } | undefined {
  const match = WORKFLOW_OPERATION_NAME.exec(name);
  if (!match || !isOperationType(match[1]!)) return undefined;
  return { type: match[1] as OperationType, phase: match[2] as WorkflowPhase, stage: match[3] as WorkflowStage };
}
