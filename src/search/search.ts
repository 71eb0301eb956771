/**
 * `insight-logs search`: reads the hourly JSON Lines of a blob container or a dir
 * destination's folder back, over a time range, with tail's filters.
 *
 * What it reads: the resource folders (all, or those a `resourceId` filter allows: plan.ts),
 * then for each hour of the range and each resource the files `PT1H.json`, `PT1H-1.json` …
 * of that one hour folder, in part order. Nothing outside the range is listed: an hour folder
 * is listed on its own, or, when all 24 hours of its day are in range, with its day in one
 * flat listing (a day of one resource is then 1 list request instead of 24).
 *
 * Memory stays bounded whatever the archive's size: `concurrency` hours are read at once, each
 * as a stream of chunks cut into lines (a line is at most `MAX_LINE_BYTES`), and matches wait
 * in memory only until their hour's turn to be printed, at most `maxBufferedBytes` per hour
 * (beyond that the reader of a later hour pauses until every earlier hour is out).
 *
 * Order: hours oldest first, and the matches of one hour (every resource and container)
 * sorted by `time` (stable, so equal times keep the order they were read in). An hour whose
 * matches outgrow the buffer prints that buffer sorted, then the rest in the order read (each
 * blob in the order stored: the forwarder appends each resource's records in Kafka order,
 * which is publish order).
 */
import { setMaxListeners } from 'node:events';
import { InsightLogsError } from '../errors.js';
import type { CategoryName } from '../events/routing.js';
import type { InsightEvent } from '../events/types.js';
import type { ArchiveEntry, ArchiveReader } from '../sinks/layout/archive.js';
import { partOf, RESOURCE_ID_FOLDER } from '../sinks/layout/path.js';
import { mapInWorkerPool } from '../sinks/worker-pool.js';
import { matchesAll, type FieldFilter } from '../tail/filter.js';
import { hourPrefix, hoursInRange, scopeAllowsFolder, scopeMatchesResource, type ContainerScope, type PlannedHour, type ResourceScope } from './plan.js';

/** A line longer than this is not a record the sinks write (a blob block holds at most 4 MiB): skipped as malformed. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
const NEWLINE = 0x0a;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const DAY_MS = 86_400_000;
/** Folders listed side by side while looking for resource folders. */
const LIST_CONCURRENCY = 8;
/** Malformed lines reported one by one; the rest are only counted. */
const MAX_WARNINGS = 10;

export interface SearchStats {
  /** Resource folders found (per container). */
  resources: number;
  /** Hour folders to read: hours × containers × resources. */
  hoursPlanned: number;
  hoursRead: number;
  blobs: number;
  bytes: number;
  lines: number;
  matches: number;
  /** Lines that are not a JSON object with a valid `time`, or longer than MAX_LINE_BYTES. */
  malformed: number;
  /** Unterminated last lines that are not a whole record: a write in progress (dir) or a torn line. */
  partialLines: number;
}

export function newSearchStats(): SearchStats {
  return { resources: 0, hoursPlanned: 0, hoursRead: 0, blobs: 0, bytes: 0, lines: 0, matches: 0, malformed: 0, partialLines: 0 };
}

export interface SearchOptions {
  reader: ArchiveReader;
  containers: readonly ContainerScope[];
  /** Records with `time` in [sinceMs, untilMs). */
  sinceMs: number;
  untilMs: number;
  filters: readonly FieldFilter[];
  /** Where resource folders are looked for (plan.ts resourceScopeOf). */
  resourceScope: ResourceScope;
  /** Records of these categories only; checked on records of a container whose category is unknown. */
  categories: readonly CategoryName[];
  /** Stop after this many matches. */
  max?: number;
  /** Hour folders read at once (default 8: storage round trips, not the CPU, bound a blob search). */
  concurrency?: number;
  /** Matches of one hour kept to sort them before their turn (default 8 MiB of JSON). */
  maxBufferedBytes?: number;
  /** Called once per match, in output order. */
  write(event: InsightEvent): void;
  /** A malformed line or a missing container, for stderr. */
  warn(message: string): void;
  /** Filled in as the search goes (a progress display reads it). */
  stats?: SearchStats;
  /** Called once the hour folders to read are known (stats.hoursPlanned set), before reading. */
  onPlanned?(stats: SearchStats): void;
  abortSignal?: AbortSignal;
}

