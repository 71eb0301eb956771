import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InsightLogsError } from '../errors.js';
import { buildApiEvent, buildWorkflowEvent } from '../events/builders.js';
import { globToRegExp, matchesAll, parseFilter, parseFilters, resolveField, valuesAt } from './filter.js';

const RID = '/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/CONTOSO-1';
const del = buildApiEvent({
  resourceId: RID, operationName: 'Segments.DeleteSegmentAsync', method: 'DELETE', status: 503, durationMs: 12, path: '/api/segments/7',
  identity: { Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin', 'Owner'] }, Claims: { name: 'adele' } },
});
const task = buildWorkflowEvent({
  resourceId: RID, operationType: 'Segmentation', phase: 'Task', stage: 'Completed', workflowJobId: 'job-1', resultType: 'Failure', identifier: 'seg-1',
});

describe('globToRegExp', () => {
  test('* and ? are wildcards, everything else literal, whole value, case-sensitive', () => {
    assert.ok(globToRegExp('Segmentation.*').test('Segmentation.TaskCompleted'));
    assert.ok(!globToRegExp('Segmentation.*').test('SegmentationXTask'.replace('X', '')), 'dot is literal');
    assert.ok(!globToRegExp('Segmentation.*').test('XSegmentation.Task'), 'anchored');
    assert.ok(globToRegExp('5??').test('503') && !globToRegExp('5??').test('5030'));
    assert.ok(!globToRegExp('delete').test('DELETE'));
    assert.ok(globToRegExp('a(b)[c]+$').test('a(b)[c]+$'));
  });
});

describe('parseFilter', () => {
  test('dotted paths and AND of several filters', () => {
    const filters = parseFilters(['properties.method=DELETE', 'level=Error', 'resultSignature=5*']);
    assert.ok(matchesAll(filters, del));
    assert.ok(!matchesAll(filters, task));
    assert.ok(matchesAll([], task), 'no filter passes everything');
  });

  test('operationName glob matches workflow events', () => {
    const f = parseFilter('operationName=Segmentation.*');
    assert.ok(f.matches(task));
    assert.ok(!f.matches(del));
  });

  test('a bare property name is shorthand for properties.<name>', () => {
    const f = parseFilter('workflowJobId=job-?');
    assert.equal(f.field, 'properties.workflowJobId');
    assert.ok(f.matches(task));
  });

  test('numbers compare as text; arrays match on any element; claims by name', () => {
    assert.ok(parseFilter('durationMs=12').matches(del));
    assert.ok(parseFilter('identity.Authorization.RequiredRoles=Own*').matches(del));
    assert.ok(parseFilter('identity.Claims.name=adele').matches(del));
    assert.ok(!parseFilter('identity.Claims.name=adele').matches(task));
  });

  test('!= negates, and matches records without the field', () => {
    const f = parseFilter('properties.method!=DELETE');
    assert.ok(!f.matches(del));
    assert.ok(f.matches(task));
  });

  test('a value may contain =', () => {
    assert.equal(parseFilter('uri=*?a=b').glob, '*?a=b');
  });

  test('unknown fields and malformed filters are CONFIG_INVALID naming the problem', () => {
    assert.throws(() => parseFilter('metod=GET'), (e: unknown) => e instanceof InsightLogsError && e.code === 'CONFIG_INVALID' && /unknown field "metod"/.test(e.message));
    assert.throws(() => resolveField('Level'), /did you mean level\?/);
    assert.throws(() => parseFilter('method'), /is not field=glob/);
    assert.throws(() => parseFilter('=x'), /is not field=glob/);
  });
});

test('valuesAt walks objects, not into strings', () => {
  assert.deepEqual(valuesAt(del, 'properties.method'), ['DELETE']);
  assert.deepEqual(valuesAt(del, 'properties.method.length'), []);
  assert.deepEqual(valuesAt(del, 'nothing.here'), []);
});

describe('lineHints (search skips lines without them before parsing)', () => {
  test('every plain run of the glob, longest first; none for a negated filter', () => {
    assert.deepEqual(parseFilter('uri=*benchId=12345').lineHints, ['benchId', '12345']);
    assert.deepEqual(parseFilter('method=DELETE').lineHints, ['DELETE']);
    assert.deepEqual(parseFilter('method!=DELETE').lineHints, []);
    assert.deepEqual(parseFilter('operationName=*').lineHints, []);
    // "/" and "+" may be escaped by some JSON writers: never part of a hint.
    assert.deepEqual(parseFilter('resourceId=/SUBSCRIPTIONS/S1').lineHints, ['SUBSCRIPTIONS', 'S1']);
  });

  test('a line holding a match always contains every hint (the JSON as the sinks write it)', () => {
    for (const text of ['method=DELETE', 'durationMs=12', 'resultSignature=50?', 'identity.Authorization.RequiredRoles=Own*', 'operationName=Segments.Delete*Async']) {
      const filter = parseFilter(text);
      assert.ok(filter.matches(del), text);
      const line = JSON.stringify(del);
      for (const hint of filter.lineHints) assert.ok(line.includes(hint), `${text}: "${hint}" not in the line`);
    }
  });
});

test('correlationId is a filter field (tail --filter correlationId=…), and additionalInfo uses the current names', () => {
  const rid = '/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I';
  const event = buildApiEvent({ resourceId: rid, operationName: 'Op', method: 'GET', status: 200, correlationId: 'req-123' });
  assert.ok(parseFilter('correlationId=req-1*').matches(event));
  assert.ok(!parseFilter('correlationId=other').matches(event));
  const task = buildWorkflowEvent({ resourceId: rid, operationType: 'Map', phase: 'Task', stage: 'Completed', workflowJobId: 'j', resultType: 'Successful', additionalInfo: { AffectedEntities: ['Customer'] } });
  assert.ok(parseFilter('properties.additionalInfo.AffectedTables=Customer').matches(task));
  assert.throws(() => parseFilter('properties.additionalInfo.AffectedEntities=Customer'), InsightLogsError);
});
