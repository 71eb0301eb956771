/**
 * Records as JSON Lines (Azure Monitor's blob format: one common-schema object per line,
 * no outer array) grouped by the file they belong to.
 */
import { categoryName } from '../../events/routing.js';
import type { CategoryName } from '../../events/routing.js';
import { hasCode, InsightLogsError } from '../../errors.js';
import type { RejectedRecord, SinkRecord } from '../sink.js';
import { fileNameFor, hourFolderOfKey, hourKeyOf, resourceIdPrefix } from './path.js';

/**
 * `before` + the records' JSON joined by `between` + `after`, as UTF-8, each piece written
 * straight into one buffer: no joined string of the whole chunk (megabytes, allocated in the
 * old generation) to encode again. 4× cheaper per record than join + Buffer.from (bench/what-changed.md).
 * The separators are ASCII.
 */
export function joinedJson(records: readonly SinkRecord[], between: string, before = '', after = ''): Buffer {
  let size = before.length + after.length + Math.max(0, records.length - 1) * between.length;
  for (const r of records) size += Buffer.byteLength(r.json, 'utf8');
  const out = Buffer.allocUnsafe(size);
  let at = out.write(before, 0, 'latin1');
  for (let i = 0; i < records.length; i++) {
    if (i > 0) at += out.write(between, at, 'latin1');
    at += out.write(records[i]!.json, at, 'utf8');
  }
  out.write(after, at, 'latin1');
  return out;
}

/** The JSON Lines of some records (each line ends with a newline) as one buffer. */
export function linesOf(records: readonly SinkRecord[]): Buffer {
  return joinedJson(records, '\n', '', records.length > 0 ? '\n' : '');
}

/** The records bound for one blob (or file), in batch order. */
export interface FileGroup {
  category: CategoryName;
  /** Blob name relative to the container, without continuation part. */
  blobName: string;
  records: SinkRecord[];
}

export interface GroupedBatch {
  groups: FileGroup[];
  rejected: RejectedRecord[];
}

/**
 * Groups a batch by (category, blob name), keeping each group in batch order; records whose
 * path parts are unsafe are set aside as PATH_UNSAFE rejections with the reason. Groups are
 * found by the resource's (cached) prefix and the hour's number, so no string is built per
 * record; a blob name is built once per group.
 */
export function groupByFile(batch: readonly SinkRecord[]): GroupedBatch {
  const byPrefix = new Map<string, Map<number, FileGroup>>();
  const groups: FileGroup[] = [];
  const rejected: RejectedRecord[] = [];
  for (const record of batch) {
    let prefix: string;
    let hour: number;
    try {
      prefix = resourceIdPrefix(record.event.resourceId);
      hour = hourKeyOf(record.event.time);
    } catch (error) {
      if (!hasCode(error, 'PATH_UNSAFE')) throw error;
      rejected.push({ record, code: 'PATH_UNSAFE', reason: (error as InsightLogsError).message });
      continue;
    }
    const category = categoryName(record.event.category);
    // Two categories per hour: the key's last digit.
    const key = hour * 10 + (category === 'audit' ? 1 : 2);
    let hours = byPrefix.get(prefix);
    if (!hours) byPrefix.set(prefix, (hours = new Map()));
    let group = hours.get(key);
    if (!group) {
      group = { category, blobName: `${prefix}/${hourFolderOfKey(hour)}/${fileNameFor(0)}`, records: [] };
      hours.set(key, group);
      groups.push(group);
    }
    group.records.push(record);
  }
  return { groups, rejected };
}
