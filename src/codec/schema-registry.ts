/**
 * Avro single-object encoding (Avro spec): `C3 01`, the 8-byte little-endian CRC-64-AVRO
 * fingerprint of the writer schema's Parsing Canonical Form, then the Avro binary body.
 *
 * The registry knows the reader schema of each kind and every writer schema it may meet
 * (current and older versions); messages written with an older schema are read through an
 * avsc resolver, so readers with a newer schema read older messages.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { InsightLogsError } from '../errors.js';
import { EVENT_KINDS, type EventKind, type InsightEvent, type TypedEvent } from '../events/types.js';
import { packageRoot } from '../util/package-root.js';
import { fingerprintBytes } from './crc64-avro.js';
import { AvroBodyError, AvroCursor, compilePlainReader, type CompiledRecordReader } from './plain-reader.js';
import { plainConverter } from './plain.js';

export const MAGIC = Buffer.from([0xc3, 0x01]);
export const HEADER_LENGTH = 10;
/** Encoding slabs: room for about a hundred typical events; a new one starts below MIN_SLAB_ROOM free. */
const SLAB_SIZE = 64 * 1024;
const MIN_SLAB_ROOM = 2 * 1024;

type AvroType = avro.Type;

interface WriterEntry {
  kind: EventKind;
  writer: AvroType;
  /** Resolver from this writer to the kind's reader; undefined when writer === reader. */
  resolver: avro.Resolver | undefined;
}

/** Parsing Canonical Form: avsc's `schema()` without attributes (toString() only names the type). */
function canonical(type: AvroType): string {
  return JSON.stringify(type.schema());
}

/** The short record name (`APIEvent`, `WorkflowEvent`) of a schema, whatever its namespace. */
function kindOfSchema(type: AvroType): EventKind {
  const name = (type.name ?? '').split('.').pop();
  if (!name || !(EVENT_KINDS as readonly string[]).includes(name)) {
    throw new InsightLogsError('CONFIG_INVALID', `schema ${type.name ?? '(anonymous)'} is neither APIEvent nor WorkflowEvent`);
  }
  return name as EventKind;
}

export class SchemaRegistry {
  private readonly readers = new Map<EventKind, { type: AvroType; header: Buffer; toPlain: (value: unknown) => unknown; readPlain: CompiledRecordReader | undefined }>();
  private readonly writers = new Map<string, WriterEntry>();
  /**
   * The same writers by their fingerprint as two little-endian 32-bit halves: decode finds a
   * message's writer by reading two numbers instead of making a hex string per message.
   */
  private readonly writersByHalves: { low: number; high: number; entry: WriterEntry }[] = [];

  /** `readerSchemas`: one per kind (the newest); `olderWriterSchemas`: versions still on the topics. */
  constructor(readerSchemas: object[], olderWriterSchemas: object[] = []) {
    for (const schema of readerSchemas) {
      const type = avro.Type.forSchema(schema as avro.Schema);
      const kind = kindOfSchema(type);
      const header = Buffer.concat([MAGIC, fingerprintBytes(canonical(type))]);
      this.readers.set(kind, { type, header, toPlain: plainConverter(type), readPlain: compilePlainReader(type) });
      this.addWriter(header.subarray(2), { kind, writer: type, resolver: undefined });
    }
    for (const kind of EVENT_KINDS) {
      if (!this.readers.has(kind)) throw new InsightLogsError('CONFIG_INVALID', `no reader schema for ${kind}`);
    }
    for (const schema of olderWriterSchemas) this.addWriterSchema(schema);
  }

  /**
   * Loads this package's `schemas/*.avsc` as the readers and `schemas/history/*.avsc` (every
   * earlier version still on the topics: v1 before `correlationId` and `AffectedTables`) as
   * older writers. When a schema changes, its previous version goes into `history/`.
   */
  static fromPackage(): SchemaRegistry {
    const dir = join(packageRoot(), 'schemas');
    const load = (folder: string): object[] => readdirSync(folder).filter((f) => f.endsWith('.avsc')).sort().map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')) as object);
    return new SchemaRegistry(load(dir), load(join(dir, 'history')));
  }

  addWriterSchema(schema: object): void {
    const writer = avro.Type.forSchema(schema as avro.Schema);
    const kind = kindOfSchema(writer);
    const fingerprint = fingerprintBytes(canonical(writer));
    if (this.writers.has(fingerprint.toString('hex'))) return;
    const reader = this.readers.get(kind)!.type;
    this.addWriter(fingerprint, { kind, writer, resolver: reader.createResolver(writer) });
  }

  private addWriter(fingerprint: Buffer, entry: WriterEntry): void {
    this.writers.set(fingerprint.toString('hex'), entry);
    this.writersByHalves.push({ low: fingerprint.readUInt32LE(0), high: fingerprint.readUInt32LE(4), entry });
  }

  private writerOf(message: Buffer): WriterEntry | undefined {
    const low = message.readUInt32LE(2);
    const high = message.readUInt32LE(6);
    for (const w of this.writersByHalves) if (w.low === low && w.high === high) return w.entry;
    return undefined;
  }

