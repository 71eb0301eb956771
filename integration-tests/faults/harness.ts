/**
 * What every fault scenario shares: its own source, destinations and dead-letter topics;
 * a publisher that notes every event in the oracle; spawned `insight-logs forward` processes
 * (the real CLI, killable with any signal); consumer-group progress; cleanup of all of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Admin, Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { defaultSchemaRegistry } from '../../src/codec/schema-registry.js';
import { parseDestination } from '../../src/config/destinations.js';
import { DestinationStore } from '../../src/destinations/store.js';
import { kindOf, type InsightEvent } from '../../src/events/types.js';
import { groupIdFor } from '../../src/forwarder/pipeline.js';
import { DEFAULT_GROUP_SESSION } from '../../src/forwarder/group-session.js';
import { createKafka, kafkaSettingsFromEnv } from '../../src/kafka/client.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { deleteTopics, kafkaClient, readAll, uniqueName } from '../../testkit/kafka.js';
import { Oracle } from '../helpers/oracle.js';
import { apiEventWithId, idOf, workflowEventWithId } from '../helpers/records.js';
import { repoRoot } from '../../testkit/services.js';

export const LONG = process.env.FAULTS_LONG === '1';
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Fault scenarios pick their moments at random; the seed is printed so a run can be reasoned about. */
export const random = (min: number, max: number): number => min + Math.random() * (max - min);

/** Event `i` of a scenario: a third audit, a third operational API calls, a third workflow events, over `instances` resources. */
export function eventFor(i: number, instances = 6): InsightEvent {
  const id = randomUUID();
  const instance = `FAULT-INSTANCE-${i % instances}`;
  if (i % 3 === 0) return apiEventWithId(id, { audit: true, instance });
  if (i % 3 === 1) return apiEventWithId(id, { audit: false, instance });
  return workflowEventWithId(id, { instance });
}

export interface ForwardProcess {
  readonly child: ChildProcess;
  /** The last 64 KiB of stdout + stderr (everything when `keepAll`). */
  output(): string;
  /** Resolves with the metrics port once the process printed it. */
  metricsPort: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  stop(signal: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  healthz(): Promise<{ status: number; body: string }>;
}

export const cliMain = (): string => path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

/** Spawns the real CLI (`node dist/src/cli/main.js …`). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, options: { keepAll?: boolean } = {}): ForwardProcess {
  const child = spawn(process.execPath, [cliMain(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output += d.toString();
    if (!options.keepAll && output.length > 65_536) output = output.slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  const metricsPort = new Promise<number>((resolve, reject) => {
    const look = (): void => {
      const m = /metrics on http:\/\/[^:]+:(\d+)\//.exec(output);
      if (m) {
        child.stderr!.off('data', look);
        resolve(Number(m[1]));
      }
    };
    child.stderr!.on('data', look);
    void exited.then(({ code, signal }) => reject(new Error(`forward exited (${code ?? signal}) before serving metrics:\n${output.slice(-4000)}`)));
  });
  metricsPort.catch(() => undefined);
  return {
    child,
    output: () => output,
    metricsPort,
    exited,
    async stop(signal, graceMs = 45_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
    async healthz() {
      const port = await metricsPort;
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: await res.text() };
    },
  };
}

export interface FaultRunOptions {
  brokers: string[];
  partitions?: number;
  instances?: number;
}

/** One scenario's topics, oracle, publisher and processes. */
export class FaultRun {
  readonly base: string;
  readonly topics: { audit: string; operational: string; destinations: string; deadLetter: string };
  readonly oracle: Oracle;
  readonly kafka: Kafka;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private readonly processes = new Set<ForwardProcess>();
  private readonly extraTopics = new Set<string>();
  /** Destination name → the source topics its group reads. */
  private readonly destinations = new Map<string, string[]>();
  private published = 0;

