/**
 * The encoder kafkajs uses for every record it produces, replaced by one that measures the
 * record first and writes it into one buffer. The bytes are the same: a Kafka record of the
 * v2 message format (KIP-98), checked against kafkajs' own encoder by record-encoder.test.ts.
 *
 * Why: kafkajs 2.2.4 (its last release) builds each record from a zero-filled 512-byte
 * Encoder that grows to 1 KiB for our 600-byte events, another one per header, a Buffer per
 * varint and BigInt arithmetic for the timestamp delta. A profile of `EventProducer` at its
 * limit had 14.7 % of the CPU in Buffer allocation and 19 % in garbage collection
 * (bench/what-changed.md). It caps the producer, the Kafka destination and the dead-letter
 * writer.
 *
 * How: kafkajs is CommonJS and loads its produce request module (which captures the record
 * encoder) only when it first produces, so replacing the record module's exports in the
 * require cache before that swaps the encoder for every produce request of the process.
 * `installRecordEncoder()` runs when src/kafka/client.ts is loaded (every Kafka client of ours
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

const requireFromHere = createRequire(import.meta.url);
const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0';
/** Loaded on the first produce; it keeps the record encoder it found then. */
const PRODUCE_REQUEST_MODULE = 'kafkajs/src/protocol/requests/produce/v3/request';

type RecordEncoder = (input: RecordInput) => { buf: Buffer; buffer: Buffer };
let original: RecordEncoder | undefined;

/** kafkajs' own record encoder (for the test that compares the two). */
export function kafkajsRecordEncoder(): RecordEncoder {
  if (!installRecordEncoder() || !original) throw new Error('kafkajs produced before the record encoder was installed');
  return original;
}

/** True once kafkajs' produce requests encode records with `encodeRecord`. */
export function recordEncoderInstalled(): boolean {
  const path = requireFromHere.resolve(RECORD_MODULE);
  return requireFromHere.cache[path]?.exports === encodeRecord;
}

/**
 * Makes kafkajs encode records with `encodeRecord` (idempotent). False when kafkajs already
 * produced in this process with its own encoder (someone used kafkajs before loading
 * src/kafka/client.ts): every produce then keeps working, only slower.
 */
export function installRecordEncoder(): boolean {
  if (recordEncoderInstalled()) return true;
  if (requireFromHere.cache[requireFromHere.resolve(PRODUCE_REQUEST_MODULE)]) return false;
  const path = requireFromHere.resolve(RECORD_MODULE);
  original = requireFromHere(path) as RecordEncoder;
  requireFromHere.cache[path]!.exports = encodeRecord;
  return true;
}
