/**
 * Converts between the records avsc produces (nulls for unset optional fields, class
 * instances) and plain event objects (optional fields absent). Output formats require
 * "optional fields absent when unset".
 */
export function withoutNulls<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutNulls(v)) as T;
  if (Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== null && v !== undefined) out[key] = withoutNulls(v);
  }
  return out as T;
}