  constructor(readonly scenario: string, readonly options: FaultRunOptions) {
    this.base = uniqueName(`fault-${scenario}`);
    this.topics = {
      audit: `${this.base}-audit`,
      operational: `${this.base}-operational`,
      destinations: `${this.base}-destinations`,
      deadLetter: `${this.base}-deadletter`,
    };
    this.oracle = new Oracle(scenario);
    this.kafka = kafkaClient(options.brokers);
  }

  get brokers(): string[] {
    return this.options.brokers;
  }

  async setup(): Promise<void> {
    // Created as the product creates them (replicated on a cluster of 3 or more brokers).
    await ensureTopics(kafkaSettingsFromEnv({ KAFKA_BROKERS: this.brokers.join(',') }), {
      names: { audit: this.topics.audit, operational: this.topics.operational },
      only: ['audit', 'operational'],
      partitions: this.options.partitions ?? 3,
    });
    this.admin = this.kafka.admin();
    await this.admin.connect();
  }

  /** A topic (or hub, container…) name of this run; Kafka topics named here are deleted at the end. */
  name(suffix: string, kafkaTopic = false): string {
    const n = `${this.base}-${suffix}`;
    if (kafkaTopic) this.extraTopics.add(n);
    return n;
  }

  /** The CLI environment: this run's own topics, plus `extra`. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KAFKA_BROKERS: this.brokers.join(','),
      INSIGHT_LOGS_AUDIT_TOPIC: this.topics.audit,
      INSIGHT_LOGS_OPERATIONAL_TOPIC: this.topics.operational,
      INSIGHT_LOGS_DESTINATIONS_TOPIC: this.topics.destinations,
      INSIGHT_LOGS_DEADLETTER_TOPIC: this.topics.deadLetter,
      LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? 'warn',
      // To compare failover times (e.g. kafkajs' 30 s against the forwarder's 10 s default).
      ...(process.env.INSIGHT_LOGS_SESSION_TIMEOUT_MS ? { INSIGHT_LOGS_SESSION_TIMEOUT_MS: process.env.INSIGHT_LOGS_SESSION_TIMEOUT_MS } : {}),
      ...extra,
    };
  }

  /** Writes destinations to this run's destinations topic (validated like the CLI does). */
  async addDestinations(raws: Record<string, unknown>[]): Promise<void> {
    const configs = raws.map((raw, i) => parseDestination(raw, `destinations[${i}]`));
    const store = new DestinationStore({ kafka: createKafka(kafkaSettingsFromEnv({ KAFKA_BROKERS: this.brokers.join(',') })), topic: this.topics.destinations });
    try {
      await store.apply(configs);
    } finally {
      await store.close();
    }
    for (const c of configs) this.destinations.set(c.name, c.categories.map((cat) => this.topics[cat]));
  }

  spawnForwarder(extraEnv: NodeJS.ProcessEnv = {}, args: string[] = []): ForwardProcess {
    const p = spawnCli(['forward', '--metrics-port', '0', ...args], this.env(extraEnv));
    this.processes.add(p);
    void p.exited.then(() => this.processes.delete(p));
    return p;
  }

  private async producerReady(): Promise<Producer> {
    if (!this.producer) {
      this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await this.producer.connect();
    }
    return this.producer;
  }

