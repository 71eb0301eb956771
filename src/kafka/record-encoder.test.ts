import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import './client.js';
import { crc32c, encodeRecord, kafkajsOriginals, produceEncodingInstalled, type RecordInput } from './record-encoder.js';

const require = createRequire(import.meta.url);

/** Lengths around every varint size boundary, and a large value. */
const LENGTHS = [0, 1, 63, 64, 127, 128, 8191, 8192, 16383, 16384, 70_000];
/** Deltas around zigzag varint/varlong boundaries, negative ones and a 2^40 one. */
const DELTAS = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, 2 ** 20, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 40), 2 ** 53 - 1, -(2 ** 53 - 1)];

function bytesOf(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function* corpus(): Generator<RecordInput> {
  const keys: RecordInput['key'][] = [null, undefined, '', '/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG', 'é😀 ключ', bytesOf(0, 1), bytesOf(200, 2)];
  const headerSets: RecordInput['headers'][] = [
    undefined,
    {},
    { 'content-type': 'application/avro', 'x-schema': bytesOf(8, 3) },
    { multi: ['a', bytesOf(130, 4), ''], 'ünïcode-kéy': 'välue 😀', empty: Buffer.alloc(0) },
  ];
  let i = 0;
  for (const length of LENGTHS) {
    for (const key of keys) {
      const headers = headerSets[i % headerSets.length];
      yield { offsetDelta: i % 3 === 0 ? 0 : i, timestampDelta: DELTAS[i % DELTAS.length]!, key, value: bytesOf(length, i), ...(headers ? { headers } : {}) };
      yield { offsetDelta: i, timestampDelta: -i, key, value: 'x'.repeat(length), ...(headers ? { headers } : {}) };
      i++;
    }
  }
  for (const delta of DELTAS) yield { offsetDelta: Math.max(0, Math.min(2 ** 31 - 1, Math.abs(delta))), timestampDelta: delta, key: 'k', value: null };
  yield { key: 'defaults: no deltas', value: 'v' };
}

test('records are byte for byte what kafkajs 2.2.4 encodes (keys, values and headers as Buffers, strings or null; varint boundaries)', () => {
  const reference = kafkajsOriginals().encodeRecord;
  let n = 0;
  for (const input of corpus()) {
    const ours = encodeRecord(input).buffer;
    const theirs = reference({ ...input }).buffer;
    assert.ok(ours.equals(theirs), `record ${n} differs: ${JSON.stringify({ ...input, value: typeof input.value === 'string' ? `${input.value.length} chars` : input.value?.length })}`);
    n++;
  }
  assert.ok(n > 150, `compared ${n} records`);
});

test('kafkajs decodes our records back to the same key, value, headers and deltas', () => {
  const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
  const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (d: unknown, header: object) => { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]>; offset: string; timestamp: string };
  const value = bytesOf(600, 9);
  const encoded = encodeRecord({ offsetDelta: 5, timestampDelta: 1234, key: 'resource-1', value, headers: { a: 'one', b: ['two', 'three'] } });
  // The decoder reads a record without its length prefix, relative to its batch's first offset and timestamp.
  const decoder = new Decoder(encoded.buffer) as { readVarInt(): number };
  decoder.readVarInt();
  const record = decodeRecord(decoder, { firstOffset: '100', firstTimestamp: '1000', magicByte: 2, isControlBatch: false, maxTimestamp: '0', timestampType: 0 });
  assert.equal(record.key?.toString(), 'resource-1');
  assert.ok(record.value?.equals(value));
  assert.equal(record.offset, '105');
  assert.equal(record.timestamp, '2234');
  assert.equal(String(record.headers.a), 'one');
  assert.deepEqual((record.headers.b as Buffer[]).map(String), ['two', 'three']);
});

test('what kafkajs cannot encode is refused with a clear error, not written wrong', () => {
  assert.throws(() => encodeRecord({ key: 'k', value: 'v', headers: { h: null as unknown as string } }), /header h must be a Buffer or a string/);
  assert.throws(() => encodeRecord({ key: 42 as unknown as string, value: 'v' }), /record key must be a Buffer, a string or null/);
  assert.throws(() => encodeRecord({ key: 'k', value: 'v', timestampDelta: 1.5 }), /must be an integer/);
});

test('CRC-32C: the standard check value, and the result of kafkajs on every length up to 70 KB', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  const reference = kafkajsOriginals().crc32c;
  const data = bytesOf(70_000, 7);
  for (let length = 0; length < 70_000; length = length < 64 ? length + 1 : Math.ceil(length * 1.3)) {
    for (const start of [0, 1, 3]) {
      const slice = data.subarray(start, start + length);
      assert.equal(crc32c(slice), reference(slice), `length ${length} from ${start}`);
    }
  }
});

test('loading the Kafka client installs both before kafkajs first produces or fetches', () => {
  assert.equal(produceEncodingInstalled(), true);
  assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0'), encodeRecord);
  assert.equal(require('kafkajs/src/protocol/recordBatch/crc32C'), crc32c);
});
