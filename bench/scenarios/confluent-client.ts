/**
 * @confluentinc/kafka-javascript (librdkafka bindings) for the `clients` scenario, through its
 * KafkaJS-compatible promisified API. It is a native module, so it is not a dependency of the
 * project (CI's `npm ci` must not compile it): bench/peers/confluent-kafka-javascript.sh builds
 * it once into .local/peers/confluent-kafka-javascript and it is loaded from there.
 *
 * Differences from kafkajs that matter here: acks, idempotence and `fromBeginning` are set per
 * producer/consumer, not per send/subscribe; librdkafka batches records itself (linger.ms), so
 * "in flight" below counts our `send()` calls outstanding, not Produce requests (librdkafka
 * keeps at most 5 per broker connection with idempotence). It rewrites each message's headers in
 * place, so it gets its own copies, made before the clock starts.
 *
 * The "native" rows use its node-rdkafka API instead (produce() per record with delivery
 * reports, consume(n) in a loop): librdkafka with the least JavaScript on top.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../testkit/services.js';
import { uniqueName } from '../../testkit/kafka.js';
import { throughput, type BenchContext, type Throughput } from '../lib/context.js';
import { countBatches } from './ceilings.js';

const execFileP = promisify(execFile);

interface CkMessage { key: string; value: Buffer; headers: Record<string, string> }
interface CkProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: CkMessage[] }): Promise<unknown>;
  transaction(): Promise<CkProducer & { commit(): Promise<void>; abort(): Promise<void> }>;
}
interface CkConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(s: { topics: string[] }): Promise<void>;
  run(r: { eachBatch: (p: { batch: { messages: unknown[] } }) => Promise<void> }): Promise<void>;
}
interface CkKafka {
  producer(config: Record<string, unknown>): CkProducer;
  consumer(config: Record<string, unknown>): CkConsumer;
}
interface NativeClient {
  connect(options: object, cb: (err: Error | null) => void): void;
  disconnect(cb: (err?: Error | null) => void): void;
  on(event: string, listener: (...args: never[]) => void): void;
}
interface NativeProducer extends NativeClient {
  produce(topic: string, partition: number | null, value: Buffer, key: string, timestamp: number | null, opaque: unknown, headers: Record<string, string>[]): void;
  setPollInterval(ms: number): void;
  flush(timeoutMs: number, cb: (err?: Error | null) => void): void;
}
interface NativeConsumer extends NativeClient {
  subscribe(topics: string[]): void;
  consume(n: number, cb: (err: Error | null, messages: unknown[]) => void): void;
  setDefaultConsumeTimeout(ms: number): void;
}
export interface ConfluentClient {
  version: string;
  librdkafkaVersion: string;
  kafka(ctx: BenchContext): CkKafka;
  nativeProducer(config: Record<string, unknown>): NativeProducer;
  nativeConsumer(config: Record<string, unknown>, topicConfig: Record<string, unknown>): NativeConsumer;
}

function peerDir(): string {
  return path.join(repoRoot(), '.local', 'peers', 'confluent-kafka-javascript');
}

/**
 * Builds the client once (bench/peers/confluent-kafka-javascript.sh) and loads it; a string
 * says why it cannot be used here (no compiler, build error), and the scenario skips it.
 */
export async function loadConfluentClient(log: (m: string) => void): Promise<ConfluentClient | string> {
  try {
    const { stderr } = await execFileP('bash', [path.join(repoRoot(), 'bench', 'peers', 'confluent-kafka-javascript.sh')], { timeout: 30 * 60_000, maxBuffer: 1 << 22 });
    for (const line of stderr.trim().split('\n').filter(Boolean)) log(line);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim().split('\n').at(-1);
    return `building @confluentinc/kafka-javascript failed: ${stderr ?? String(err)}`;
  }
  const require = createRequire(path.join(peerDir(), 'package.json'));
  try {
    const mod = require('@confluentinc/kafka-javascript') as {
      librdkafkaVersion: string;
      Producer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => NativeProducer;
      KafkaConsumer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => NativeConsumer;
      KafkaJS: { Kafka: new (config: Record<string, unknown>) => CkKafka; logLevel: Record<string, number> };
    };
    const pkg = JSON.parse(readFileSync(require.resolve('@confluentinc/kafka-javascript/package.json'), 'utf8')) as { version: string };
    const { Kafka, logLevel } = mod.KafkaJS;
    return {
      version: pkg.version,
      librdkafkaVersion: mod.librdkafkaVersion,
      kafka: (ctx) => new Kafka({ kafkaJS: { brokers: ctx.brokers, clientId: `bench-${ctx.runId}`, logLevel: logLevel.ERROR } }),
      nativeProducer: (config) => new mod.Producer(config, {}),
      nativeConsumer: (config, topicConfig) => new mod.KafkaConsumer(config, topicConfig),
    };
  } catch (err) {
    return `loading @confluentinc/kafka-javascript failed: ${(err as Error).message}`;
  }
}

/** Copies it may rewrite (see above). */
function own(messages: CkMessage[]): CkMessage[] {
  return messages.map((m) => ({ key: m.key, value: m.value, headers: { ...m.headers } }));
}

