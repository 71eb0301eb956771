import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { InsightLogsError } from '../errors.js';
import { buildApiEvent, buildWorkflowEvent } from '../events/builders.js';
import type { InsightEvent } from '../events/types.js';
import { packageRoot } from '../util/package-root.js';
import { crc64Avro } from './crc64-avro.js';
import { MAGIC } from './schema-registry.js';
import { fingerprintBytes } from './crc64-avro.js';
import { HEADER_LENGTH, SchemaRegistry, defaultSchemaRegistry } from './schema-registry.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST-1';
const schemaFile = (name: string): { fields: object[] } & Record<string, unknown> =>
  JSON.parse(readFileSync(join(packageRoot(), 'schemas', `${name}.avsc`), 'utf8')) as { fields: object[] } & Record<string, unknown>;

const fullApi = (): InsightEvent => buildApiEvent({
  resourceId: RID, operationName: 'Segments.UpdateSegmentAsync', method: 'PATCH', status: 200,
  time: '2026-01-31T12:34:56.1234567Z', durationMs: 87, path: '/api/segments/1', uri: 'https://ci.example.test/api/segments/1?x=1',
  callerIpAddress: '203.0.113.9', userAgent: 'ua/1', origin: 'https://app.example.test',
  identity: { Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin', 'Contributor'] }, Claims: { upn: 'a@example.test', oid: '42' } },
  tenantId: 't-1', tenantName: 'Contoso', callerObjectId: 'obj-1', instanceId: 'inst-1', level: 'Critical',
});
const minimalApi = (): InsightEvent => buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 200, time: '2026-01-31T12:00:00Z' });
const fullWorkflowTask = (): InsightEvent => buildWorkflowEvent({
  resourceId: RID, operationType: 'Enrichment', phase: 'Task', stage: 'Completed', workflowJobId: 'job-1', resultType: 'Failure',
  time: '2026-01-31T12:00:00Z', durationMs: 5000, level: 'Error', instanceId: 'inst-1',
  startTimestamp: '2026-01-31T11:59:55Z', endTimestamp: '2026-01-31T12:00:00Z', submittedTimestamp: '2026-01-31T11:59:50Z',
  identifier: 'enrich-1', friendlyName: 'Enrich', error: 'boom',
  additionalInfo: { Kind: 'Enrichment', AffectedEntities: ['Customer', 'Contact'], MessageCode: 'E42', entityCount: 3_000_000_000 },
});
const fullWorkflowRun = (): InsightEvent => buildWorkflowEvent({
  resourceId: RID, operationType: 'Ingestion', phase: 'Workflow', stage: 'Completed', workflowJobId: 'job-2', resultType: 'Successful',
  time: '2026-01-31T12:00:00Z', durationMs: 1, tasksCount: 4, submittedBy: 'svc', workflowType: 'full', workflowSubmissionKind: 'OnDemand',
  workflowStatus: 'Successful', startTimestamp: '2026-01-31T11:00:00Z', endTimestamp: '2026-01-31T12:00:00Z', submittedTimestamp: '2026-01-31T10:59:00Z',
});
const minimalWorkflow = (): InsightEvent => buildWorkflowEvent({ resourceId: RID, operationType: 'Map', phase: 'Task', stage: 'Started', workflowJobId: 'j', resultType: 'Running', time: '2026-01-31T12:00:00Z' });

function expectCode(code: string): (err: unknown) => boolean {
  return (err: unknown) => err instanceof InsightLogsError && err.code === code;
}

