/**
 * Converts between the records avsc produces (nulls for unset optional fields, class
 * instances) and plain event objects (optional fields absent). Output formats require
 * "optional fields absent when unset".
 */
import type avro from 'avsc';

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

/** Turns one decoded (non-null) value of a type into its plain form; undefined means "as it is". */
type Converter = ((value: unknown) => unknown) | undefined;

const generic: Converter = (value) => withoutNulls(value);

/**
 * `withoutNulls` specialised to one Avro type, worked out once from the schema: the same
 * result (same keys in the same order, so the same JSON), without asking every value what it
 * is. Strings, numbers, enums and arrays or maps of them are kept as they are (a decoded
 * value is never shared); records copy their set fields in schema order. Anything unusual
 * (wrapped unions, unions of several non-null types) falls back to `withoutNulls`.
 */
export function plainConverter(type: avro.Type): (value: unknown) => unknown {
  const convert = converterFor(type);
  return (value) => (value === null || value === undefined || !convert ? value : convert(value));
}

function converterFor(type: avro.Type): Converter {
  switch (type.typeName) {
    case 'record':
    case 'error': {
      const fields = (type as avro.types.RecordType).fields.map((f) => ({ name: f.name, convert: converterFor(f.type) }));
      return (value) => {
        const record = value as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const { name, convert } of fields) {
          const v = record[name];
          if (v !== null && v !== undefined) out[name] = convert ? convert(v) : v;
        }
        return out;
      };
    }
    case 'union:unwrapped': {
      const branches = (type as avro.types.UnwrappedUnionType).types.filter((t) => t.typeName !== 'null');
      // Only null or this one type: the value (never null here) is of that type.
      return branches.length === 1 ? converterFor(branches[0]!) : generic;
    }
    case 'array': {
      const items = converterFor((type as avro.types.ArrayType).itemsType);
      return items ? (value) => (value as unknown[]).map((v) => (v === null || v === undefined ? v : items(v))) : undefined;
    }
    case 'map': {
      const values = (type as avro.types.MapType).valuesType as avro.Type;
      // Map values of a primitive type cannot be null, so the map is already plain.
      return isPrimitive(values) ? undefined : generic;
    }
    default:
      return isPrimitive(type) ? undefined : generic;
  }
}

const PRIMITIVES = new Set(['string', 'int', 'long', 'float', 'double', 'boolean', 'enum', 'bytes', 'fixed']);

/** Logical types (`logical:…`) may decode to objects (dates, decimals): they take the generic path. */
function isPrimitive(type: avro.Type): boolean {
  return PRIMITIVES.has(type.typeName);
}