  /** Fingerprint (hex of the 8 little-endian bytes) of the reader schema of a kind. */
  fingerprint(kind: EventKind): string {
    return this.readers.get(kind)!.header.subarray(2).toString('hex');
  }

  canonicalForm(kind: EventKind): string {
    return canonical(this.readers.get(kind)!.type);
  }

  /**
   * Encodes with the kind's current schema. Throws EVENT_INVALID if the value does not fit the schema.
   *
   * Messages are cut from a shared slab (as Node pools small Buffers): header and body written
   * in place, no body buffer and no concatenation per event. A message keeps its slab alive
   * until it is released; callers must not write into it.
   */
  encode(kind: EventKind, event: InsightEvent): Buffer {
    const { type, header } = this.readers.get(kind)!;
    for (;;) {
      if (this.slab.length - this.slabUsed < MIN_SLAB_ROOM) this.newSlab(SLAB_SIZE);
      const start = this.slabUsed;
      header.copy(this.slab, start);
      let end: number;
      try {
        end = type.encode(event, this.slab, start + HEADER_LENGTH);
      } catch (err) {
        const paths: string[] = [];
        type.isValid(event, { errorHook: (path: string[]) => paths.push(path.join('.')) });
        throw new InsightLogsError('EVENT_INVALID', `${kind} does not fit its Avro schema${paths.length ? ` at ${paths.join(', ')}` : ''}`, { cause: err });
      }
      if (end > start) {
        this.slabUsed = end;
        return this.slab.subarray(start, end);
      }
      // Did not fit (avsc returns minus the missing bytes): a fresh slab with room for it.
      this.newSlab(Math.max(SLAB_SIZE, this.slab.length - start - end + HEADER_LENGTH));
    }
  }

  private slab = Buffer.allocUnsafe(0);
  private slabUsed = 0;

  private newSlab(size: number): void {
    this.slab = Buffer.allocUnsafe(size);
    this.slabUsed = 0;
  }

  /** Decodes a single-object encoded message into a plain event (optional fields absent). */
  decode(message: Buffer): TypedEvent {
    if (message.length < HEADER_LENGTH || message[0] !== 0xc3 || message[1] !== 0x01) {
      throw new InsightLogsError('DECODE_FAILED', 'not an Avro single-object encoded message (missing C3 01 marker)');
    }
    const entry = this.writerOf(message);
    if (!entry) {
      const key = message.subarray(2, HEADER_LENGTH).toString('hex');
      throw new InsightLogsError('SCHEMA_UNKNOWN_FINGERPRINT', `unknown writer schema fingerprint ${key}: the message was written with a schema version this reader does not know (a newer producer?); upgrade insight-logs here to read it`);
    }
    const reader = this.readers.get(entry.kind)!;
    // Written with the current schema (nearly always): the one-pass reader. Older writers go
    // through avsc's resolver.
    if (!entry.resolver && reader.readPlain) return { kind: entry.kind, event: this.readCompiled(message, entry.kind, reader.readPlain) } as unknown as TypedEvent;
    // decode() at an offset instead of fromBuffer() on a subarray: no buffer object per message.
    // It reports a short body as offset -1 and does not check for bytes after the record, so
    // both are checked here (fromBuffer's "truncated buffer" and "trailing data").
    let decoded: { value: unknown; offset: number };
    try {
      decoded = reader.type.decode(message, HEADER_LENGTH, entry.resolver) as { value: unknown; offset: number };
    } catch (err) {
      throw new InsightLogsError('DECODE_FAILED', `${entry.kind} body is not valid Avro for its schema (${(err as Error).message})`, { cause: err });
    }
    if (decoded.offset < 0) throw new InsightLogsError('DECODE_FAILED', `${entry.kind} body is not valid Avro for its schema (truncated buffer)`);
    if (decoded.offset !== message.length) throw new InsightLogsError('DECODE_FAILED', `${entry.kind} body is not valid Avro for its schema (trailing data)`);
    // A fresh plain object each call: callers may change it (the forwarder sets the category in place).
    return { kind: entry.kind, event: reader.toPlain(decoded.value) } as TypedEvent;
  }

  /** The one-pass reader of `plain-reader.ts`, failing with the same errors as the avsc path. */
  private readCompiled(message: Buffer, kind: EventKind, read: CompiledRecordReader): Record<string, unknown> {
    const cursor = new AvroCursor(message, HEADER_LENGTH);
    let event: Record<string, unknown>;
    try {
      event = read(cursor);
    } catch (err) {
      if (!(err instanceof AvroBodyError)) throw err;
      throw new InsightLogsError('DECODE_FAILED', `${kind} body is not valid Avro for its schema (${err.message})`, { cause: err });
    }
    if (cursor.pos !== message.length) throw new InsightLogsError('DECODE_FAILED', `${kind} body is not valid Avro for its schema (trailing data)`);
    return event;
  }
}

let defaultRegistry: SchemaRegistry | undefined;
/** The registry of this package's schemas, loaded once. */
export function defaultSchemaRegistry(): SchemaRegistry {
  return (defaultRegistry ??= SchemaRegistry.fromPackage());
}