describe('single-object encoding', () => {
  const registry = defaultSchemaRegistry();

  test('header: C3 01 then the little-endian CRC-64-AVRO of the canonical form', () => {
    for (const kind of ['APIEvent', 'WorkflowEvent'] as const) {
      const buf = registry.encode(kind, kind === 'APIEvent' ? minimalApi() : minimalWorkflow());
      assert.deepEqual([...buf.subarray(0, 2)], [0xc3, 0x01]);
      assert.equal(buf.readBigUInt64LE(2), crc64Avro(registry.canonicalForm(kind)));
      assert.equal(buf.subarray(2, 10).toString('hex'), registry.fingerprint(kind));
    }
  });

  test('canonical form strips docs and defaults and uses full names', () => {
    const form = registry.canonicalForm('APIEvent');
    assert.ok(form.startsWith('{"name":"com.insightlogs.events.APIEvent","type":"record","fields":['));
    assert.ok(!form.includes('"doc"') && !form.includes('"default"') && !form.includes(' '));
  });

  const cases: [string, 'APIEvent' | 'WorkflowEvent', () => InsightEvent][] = [
    ['APIEvent, every optional field set', 'APIEvent', fullApi],
    ['APIEvent, no optional field set', 'APIEvent', minimalApi],
    ['WorkflowEvent task, every optional field set', 'WorkflowEvent', fullWorkflowTask],
    ['WorkflowEvent run, every optional field set', 'WorkflowEvent', fullWorkflowRun],
    ['WorkflowEvent, no optional field set', 'WorkflowEvent', minimalWorkflow],
  ];
  for (const [name, kind, make] of cases) {
    test(`round trip: ${name}`, () => {
      const event = make();
      const decoded = registry.decode(registry.encode(kind, event));
      assert.equal(decoded.kind, kind);
      assert.deepEqual(decoded.event, event);
    });
  }

  test('messages cut from the encoding slab stay intact: many in a row, one larger than a slab, a failed encode in between', () => {
    const events: InsightEvent[] = [];
    for (let i = 0; i < 400; i++) {
      const e = fullApi() as unknown as { properties: { userAgent: string } };
      // Sizes from a few bytes to 200 KB: some fill a slab's end, one needs a slab of its own.
      e.properties.userAgent = 'u'.repeat(i === 150 ? 200_000 : (i * 37) % 3000);
      events.push(e as unknown as InsightEvent);
    }
    const messages = events.map((e, i) => {
      if (i === 77) assert.throws(() => registry.encode('APIEvent', { ...minimalApi(), durationMs: 'x' } as unknown as InsightEvent));
      return registry.encode('APIEvent', e);
    });
    messages.forEach((m, i) => assert.deepEqual(registry.decode(m).event, events[i], `message ${i}`));
  });

  test('a value that does not fit the schema is EVENT_INVALID naming the field', () => {
    const e = minimalApi() as unknown as { durationMs: unknown };
    e.durationMs = 'long';
    assert.throws(() => registry.encode('APIEvent', e as unknown as InsightEvent), (err: unknown) => expectCode('EVENT_INVALID')(err) && /durationMs/.test((err as Error).message));
  });
});

describe('decoding errors', () => {
  const registry = defaultSchemaRegistry();
  const good = registry.encode('APIEvent', fullApi());

  test('unknown fingerprint → SCHEMA_UNKNOWN_FINGERPRINT', () => {
    const bad = Buffer.from(good);
    bad.writeBigUInt64LE(0x0123456789abcdefn, 2);
    assert.throws(() => registry.decode(bad), (err: unknown) => expectCode('SCHEMA_UNKNOWN_FINGERPRINT')(err) && /efcdab8967452301/.test((err as Error).message));
  });

  test('missing marker, short header, truncated body, garbage and trailing bytes → DECODE_FAILED', () => {
    const inputs: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['no marker', Buffer.concat([Buffer.from([0x00, 0x01]), good.subarray(2)])],
      ['header only, cut', good.subarray(0, 6)],
      ['truncated body', good.subarray(0, good.length - 5)],
      ['header only', good.subarray(0, HEADER_LENGTH)],
      ['garbage body', Buffer.concat([good.subarray(0, HEADER_LENGTH), Buffer.from('ffffffffffffffffffff', 'hex')])],
      ['trailing bytes', Buffer.concat([good, Buffer.from([0x00, 0x01, 0x02])])],
      ['JSON', Buffer.from('{"time":"x"}')],
    ];
    for (const [name, buf] of inputs) assert.throws(() => registry.decode(buf), expectCode('DECODE_FAILED'), name);
  });
});