interface HourTask {
  scope: ContainerScope;
  resourceFolder: string;
  hour: PlannedHour;
}

interface Match {
  timeMs: number;
  event: InsightEvent;
}

/** One hour's place in the output order: the matches of every resource folder of that hour. */
class HourSlot {
  buffered: Match[] = [];
  bytes = 0;
  /** Hour folders of this hour still being read. */
  pending = 0;
  /** Every hour folder of this hour has been handed out. */
  sealed = false;
  /** Its buffer is out and later matches go straight to the output. */
  streaming = false;
  /** Readers paused on a full buffer until this hour is the first one not yet printed. */
  headWaiters: (() => void)[] = [];
  constructor(readonly startMs: number) {}
  get done(): boolean {
    return this.sealed && this.pending === 0;
  }
}

/** Folders below `resourceId=/` that hold hours (`y=…` sub-folders) and that the scope asks for, in name order. */
export async function findResourceFolders(reader: ArchiveReader, container: string, scope: ResourceScope, abortSignal?: AbortSignal): Promise<string[]> {
  if (scope.kind === 'none') return [];
  if (scope.kind === 'exact') return [scope.folder];
  const found: string[] = [];
  let level = [`${RESOURCE_ID_FOLDER}/`];
  while (level.length > 0) {
    const listings = await mapInWorkerPool(level, LIST_CONCURRENCY, async (folder) => ({ folder, listing: await reader.list(container, folder, abortSignal) }));
    const next: string[] = [];
    for (const { folder, listing } of listings) {
      const subFolders = listing.folders.map((f) => ({ f, last: f.slice(folder.length) }));
      if (subFolders.some((s) => s.last.startsWith('y=')) && scopeMatchesResource(scope, folder)) found.push(folder);
      // A resourceId segment never contains "=", so `y=` folders are hours, never a deeper resource.
      for (const s of subFolders) if (!s.last.includes('=') && scopeAllowsFolder(scope, s.f)) next.push(s.f);
    }
    level = next;
  }
  return found.sort();
}

/** The common-schema fields every record has and the output formats rely on. */
const REQUIRED_STRINGS = ['resourceId', 'operationName', 'category', 'resultType', 'level'] as const;

/**
 * Why a parsed line is not a record that can be printed, or undefined. Deliberately the
 * schema's skeleton only, not the full validator: archives outlive schema versions, and a
 * record written by an older forwarder must still be found.
 */
export function shapeProblem(record: InsightEvent): string | undefined {
  for (const field of REQUIRED_STRINGS) if (typeof record[field] !== 'string') return `not a log record ("${field}" is not a string)`;
  const properties = record.properties as unknown;
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return 'not a log record ("properties" is not an object)';
  if ((properties as { eventType?: unknown }).eventType === 'WorkflowEvent' && typeof (properties as { workflowJobId?: unknown }).workflowJobId !== 'string') {
    return 'not a log record (a workflow event without "properties.workflowJobId")';
  }
  return undefined;
}