  /** Publishes `n` events (noted in the oracle once acknowledged), `perSend` at a time. */
  async publish(n: number, options: { perSend?: number; pauseMs?: number } = {}): Promise<void> {
    const perSend = options.perSend ?? 200;
    for (let sent = 0; sent < n; sent += perSend) {
      await this.sendEvents(this.nextEvents(Math.min(perSend, n - sent)));
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  }

  /** The next `n` events of this run (not sent yet). */
  nextEvents(n: number): InsightEvent[] {
    return Array.from({ length: n }, () => eventFor(this.published++, this.options.instances));
  }

  /** Sends `events` in one request (each to its category's topic); noted in the oracle once acknowledged. */
  async sendEvents(events: InsightEvent[]): Promise<void> {
    const producer = await this.producerReady();
    const registry = defaultSchemaRegistry();
    const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
    for (const e of events) {
      const topic = e.category === 'Audit' ? this.topics.audit : this.topics.operational;
      const list = byTopic.get(topic) ?? [];
      list.push({ key: e.resourceId, value: registry.encode(kindOf(e), e), headers: { kind: kindOf(e) } });
      byTopic.set(topic, list);
    }
    try {
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    } catch (err) {
      for (const e of events) this.oracle.noteUncertain(e);
      throw err;
    }
    for (const e of events) this.oracle.note(e);
  }

  /**
   * Sends prepared messages in one request, in order; the events in `good` are noted in the
   * oracle once Kafka acknowledged them. Resolves Kafka's answer (partition and base offset of
   * each topic-partition written), for scenarios that watch one record's offset.
   */
  async sendRaw(topicMessages: { topic: string; messages: Message[] }[], good: InsightEvent[] = []): Promise<RecordMetadata[]> {
    const producer = await this.producerReady();
    const written = await producer.sendBatch({ acks: -1, topicMessages });
    for (const e of good) this.oracle.note(e);
    return written;
  }

  /**
   * Publishes in the background at about `perSecond` until stopped; `stop()` resolves the count
   * of acknowledged events. With `resendFailed` a send that fails (broker down) is counted and
   * the same events are sent again until acknowledged (the oracle counts them once
   * acknowledged; a first try that did land shows up as a duplicate, not as a loss).
   */
  publishContinuously(perSecond: number, options: { resendFailed?: boolean } = {}): { stop(): Promise<number>; failures(): number } {
    let running = true;
    let failures = 0;
    const perSend = Math.max(1, Math.round(perSecond / 10));
    const loop = (async () => {
      let n = 0;
      while (running) {
        const events = this.nextEvents(perSend);
        for (;;) {
          try {
            await this.sendEvents(events);
            break;
          } catch (err) {
            if (!options.resendFailed) throw err;
            failures++;
            // A producer that gave up may keep a broken connection: start a fresh one.
            await this.resetProducer();
            await sleep(500);
          }
        }
        n += perSend;
        await sleep(100);
      }
      return n;
    })();
    return {
      async stop() {
        running = false;
        return loop;
      },
      failures: () => failures,
    };
  }

  private async resetProducer(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    await old?.disconnect().catch(() => undefined);
  }

  /** The members of `destination`'s consumer group and the group's state (Stable, PreparingRebalance …). */
  async groupMembers(destination: string): Promise<{ state: string; members: number }> {
    const { groups } = await this.admin!.describeGroups([groupIdFor(destination)]);
    const g = groups[0];
    return { state: g?.state ?? 'Unknown', members: g?.members.length ?? 0 };
  }

  /** Committed offset per `topic/partition` of `destination`'s group (-1 when none). */
  async committedOffsets(destination: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const topic of this.destinations.get(destination) ?? [this.topics.audit, this.topics.operational]) {
      const [committed] = await this.admin!.fetchOffsets({ groupId: groupIdFor(destination), topics: [topic] });
      for (const p of committed?.partitions ?? []) out.set(`${topic}/${p.partition}`, Number(p.offset));
    }
    return out;
  }

  /** Source record ids per `topic/partition`, in offset order (index = offset). */
  async sourceIds(): Promise<Map<string, (string | undefined)[]>> {
    const registry = defaultSchemaRegistry();
    const out = new Map<string, (string | undefined)[]>();
    for (const topic of [this.topics.audit, this.topics.operational]) {
      for (const m of await readAll(this.brokers, topic, { timeoutMs: 60_000 })) {
        const key = `${topic}/${m.partition}`;
        const list = out.get(key) ?? [];
        list[Number(m.offset)] = m.value ? idOf(registry.decode(m.value).event) : undefined;
        out.set(key, list);
      }
    }
    return out;
  }

