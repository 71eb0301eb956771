/**
 * Splits records into sink-sized chunks: at most `maxRecords` records and `maxBytes` of JSON
 * each, never mixing categories (a sink send carries one category). Order is kept within a
 * category. A single record above `maxBytes` travels alone; the sink rejects it if it must.
 */
import type { SinkRecord } from '../sinks/sink.js';

export interface ChunkLimits {
  maxRecords: number;
  maxBytes: number;
}

// 2,000 records (about 1.7 MB of JSON): each chunk costs a sink round trip (fsync, append, send) and a
// commit, so larger chunks are cheaper per record; 500 left the forwarder idle a third of the time (bench/RESULTS.md).
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxRecords: 2000, maxBytes: 4 * 1024 * 1024 };

export function chunkRecords(records: readonly SinkRecord[], limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): SinkRecord[][] {
  const byCategory = new Map<string, SinkRecord[]>();
  for (const r of records) {
    const list = byCategory.get(r.event.category);
    if (list) list.push(r);
    else byCategory.set(r.event.category, [r]);
  }
  const chunks: SinkRecord[][] = [];
  for (const list of byCategory.values()) {
    let current: SinkRecord[] = [];
    let bytes = 0;
    for (const r of list) {
      // +1 for the newline most formats put between records.
      const size = Buffer.byteLength(r.json) + 1;
      if (current.length > 0 && (current.length >= limits.maxRecords || bytes + size > limits.maxBytes)) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      current.push(r);
      bytes += size;
    }
    if (current.length) chunks.push(current);
  }
  return chunks;
}
