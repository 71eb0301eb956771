/**
 * The `kafka` destination against the real local Kafka: the shared sink contract, the
 * message format (checked with kafkajs and with kcat), insecure settings, and exactly-once
 * mode (transactions with consumer offsets, fencing, resends after a restart).
 *
 * Outages are simulated with a small TCP proxy so the shared broker keeps running for
 * everyone else. The broker advertises its own address (127.0.0.1:<port>) in metadata, so
 * the proxy listens on another loopback address with the same port and rewrites that
 * address in the broker's responses (same length, so frame sizes do not change).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { InsightLogsError } from '../src/errors.js';
import { silentLogger } from '../src/logging.js';
import type { Sink, SinkRecord } from '../src/sinks/sink.js';
import { kafkaSinkType } from '../src/sinks/kafka/sink.js';
import { transactionalIdFor } from '../src/sinks/kafka/request-builder.js';
import { getServices } from '../testkit/services.js';
import { createTopics, deleteTopics, kafkaClient, readAll, uniqueName } from '../testkit/kafka.js';
import { idOf, makeSinkRecords } from './helpers/records.js';
import { sinkContract } from './helpers/sink-contract.js';

const execFileP = promisify(execFile);

/** A proxy between the sink and one broker that can drop every connection and refuse new ones. */
class RewritingProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private constructor(readonly host: string, private readonly brokerHost: string, readonly port: number) {}

  static async start(broker: string): Promise<RewritingProxy> {
    const [brokerHost, port] = broker.split(':') as [string, string];
    if (!/^127\.0\.0\.\d$/.test(brokerHost)) throw new Error(`the test proxy needs the broker on a 127.0.0.x address, got ${broker}`);
    for (const last of [2, 3, 4, 5, 6, 7, 8, 9].sort(() => Math.random() - 0.5)) {
      const proxy = new RewritingProxy(`127.0.0.${last}`, brokerHost, Number(port));
      if (proxy.host === brokerHost) continue;
      try {
        await proxy.open();
        return proxy;
      } catch { /* address taken by another test run: try the next */ }
    }
    throw new Error('no free loopback address for the Kafka test proxy');
  }

  get address(): string { return `${this.host}:${this.port}`; }

  open(): Promise<void> {
    const server = createServer((client) => this.pair(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => { this.server = server; resolve(); });
    });
  }

  private pair(client: Socket): void {
    const upstream = connect({ host: this.brokerHost, port: this.port });
    this.sockets.add(client).add(upstream);
    const from = Buffer.from(this.brokerHost);
    const to = Buffer.from(this.host);
    let pending = Buffer.alloc(0);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      // Whole response frames only, so an address split across chunks is still rewritten.
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = Buffer.from(pending.subarray(0, 4 + pending.readInt32BE(0)));
        pending = pending.subarray(frame.length);
        for (let i = frame.indexOf(from, 4); i >= 0; i = frame.indexOf(from, i + to.length)) to.copy(frame, i);
        client.write(frame);
      }
    });
    const closeBoth = (): void => { client.destroy(); upstream.destroy(); this.sockets.delete(client); this.sockets.delete(upstream); };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const context = (name: string) => ({ name, categories: ['audit', 'operational'] as const, logger: silentLogger, env: {} });

function createSink(brokers: string[], topics: { audit: string; operational: string }, name: string, extra: Record<string, unknown> = {}): Sink {
  const settings = kafkaSinkType.parseSettings({ brokers, topics, ...extra }, 'destinations[0]');
  return kafkaSinkType.create(settings, { ...context(name), categories: ['audit', 'operational'] });
}

function mirrorTopics(): { audit: string; operational: string } {
  const base = uniqueName('mirror');
  return { audit: `${base}-audit`, operational: `${base}-operational` };
}

async function kcat(args: string[]): Promise<string> {
  const { stdout } = await execFileP('kcat', args, { timeout: 60_000, maxBuffer: 64 << 20 });
  return stdout;
}

