/**
 * The blob layout Azure Monitor uses for resource logs, shared by the blob and dir sinks:
 *
 *   <container>/resourceId=<RESOURCEID upper case>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json
 *
 * Path parts come from event fields, so they are validated here on their own (defence in
 * depth: the event validator may change, a message may bypass it). The name is built only
 * from validated segments, so no record can write outside its own `resourceId=` prefix.
 */
import { InsightLogsError } from '../../errors.js';
import { topicFor, type CategoryName } from '../../events/routing.js';
import type { Category } from '../../events/types.js';
import { utcHourKey, utcHourOf, type UtcHour } from '../../events/utc-time.js';

export const MAX_RESOURCE_ID_PATH_LENGTH = 512;
/** The only characters a resourceId may use in a path: ASCII letters, digits and `._()/-`. */
const SAFE_CHARS = /^[A-Za-z0-9._()/-]+$/;

/** Why a resourceId cannot be a path part, or undefined when it can. */
export function resourceIdPathProblem(resourceId: unknown): string | undefined {
  if (typeof resourceId !== 'string' || resourceId.length === 0) return 'resourceId is missing';
  if (resourceId.length > MAX_RESOURCE_ID_PATH_LENGTH) return `resourceId is ${resourceId.length} characters, more than ${MAX_RESOURCE_ID_PATH_LENGTH}`;
  // The specific checks come first so the reason says what was wrong; SAFE_CHARS catches the rest
  // (unicode look-alikes of "/" such as U+2215 and U+FF0F, control characters, whitespace).
  if (resourceId.includes('%')) return 'resourceId contains "%" (percent-encoding could smuggle "." or "/")';
  if (resourceId.includes('\\')) return 'resourceId contains a backslash';
  if ([...resourceId].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return 'resourceId contains a control character';
  if (/\s/.test(resourceId)) return 'resourceId contains whitespace';
  if (/[?#]/.test(resourceId)) return 'resourceId contains "?" or "#"';
  if (!SAFE_CHARS.test(resourceId)) return 'resourceId contains a character outside A-Z a-z 0-9 . _ ( ) / -';
  if (!resourceId.startsWith('/')) return 'resourceId must start with "/"';
  if (resourceId.endsWith('/') || resourceId.endsWith('.')) return 'resourceId ends with "/" or "."';
  const segments = resourceId.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return 'resourceId has an empty segment ("//")';
    if (segment === '.' || segment === '..' || segment.includes('..')) return 'resourceId has a "." or ".." segment';
    if (segment.endsWith('.')) return 'resourceId has a segment ending with "." (services trim it)';
  }
  if (resourceId.includes('./')) return 'resourceId contains "./"';
  return undefined;
}

/** The validated, upper-cased segments of a resourceId; throws PATH_UNSAFE with the reason. */
export function resourceIdSegments(resourceId: unknown): string[] {
  const problem = resourceIdPathProblem(resourceId);
  if (problem) throw new InsightLogsError('PATH_UNSAFE', problem);
  return (resourceId as string).toUpperCase().slice(1).split('/');
}

/** The UTC hour of a record's `time` (the rule of events/utc-time.ts); throws PATH_UNSAFE when it is not a valid UTC timestamp. */
export function hourOf(time: unknown): UtcHour {
  const hour = utcHourOf(time);
  if (!hour) throw timeNotUtc();
  return hour;
}

const timeNotUtc = (): InsightLogsError => new InsightLogsError('PATH_UNSAFE', 'time is not a valid ISO 8601 UTC timestamp (e.g. 2024-05-01T13:45:12.1234567Z)');

/**
 * Blob name (relative to the container) of a record. `part` > 0 names the numbered
 * continuation blob used once an hour's blob is full: `PT1H-1.json`, `PT1H-2.json` …
 */
export function blobNameFor(event: { resourceId?: unknown; time?: unknown }, part = 0): string {
  return `${resourceIdPrefix(event.resourceId)}/${hourFolderOfKey(hourKeyOf(event.time))}/${fileNameFor(part)}`;
}

/** `utcHourKey` of a record's time (YYYYMMDDHH); throws PATH_UNSAFE like `hourOf`. */
export function hourKeyOf(time: unknown): number {
  const key = typeof time === 'string' ? utcHourKey(time) : -1;
  if (key < 0) throw timeNotUtc();
  return key;
}

/** Folders of the hours seen lately, by hour key: a forwarder writes a few hours, millions of times. */
const HOUR_FOLDER_CACHE_LIMIT = 10_000;
const hourFolderCache = new Map<number, string>();

/** `hourFolder` of an hour key from `hourKeyOf`. */
export function hourFolderOfKey(key: number): string {
  let folder = hourFolderCache.get(key);
  if (folder === undefined) {
    const pad = (n: number, width: number): string => String(n).padStart(width, '0');
    folder = hourFolder({ year: pad(Math.floor(key / 1_000_000), 4), month: pad(Math.floor(key / 10_000) % 100, 2), day: pad(Math.floor(key / 100) % 100, 2), hour: pad(key % 100, 2) });
    if (hourFolderCache.size >= HOUR_FOLDER_CACHE_LIMIT) hourFolderCache.clear();
    hourFolderCache.set(key, folder);
  }
  return folder;
}

/** The folder of one hour below a resource's prefix: `y=YYYY/m=MM/d=DD/h=HH/m=00` (no slashes around it). */
export function hourFolder({ year, month, day, hour }: UtcHour): string {
  return `y=${year}/m=${month}/d=${day}/h=${hour}/m=00`;
}

/** The first folder of every blob name: `resourceId=`, followed by the resourceId's own `/SEGMENTS`. */
export const RESOURCE_ID_FOLDER = 'resourceId=';

/**
 * `resourceId=/<SEGMENTS>` of a valid resourceId. A forwarder sees few distinct resourceIds
 * and millions of records, so validated prefixes are remembered (bounded; only valid ids are
 * cached, an unsafe one is checked, and refused, every time).
 */
const PREFIX_CACHE_LIMIT = 10_000;
const prefixCache = new Map<string, string>();

export function resourceIdPrefix(resourceId: unknown): string {
  if (typeof resourceId === 'string') {
    const cached = prefixCache.get(resourceId);
    if (cached !== undefined) return cached;
  }
  const prefix = `${RESOURCE_ID_FOLDER}/${resourceIdSegments(resourceId).join('/')}`;
  if (prefixCache.size >= PREFIX_CACHE_LIMIT) prefixCache.clear();
  prefixCache.set(resourceId as string, prefix);
  return prefix;
}

/** `PT1H.json`, then `PT1H-1.json`, `PT1H-2.json` … for continuation blobs. */
export function fileNameFor(part: number): string {
  if (!Number.isInteger(part) || part < 0) throw new Error(`continuation part must be a non-negative integer, got ${part}`);
  return part === 0 ? 'PT1H.json' : `PT1H-${part}.json`;
}

/** The continuation part of a blob's file name (`PT1H.json` 0, `PT1H-3.json` 3), undefined for any other name. */
export function partOf(fileName: string): number | undefined {
  const m = /^PT1H(?:-([1-9]\d{0,8}))?\.json$/.exec(fileName);
  if (!m) return undefined;
  return m[1] === undefined ? 0 : Number(m[1]);
}

/** The continuation name of a blob name: same folder, `PT1H-<part>.json`. */
export function continuationName(blobName: string, part: number): string {
  const slash = blobName.lastIndexOf('/');
  return `${blobName.slice(0, slash + 1)}${fileNameFor(part)}`;
}

/** Container (and dir sink folder) of a category: `insight-logs-audit` / `insight-logs-operational`. */
export function defaultContainerFor(category: Category | CategoryName): string {
  return topicFor(category);
}
