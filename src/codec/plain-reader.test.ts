import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { hasCode } from '../errors.js';
import { buildApiEvent, buildWorkflowEvent } from '../events/builders.js';
import { kindOf, type InsightEvent } from '../events/types.js';
import { TrafficGenerator } from '../simulate/traffic.js';
import { packageRoot } from '../util/package-root.js';
import { AvroCursor, compilePlainReader } from './plain-reader.js';
import { plainConverter } from './plain.js';
import { defaultSchemaRegistry, HEADER_LENGTH } from './schema-registry.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST-1';
const schema = (name: string): avro.Schema => JSON.parse(readFileSync(join(packageRoot(), 'schemas', `${name}.avsc`), 'utf8')) as avro.Schema;

/** Simulator traffic plus events with every optional field, awkward strings and map keys. */
function sampleEvents(): InsightEvent[] {
  const traffic = new TrafficGenerator({ seed: 7, errorRate: 0.3, workflowShare: 0.4 });
  const events: InsightEvent[] = Array.from({ length: 400 }, () => traffic.next());
  events.push(
    buildApiEvent({
      resourceId: RID, operationName: 'Segments.UpdateSegmentAsync', method: 'PATCH', status: 200,
      time: '2026-01-31T12:34:56.1234567Z', durationMs: 2 ** 40, path: '/api/segments/1', uri: 'https://ci.example.test/api/segments/1?x="1"',
      callerIpAddress: '203.0.113.9', userAgent: 'ua/1 "quoted" \\ \u2028 \u0001 é 😀 \ud800', origin: 'https://app.example.test',
      // Integer-like map keys: JSON.stringify puts them first; the compiled reader must too.
      identity: { Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin', '', 'Contri"butor'] }, Claims: { upn: 'a@example.test', 10: 'ten', 2: 'two', '': 'empty key' } },
      tenantId: 't-1', tenantName: 'Contoso', callerObjectId: 'obj-1', instanceId: 'inst-1', level: 'Critical',
    }),
    buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 404, identity: { Claims: {} } } as Parameters<typeof buildApiEvent>[0]),
    buildWorkflowEvent({
      resourceId: RID, operationType: 'Enrichment', phase: 'Task', stage: 'Completed', workflowJobId: 'job-1', resultType: 'Failure',
      time: '2026-01-31T12:00:00Z', durationMs: 0, level: 'Error', instanceId: 'inst-1', error: 'line1\nline2\t"x"',
      additionalInfo: { Kind: 'Enrichment', AffectedEntities: ['Customer', 'Contact'], MessageCode: 'E42', entityCount: 3_000_000_000 },
    }),
    buildWorkflowEvent({ resourceId: RID, operationType: 'Map', phase: 'Task', stage: 'Completed', workflowJobId: 'j', resultType: 'Successful', additionalInfo: { AffectedEntities: [] } }),
  );
  // Avro carries what the business rules refuse (negative ints): the reader must still read it right.
  const run = buildWorkflowEvent({ resourceId: RID, operationType: 'Map', phase: 'Workflow', stage: 'Completed', workflowJobId: 'j', resultType: 'Successful', tasksCount: 3 });
  events.push({ ...run, properties: { ...run.properties, tasksCount: -5 } } as InsightEvent);
  return events;
}

test('the compiled reader gives the same object, key order and JSON as avsc + plainConverter', () => {
  const types = { APIEvent: avro.Type.forSchema(schema('APIEvent')), WorkflowEvent: avro.Type.forSchema(schema('WorkflowEvent')) };
  const api = compilePlainReader(types.APIEvent);
  const workflow = compilePlainReader(types.WorkflowEvent);
  assert.ok(api && workflow, 'both schemas compile');
  const readers = { APIEvent: api, WorkflowEvent: workflow };
  let checked = 0;
  for (const event of sampleEvents()) {
    const kind = kindOf(event);
    const body = types[kind].toBuffer(event);
    const expected = plainConverter(types[kind])(types[kind].fromBuffer(body));
    const cursor = new AvroCursor(body, 0);
    const actual = readers[kind](cursor);
    assert.equal(cursor.pos, body.length, 'reads the whole body');
    assert.deepEqual(actual, expected);
    assert.equal(JSON.stringify(actual), JSON.stringify(expected));
    assert.deepEqual(Object.keys(actual), Object.keys(expected as object), 'same key order');
    checked++;
  }
  assert.ok(checked > 400);
});

