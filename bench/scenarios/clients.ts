/**
 * The Kafka client question of issue 10, measured on the bench's own records (Avro values of
 * the bench's size, key = resourceId, the two headers the producer sets), same broker, same run:
 *
 *   - producing with idempotence and acks=all: kafkajs 2.2.4 (what the project uses) with 1
 *     and 5 requests in flight, and @platformatic/kafka 1.35 with 1 and 5 sends in flight;
 *   - consuming the pre-loaded topic doing nothing: kafkajs' eachBatch (as the `ceilings` row,
 *     repeated here so that `--only clients` has its reference) and @platformatic/kafka's stream;
 *   - @confluentinc/kafka-javascript (librdkafka), when bench/peers/confluent-kafka-javascript.sh
 *     could build it, for the same three, and transactions of TX_RECORDS records for it and kafkajs.
 *
 * A variant that fails (for example a broker refusal) is reported with its error instead of a
 * figure: that is a finding, not a bench failure.
 *
 * The kafkajs "5 in flight" rows measure the client only: concurrent sends on one idempotent
 * kafkajs producer can lose an acknowledged record when an answer is lost (kafka/idempotent-
 * producer.ts), so every producer of the project keeps one send in flight.
 */
import { Consumer, Producer, stringSerializers, type Message } from '@platformatic/kafka';
import { kindOf } from '../../src/events/types.js';
import { cachedKeyPartitioner } from '../../src/kafka/partitioner.js';
import { CONTENT_TYPE } from '../../src/producer/kafka-message.js';
import { defaultSchemaRegistry } from '../../src/codec/schema-registry.js';
import { deleteTopics, kafkaClient, uniqueName } from '../../testkit/kafka.js';
import type { BenchContext, Throughput } from '../lib/context.js';
import { throughput } from '../lib/context.js';
import { benchEvent } from '../lib/events.js';
import { createBenchTopics } from '../lib/kafka.js';
import { kafkajsDoNothing } from './ceilings.js';
import { confluentDoNothing, confluentNativeDoNothing, confluentNativeProduce, confluentProduce, confluentTransactions, type ConfluentClient } from './confluent-client.js';

const BATCH = 2_000;
/** Records per transaction in the transactional rows: 5 batches, then commit. */
const TX_RECORDS = 10_000;

interface BenchMessage { key: string; value: Buffer; headers: Record<string, string> }

function benchMessages(ctx: BenchContext, count: number): BenchMessage[] {
  const registry = defaultSchemaRegistry();
  return Array.from({ length: count }, (_, i) => {
    const event = benchEvent(i, ctx.runId);
    const kind = kindOf(event);
    // A copy: the registry's messages share slabs, and each client owns what it sends.
    return { key: event.resourceId, value: Buffer.from(registry.encode(kind, event)), headers: { kind, 'content-type': CONTENT_TYPE } };
  });
}

/** Sends `messages` in batches of BATCH with at most `inFlight` sends outstanding; resolves with the elapsed ms. */
async function sendAll(messages: BenchMessage[], inFlight: number, send: (batch: BenchMessage[]) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const outstanding = new Set<Promise<unknown>>();
  let failure: unknown;
  for (let i = 0; i < messages.length && failure === undefined; i += BATCH) {
    const sending = send(messages.slice(i, i + BATCH)).catch((err: unknown) => { failure ??= err; });
    outstanding.add(sending);
    void sending.finally(() => outstanding.delete(sending));
    if (outstanding.size >= inFlight) await Promise.race(outstanding);
  }
  await Promise.all(outstanding);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  return performance.now() - started;
}

async function withTopic<T>(ctx: BenchContext, prefix: string, work: (topic: string) => Promise<T>): Promise<T> {
  const topic = uniqueName(prefix);
  await createBenchTopics(ctx.brokers, [topic], ctx.partitions);
  try {
    return await work(topic);
  } finally {
    await deleteTopics(ctx.brokers, [topic]).catch(() => undefined);
  }
}

async function kafkajsProduce(ctx: BenchContext, messages: BenchMessage[], inFlight: number): Promise<Throughput> {
  return withTopic(ctx, 'bench-kafkajs-produce', async (topic) => {
    const producer = kafkaClient(ctx.brokers).producer({ idempotent: true, maxInFlightRequests: inFlight, createPartitioner: cachedKeyPartitioner });
    await producer.connect();
    try {
      const ms = await sendAll(messages, inFlight, (batch) => producer.send({ topic, acks: -1, messages: batch }));
      return throughput(ctx, messages.length, ms);
    } finally {
      await producer.disconnect();
    }
  });
}

/** kafkajs transactions of TX_RECORDS records (kafkajs allows one request in flight for them). */
async function kafkajsTransactions(ctx: BenchContext, messages: BenchMessage[]): Promise<Throughput> {
  return withTopic(ctx, 'bench-kafkajs-tx', async (topic) => {
    const producer = kafkaClient(ctx.brokers).producer({
      idempotent: true, maxInFlightRequests: 1, transactionalId: uniqueName('bench-kafkajs-tx'), createPartitioner: cachedKeyPartitioner,
    });
    await producer.connect();
    try {
      const started = performance.now();
      for (let t = 0; t < messages.length; t += TX_RECORDS) {
        const tx = await producer.transaction();
        for (let i = t; i < Math.min(t + TX_RECORDS, messages.length); i += BATCH) {
          await tx.send({ topic, acks: -1, messages: messages.slice(i, Math.min(i + BATCH, t + TX_RECORDS)) });
        }
        await tx.commit();
      }
      return throughput(ctx, messages.length, performance.now() - started);
    } finally {
      await producer.disconnect();
    }
  });
}