describe('kafka sink', async () => {
  const services = await getServices();
  const brokers = services.kafkaBrokers;
  const created: string[] = [];
  let proxy: RewritingProxy;

  before(async () => { proxy = await RewritingProxy.start(brokers[0]!); });
  after(async () => {
    await proxy?.close();
    await deleteTopics(brokers, created);
  });

  const contractTopics = mirrorTopics();
  sinkContract('kafka', {
    async create() {
      await createTopics(brokers, [contractTopics.audit, contractTopics.operational], 3);
      created.push(contractTopics.audit, contractTopics.operational);
      return createSink([proxy.address], contractTopics, uniqueName('contract'));
    },
    async readBack(category) {
      const messages = await readAll(brokers, contractTopics[category], { timeoutMs: 30_000 });
      return messages.map((m) => JSON.parse(m.value!.toString()) as Record<string, unknown>);
    },
    makeUnavailable: () => proxy.close(),
    restore: () => proxy.open(),
  });

  test('message format: JSON value, key = resourceId, header kind, topic per category (kafkajs and kcat agree)', async () => {
    const topics = mirrorTopics();
    await createTopics(brokers, [topics.audit, topics.operational], 3);
    created.push(topics.audit, topics.operational);
    const sink = createSink(brokers, topics, uniqueName('format'));
    try {
      const audit = makeSinkRecords(10, { audit: true });
      const operational = makeSinkRecords(10, { audit: false });
      assert.equal((await sink.send([...audit])).status, 'delivered');
      assert.equal((await sink.send([...operational])).status, 'delivered');

      for (const [category, records] of [['audit', audit], ['operational', operational]] as const) {
        const read = await readAll(brokers, topics[category], { timeoutMs: 30_000 });
        assert.equal(read.length, records.length);
        const byId = new Map(records.map((r) => [idOf(r.event), r]));
        for (const m of read) {
          const value = JSON.parse(m.value!.toString());
          const original = byId.get(idOf(value));
          assert.ok(original, `unexpected record ${m.value}`);
          assert.equal(m.value!.toString(), original.json, 'the value is the record JSON, unchanged');
          assert.equal(m.key!.toString(), original.event.resourceId);
          assert.equal(m.headers.kind?.toString(), original.kind);
          assert.equal(value.category, category === 'audit' ? 'Audit' : 'Operational');
        }
        const lines = (await kcat(['-C', '-b', brokers.join(','), '-t', topics[category], '-o', 'beginning', '-e', '-q', '-f', '%k\t%h\t%s\n']))
          .split('\n').filter(Boolean);
        assert.equal(lines.length, records.length, 'kcat reads as many messages');
        for (const line of lines) {
          const [key, headers, value] = line.split('\t') as [string, string, string];
          const original = byId.get(idOf(JSON.parse(value)));
          assert.ok(original);
          assert.equal(key, original.event.resourceId);
          assert.ok(headers.split(',').includes(`kind=${original.kind}`), `kcat headers: ${headers}`);
        }
      }
    } finally {
      await sink.close();
    }
  });

  test('insecure settings are refused with INSECURE_SETTING naming the setting', () => {
    for (const [raw, path] of [
      [{ brokers, ssl: true, sslRejectUnauthorized: false }, 'destinations[0].sslRejectUnauthorized'],
      [{ brokers, sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'MIRROR_PW' } }, 'destinations[0].sasl.mechanism'],
    ] as const) {
      assert.throws(() => kafkaSinkType.parseSettings({ ...raw }, 'destinations[0]'), (e: unknown) =>
        e instanceof InsightLogsError && e.code === 'INSECURE_SETTING' && e.message.startsWith(path));
    }
  });

  test('a record the broker refuses as too large is rejected alone; the rest is delivered', async () => {
    const topics = mirrorTopics();
    await createTopics(brokers, [topics.audit, topics.operational], 1);
    created.push(topics.audit, topics.operational);
    const sink = createSink(brokers, topics, uniqueName('large'));
    try {
      const batch = makeSinkRecords(6, { audit: true });
      // 1.5 MB of JSON: above the broker's default message.max.bytes (1 MiB), no compression.
      const big: SinkRecord = { ...batch[2]!, json: JSON.stringify({ ...batch[2]!.event, padding: 'x'.repeat(1_500_000) }) };
      batch[2] = big;
      const outcome = await sink.send(batch);
      assert.equal(outcome.status, 'delivered');
      assert.equal(outcome.status === 'delivered' && outcome.rejected?.length, 1);
      assert.equal(outcome.status === 'delivered' && outcome.rejected?.[0]?.code, 'RECORD_TOO_LARGE');
      const ids = new Set((await readAll(brokers, topics.audit)).map((m) => idOf(JSON.parse(m.value!.toString()))));
      assert.equal(ids.size, 5);
      assert.ok(!ids.has(idOf(big.event)));
    } finally {
      await sink.close();
    }
  });

  describe('exactly-once mode', () => {
    const topics = mirrorTopics();
    const sourceTopic = uniqueName('eos-source');
    const groupId = uniqueName('eos-group');
    const name = uniqueName('eos');
    const sinks: Sink[] = [];
    const eosSink = (): Sink => {
      const s = createSink(brokers, topics, name, { exactlyOnce: true });
      sinks.push(s);
      return s;
    };
    const records = (from: number, n: number): SinkRecord[] =>
      makeSinkRecords(n, { audit: true, topic: sourceTopic }).map((r, i) => ({ ...r, offset: String(from + i) }));
    const offsetsAfter = (batch: SinkRecord[]) => [{ groupId, topic: sourceTopic, partition: 0, offset: String(Number(batch.at(-1)!.offset) + 1) }];
    const committedOffset = async (): Promise<string | undefined> => {
      const admin = kafkaClient(brokers).admin();
      await admin.connect();
      try {
        const [r] = await admin.fetchOffsets({ groupId, topics: [sourceTopic] });
        return r?.partitions.find((p) => p.partition === 0)?.offset;
      } finally {
        await admin.disconnect();
      }
    };
    const readCommittedIds = async (): Promise<string[]> => {
      const out = await kcat(['-C', '-b', brokers.join(','), '-t', topics.audit, '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_committed', '-f', '%s\n']);
      return out.split('\n').filter(Boolean).map((l) => idOf(JSON.parse(l))!);
    };

    before(async () => {
      await createTopics(brokers, [topics.audit, topics.operational], 1);
      await createTopics(brokers, [sourceTopic], 2);
      created.push(topics.audit, topics.operational, sourceTopic);
    });
    after(async () => { await Promise.all(sinks.map((s) => s.close())); });

    test('sendAndCommit writes the records and commits the offsets in one transaction; a resend is not duplicated', async () => {
      const sink = eosSink();
      assert.equal(typeof sink.sendAndCommit, 'function');
      const first = records(0, 50);
      assert.equal((await sink.sendAndCommit!(first, offsetsAfter(first))).status, 'delivered');
      assert.equal(await committedOffset(), '50');
      // The forwarder resends a batch it thinks failed: already committed, so skipped.
      assert.equal((await sink.sendAndCommit!(first, offsetsAfter(first))).status, 'delivered');
      const ids = await readCommittedIds();
      assert.equal(ids.length, 50);
      assert.deepEqual(new Set(ids), new Set(first.map((r) => idOf(r.event))));
    });

    test('after a restart the same transactional id is reused and already-committed records are skipped', async () => {
      const restarted = eosSink();
      const again = records(0, 50); // same offsets, as a restarted forwarder with stale offsets would resend
      assert.equal((await restarted.sendAndCommit!(again, offsetsAfter(again))).status, 'delivered');
      const next = records(50, 30);
      assert.equal((await restarted.sendAndCommit!(next, offsetsAfter(next))).status, 'delivered');
      assert.equal(await committedOffset(), '80');
      assert.equal((await readCommittedIds()).length, 80);
    });

    test('a transaction left open by a killed process is aborted by the next owner of the partition', async () => {
      // What `kill -9` leaves behind: records written inside a transaction that never ends.
      const dangling = records(0, 7).map((r) => ({ ...r, partition: 1 }));
      const killed = kafkaClient(brokers).producer({ transactionalId: transactionalIdFor('insight-logs', name, sourceTopic, 1), idempotent: true, maxInFlightRequests: 1 });
      await killed.connect();
      const tx = await killed.transaction();
      await tx.send({ topic: topics.audit, messages: dangling.map((r) => ({ key: r.event.resourceId, value: r.json })) });
      // No commit, no abort, and the connection is simply dropped.
      await killed.disconnect();

      const next = eosSink();
      const batch = records(0, 5).map((r) => ({ ...r, partition: 1 }));
      const outcome = await next.sendAndCommit!(batch, [{ groupId, topic: sourceTopic, partition: 1, offset: '5' }]);
      assert.equal(outcome.status, 'delivered', outcome.status === 'retryable' ? String(outcome.error.cause ?? outcome.error) : '');
      const committed = new Set(await readCommittedIds());
      for (const r of batch) assert.ok(committed.has(idOf(r.event)!));
      for (const r of dangling) assert.ok(!committed.has(idOf(r.event)!), 'records of the dangling transaction are not visible to read_committed');
      const everything = await kcat(['-C', '-b', brokers.join(','), '-t', topics.audit, '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_uncommitted', '-f', '%s\n']);
      const uncommittedIds = new Set(everything.split('\n').filter(Boolean).map((l) => idOf(JSON.parse(l))));
      for (const r of dangling) assert.ok(uncommittedIds.has(idOf(r.event)!), 'they are in the log, aborted');
    });

    test('an instance fenced by a newer owner of the partition reports retryable, and nothing it sent is visible', async () => {
      const older = sinks[1]!; // the restarted sink of the test before last
      const newer = eosSink();
      const batch = records(80, 10);
      assert.equal((await newer.sendAndCommit!(batch, offsetsAfter(batch))).status, 'delivered');
      const stale = records(90, 10);
      const outcome = await older.sendAndCommit!(stale, offsetsAfter(stale));
      assert.equal(outcome.status, 'retryable');
      assert.match(outcome.status === 'retryable' ? outcome.error.message : '', /epoch|fenced/i);
      assert.equal(await committedOffset(), '90');
      const ids = new Set(await readCommittedIds());
      assert.equal(ids.size, 95, '80 + 5 on partition 1 + 10 by the newer owner');
      for (const r of stale) assert.ok(!ids.has(idOf(r.event)!));
    });
  });
});