describe('schema evolution', () => {
  test('a reader whose schema adds an optional field reads messages written with the current schema', () => {
    const current = schemaFile('APIEvent');
    const newer = { ...current, fields: [...current.fields, { name: 'exampleNewField', type: ['null', 'string'], default: null }] };
    const writer = defaultSchemaRegistry();
    const reader = new SchemaRegistry([newer, schemaFile('WorkflowEvent')], [current]);
    assert.notEqual(reader.fingerprint('APIEvent'), writer.fingerprint('APIEvent'));

    const event = fullApi();
    const decoded = reader.decode(writer.encode('APIEvent', event));
    assert.equal(decoded.kind, 'APIEvent');
    assert.deepEqual(decoded.event, event, 'the new field is absent (its default, null)');

    // Without the older writer schema the same message is a clear error, not a crash.
    const strict = new SchemaRegistry([newer, schemaFile('WorkflowEvent')]);
    assert.throws(() => strict.decode(writer.encode('APIEvent', event)), expectCode('SCHEMA_UNKNOWN_FINGERPRINT'));
  });

  test('a message written with the newer schema carries the new field for a newer reader', () => {
    const current = schemaFile('APIEvent');
    const newer = { ...current, fields: [...current.fields, { name: 'exampleNewField', type: ['null', 'string'], default: null }] };
    const reader = new SchemaRegistry([newer, schemaFile('WorkflowEvent')]);
    const event = { ...fullApi(), exampleNewField: 'c-1' } as unknown as InsightEvent;
    assert.equal((reader.decode(reader.encode('APIEvent', event)).event as unknown as { exampleNewField: string }).exampleNewField, 'c-1');
    // Sanity check that avsc itself agrees the two schemas are compatible.
    assert.doesNotThrow(() => avro.Type.forSchema(newer as avro.Schema).createResolver(avro.Type.forSchema(current as avro.Schema)));
  });
});

describe('the real history: v1 records (before correlationId and AffectedTables) still decode', () => {
  const history = (name: string): object => JSON.parse(readFileSync(join(packageRoot(), 'schemas', 'history', `${name}.v1.avsc`), 'utf8')) as object;
  /** A message exactly as a v1 producer wrote it. */
  function v1Message(name: 'APIEvent' | 'WorkflowEvent', value: object): Buffer {
    const type = avro.Type.forSchema(history(name) as avro.Schema);
    return Buffer.concat([MAGIC, fingerprintBytes(JSON.stringify(type.schema())), type.toBuffer(value)]);
  }

  test('a v1 API event decodes with the current reader, correlationId absent', () => {
    const event = fullApi() as unknown as Record<string, unknown>;
    const { correlationId: _dropped, ...v1 } = event;
    const decoded = defaultSchemaRegistry().decode(v1Message('APIEvent', v1));
    assert.equal(decoded.kind, 'APIEvent');
    assert.deepEqual(decoded.event, v1);
    assert.ok(!('correlationId' in decoded.event));
  });

  test('a v1 task event with AffectedEntities / entityCount reads as AffectedTables / tableCount', () => {
    const event = fullWorkflowTask() as unknown as Record<string, any>;
    const { correlationId: _dropped, ...rest } = event;
    const v1 = { ...rest, properties: { ...event.properties, additionalInfo: { Kind: 'Enrichment', AffectedEntities: ['Customer'], MessageCode: 'E42', entityCount: 7 } } };
    const decoded = defaultSchemaRegistry().decode(v1Message('WorkflowEvent', v1)).event as unknown as Record<string, any>;
    assert.deepEqual(decoded.properties.additionalInfo, { Kind: 'Enrichment', AffectedTables: ['Customer'], MessageCode: 'E42', tableCount: 7 });
  });

  test('the current schemas differ from v1 only by what was added (every v1 field is still read)', () => {
    for (const name of ['APIEvent', 'WorkflowEvent'] as const) {
      const reader = avro.Type.forSchema(schemaFile(name) as avro.Schema);
      assert.doesNotThrow(() => reader.createResolver(avro.Type.forSchema(history(name) as avro.Schema)), name);
    }
  });
});
