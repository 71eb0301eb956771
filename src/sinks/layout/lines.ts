/**
 * Records as JSON Lines (Azure Monitor's blob format: one common-schema object per line,
 * no outer array) grouped by the file they belong to.
 */
import { categoryName } from '../../events/routing.js';
import type { CategoryName } from '../../events/routing.js';
import { hasCode, InsightLogsError } from '../../errors.js';
import type { RejectedRecord, SinkRecord } from '../sink.js';
import { blobNameFor } from './path.js';

/** The JSON Lines of some records as one buffer (one join, not a string per line). */
export function linesOf(records: readonly SinkRecord[]): Buffer {
  const jsons = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) jsons[i] = records[i]!.json;
  return Buffer.from(jsons.join('\n') + '\n', 'utf8');
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
 * path parts are unsafe are set aside as PATH_UNSAFE rejections with the reason.
 */
export function groupByFile(batch: readonly SinkRecord[]): GroupedBatch {
  const groups = new Map<string, FileGroup>();
  const rejected: RejectedRecord[] = [];
  for (const record of batch) {
    let blobName: string;
    try {
      blobName = blobNameFor(record.event);
    } catch (error) {
      if (!hasCode(error, 'PATH_UNSAFE')) throw error;
      rejected.push({ record, code: 'PATH_UNSAFE', reason: (error as InsightLogsError).message });
      continue;
    }
    const category = categoryName(record.event.category);
    const key = `${category}\u0000${blobName}`;
    let group = groups.get(key);
    if (!group) {
      group = { category, blobName, records: [] };
      groups.set(key, group);
    }
    group.records.push(record);
  }
  return { groups: [...groups.values()], rejected };
}
