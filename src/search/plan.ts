/**
 * What `insight-logs search` lists before it reads anything (pure): the UTC hours of the time
 * range, the containers of the categories asked for, and how far a `resourceId` filter
 * narrows the resource folders. The names come from the blob layout (src/sinks/layout/path.ts),
 * the one definition the blob and dir sinks write with.
 */
import { InsightLogsError } from '../errors.js';
import { CATEGORY_NAMES, type CategoryName } from '../events/routing.js';
import type { UtcHour } from '../events/utc-time.js';
import { hourFolder, RESOURCE_ID_FOLDER, resourceIdPathProblem, resourceIdPrefix } from '../sinks/layout/path.js';
import { globToRegExp, type FieldFilter } from '../tail/filter.js';

const HOUR_MS = 3_600_000;
/** Ten years of hours: a range beyond that is a typo (a year 20260), not a search. */
export const MAX_HOURS = 24 * 366 * 10;

/** One UTC hour of the range: its folder parts and its start. */
export interface PlannedHour extends UtcHour {
  startMs: number;
}

/** Every UTC hour that overlaps [sinceMs, untilMs), oldest first. */
export function hoursInRange(sinceMs: number, untilMs: number): PlannedHour[] {
  if (!(untilMs > sinceMs)) throw new InsightLogsError('CONFIG_INVALID', `--until (${new Date(untilMs).toISOString()}) must be later than --since (${new Date(sinceMs).toISOString()})`);
  const first = Math.floor(sinceMs / HOUR_MS);
  const last = Math.ceil(untilMs / HOUR_MS) - 1;
  if (last - first + 1 > MAX_HOURS) throw new InsightLogsError('CONFIG_INVALID', `--since/--until span ${last - first + 1} hours, more than ten years; narrow the range`);
  const hours: PlannedHour[] = [];
  for (let h = first; h <= last; h++) {
    const iso = new Date(h * HOUR_MS).toISOString();
    hours.push({ year: iso.slice(0, 4), month: iso.slice(5, 7), day: iso.slice(8, 10), hour: iso.slice(11, 13), startMs: h * HOUR_MS });
  }
  return hours;
}

/** The folder of one resource's hour: `resourceId=/…/y=YYYY/m=MM/d=DD/h=HH/m=00/`. */
export function hourPrefix(resourceFolder: string, hour: UtcHour): string {
  return `${resourceFolder}${hourFolder(hour)}/`;
}

/** One container to search, and the category it holds when known (a single container given by URL or path may hold either). */
export interface ContainerScope {
  container: string;
  category?: CategoryName;
}

/** `--category` values: one category or both. */
export function categoriesOf(value: string): CategoryName[] {
  const v = value.trim().toLowerCase();
  if (v === 'all') return [...CATEGORY_NAMES];
  if ((CATEGORY_NAMES as readonly string[]).includes(v)) return [v as CategoryName];
  throw new InsightLogsError('CONFIG_INVALID', `--category: "${value}" is not one of audit, operational, all`);
}

/** The containers of the categories asked for, among those the archive has (a destination may take one category only). */
export function containersFor(containers: Partial<Record<CategoryName, string>>, categories: readonly CategoryName[]): ContainerScope[] {
  return categories.flatMap((category) => (containers[category] === undefined ? [] : [{ container: containers[category]!, category }]));
}

/**
 * How a `resourceId` filter narrows the resource folders to list:
 * - `all`: no positive resourceId filter, every `resourceId=` folder is walked;
 * - `exact`: a filter without wildcards, its folder is known without listing;
 * - `glob`: folders are walked, and a branch is left out as soon as no resourceId below it can match.
 * Folders hold the resourceId upper-cased, so narrowing compares without case; the records
 * read are still matched by the filter itself, case-sensitively.
 */
export type ResourceScope =
  | { kind: 'all' }
  | { kind: 'exact'; folder: string }
  | { kind: 'glob'; globs: string[] }
  | { kind: 'none'; reason: string };

export function resourceScopeOf(filters: readonly FieldFilter[]): ResourceScope {
  const positive = filters.filter((f) => f.field === 'resourceId' && !f.negate);
  if (positive.length === 0) return { kind: 'all' };
  const exact = positive.find((f) => !/[*?]/.test(f.glob));
  if (exact) {
    const problem = resourceIdPathProblem(exact.glob);
    // No archive path can hold it (the sinks dead-letter such records): nothing to list.
    if (problem) return { kind: 'none', reason: `${exact.source}: ${problem}, so no archive holds it` };
    return { kind: 'exact', folder: `${resourceIdPrefix(exact.glob)}/` };
  }
  return { kind: 'glob', globs: positive.map((f) => f.glob.toUpperCase()) };
}

/** The resourceId (upper case, as in the path) of a resource folder `resourceId=/SUB/…/X/`. */
export function resourceIdOfFolder(folder: string): string {
  return folder.slice(RESOURCE_ID_FOLDER.length).replace(/\/$/, '');
}

/**
 * True when some text starting with `prefix` could match `glob` (`*` any run, `?` one
 * character): the glob is run as a set of positions over the prefix, and any position still
 * alive at the end means a completion may match.
 */
export function globAllowsPrefix(glob: string, prefix: string): boolean {
  const tokens = [...glob];
  const close = (positions: Set<number>): Set<number> => {
    // A `*` may match nothing: a position before it is also a position after it.
    const out = new Set<number>();
    const stack = [...positions];
    while (stack.length) {
      const p = stack.pop()!;
      if (out.has(p)) continue;
      out.add(p);
      if (tokens[p] === '*') stack.push(p + 1);
    }
    return out;
  };
  let positions = close(new Set([0]));
  for (const ch of prefix) {
    const next = new Set<number>();
    for (const p of positions) {
      const t = tokens[p];
      if (t === undefined) continue;
      if (t === '*') next.add(p);
      else if (t === '?' || t === ch) next.add(p + 1);
    }
    if (next.size === 0) return false;
    positions = close(next);
  }
  return true;
}

/** Whether the walk goes into `folder` (a resource folder or one of its parents) under this scope. */
export function scopeAllowsFolder(scope: ResourceScope, folder: string): boolean {
  if (scope.kind !== 'glob') return scope.kind === 'all';
  // Without its trailing slash: the folder may be the resource's own (the id ends there) or a parent.
  const partial = resourceIdOfFolder(folder);
  return scope.globs.every((g) => globAllowsPrefix(g, partial));
}

/** Whether a resource folder found by the walk is one the scope asks for. */
export function scopeMatchesResource(scope: ResourceScope, folder: string): boolean {
  if (scope.kind === 'all') return true;
  if (scope.kind === 'none') return false;
  if (scope.kind === 'exact') return folder === scope.folder;
  const id = resourceIdOfFolder(folder);
  return scope.globs.every((g) => globToRegExp(g).test(id));
}
