/**
 * The partitioner of every producer of ours: Java's default for keyed records (murmur2 of the
 * key, so other clients put a resourceId on the same partition as we do), with the hash of
 * each key remembered. A forwarder or a service sees few distinct resourceIds and millions of
 * records; kafkajs' own DefaultPartitioner hashes every record again (a Buffer and a murmur2
 * in JavaScript each time: 6 % of the producer's CPU in its profile, bench/what-changed.md)
 * and copies the partition list per record. Records without a key or with an explicit
 * partition go to kafkajs' DefaultPartitioner unchanged.
 */
import { createRequire } from 'node:module';
import { Partitioners, type ICustomPartitioner, type PartitionerArgs } from 'kafkajs';

const require = createRequire(import.meta.url);
/** kafkajs' Java-compatible murmur2 (not part of its typed API; the same function its DefaultPartitioner uses). */
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

/** Keys whose hash is remembered; beyond it the memory starts over (bounded memory, never a wrong partition). */
const HASH_CACHE_LIMIT = 10_000;

export const cachedKeyPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  const hashes = new Map<string, number>();
  return (args: PartitionerArgs): number => {
    const { message, partitionMetadata } = args;
    const key = message.key;
    if (typeof key !== 'string' || (message.partition !== undefined && message.partition !== null)) return fallback(args);
    let hash = hashes.get(key);
    if (hash === undefined) {
      // Positive as Java's Utils.toPositive: the sign bit cleared, not the absolute value.
      hash = murmur2(key) & 0x7fffffff;
      if (hashes.size >= HASH_CACHE_LIMIT) hashes.clear();
      hashes.set(key, hash);
    }
    return hash % partitionMetadata.length;
  };
};