test('registry.decode: every truncation of a message is DECODE_FAILED, never another error or a wrong event', () => {
  const registry = defaultSchemaRegistry();
  for (const event of sampleEvents().slice(-5)) {
    const message = registry.encode(kindOf(event), event);
    const type = avro.Type.forSchema(schema(kindOf(event)));
    assert.deepEqual(registry.decode(message).event, plainConverter(type)(type.fromBuffer(message.subarray(HEADER_LENGTH))));
    for (let end = HEADER_LENGTH; end < message.length; end++) {
      assert.throws(() => registry.decode(message.subarray(0, end)), (err) => hasCode(err, 'DECODE_FAILED'), `cut at ${end} of ${message.length}`);
    }
    assert.throws(() => registry.decode(Buffer.concat([message, Buffer.from([0])])), /trailing data/);
  }
});

test('registry.decode: a corrupted body is DECODE_FAILED or what avsc reads from it', () => {
  const registry = defaultSchemaRegistry();
  const message = registry.encode('APIEvent', sampleEvents().at(-5)!);
  const apiType = avro.Type.forSchema(schema('APIEvent'));
  let failures = 0;
  for (let i = HEADER_LENGTH; i < message.length; i++) {
    for (const byte of [0x00, 0x7f, 0xff, 0x13]) {
      const corrupt = Buffer.from(message);
      corrupt[i] = byte;
      let avscReads: unknown;
      try {
        avscReads = plainConverter(apiType)(apiType.fromBuffer(corrupt.subarray(HEADER_LENGTH)));
      } catch {
        avscReads = undefined;
      }
      try {
        const { event } = registry.decode(corrupt);
        // Where both read something, it is the same thing (avsc reads bad enum indexes as
        // undefined and skips such keys; the compiled reader refuses them).
        assert.deepEqual(event, avscReads, `byte ${i} = ${byte}`);
      } catch (err) {
        assert.ok(hasCode(err, 'DECODE_FAILED'), `byte ${i} = ${byte}: ${(err as Error).message}`);
        failures++;
      }
    }
  }
  assert.ok(failures > 0);
});

test('a bad enum index, union branch or oversized long is an error, not undefined', () => {
  const type = avro.Type.forSchema({
    type: 'record', name: 'R', fields: [
      { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } },
      { name: 'u', type: ['null', 'long'], default: null },
    ],
  });
  const read = compilePlainReader(type)!;
  const run = (bytes: number[]): unknown => read(new AvroCursor(Buffer.from(bytes), 0));
  assert.deepEqual(run([2, 2, 6]), { e: 'B', u: 3 });
  assert.throws(() => run([4, 0]), /enum index 2 out of range/);
  assert.throws(() => run([0, 4]), /union branch 2 does not exist/);
  assert.throws(() => run([0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /precision loss/);
});

test('records with two arrays or maps, and nested records, compile and read right', () => {
  const type = avro.Type.forSchema({
    type: 'record', name: 'R', fields: [
      { name: 'a', type: { type: 'array', items: 'string' } },
      { name: 'b', type: { type: 'array', items: 'long' } },
      { name: 'm', type: { type: 'map', values: 'boolean' } },
      { name: 'n', type: { type: 'map', values: 'int' } },
      { name: 'r', type: ['null', { type: 'record', name: 'S', fields: [{ name: 'e', type: { type: 'enum', name: 'E', symbols: ['X', 'Y'] } }, { name: 'f', type: { type: 'enum', name: 'F', symbols: ['P', 'Q'] } }] }] },
    ],
  });
  const value = { a: ['x', 'y'], b: [1, -2, 2 ** 50], m: { t: true, f: false }, n: { 3: 3, '-1': -1 }, r: { e: 'Y', f: 'P' } };
  const read = compilePlainReader(type);
  assert.ok(read);
  assert.deepEqual(read(new AvroCursor(type.toBuffer(value), 0)), value);
});

test('types it does not compile (unions of several types, records in arrays) leave the schema to avsc', () => {
  assert.equal(compilePlainReader(avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'u', type: ['null', 'string', 'long'] }] })), undefined);
  assert.equal(compilePlainReader(avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: { type: 'array', items: { type: 'record', name: 'V', fields: [] } } }] })), undefined);
  assert.equal(compilePlainReader(avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'd', type: 'double' }] })), undefined);
});
