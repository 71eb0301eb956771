/**
 * Records → Append Block bodies (pure). A blob's lines are packed into as few blocks as fit
 * the block limit, never splitting a line across blocks; a line that alone exceeds the
 * limit can never be stored and is rejected as RECORD_TOO_LARGE.
 */
import type { RejectedRecord, SinkRecord } from '../sink.js';
import { linesOf } from '../layout/lines.js';

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
  let current: SinkRecord[] = [];
  let size = 0;
  const flush = (): void => {
    if (current.length === 0) return;
    blocks.push({ body: linesOf(current), records: current });
    current = [];
    size = 0;
  };
  for (const record of records) {
    // Sizes are counted, and the block's bytes made once per block: no buffer per line.
    const lineBytes = Buffer.byteLength(record.json, 'utf8') + 1;
    if (lineBytes > maxBlockBytes) {
      tooLarge.push({ record, code: 'RECORD_TOO_LARGE', reason: `the record is ${lineBytes} bytes as a JSON line; an append block holds at most ${maxBlockBytes} bytes` });
      continue;
    }
    if (size + lineBytes > maxBlockBytes) flush();
    current.push(record);
    size += lineBytes;
  }
  flush();
  return { blocks, tooLarge };
}