/** Runs a search to the end (or to `max`, or until aborted); resolves with the counts. */
export async function runSearch(options: SearchOptions): Promise<SearchStats> {
  const stats = options.stats ?? newSearchStats();
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const hours = hoursInRange(options.sinceMs, options.untilMs);
  const internal = new AbortController();
  // Every request of the storage SDK listens on the signal: many at once are expected here.
  setMaxListeners(0, internal.signal);
  /** Set by --max, a failure or the caller's abort: nothing more is printed or read. */
  let stopped = false;
  const onAbort = (): void => {
    stopped = true;
    internal.abort();
  };
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  if (options.abortSignal?.aborted) onAbort();
  const signal = internal.signal;
  const hints = options.filters.flatMap((f) => f.lineHints).sort((a, b) => b.length - a.length);
  /** The longest hint, searched for in the raw bytes (hints are ASCII, so a byte match is a character match). */
  const firstHint = hints.length > 0 ? Buffer.from(hints[0]!, 'utf8') : undefined;
  const wanted = new Set<string>(options.categories);
  let warnings = 0;
  const malformed = (where: string, problem: string): void => {
    stats.malformed++;
    if (warnings++ < MAX_WARNINGS) options.warn(`${where}: ${problem}`);
  };

  try {
    // Which containers exist, and the resource folders of each.
    const perContainer: { scope: ContainerScope; folders: string[] }[] = [];
    for (const scope of options.containers) {
      if (!(await options.reader.containerExists(scope.container, signal))) {
        options.warn(`container ${scope.container} does not exist at ${options.reader.location}: nothing of ${scope.category ?? 'its records'} to search there`);
        continue;
      }
      const folders = await findResourceFolders(options.reader, scope.container, options.resourceScope, signal);
      stats.resources += folders.length;
      perContainer.push({ scope, folders });
    }
    if (perContainer.length === 0 && options.containers.length > 0) {
      throw new InsightLogsError('CONFIG_INVALID', `--from: none of the containers ${options.containers.map((c) => c.container).join(', ')} exists at ${options.reader.location}`);
    }
    stats.hoursPlanned = hours.length * perContainer.reduce((n, c) => n + c.folders.length, 0);
    options.onPlanned?.(stats);

    function* tasks(): Generator<HourTask> {
      for (const hour of hours) for (const { scope, folders } of perContainer) for (const resourceFolder of folders) yield { scope, resourceFolder, hour };
    }

    // Output in plan order: a window of slots, the first one is the head.
    const window: HourSlot[] = [];
    const maxWindow = concurrency * 2;
    let spaceWaiters: (() => void)[] = [];
    const emit = (event: InsightEvent): void => {
      if (stopped) return;
      stats.matches++;
      options.write(event);
      if (options.max !== undefined && stats.matches >= options.max) {
        stopped = true;
        internal.abort();
      }
    };
    const flush = (slot: HourSlot): void => {
      // Array.prototype.sort is stable: equal times keep their stored order.
      slot.buffered.sort((a, b) => a.timeMs - b.timeMs);
      for (const m of slot.buffered) emit(m.event);
      slot.buffered = [];
      slot.bytes = 0;
    };
    const startStreaming = (slot: HourSlot): void => {
      if (slot.streaming) return;
      flush(slot);
      slot.streaming = true;
    };
    const drain = (): void => {
      while (window.length > 0 && window[0]!.done) {
        const slot = window.shift()!;
        if (!slot.streaming) flush(slot);
      }
      const head = window[0];
      if (head && head.headWaiters.length > 0) {
        startStreaming(head);
        const waiters = head.headWaiters;
        head.headWaiters = [];
        for (const w of waiters) w();
      }
      const waiters = spaceWaiters;
      spaceWaiters = [];
      for (const w of waiters) w();
    };
    /** Keeps or prints a match; resolves when the reader may go on (a full buffer waits for its turn). */
    const add = (slot: HourSlot, match: Match, bytes: number): Promise<void> | undefined => {
      if (slot.streaming) {
        emit(match.event);
        return undefined;
      }
      slot.buffered.push(match);
      slot.bytes += bytes;
      if (slot.bytes <= maxBufferedBytes) return undefined;
      if (window[0] === slot) {
        startStreaming(slot);
        return undefined;
      }
      return new Promise<void>((resolve) => slot.headWaiters.push(resolve));
    };

    const scanLine = (task: HourTask, slot: HourSlot, line: string, where: () => string): Promise<void> | undefined => {
      for (const hint of hints) if (!line.includes(hint)) return undefined;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (error) {
        if (line.trim() === '') return undefined;
        malformed(where(), `not JSON (${(error as Error).message})`);
        return undefined;
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        malformed(where(), 'not a JSON object');
        return undefined;
      }
      const event = record as InsightEvent;
      const timeMs = typeof event.time === 'string' ? Date.parse(event.time) : Number.NaN;
      if (Number.isNaN(timeMs)) {
        malformed(where(), 'no valid "time"');
        return undefined;
      }
      if (timeMs < options.sinceMs || timeMs >= options.untilMs) return undefined;
      const problem = shapeProblem(event);
      if (problem) {
        malformed(where(), problem);
        return undefined;
      }
      if (task.scope.category === undefined && !wanted.has(event.category.toLowerCase())) return undefined;
      if (!matchesAll(options.filters, event)) return undefined;
      return add(slot, { timeMs, event }, line.length);
    };

    /** Reads one blob (its first `size` bytes) line by line, from raw chunks: only candidate lines are decoded. */
    const scanBlob = async (task: HourTask, slot: HourSlot, name: string, size: number): Promise<void> => {
      const container = task.scope.container;
      let carry: Buffer = Buffer.alloc(0);
      let lineNo = 0;
      let skippingLongLine = false;
      const where = (): string => `${container}/${name}:${lineNo}`;
      /** Counts the lines that end in [from, to): every newline there. */
      const skipLines = (region: Buffer, from: number, to: number): void => {
        for (let nl = region.indexOf(NEWLINE, from); nl >= 0 && nl < to; nl = region.indexOf(NEWLINE, nl + 1)) {
          lineNo++;
          stats.lines++;
        }
      };
      /** The lines of `region`, which ends with a newline. */
      const scanRegion = async (region: Buffer): Promise<void> => {
        let pos = 0;
        if (skippingLongLine) {
          // The rest of a line already counted as too long.
          pos = region.indexOf(NEWLINE) + 1;
          skippingLongLine = false;
        }
        while (pos < region.length) {
          let lineStart = pos;
          if (firstHint) {
            // Only lines holding the first hint are decoded: the rest are counted as bytes.
            const at = region.indexOf(firstHint, pos);
            if (at < 0) {
              skipLines(region, pos, region.length);
              return;
            }
            lineStart = region.lastIndexOf(NEWLINE, at) + 1;
            skipLines(region, pos, lineStart);
          }
          const lineEnd = region.indexOf(NEWLINE, lineStart);
          lineNo++;
          stats.lines++;
          const waiting = scanLine(task, slot, region.toString('utf8', lineStart, lineEnd), where);
          if (waiting) await waiting;
          if (stopped) return;
          pos = lineEnd + 1;
        }
      };
      stats.blobs++;
      for await (const chunk of options.reader.read(container, name, size, signal)) {
        if (stopped) return;
        stats.bytes += chunk.length;
        const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
        const lastNewline = data.lastIndexOf(NEWLINE);
        if (lastNewline >= 0) {
          await scanRegion(data.subarray(0, lastNewline + 1));
          if (stopped) return;
        }
        carry = data.subarray(lastNewline + 1);
        if (carry.length > MAX_LINE_BYTES) {
          if (!skippingLongLine) {
            lineNo++;
            stats.lines++;
            malformed(where(), `line longer than ${MAX_LINE_BYTES} bytes, skipped`);
          }
          carry = Buffer.alloc(0);
          skippingLongLine = true;
        }
      }
      if (skippingLongLine) return;
      const last = carry.toString('utf8');
      if (last.trim() === '') return;
      // No newline at the end: a record a writer is still appending (dir sink) or one torn by a
      // crash. A whole object (some writers omit the last newline) is a record; anything else
      // is counted, not warned about: the next search reads it whole.
      lineNo++;
      stats.lines++;
      let whole = false;
      try {
        const parsed: unknown = JSON.parse(last);
        whole = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
      } catch {
        whole = false;
      }
      if (!whole) {
        stats.partialLines++;
        return;
      }
      const waiting = scanLine(task, slot, last, where);
      if (waiting) await waiting;
    };

    // A day whose 24 hours are all in range is listed once, flat (one request instead of 24);
    // its listing is kept until each of its hours has taken its files.
    const days = new Map<string, { files: Promise<ArchiveEntry[]>; hoursLeft: number }>();
    const filesOfHour = async (task: HourTask, prefix: string): Promise<ArchiveEntry[]> => {
      const dayStartMs = task.hour.startMs - (task.hour.startMs % DAY_MS);
      if (dayStartMs < options.sinceMs || dayStartMs + DAY_MS > options.untilMs) {
        return (await options.reader.list(task.scope.container, prefix, signal)).files;
      }
      // The resourceId has no "=", so the first "/h=" starts the hour: what precedes it is the day folder.
      const dayPrefix = prefix.slice(0, prefix.indexOf('/h=') + 1);
      const key = `${task.scope.container}\u0000${dayPrefix}`;
      let day = days.get(key);
      if (!day) {
        day = { files: options.reader.listFiles(task.scope.container, dayPrefix, signal), hoursLeft: 24 };
        days.set(key, day);
      }
      if (--day.hoursLeft === 0) days.delete(key);
      return (await day.files).filter((f) => f.name.startsWith(prefix) && !f.name.includes('/', prefix.length));
    };

    const runTask = async (task: HourTask, slot: HourSlot): Promise<void> => {
      const prefix = hourPrefix(task.resourceFolder, task.hour);
      const files = await filesOfHour(task, prefix);
      const parts = files
        .map((f) => ({ ...f, part: partOf(f.name.slice(prefix.length)) }))
        .filter((f): f is typeof f & { part: number } => f.part !== undefined)
        .sort((a, b) => a.part - b.part);
      for (const blob of parts) {
        if (stopped) return;
        await scanBlob(task, slot, blob.name, blob.size);
      }
      stats.hoursRead++;
    };

    const iterator = tasks();
    let failure: unknown;
    /** The slot of the hour being handed out (the last one in the window). */
    let current: HourSlot | undefined;
    /** The next hour folder and its slot, or undefined at the end; one hand-out at a time, so slots enter the window in plan order. */
    const takeTask = async (): Promise<{ task: HourTask; slot: HourSlot } | undefined> => {
      if (stopped) return undefined;
      const next = iterator.next();
      if (next.done) {
        if (current && !current.sealed) {
          current.sealed = true;
          drain();
        }
        return undefined;
      }
      if (current?.startMs !== next.value.hour.startMs) {
        // A new hour: wait for room in the window, so read-ahead stays bounded.
        if (current) current.sealed = true;
        drain();
        while (!stopped && window.length >= maxWindow) await new Promise<void>((resolve) => spaceWaiters.push(resolve));
        if (stopped) return undefined;
        current = new HourSlot(next.value.hour.startMs);
        window.push(current);
      }
      current.pending++;
      return { task: next.value, slot: current };
    };
    let handout: Promise<unknown> = Promise.resolve();
    const take = (): Promise<{ task: HourTask; slot: HourSlot } | undefined> => {
      const taken = handout.then(takeTask);
      handout = taken.catch(() => undefined);
      return taken;
    };
    const worker = async (): Promise<void> => {
      for (;;) {
        const taken = await take();
        if (!taken) return;
        const { task, slot } = taken;
        try {
          await runTask(task, slot);
        } catch (error) {
          if (!stopped) {
            failure ??= error;
            stopped = true;
            internal.abort();
          }
        } finally {
          slot.pending--;
          drain();
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    // Waiters parked for window space or their turn are released by drain(); wake any left.
    for (const w of spaceWaiters) w();
    if (failure !== undefined) throw failure;
    return stats;
  } finally {
    options.abortSignal?.removeEventListener('abort', onAbort);
  }
}