/** Idempotent, acks=all; `sendAll` drives the same batches as for the other clients. */
export async function confluentProduce(
  ctx: BenchContext, client: ConfluentClient, topic: string, shared: CkMessage[],
  sendAll: (messages: CkMessage[], send: (batch: CkMessage[]) => Promise<unknown>) => Promise<number>,
): Promise<Throughput> {
  const messages = own(shared);
  const producer = client.kafka(ctx).producer({ kafkaJS: { idempotent: true, acks: -1, maxInFlightRequests: 5 } });
  await producer.connect();
  try {
    const ms = await sendAll(messages, (batch) => producer.send({ topic, messages: batch }));
    return throughput(ctx, messages.length, ms);
  } finally {
    await producer.disconnect();
  }
}

/**
 * Transactions of `perTransaction` records each (its sends all outstanding, then commit), one
 * after another until `messages` are written: what exactly-once forwarding to Kafka would cost.
 */
export async function confluentTransactions(
  ctx: BenchContext, client: ConfluentClient, topic: string, shared: CkMessage[], batch: number, perTransaction: number,
): Promise<Throughput> {
  const messages = own(shared);
  const producer = client.kafka(ctx).producer({ kafkaJS: { transactionalId: uniqueName('bench-ckjs-tx'), idempotent: true, acks: -1, maxInFlightRequests: 5 } });
  await producer.connect();
  try {
    const started = performance.now();
    for (let t = 0; t < messages.length; t += perTransaction) {
      const tx = await producer.transaction();
      const sends: Promise<unknown>[] = [];
      for (let i = t; i < Math.min(t + perTransaction, messages.length); i += batch) {
        sends.push(tx.send({ topic, messages: messages.slice(i, Math.min(i + batch, t + perTransaction)) }));
      }
      await Promise.all(sends);
      await tx.commit();
    }
    return throughput(ctx, messages.length, performance.now() - started);
  } finally {
    await producer.disconnect();
  }
}

/** The pre-loaded source topic from the start, eachBatch counting only (as the kafkajs ceiling). */
export async function confluentDoNothing(ctx: BenchContext, client: ConfluentClient): Promise<Throughput> {
  const consumer = client.kafka(ctx).consumer({
    kafkaJS: { groupId: uniqueName('bench-ckjs-noop'), fromBeginning: true, autoCommit: false },
    // Batches handed to eachBatch: 32 by default; kafkajs hands whole fetches (thousands).
    'js.consumer.max.batch.size': 2_000,
  });
  const started = performance.now();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [ctx.sourceTopic] });
    return await countBatches(ctx, '@confluentinc/kafka-javascript', started, (eachBatch) => consumer.run({ eachBatch }));
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

function connected<T extends NativeClient>(client: T): Promise<T> {
  return new Promise((resolve, reject) => { client.connect({}, (err) => (err ? reject(err) : resolve(client))); });
}

function disconnected(client: NativeClient): Promise<void> {
  return new Promise((resolve) => { client.disconnect(() => resolve()); });
}

/**
 * node-rdkafka API: every record handed to produce() at once (librdkafka queues and batches
 * them; the queue holds more than a run's records), done when the last delivery report is in.
 */
export async function confluentNativeProduce(ctx: BenchContext, client: ConfluentClient, topic: string, shared: CkMessage[]): Promise<Throughput> {
  const messages = shared.map((m) => ({ key: m.key, value: m.value, headers: Object.entries(m.headers).map(([k, v]) => ({ [k]: v })) }));
  const producer = await connected(client.nativeProducer({
    'bootstrap.servers': ctx.brokers.join(','), 'enable.idempotence': true, acks: 'all', dr_cb: true,
    'queue.buffering.max.messages': messages.length + 1,
  }));
  try {
    let delivered = 0;
    let failure: Error | undefined;
    const done = new Promise<void>((resolve, reject) => {
      producer.on('delivery-report', ((err: Error | null) => {
        if (err) { failure ??= err; reject(err); }
        if (++delivered === messages.length) resolve();
      }) as never);
    });
    producer.setPollInterval(5);
    const started = performance.now();
    for (const m of messages) producer.produce(topic, null, m.value, m.key, null, undefined, m.headers);
    await done;
    if (failure) throw failure;
    return throughput(ctx, messages.length, performance.now() - started);
  } finally {
    await disconnected(producer);
  }
}

/** node-rdkafka API: consume(n) in a loop from the earliest offset, counting only. */
export async function confluentNativeDoNothing(ctx: BenchContext, client: ConfluentClient): Promise<Throughput> {
  const started = performance.now();
  const consumer = await connected(client.nativeConsumer(
    { 'bootstrap.servers': ctx.brokers.join(','), 'group.id': uniqueName('bench-ckjs-native-noop'), 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  ));
  let firstAt: number | undefined;
  let count = 0;
  try {
    consumer.subscribe([ctx.sourceTopic]);
    consumer.setDefaultConsumeTimeout(100);
    const deadline = started + 15 * 60_000;
    while (count < ctx.events) {
      if (performance.now() > deadline) throw new Error(`@confluentinc/kafka-javascript native do-nothing: ${count} of ${ctx.events} after 15 min`);
      const got = await new Promise<unknown[]>((resolve, reject) => { consumer.consume(2_000, (err, ms) => (err ? reject(err) : resolve(ms))); });
      if (got.length) firstAt ??= performance.now();
      count += got.length;
    }
    return throughput(ctx, count, performance.now() - started, { startupMs: (firstAt ?? started) - started });
  } finally {
    await disconnected(consumer);
  }
}
