/**
 * The two pieces of kafkajs that run per produced record and per produced byte, replaced:
 * - the record encoder, by one that measures the record first and writes it into one buffer;
 *   the bytes are the same (a record of the v2 message format, KIP-98);
 * - the record batch checksum (CRC-32C), by a slicing-by-8 version of kafkajs' byte-at-a-time
 *   loop (5 % of the producer's CPU once records were cheap).
 * Both are checked against kafkajs' own functions by record-encoder.test.ts.
 *
 * Why: kafkajs 2.2.4 (its last release) builds each record from a zero-filled 512-byte
 * Encoder that grows to 1 KiB for our 600-byte events, another one per header, a Buffer per
 * varint and BigInt arithmetic for the timestamp delta. A profile of `EventProducer` at its
 * limit had 14.7 % of the CPU in Buffer allocation and 19 % in garbage collection
 * (bench/what-changed.md). It caps the producer, the Kafka destination and the dead-letter
 * writer.
 *
 * How: kafkajs is CommonJS and loads the modules that keep references to these two (its
 * produce request and record batch modules) only when it first produces or fetches, so
 * replacing their exports in the require cache before that swaps them for the whole process.
 * `installProduceEncoding()` runs when src/kafka/client.ts is loaded (every Kafka client of ours
 * is made there). kafkajs is pinned (package.json) and unmaintained, so the internal path it
 * depends on does not move; if it ever does, the unit test that checks the installation fails.
 */
import { createRequire } from 'node:module';

type Bytes = Buffer | string | null | undefined;
type HeaderValue = Buffer | string;

/** What kafkajs' produce request passes to its record encoder. */
export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, HeaderValue | HeaderValue[] | undefined>;
}

/** The shape kafkajs' Encoder accepts in writeEncoder/writeEncoderArray (`buf` and `buffer`). */
export class EncodedRecord {
  readonly offset: number;
  constructor(readonly buf: Buffer) {
    this.offset = buf.length;
  }

  get buffer(): Buffer {
    return this.buf;
  }

  size(): number {
    return this.offset;
  }
}

/** Zigzag of a 32-bit integer, as an unsigned 32-bit number (Kafka's varint). */
const zigzag32 = (n: number): number => ((n << 1) ^ (n >> 31)) >>> 0;

function sizeOfUnsignedVarint(u: number): number {
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x200000) return 3;
  if (u < 0x10000000) return 4;
  return 5;
}

/** Zigzag of a 64-bit integer while it stays a safe JavaScript number (|n| < 2^52). */
function zigzag64(n: number): number | undefined {
  if (!Number.isInteger(n)) throw new TypeError(`record timestamp delta must be an integer, got ${n}`);
  if (Math.abs(n) >= 2 ** 52) return undefined;
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

/** Bytes of a varlong: numbers while safe, BigInt beyond (a timestamp delta that large is a caller's bug, but kafkajs accepts it). */
function varlongBytes(n: number): number[] {
  const bytes: number[] = [];
  const zz = zigzag64(n);
  if (zz !== undefined) {
    let v = zz;
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
    return bytes;
  }
  const big = BigInt(n);
  let v = BigInt.asUintN(64, (big << 1n) ^ (big >> 63n));
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return bytes;
}

function byteLengthOf(value: Bytes, what: string): number {
  if (value === null || value === undefined) return -1;
  if (Buffer.isBuffer(value)) return value.length;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  throw new TypeError(`${what} must be a Buffer, a string or null, got ${typeof value}`);
}

/** A varint-length-prefixed byte string (length -1 for null). */
function sizeOfVarintBytes(length: number): number {
  return length < 0 ? 1 : sizeOfUnsignedVarint(zigzag32(length)) + length;
}

interface Header {
  key: string;
  value: HeaderValue;
  keyLength: number;
  valueLength: number;
}

/** kafkajs' header order: object key order, an array value as one header per element. */
function headersOf(headers: RecordInput['headers']): Header[] {
  const out: Header[] = [];
  if (!headers) return out;
  for (const key of Object.keys(headers)) {
    const raw = headers[key];
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      const valueLength = byteLengthOf(value, `header ${key}`);
      // kafkajs cannot encode a null header value either (it throws measuring it).
      if (valueLength < 0) throw new TypeError(`header ${key} must be a Buffer or a string, got ${String(value)}`);
      out.push({ key, value: value as HeaderValue, keyLength: Buffer.byteLength(key, 'utf8'), valueLength });
    }
  }
  return out;
}

class Writer {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  unsignedVarint(u: number): void {
    while (u >= 0x80) {
      this.buf[this.offset++] = (u & 0x7f) | 0x80;
      u >>>= 7;
    }
    this.buf[this.offset++] = u;
  }

  bytes(value: Bytes, length: number): void {
    this.unsignedVarint(zigzag32(length));
    if (length <= 0 || value === null || value === undefined) return;
    if (Buffer.isBuffer(value)) value.copy(this.buf, this.offset);
    else this.buf.write(value, this.offset, length, 'utf8');
    this.offset += length;
  }
}

