/**
 * Pure: records → Event Hubs event bodies. Azure Monitor's format for Event Hubs is one
 * UTF-8 JSON object per event, `{"records":[…]}`, with as many records as fit under the
 * hub's maximum event size. Records are grouped by partition key (the resourceId) so every
 * resource's events stay ordered on one partition.
 */
import { createHash } from 'node:crypto';
import { joinedJson } from '../layout/lines.js';
import type { SinkRecord } from '../sink.js';

const PREFIX = '{"records":[';
const SUFFIX = ']}';
/** Bytes of an event body around its records: the prefix and the suffix. */
export const BODY_FRAME_BYTES = Buffer.byteLength(PREFIX) + Buffer.byteLength(SUFFIX);

/**
 * Event Hubs partition keys are limited to 128 characters, and real resourceIds are longer
 * (subscription and instance GUIDs, resource group names): such keys become a stable digest
 * of the resourceId, which keeps one resource on one partition just the same.
 */
export const MAX_PARTITION_KEY_LENGTH = 128;

export function partitionKeyFor(resourceId: string): string {
  if (resourceId.length <= MAX_PARTITION_KEY_LENGTH) return resourceId;
  return `sha256:${createHash('sha256').update(resourceId, 'utf8').digest('base64url')}`;
}

/**
 * AMQP bytes an event adds around its body inside a batch (message annotations carrying the
 * partition key, section headers), and the batch envelope that repeats the annotations.
 * An overestimate on purpose: `tryAdd` has the final word, this only keeps bodies under it.
 */
export function eventOverheadBytes(partitionKey: string): number {
  return 2 * Buffer.byteLength(partitionKey) + 256;
}

export interface EventBody {
  partitionKey: string;
  records: SinkRecord[];
  /** `{"records":[…]}`, UTF-8. */
  body: Buffer;
}

export interface PackResult {
  bodies: EventBody[];
  /** Records whose body alone would exceed the limit: they can never be sent. */
  tooLarge: SinkRecord[];
}

/** Size of the body holding exactly `record`. */
export function singleRecordBodyBytes(record: SinkRecord): number {
  return BODY_FRAME_BYTES + Buffer.byteLength(record.json);
}

/**
 * Packs records of one partition key, in order, into as few bodies as possible, each at most
 * `maxBodyBytes` bytes.
 */
export function packBodies(partitionKey: string, records: readonly SinkRecord[], maxBodyBytes: number): PackResult {
  const bodies: EventBody[] = [];
  const tooLarge: SinkRecord[] = [];
  let current: SinkRecord[] = [];
  let currentBytes = BODY_FRAME_BYTES;
  const flush = (): void => {
    if (current.length === 0) return;
    bodies.push({ partitionKey, records: current, body: joinedJson(current, ',', PREFIX, SUFFIX) });
    current = [];
    currentBytes = BODY_FRAME_BYTES;
  };
  for (const record of records) {
    const bytes = Buffer.byteLength(record.json);
    if (BODY_FRAME_BYTES + bytes > maxBodyBytes) {
      tooLarge.push(record);
      continue;
    }
    // One more byte for the comma between records.
    if (current.length > 0 && currentBytes + 1 + bytes > maxBodyBytes) flush();
    currentBytes += bytes + (current.length > 0 ? 1 : 0);
    current.push(record);
  }
  flush();
  return { bodies, tooLarge };
}

/** Records grouped by partition key, each group in arrival order; groups in order of first appearance. */
export function groupByPartitionKey(records: readonly SinkRecord[]): Map<string, SinkRecord[]> {
  const groups = new Map<string, SinkRecord[]>();
  for (const record of records) {
    const key = partitionKeyFor(record.event.resourceId);
    const group = groups.get(key);
    if (group) group.push(record);
    else groups.set(key, [record]);
  }
  return groups;
}
