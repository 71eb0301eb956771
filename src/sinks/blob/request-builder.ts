/**
 * Records → Append Block bodies (pure). A blob's lines are packed into as few blocks as fit
 * the block limit, never splitting a line across blocks; a line that alone exceeds the
 * limit can never be stored and is rejected as RECORD_TOO_LARGE.
 */
import type { RejectedRecord, SinkRecord } from '../sink.js';
import { lineOf } from '../layout/lines.js';

export interface AppendBlockBody {
  body: Buffer;
  records: SinkRecord[];
}

export interface PackedBlocks {
  blocks: AppendBlockBody[];
  tooLarge: RejectedRecord[];
}

export function packBlocks(records: readonly SinkRecord[], maxBlockBytes: number): PackedBlocks {
  const blocks: AppendBlockBody[] = [];
  const tooLarge: RejectedRecord[] = [];
  let parts: Buffer[] = [];
  let current: SinkRecord[] = [];
  let size = 0;
  const flush = (): void => {
    if (current.length === 0) return;
    blocks.push({ body: Buffer.concat(parts, size), records: current });
    parts = [];
    current = [];
    size = 0;
  };
  for (const record of records) {
    const line = Buffer.from(lineOf(record), 'utf8');
    if (line.length > maxBlockBytes) {
      tooLarge.push({ record, code: 'RECORD_TOO_LARGE', reason: `the record is ${line.length} bytes as a JSON line; an append block holds at most ${maxBlockBytes} bytes` });
      continue;
    }
    if (size + line.length > maxBlockBytes) flush();
    parts.push(line);
    current.push(record);
    size += line.length;
  }
  flush();
  return { blocks, tooLarge };
}
