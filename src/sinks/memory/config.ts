/** Settings of the in-memory sink (tests and demos): which store, and injected trouble. */
import { assertKnownKeys, optionalInteger, optionalString } from '../../config/settings.js';

export interface MemorySettings {
  /** Name of the in-process store records land in (default: the destination name). */
  store?: string;
  /** The first N sends answer `retryable` (a flaky destination). */
  retryableTimes?: number;
  /** retry-after the flaky answers carry. */
  retryAfterMs?: number;
  /** Every send takes this long (a slow destination). */
  delayMs?: number;
  /** Records whose JSON is longer are rejected with RECORD_TOO_LARGE. */
  maxRecordBytes?: number;
}

const KEYS = ['store', 'retryableTimes', 'retryAfterMs', 'delayMs', 'maxRecordBytes'] as const;

export function parseMemorySettings(raw: Record<string, unknown>, path: string): MemorySettings {
  assertKnownKeys(raw, KEYS, path);
  const out: MemorySettings = {};
  const store = optionalString(raw.store, `${path}.store`);
  if (store !== undefined) out.store = store;
  const retryableTimes = optionalInteger(raw.retryableTimes, `${path}.retryableTimes`, { min: 0 });
  if (retryableTimes !== undefined) out.retryableTimes = retryableTimes;
  const retryAfterMs = optionalInteger(raw.retryAfterMs, `${path}.retryAfterMs`, { min: 0 });
  if (retryAfterMs !== undefined) out.retryAfterMs = retryAfterMs;
  const delayMs = optionalInteger(raw.delayMs, `${path}.delayMs`, { min: 0 });
  if (delayMs !== undefined) out.delayMs = delayMs;
  const maxRecordBytes = optionalInteger(raw.maxRecordBytes, `${path}.maxRecordBytes`, { min: 1 });
  if (maxRecordBytes !== undefined) out.maxRecordBytes = maxRecordBytes;
  return out;
}
