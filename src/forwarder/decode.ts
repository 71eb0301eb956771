/**
 * From message bytes to a SinkRecord, or the reason it can never be delivered: undecodable,
 * unknown writer schema, or an event that breaks the schema rules (checked with the category
 * recomputed, since the category is never trusted from the message).
 */
import { InsightLogsError, type ErrorCode } from '../errors.js';
import type { SchemaRegistry } from '../codec/schema-registry.js';
import { findProblems, formatProblems } from '../events/validate.js';
import type { SinkRecord } from '../sinks/sink.js';
import { toSinkRecord } from './sink-record.js';

export type DecodeResult = { ok: true; record: SinkRecord } | { ok: false; code: ErrorCode; reason: string };

export function decodeMessage(
  registry: SchemaRegistry,
  value: Buffer | null,
  source: { topic: string; partition: number; offset: string },
): DecodeResult {
  if (value === null || value.length === 0) return { ok: false, code: 'DECODE_FAILED', reason: 'message has no value' };
  let record: SinkRecord;
  try {
    const { event } = registry.decode(value);
    record = toSinkRecord(event, source, { owned: true });
  } catch (err) {
    if (err instanceof InsightLogsError) return { ok: false, code: err.code, reason: err.message };
    return { ok: false, code: 'DECODE_FAILED', reason: (err as Error).message };
  }
  const problems = findProblems(record.event);
  if (problems.length > 0) return { ok: false, code: 'EVENT_INVALID', reason: `invalid ${record.kind}: ${formatProblems(problems)}` };
  return { ok: true, record };
}
