import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATION_TYPES, parseWorkflowOperationName, workflowOperationName } from './operation-types.js';

test('the 19 operation types of docs/design.md, in order', () => {
  assert.deepEqual([...OPERATION_TYPES], [
    'Ingestion', 'DataPreparation', 'Map', 'Match', 'Merge', 'ProfileStore', 'Search', 'Activity',
    'AttributeMeasures', 'EntityMeasures', 'Measures', 'Segmentation', 'Enrichment', 'Intelligence',
    'AiBuilder', 'Insights', 'Export', 'ModelManagement', 'Relationship',
  ]);
});

test('19 × 4 distinct operation names, each parsing back to its parts', () => {
  const names = new Set<string>();
  for (const type of OPERATION_TYPES) {
    for (const phase of ['Workflow', 'Task'] as const) {
      for (const stage of ['Started', 'Completed'] as const) {
        const name = workflowOperationName(type, phase, stage);
        assert.equal(name, `${type}.${phase}${stage}`);
        assert.deepEqual(parseWorkflowOperationName(name), { type, phase, stage });
        names.add(name);
      }
    }
  }
  assert.equal(names.size, 76);
});

test('names outside the 19 × 4 do not parse', () => {
  for (const bad of ['Unknown.TaskStarted', 'Export.TaskFinished', 'Export.JobStarted', 'export.TaskStarted', 'Export.TaskStarted ', ' Export.TaskStarted', 'Export', '']) {
    assert.equal(parseWorkflowOperationName(bad), undefined, JSON.stringify(bad));
  }
});
