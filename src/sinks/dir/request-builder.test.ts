import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { hasCode } from '../../errors.js';
import { buildApiEvent } from '../../events/builders.js';
import { toSinkRecord } from '../../forwarder/sink-record.js';
import { buildFileAppends, filePathFor } from './request-builder.js';

const RID = '/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I1';
const rec = (i: number, resourceId = RID, method = 'GET') => {
  const e = buildApiEvent({ resourceId: RID, operationName: 'X.Y', method, status: 200, time: '2024-05-01T13:00:00Z', uri: `https://x.test/?testId=${i}`, correlationId: `c-${i}` });
  (e as { resourceId: string }).resourceId = resourceId;
  return toSinkRecord(e, { topic: 't', partition: 0, offset: String(i) });
};

test('one append per file, lines in batch order, under <root>/<container>/<blob name>', () => {
  const root = path.resolve('/tmp/out');
  const { appends, rejected } = buildFileAppends(root, [rec(1), rec(2, RID, 'POST'), rec(3)]);
  assert.equal(rejected.length, 0);
  assert.deepEqual(appends.map((a) => path.relative(root, a.file)).sort(), [
    `insight-logs-audit/resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`,
    `insight-logs-operational/resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`,
  ].map((p) => p.split('/').join(path.sep)));
  const operational = appends.find((a) => a.file.includes('operational'))!;
  assert.deepEqual(operational.body.toString().split('\n'), [rec(1).json, rec(3).json, '']);
});

test('unsafe ids are rejected and produce no file', () => {
  const { appends, rejected } = buildFileAppends('/tmp/out', [rec(1, '/A/../../../etc'), rec(2, '/A\\B'), rec(3, '/A\u2215B')]);
  assert.equal(appends.length, 0);
  assert.deepEqual(rejected.map((r) => r.code), ['PATH_UNSAFE', 'PATH_UNSAFE', 'PATH_UNSAFE']);
});

test('filePathFor refuses to leave the root even when handed a bad name', () => {
  assert.throws(() => filePathFor('/tmp/out', 'c', '../../x'), (e) => hasCode(e, 'PATH_UNSAFE'));
  assert.throws(() => filePathFor('/tmp/out', '..', '..'), (e) => hasCode(e, 'PATH_UNSAFE'));
  assert.equal(filePathFor('/tmp/out', 'c', 'a/b'), path.resolve('/tmp/out/c/a/b'));
});
