import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blobNameFor } from '../sinks/layout/path.js';
import { parseFilters } from '../tail/filter.js';
import {
  categoriesOf, containersFor, globAllowsPrefix, hourPrefix, hoursInRange, MAX_HOURS, resourceIdOfFolder, resourceScopeOf, scopeAllowsFolder, scopeMatchesResource,
} from './plan.js';

const RID = '/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/CONTOSO-1';
const FOLDER = `resourceId=${RID}/`;

describe('hoursInRange', () => {
  test('every UTC hour that overlaps [since, until), oldest first', () => {
    const hours = hoursInRange(Date.parse('2026-02-28T22:30:00Z'), Date.parse('2026-03-01T01:00:00Z'));
    assert.deepEqual(hours.map((h) => `${h.year}-${h.month}-${h.day}T${h.hour}`), ['2026-02-28T22', '2026-02-28T23', '2026-03-01T00']);
    assert.equal(hours[0]!.startMs, Date.parse('2026-02-28T22:00:00Z'));
  });

  test('an until inside an hour includes that hour; a one-millisecond range is one hour', () => {
    assert.equal(hoursInRange(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-01T01:00:00.001Z')).length, 2);
    assert.equal(hoursInRange(Date.parse('2026-01-01T05:59:59.999Z'), Date.parse('2026-01-01T06:00:00Z')).length, 1);
    assert.equal(hoursInRange(Date.parse('2024-02-29T00:00:00Z'), Date.parse('2024-03-01T00:00:00Z')).length, 24, 'a leap day');
  });

  test('the hour prefix is the folder the sinks write that hour into', () => {
    const [hour] = hoursInRange(Date.parse('2026-07-04T09:15:00Z'), Date.parse('2026-07-04T09:16:00Z'));
    const written = blobNameFor({ resourceId: RID, time: '2026-07-04T09:59:00.1234567Z' });
    assert.equal(hourPrefix(FOLDER, hour!), written.slice(0, written.lastIndexOf('/') + 1));
  });

  test('an empty or reversed range, and more than ten years, are clear errors', () => {
    assert.throws(() => hoursInRange(10, 10), /--until .* must be later than --since/);
    assert.throws(() => hoursInRange(Date.parse('2026-01-02T00:00:00Z'), Date.parse('2026-01-01T00:00:00Z')), /must be later/);
    assert.throws(() => hoursInRange(0, (MAX_HOURS + 1) * 3_600_000), /more than ten years/);
  });
});

describe('category → container', () => {
  test('--category picks the containers of those categories that the archive has', () => {
    const both = { audit: 'logs-a', operational: 'logs-o' };
    assert.deepEqual(containersFor(both, categoriesOf('all')), [{ container: 'logs-a', category: 'audit' }, { container: 'logs-o', category: 'operational' }]);
    assert.deepEqual(containersFor(both, categoriesOf('Audit')), [{ container: 'logs-a', category: 'audit' }]);
    assert.deepEqual(containersFor({ operational: 'logs-o' }, categoriesOf('audit')), [], 'a destination that takes operational only');
    assert.throws(() => categoriesOf('security'), /--category: "security" is not one of audit, operational, all/);
  });
});

describe('resourceId narrowing', () => {
  test('no positive resourceId filter: every resource folder', () => {
    assert.deepEqual(resourceScopeOf(parseFilters(['method=DELETE', `resourceId!=${RID}`])), { kind: 'all' });
  });

  test('an exact resourceId goes straight to its (upper-case) folder', () => {
    assert.deepEqual(resourceScopeOf(parseFilters([`resourceId=${RID.toLowerCase()}`])), { kind: 'exact', folder: FOLDER });
  });

  test('an exact resourceId no path can hold: nothing to list, with the reason', () => {
    const scope = resourceScopeOf(parseFilters(['resourceId=/SUBSCRIPTIONS/../X']));
    assert.equal(scope.kind, 'none');
    assert.match((scope as { reason: string }).reason, /"\.\."/);
  });

  test('a glob walks only the folders that can lead to a match', () => {
    const scope = resourceScopeOf(parseFilters(['resourceId=/SUBSCRIPTIONS/S1/*/INSTANCES/contoso-?']));
    assert.equal(scope.kind, 'glob');
    assert.ok(scopeAllowsFolder(scope, 'resourceId=/'));
    assert.ok(scopeAllowsFolder(scope, 'resourceId=/SUBSCRIPTIONS/'));
    assert.ok(scopeAllowsFolder(scope, 'resourceId=/SUBSCRIPTIONS/S1/'));
    assert.ok(!scopeAllowsFolder(scope, 'resourceId=/SUBSCRIPTIONS/S2/'), 'another subscription is never listed');
    assert.ok(scopeAllowsFolder(scope, 'resourceId=/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/'));
    assert.ok(scopeMatchesResource(scope, FOLDER), 'case-insensitive: folders are upper case');
    assert.ok(!scopeMatchesResource(scope, `resourceId=${RID}0/`));
    assert.equal(resourceIdOfFolder(FOLDER), RID);
  });
});

describe('globAllowsPrefix', () => {
  test('true exactly when some completion of the prefix matches', () => {
    assert.ok(globAllowsPrefix('/A/*/C', '/A/'));
    assert.ok(globAllowsPrefix('/A/*/C', '/A/XYZ/'));
    assert.ok(globAllowsPrefix('/A/?/C', '/A/B'));
    assert.ok(!globAllowsPrefix('/A/?/C', '/A/BB'));
    assert.ok(!globAllowsPrefix('/A/*', '/B'));
    assert.ok(globAllowsPrefix('*X', 'anything'));
    assert.ok(globAllowsPrefix('abc', ''));
    assert.ok(!globAllowsPrefix('abc', 'abcd'));
  });
});
