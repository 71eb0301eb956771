/**
 * Pure: records → Log Analytics rows → upload chunks. One row per record, columns named the
 * way Azure Monitor names resource-log columns (PascalCase common-schema fields, `properties`
 * and `identity` as dynamic columns), chunks bounded so one upload call stays within the
 * Logs Ingestion API's 1 MB per call.
 */
import type { TopLevelField } from '../../events/fields.js';
import type { InsightEvent } from '../../events/types.js';
import type { SinkRecord } from '../sink.js';

/** One row of the DCR stream (a custom table such as CIEventsAudit_CL / CIEventsOperational_CL). Absent optional fields are left out (null in the table). */
export interface LogAnalyticsRow {
  TimeGenerated: string;
  ResourceId: string;
  OperationName: string;
  Category: string;
  ResultType: string;
  ResultSignature?: string;
  DurationMs?: number;
  CallerIpAddress?: string;
  Level: string;
  Uri?: string;
  Properties?: Record<string, unknown>;
  Identity?: Record<string, unknown>;
  [column: string]: unknown;
}

/** Common-schema field → column, in table order; every field of src/events/fields.ts, no other. */
export const COLUMN_FOR_FIELD = {
  time: 'TimeGenerated',
  resourceId: 'ResourceId',
  operationName: 'OperationName',
  category: 'Category',
  resultType: 'ResultType',
  resultSignature: 'ResultSignature',
  durationMs: 'DurationMs',
  callerIpAddress: 'CallerIpAddress',
  level: 'Level',
  uri: 'Uri',
  properties: 'Properties',
  identity: 'Identity',
} as const satisfies Record<TopLevelField, string>;

/**
 * The Logs Ingestion API accepts at most 1 MB per call. The SDK measures a chunk as the sum
 * of its rows' JSON sizes below 1,000,000 bytes; a chunk whose whole JSON array stays within
 * this bound is never split again by the SDK, so one chunk is exactly one HTTP request.
 */
export const MAX_CHUNK_BYTES = 1_000_000;

export function toRow(event: InsightEvent): LogAnalyticsRow {
  // Only the fields the event has: a missing required field must reach the service as
  // missing (and be refused there), never as a made-up empty value.
  const row: Record<string, unknown> = {};
  const source = event as unknown as Record<string, unknown>;
  for (const [field, column] of Object.entries(COLUMN_FOR_FIELD)) {
    const value = source[field];
    if (value !== undefined && value !== null) row[column] = value;
  }
  return row as LogAnalyticsRow;
}

/** The inverse of `toRow` (tests and tools reading rows back): a common-schema object. */
export function rowToEvent(row: Record<string, unknown>): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(COLUMN_FOR_FIELD)) {
    const value = row[column];
    if (value !== undefined && value !== null) event[field] = value;
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
}

/** Packs records into chunks of at most `maxBytes` of JSON each, keeping their order. */
export function planChunks(records: readonly SinkRecord[], maxBytes = MAX_CHUNK_BYTES): ChunkPlan {
  const chunks: UploadChunk[] = [];
  const tooLarge: ChunkPlan['tooLarge'] = [];
  let current: UploadChunk = { rows: [], records: [], bytes: 2 };
  for (const record of records) {
    const row = toRow(record.event);
    const size = rowBytes(row);
    if (size + 2 > maxBytes) {
      tooLarge.push({ record, bytes: size });
      continue;
    }
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
  return { chunks, tooLarge };
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