async function platformaticProduce(ctx: BenchContext, messages: BenchMessage[], inFlight: number): Promise<Throughput> {
  return withTopic(ctx, 'bench-platformatic-produce', async (topic) => {
    const producer = new Producer<string, Buffer, string, string>({
      clientId: `bench-${ctx.runId}`,
      bootstrapBrokers: ctx.brokers,
      idempotent: true,
      acks: -1,
      serializers: { key: stringSerializers.key, value: (v?: Buffer) => v, headerKey: stringSerializers.headerKey, headerValue: stringSerializers.headerValue },
    });
    try {
      const ms = await sendAll(messages, inFlight, (batch) => producer.send({
        messages: batch.map((m) => ({ topic, key: m.key, value: m.value, headers: new Map(Object.entries(m.headers)) })),
      }));
      return throughput(ctx, messages.length, ms);
    } finally {
      await producer.close();
    }
  });
}

async function platformaticDoNothing(ctx: BenchContext): Promise<Throughput> {
  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
    clientId: `bench-${ctx.runId}`,
    groupId: uniqueName('bench-platformatic-noop'),
    bootstrapBrokers: ctx.brokers,
    maxBytes: 4 * 1024 * 1024,
    maxWaitTime: 500,
  });
  const started = performance.now();
  let firstAt: number | undefined;
  let count = 0;
  try {
    const stream = await consumer.consume({ topics: [ctx.sourceTopic], mode: 'earliest', autocommit: false });
    const deadline = setTimeout(() => { void (stream.close() as Promise<void>).catch(() => undefined); }, 15 * 60_000);
    try {
      for await (const message of stream as AsyncIterable<Message<Buffer, Buffer, Buffer, Buffer>>) {
        void message;
        firstAt ??= performance.now();
        if (++count >= ctx.events) break;
      }
    } finally {
      clearTimeout(deadline);
      await (stream.close() as Promise<void>).catch(() => undefined);
    }
    if (count < ctx.events) throw new Error(`@platformatic/kafka consumer: ${count} of ${ctx.events} after 15 min`);
    return throughput(ctx, count, performance.now() - started, { startupMs: (firstAt ?? started) - started });
  } finally {
    await new Promise<void>((resolve) => { consumer.close(true, () => resolve()); });
  }
}

/** The innermost messages of an AggregateError (platformatic nests them): what the broker said. */
function explain(err: unknown): Error {
  const messages = new Set<string>();
  const walk = (e: unknown): void => {
    const inner = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(inner) && inner.length) inner.forEach(walk);
    else messages.add((e as Error).message ?? String(e));
  };
  walk(err);
  return new Error([...messages].join('; '));
}

/**
 * Each variant as a bench row: name and the work; `count` records per producer variant.
 * `confluent` is the loaded librdkafka client, or why it could not be built (then no rows).
 */
export function clientVariants(ctx: BenchContext, count: number, confluent?: ConfluentClient): [string, () => Promise<Throughput>][] {
  let messages: BenchMessage[] | undefined;
  const bench = (): BenchMessage[] => (messages ??= benchMessages(ctx, count));
  const explained = (work: () => Promise<Throughput>) => () => work().catch((err: unknown) => { throw explain(err); });
  const variants: [string, () => Promise<Throughput>][] = [
    ['kafkajs 2.2.4 produce, 1 in flight', () => kafkajsProduce(ctx, bench(), 1)],
    ['kafkajs 2.2.4 produce, 5 in flight', () => kafkajsProduce(ctx, bench(), 5)],
    [`kafkajs 2.2.4 transactions of ${TX_RECORDS}`, () => kafkajsTransactions(ctx, bench())],
    ['kafkajs 2.2.4 consumer, does nothing', () => kafkajsDoNothing(ctx)],
    ['@platformatic/kafka 1.35 produce, 1 in flight', explained(() => platformaticProduce(ctx, bench(), 1))],
    ['@platformatic/kafka 1.35 produce, 5 in flight', explained(() => platformaticProduce(ctx, bench(), 5))],
    ['@platformatic/kafka 1.35 consumer, does nothing', explained(() => platformaticDoNothing(ctx))],
  ];
  if (confluent) {
    const name = `@confluentinc/kafka-javascript ${confluent.version} (librdkafka ${confluent.librdkafkaVersion})`;
    for (const inFlight of [1, 5]) {
      variants.push([`${name} produce, ${inFlight} in flight`, () => withTopic(ctx, 'bench-ckjs-produce', (topic) =>
        confluentProduce(ctx, confluent, topic, bench(), (own, send) => sendAll(own, inFlight, send)))]);
    }
    variants.push([`${name} native produce(), all queued`, () => withTopic(ctx, 'bench-ckjs-native', (topic) =>
      confluentNativeProduce(ctx, confluent, topic, bench()))]);
    variants.push([`${name} transactions of ${TX_RECORDS}`, () => withTopic(ctx, 'bench-ckjs-tx', (topic) =>
      confluentTransactions(ctx, confluent, topic, bench(), BATCH, TX_RECORDS))]);
    variants.push([`${name} consumer, does nothing`, () => confluentDoNothing(ctx, confluent)]);
    variants.push([`${name} native consume(2000) loop, does nothing`, () => confluentNativeDoNothing(ctx, confluent)]);
  }
  return variants;
}
