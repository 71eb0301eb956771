/**
 * Pure: records → Log Analytics rows → upload chunks. One row per record, flat columns with
 * the official CIEvents tables' names and types (`columns.ts`, the one list), each value
 * within the service's 64 KB per field, chunks bounded so one upload call stays within the
 * Logs Ingestion API's 1 MB per call.
 */
import { categoryName } from '../../events/routing.js';
import type { InsightEvent } from '../../events/types.js';
import type { SinkRecord } from '../sink.js';
import { TABLE_FOR_CATEGORY, columnValue, columnsOf, setValueAt, COLUMNS, type TableName } from './columns.js';

/** One row of a DCR stream (`Custom-CIEventsAudit_CL` …). Absent fields are left out (null in the table). */
export type LogAnalyticsRow = Record<string, string | number>;

/**
 * The Logs Ingestion API accepts at most 1 MB per call, compressed and uncompressed ("Azure
 * Monitor service limits", Logs Ingestion API). The SDK measures a chunk as the sum of its
 * rows' JSON sizes below 1,000,000 bytes; a chunk whose whole JSON array stays within this
 * bound is never split again by the SDK, so one chunk is exactly one HTTP request, and the
 * uncompressed body stays under 1 MB whatever gzip does.
 */
export const MAX_CHUNK_BYTES = 1_000_000;

/**
 * "Fields longer than 64 KB are truncated" by the service, silently. We cut first, at
 * 64,000 bytes of UTF-8 (under 64 KB however KB is counted, and under 64 K characters),
 * with a visible marker, and count it (`truncatedValues`, metric
 * `insight_logs_truncated_values_total`): a reader sees that the value is incomplete, and
 * the row — an audit record — still lands. The whole record stays in the topic (and in any
 * blob/dir/Kafka destination, which have no such limit).
 */
export const MAX_FIELD_BYTES = 64_000;

export function truncationMarker(originalBytes: number): string {
  return `…[truncated by insight-logs: ${originalBytes} bytes]`;
}

/** The value cut to `maxBytes` of UTF-8 with the marker, on a character boundary; unchanged when it fits. */
export function truncateValue(value: string, maxBytes = MAX_FIELD_BYTES): { value: string; truncated: boolean } {
  // Fast path: one UTF-16 unit is at most 3 bytes of UTF-8 (an astral pair is 4 bytes for 2 units).
  if (value.length * 3 <= maxBytes) return { value, truncated: false };
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= maxBytes) return { value, truncated: false };
  const marker = truncationMarker(bytes.length);
  let end = maxBytes - Buffer.byteLength(marker, 'utf8');
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is cut in half.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { value: bytes.subarray(0, end).toString('utf8') + marker, truncated: true };
}

/** The table a record's row goes to. */
export function tableOf(event: InsightEvent): TableName {
  return TABLE_FOR_CATEGORY[categoryName(event.category)];
}

export interface BuiltRow {
  row: LogAnalyticsRow;
  /** Columns whose value was cut to MAX_FIELD_BYTES. */
  truncated: string[];
}

export function buildRow(event: InsightEvent, table: TableName = tableOf(event)): BuiltRow {
  // Only the fields the event has: a missing required field must reach the service as
  // missing (and be refused there), never as a made-up empty value.
  const row: LogAnalyticsRow = {};
  const truncated: string[] = [];
  for (const column of columnsOf(table)) {
    const value = columnValue(column, event);
    if (value === undefined) continue;
    if (typeof value === 'string') {
      const cut = truncateValue(value);
      if (cut.truncated) truncated.push(column.name);
      row[column.name] = cut.value;
    } else {
      row[column.name] = value as number;
    }
  }
  return { row, truncated };
}

export function toRow(event: InsightEvent, table?: TableName): LogAnalyticsRow {
  return buildRow(event, table).row;
}

/**
 * The inverse of `toRow` (tests and tools reading rows back): the common-schema object.
 * Derived columns (Audience, UserPrincipalName) are skipped: their claims come back with Claims.
 */
export function rowToEvent(row: Record<string, unknown>): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const column of COLUMNS) {
    const value = row[column.name];
    if (value === undefined || value === null || column.derived) continue;
    let decoded: unknown = value;
    if (column.encoding === 'json' && typeof value === 'string') {
      try {
        decoded = JSON.parse(value);
      } catch {
        // truncated JSON: keep the text
      }
    }
    setValueAt(event, column.source, decoded);
  }
  return event;
}

export function rowBytes(row: LogAnalyticsRow): number {
  return Buffer.byteLength(JSON.stringify(row), 'utf8');
}

export interface UploadChunk {
  rows: LogAnalyticsRow[];
  records: SinkRecord[];
  /** Size of the JSON array `[row,row,…]`, before compression. */
  bytes: number;
}

export interface ChunkPlan {
  chunks: UploadChunk[];
  /** Records whose row alone exceeds the chunk bound: the service would refuse them whatever we do. */
  tooLarge: { record: SinkRecord; bytes: number }[];
  /** Values cut to MAX_FIELD_BYTES, over all rows (each also named in `truncatedColumns`). */
  truncatedValues: number;
  truncatedColumns: Set<string>;
}

/** Packs records into chunks of at most `maxBytes` of JSON each, keeping their order. */
export function planChunks(records: readonly SinkRecord[], maxBytes = MAX_CHUNK_BYTES): ChunkPlan {
  const chunks: UploadChunk[] = [];
  const tooLarge: ChunkPlan['tooLarge'] = [];
  const truncatedColumns = new Set<string>();
  let truncatedValues = 0;
  let current: UploadChunk = { rows: [], records: [], bytes: 2 };
  for (const record of records) {
    const { row, truncated } = buildRow(record.event);
    const size = rowBytes(row);
    if (size + 2 > maxBytes) {
      tooLarge.push({ record, bytes: size });
      continue;
    }
    truncatedValues += truncated.length;
    for (const c of truncated) truncatedColumns.add(c);
    const added = size + (current.rows.length > 0 ? 1 : 0);
    if (current.bytes + added > maxBytes) {
      chunks.push(current);
      current = { rows: [], records: [], bytes: 2 };
    }
    current.bytes += size + (current.rows.length > 0 ? 1 : 0);
    current.rows.push(row);
    current.records.push(record);
  }
  if (current.rows.length > 0) chunks.push(current);
  return { chunks, tooLarge, truncatedValues, truncatedColumns };
}

/** Splits a chunk in two halves (after the service refused it), sizes recomputed. */
export function halves(chunk: UploadChunk): [UploadChunk, UploadChunk] {
  const middle = Math.ceil(chunk.rows.length / 2);
  const part = (from: number, to: number): UploadChunk => {
    const rows = chunk.rows.slice(from, to);
    return { rows, records: chunk.records.slice(from, to), bytes: 2 + rows.reduce((sum, r) => sum + rowBytes(r), 0) + Math.max(0, rows.length - 1) };
  };
  return [part(0, middle), part(middle, chunk.rows.length)];
}