/** One record, byte for byte what kafkajs' `protocol/recordBatch/record/v0` writes. */
export function encodeRecord({ offsetDelta = 0, timestampDelta = 0, key, value, headers }: RecordInput): EncodedRecord {
  const keyLength = byteLengthOf(key, 'record key');
  const valueLength = byteLengthOf(value, 'record value');
  const header = headersOf(headers);
  const timestamp = varlongBytes(timestampDelta);
  const offsetZigzag = zigzag32(offsetDelta);
  let bodySize = 1 + timestamp.length + sizeOfUnsignedVarint(offsetZigzag)
    + sizeOfVarintBytes(keyLength) + sizeOfVarintBytes(valueLength)
    + sizeOfUnsignedVarint(zigzag32(header.length));
  for (const h of header) bodySize += sizeOfVarintBytes(h.keyLength) + sizeOfVarintBytes(h.valueLength);

  const bodySizeZigzag = zigzag32(bodySize);
  // allocUnsafe: every byte is written below, and small records come from Node's shared pool.
  const w = new Writer(Buffer.allocUnsafe(sizeOfUnsignedVarint(bodySizeZigzag) + bodySize));
  w.unsignedVarint(bodySizeZigzag);
  w.buf[w.offset++] = 0; // attributes: none used per record
  for (const b of timestamp) w.buf[w.offset++] = b;
  w.unsignedVarint(offsetZigzag);
  w.bytes(key, keyLength);
  w.bytes(value, valueLength);
  w.unsignedVarint(zigzag32(header.length));
  for (const h of header) {
    w.bytes(h.key, h.keyLength);
    w.bytes(h.value, h.valueLength);
  }
  if (w.offset !== w.buf.length) throw new Error(`record encoder measured ${w.buf.length} bytes but wrote ${w.offset}`);
  return new EncodedRecord(w.buf);
}

/** CRC-32C (Castagnoli) tables for slicing by 8: TABLE[k * 256 + n] is the CRC of byte n followed by k zero bytes. */
const CRC_TABLE = ((): Int32Array => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/** CRC-32C of the bytes, unsigned: what Kafka checks on every record batch. */
export function crc32c(bytes: Uint8Array): number {
  const t = CRC_TABLE;
  let crc = -1;
  let i = 0;
  for (const end = bytes.length - 8; i <= end; i += 8) {
    const a = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    const b = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    crc = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^ t[1024 + (a >>> 24)]!
      ^ t[768 + (b & 0xff)]! ^ t[512 + ((b >>> 8) & 0xff)]! ^ t[256 + ((b >>> 16) & 0xff)]! ^ t[b >>> 24]!;
  }
  for (; i < bytes.length; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

const requireFromHere = createRequire(import.meta.url);

/**
 * Each replaced kafkajs module, and the module that keeps a reference to it once loaded (lazily,
 * on the first produce or fetch): replacing is only possible before that one is loaded.
 */
const REPLACEMENTS = [
  { module: 'kafkajs/src/protocol/recordBatch/record/v0', by: encodeRecord, capturedBy: 'kafkajs/src/protocol/requests/produce/v3/request' },
  { module: 'kafkajs/src/protocol/recordBatch/crc32C', by: crc32c, capturedBy: 'kafkajs/src/protocol/recordBatch/v0' },
] as const;

type RecordEncoder = (input: RecordInput) => { buf: Buffer; buffer: Buffer };
const originals = new Map<string, unknown>();

const cached = (module: string): NodeModule | undefined => requireFromHere.cache[requireFromHere.resolve(module)];

/** kafkajs' own record encoder and checksum (for the test that compares them with ours). */
export function kafkajsOriginals(): { encodeRecord: RecordEncoder; crc32c: (bytes: Buffer) => number } {
  if (!installProduceEncoding()) throw new Error('kafkajs produced before our encoding was installed');
  return {
    encodeRecord: originals.get(REPLACEMENTS[0].module) as RecordEncoder,
    crc32c: originals.get(REPLACEMENTS[1].module) as (bytes: Buffer) => number,
  };
}

/** True once kafkajs encodes records and checksums batches with ours. */
export function produceEncodingInstalled(): boolean {
  return REPLACEMENTS.every((r) => cached(r.module)?.exports === r.by);
}

/**
 * Makes kafkajs use `encodeRecord` and `crc32c` (idempotent). False when kafkajs already
 * produced or fetched in this process with its own (someone used kafkajs before loading
 * src/kafka/client.ts): everything keeps working, only slower.
 */
export function installProduceEncoding(): boolean {
  if (produceEncodingInstalled()) return true;
  if (REPLACEMENTS.some((r) => cached(r.capturedBy) && cached(r.module)?.exports !== r.by)) return false;
  for (const r of REPLACEMENTS) {
    if (cached(r.module)?.exports === r.by) continue;
    originals.set(r.module, requireFromHere(r.module));
    cached(r.module)!.exports = r.by;
  }
  return true;
}
