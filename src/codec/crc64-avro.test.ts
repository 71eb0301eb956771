import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc64Avro, fingerprintBytes } from './crc64-avro.js';

/**
 * Fingerprints from the Avro project's own test data (apache/avro share/test/data/schema-tests.txt,
 * cases 000-019, as signed 64-bit Java longs), cross-checked with an independent Python
 * implementation of the spec's algorithm (integration-tests/fixtures/avro_single_object.py).
 */
const VECTORS: [string, bigint][] = [
  ['"null"', 7195948357588979594n],
  ['"boolean"', -6970731678124411036n],
  ['"int"', 8247732601305521295n],
  ['"long"', -3434872931120570953n],
  ['"string"', -8142146995180207161n],
  ['{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
];

test('CRC-64-AVRO matches the Avro specification test vectors', () => {
  for (const [canonical, signed] of VECTORS) assert.equal(crc64Avro(canonical), BigInt.asUintN(64, signed), canonical);
  assert.equal(crc64Avro('"int"'), 0x7275d51a3f395c8fn);
});

test('fingerprint bytes are little-endian', () => {
  assert.equal(fingerprintBytes('"int"').toString('hex'), '8f5c393f1ad57572');
});

test('bytes and strings give the same fingerprint', () => {
  assert.equal(crc64Avro(Buffer.from('"null"')), crc64Avro('"null"'));
});
