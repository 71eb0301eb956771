import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../../errors.js';
import { blobNameFor, continuationName, fileNameFor, hourFolder, hourOf, partOf, resourceIdPathProblem, resourceIdSegments } from './path.js';

const GOOD = '/subscriptions/0F1E2D3C-1111/resourceGroups/rg-1/providers/MICROSOFT.D365CUSTOMERINSIGHTS/instances/inst_1';

describe('blobNameFor', () => {
  test('upper-cases the resourceId and takes the UTC hour of time (7 fractional digits)', () => {
    assert.equal(
      blobNameFor({ resourceId: GOOD, time: '2024-02-29T23:59:59.1234567Z' }),
      'resourceId=/SUBSCRIPTIONS/0F1E2D3C-1111/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST_1/y=2024/m=02/d=29/h=23/m=00/PT1H.json',
    );
  });
  test('accepts a zero offset and no fraction', () => {
    assert.match(blobNameFor({ resourceId: GOOD, time: '2025-01-05T04:00:00+00:00' }), /\/y=2025\/m=01\/d=05\/h=04\/m=00\/PT1H\.json$/);
  });
  test('continuation parts are numbered', () => {
    assert.match(blobNameFor({ resourceId: GOOD, time: '2025-01-05T04:00:00Z' }, 2), /\/h=04\/m=00\/PT1H-2\.json$/);
    assert.equal(continuationName('a/b/PT1H.json', 1), 'a/b/PT1H-1.json');
  });
  test('rejects times that are not UTC or not real', () => {
    for (const time of ['2024-01-01T10:00:00+02:00', '2024-02-30T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T10:00:00.12345678Z', '2024-01-01', 'x', 42, undefined]) {
      assert.throws(() => hourOf(time), (e) => hasCode(e, 'PATH_UNSAFE'), String(time));
    }
  });
});

describe('hostile resourceIds are PATH_UNSAFE', () => {
  const hostile: [string, string][] = [
    ['parent segment', '/SUBSCRIPTIONS/A/../../etc'],
    ['dot segment', '/SUBSCRIPTIONS/./A'],
    ['dot slash inside', '/SUBSCRIPTIONS/A./B'],
    ['percent-encoded dot', '/SUBSCRIPTIONS/%2e%2e/A'],
    ['percent-encoded slash', '/SUBSCRIPTIONS/A%2fB'],
    ['backslash', '/SUBSCRIPTIONS/A\\..\\B'],
    ['control character', '/SUBSCRIPTIONS/A\u0000B'],
    ['newline', '/SUBSCRIPTIONS/A\nB'],
    ['query', '/SUBSCRIPTIONS/A?comp=block'],
    ['fragment', '/SUBSCRIPTIONS/A#B'],
    ['space', '/SUBSCRIPTIONS/A B'],
    ['tab', '/SUBSCRIPTIONS/A\tB'],
    ['empty segment', '/SUBSCRIPTIONS//A'],
    ['trailing slash', '/SUBSCRIPTIONS/A/'],
    ['trailing dot', '/SUBSCRIPTIONS/A.'],
    ['no leading slash', 'SUBSCRIPTIONS/A'],
    ['division slash U+2215', '/SUBSCRIPTIONS/A\u2215..\u2215B'],
    ['fullwidth solidus U+FF0F', '/SUBSCRIPTIONS/A\uFF0FB'],
    ['fullwidth dot U+FF0E', '/SUBSCRIPTIONS/\uFF0E\uFF0E/B'],
    ['non-ASCII letter', '/SUBSCRIPTIONS/Ä'],
    ['2,000 characters', `/SUBSCRIPTIONS/${'A'.repeat(2000)}`],
    ['513 characters', `/${'A'.repeat(512)}`],
    ['empty', ''],
    ['only a slash', '/'],
  ];
  for (const [name, id] of hostile) {
    test(name, () => {
      const problem = resourceIdPathProblem(id);
      assert.ok(problem, `${JSON.stringify(id)} was accepted`);
      assert.throws(() => resourceIdSegments(id), (e) => hasCode(e, 'PATH_UNSAFE') && e.message === problem);
      assert.throws(() => blobNameFor({ resourceId: id, time: '2024-01-01T00:00:00Z' }), (e) => hasCode(e, 'PATH_UNSAFE'));
    });
  }
  test('non-strings', () => {
    for (const id of [undefined, null, 42, {}, ['/A']]) assert.ok(resourceIdPathProblem(id));
  });
  test('a 512-character id of safe characters is accepted and stays under its prefix', () => {
    const id = `/${'A'.repeat(511)}`;
    assert.equal(resourceIdPathProblem(id), undefined);
    assert.ok(blobNameFor({ resourceId: id, time: '2024-01-01T00:00:00Z' }).startsWith(`resourceId=${id}/y=`));
  });
  test('every accepted id yields a name under its own prefix with no dot segments', () => {
    for (const id of [GOOD, '/A/B.C/(D)/E-F_G', '/A.B']) {
      const name = blobNameFor({ resourceId: id, time: '2024-01-01T00:00:00Z' });
      assert.ok(name.startsWith(`resourceId=${id.toUpperCase()}/y=`));
      assert.ok(!name.split('/').some((s) => s === '.' || s === '..' || s === ''));
    }
  });
});

describe('the read side of the layout (search)', () => {
  test('partOf reads back what fileNameFor writes, and nothing else', () => {
    for (const part of [0, 1, 2, 17, 49_999]) assert.equal(partOf(fileNameFor(part)), part);
    for (const other of ['PT1H-0.json', 'PT1H-01.json', 'PT1H.json.tmp', 'PT1M.json', 'pt1h.json', 'PT1H-.json', '.insight-logs-probe-1']) assert.equal(partOf(other), undefined, other);
  });

  test('hourFolder is the hour part of blobNameFor', () => {
    const name = blobNameFor({ resourceId: '/SUBSCRIPTIONS/S/INSTANCES/I', time: '2026-02-03T04:05:06Z' });
    assert.equal(hourFolder(hourOf('2026-02-03T04:05:06Z')), 'y=2026/m=02/d=03/h=04/m=00');
    assert.ok(name.includes(`/${hourFolder(hourOf('2026-02-03T04:59:59Z'))}/`));
  });
});