  /** Source records not yet committed by `destination`'s consumer group. */
  async lag(destination: string): Promise<number> {
    const admin = this.admin!;
    let lag = 0;
    for (const topic of this.destinations.get(destination) ?? [this.topics.audit, this.topics.operational]) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: groupIdFor(destination), topics: [topic] });
      for (const end of ends) {
        const c = committed?.partitions.find((p) => p.partition === end.partition);
        lag += Number(end.high) - Math.max(0, Number(c?.offset ?? -1));
      }
    }
    return lag;
  }

  async committed(destination: string): Promise<number> {
    const admin = this.admin!;
    let total = 0;
    for (const topic of [this.topics.audit, this.topics.operational]) {
      const [committed] = await admin.fetchOffsets({ groupId: groupIdFor(destination), topics: [topic] });
      for (const p of committed?.partitions ?? []) total += Math.max(0, Number(p.offset));
    }
    return total;
  }

  /** Waits until `destination`'s group committed more than `since` records. */
  async waitForProgress(destination: string, since: number, timeoutMs: number, alive?: ForwardProcess): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let now = since;
      try {
        now = await this.committed(destination);
      } catch (err) {
        // Right after a broker restart the group coordinator moves or loads (NOT_COORDINATOR,
        // COORDINATOR_LOAD_IN_PROGRESS): the question is asked again, until the deadline.
        if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      }
      if (now > since) return now;
      if (alive && (alive.child.exitCode !== null || alive.child.signalCode !== null)) throw new Error(`forwarder exited:\n${alive.output().slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`${destination}: no commit past ${since} within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Waits until every destination's group committed everything; fails early when `alive` processes all exited. */
  async waitForLagZero(destinations: string[], timeoutMs: number, alive: ForwardProcess[] = []): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lags = await Promise.all(destinations.map((d) => this.lag(d)));
      if (lags.every((l) => l === 0)) return;
      if (alive.length && alive.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)) {
        throw new Error(`every forwarder exited with lag ${lags.join('/')}:\n${alive[0]!.output().slice(-4000)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`lag still ${destinations.map((d, i) => `${d}=${lags[i]}`).join(', ')} after ${timeoutMs} ms:\n${alive[0]?.output().slice(-4000) ?? ''}`);
      }
      await sleep(250);
    }
  }

  /**
   * Deletes the run's consumer groups, so `status` and `top` on a shared broker do not list them
   * afterwards. A group with a member killed -9 cannot be deleted (NON_EMPTY_GROUP) until the
   * member's session times out: retried until then.
   */
  private async deleteGroups(groups: string[]): Promise<void> {
    let left = groups;
    const deadline = Date.now() + DEFAULT_GROUP_SESSION.sessionTimeoutMs + 5000;
    while (left.length > 0) {
      const failed = await this.admin!.deleteGroups(left).then(() => [] as string[], (err: { groups?: { groupId: string; errorCode: number }[] }) =>
        (err.groups ?? []).filter((g) => g.errorCode !== 0 && g.errorCode !== 69 /* GROUP_ID_NOT_FOUND */).map((g) => g.groupId));
      left = failed;
      if (left.length === 0 || Date.now() > deadline) break;
      await sleep(1000);
    }
  }

  async cleanup(): Promise<void> {
    // SIGTERM first: a forwarder that leaves its groups lets them be deleted now.
    for (const p of [...this.processes]) await p.stop('SIGTERM', 5000);
    await this.producer?.disconnect().catch(() => undefined);
    if (this.admin) {
      await this.deleteGroups([...this.destinations.keys()].map(groupIdFor));
      await this.admin.disconnect().catch(() => undefined);
    }
    await deleteTopics(this.brokers, [...Object.values(this.topics), ...this.extraTopics]).catch(() => undefined);
  }
}
