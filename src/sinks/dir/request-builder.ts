/**
 * Records → file appends (pure): the blob layout under a local folder, one buffer per file,
 * each final path resolved and checked to stay inside the folder (belt and braces: the
 * layout already validated every segment).
 */
import path from 'node:path';
import { topicFor } from '../../events/routing.js';
import { InsightLogsError } from '../../errors.js';
import { groupByFile, linesOf } from '../layout/lines.js';
import type { RejectedRecord, SinkRecord } from '../sink.js';

export interface FileAppend {
  /** Absolute path inside the root. */
  file: string;
  body: Buffer;
  records: SinkRecord[];
}

/** `root/<container>/<blob name>` resolved; PATH_UNSAFE when it would leave `root`. */
export function filePathFor(root: string, container: string, blobName: string): string {
  const resolvedRoot = path.resolve(root);
  const file = path.resolve(resolvedRoot, container, ...blobName.split('/'));
  if (!file.startsWith(resolvedRoot + path.sep)) throw new InsightLogsError('PATH_UNSAFE', `the file for ${blobName} would be outside ${resolvedRoot}`);
  return file;
}

export function buildFileAppends(root: string, batch: readonly SinkRecord[]): { appends: FileAppend[]; rejected: RejectedRecord[] } {
  const { groups, rejected } = groupByFile(batch);
  const appends: FileAppend[] = [];
  for (const group of groups) {
    let file: string;
    try {
      file = filePathFor(root, topicFor(group.category), group.blobName);
    } catch (error) {
      for (const record of group.records) rejected.push({ record, code: 'PATH_UNSAFE', reason: (error as Error).message });
      continue;
    }
    appends.push({ file, body: linesOf(group.records), records: group.records });
  }
  return { appends, rejected };
}
