/** The field lists of fields.ts are the schemas' fields: this fails when one changes without the other. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';
import {
  ADDITIONAL_INFO_FIELDS, API_FIELDS, API_PROPERTIES, AUTHORIZATION_FIELDS, WORKFLOW_FIELDS, WORKFLOW_PROPERTIES,
  type ApiField, type PropertyField, type WorkflowField,
} from './fields.js';
import type { AdditionalInfo, ApiEvent, ApiProperties, Identity, WorkflowEvent, WorkflowProperties } from './types.js';

interface AvroField { name: string; type: unknown }

function schema(kind: string): AvroField[] {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'schemas', `${kind}.avsc`), 'utf8')) as { fields: AvroField[] }).fields;
}

/** The record inside a field's type (`["null", {record}]` or `{record}`). */
function recordOf(fields: AvroField[], name: string): AvroField[] {
  const type = fields.find((f) => f.name === name)?.type;
  const record = (Array.isArray(type) ? type : [type]).find((t): t is { fields: AvroField[] } => typeof t === 'object' && t !== null && 'fields' in t);
  assert.ok(record, `field ${name} is a record`);
  return record.fields;
}

const names = (fields: AvroField[]): string[] => fields.map((f) => f.name);

test('APIEvent.avsc has exactly the API fields, properties and authorization fields, in order', () => {
  const api = schema('APIEvent');
  assert.deepEqual(names(api), [...API_FIELDS]);
  assert.deepEqual(names(recordOf(api, 'properties')), [...API_PROPERTIES]);
  assert.deepEqual(names(recordOf(recordOf(api, 'identity'), 'Authorization')), [...AUTHORIZATION_FIELDS]);
});

test('WorkflowEvent.avsc has exactly the workflow fields, properties and additionalInfo fields, in order', () => {
  const workflow = schema('WorkflowEvent');
  assert.deepEqual(names(workflow), [...WORKFLOW_FIELDS]);
  const properties = recordOf(workflow, 'properties');
  assert.deepEqual(names(properties), [...WORKFLOW_PROPERTIES]);
  assert.deepEqual(names(recordOf(properties, 'additionalInfo')), [...ADDITIONAL_INFO_FIELDS]);
});

// The TypeScript types agree too: these lines stop compiling when they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const typesAgree: [
  Same<keyof ApiEvent, ApiField>,
  Same<keyof WorkflowEvent, WorkflowField>,
  Same<keyof ApiProperties | keyof WorkflowProperties, PropertyField>,
  Same<keyof NonNullable<Identity['Authorization']>, (typeof AUTHORIZATION_FIELDS)[number]>,
  Same<keyof AdditionalInfo, (typeof ADDITIONAL_INFO_FIELDS)[number]>,
] = [true, true, true, true, true];

test('the TypeScript event types have the same fields', () => {
  assert.ok(typesAgree.every(Boolean));
});
