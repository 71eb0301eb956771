/**
 * The forwarder (child process, `insight-logs forward`) draining the pre-loaded bench topic
 * into one destination: timed from spawn until the destination's consumer group has no lag
 * (every record delivered and committed). Destinations: dir, blob (Azurite), kafka (same
 * broker, another topic), eventhubs (the project's test double as a child process).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { deleteTopics, readCommittedWithKcat, withAdmin } from '../../testkit/kafka.js';
import { startEventHubsDouble, type EventHubsEndpoint } from '../../testkit/eventhubs.js';
import { GROUP_PREFIX } from '../../src/forwarder/pipeline.js';
import { benchIdOf } from '../lib/events.js';
import { throughput, type BenchContext, type Throughput } from '../lib/context.js';
import { startForwarderChild } from '../lib/forwarder-child.js';
import { createBenchTopics, groupLag, pollUntil } from '../lib/kafka.js';

export const DESTINATION_KINDS = ['dir', 'blob', 'kafka', 'kafka-eos', 'eventhubs'] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

export interface ForwarderRun extends Throughput {
  /** How delivery was checked besides the group lag. */
  verified: string;
  rssSamples: { atMs: number; rssMiB: number }[];
}

interface Prepared {
  destination: Record<string, unknown>;
  env?: Record<string, string>;
  verify(): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * The delivery check every destination shares, as the fault suite's oracle does it: the
 * distinct bench ids among `records` are exactly 0 … events-1 (at-least-once: duplicates are
 * counted and reported, never a reason to pass with something missing).
 */
export function verifyIds(kind: string, records: Iterable<Record<string, unknown>>, events: number): string {
  const seen = new Uint8Array(events);
  let total = 0;
  let distinct = 0;
  let foreign = 0;
  for (const record of records) {
    total++;
    const id = benchIdOf(record);
    const i = id !== undefined && /^\d+$/.test(id) ? Number(id) : -1;
    if (i < 0 || i >= events) { foreign++; continue; }
    if (seen[i] === 0) distinct++;
    seen[i] = 1;
  }
  const missing = events - distinct;
  if (missing > 0 || foreign > 0) {
    const sample = [];
    for (let i = 0; i < events && sample.length < 5; i++) if (seen[i] === 0) sample.push(i);
    throw new Error(`${kind}: ${distinct} of ${events} events delivered (${missing} missing, e.g. ${sample.join(', ')}; ${foreign} records without a bench id of this run)`);
  }
  return `${distinct} distinct ids of ${events}, ${total - distinct} duplicate(s)`;
}

function* jsonLinesOf(text: string): Generator<Record<string, unknown>> {
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as Record<string, unknown>;
    } catch {
      yield {};
    }
  }
}

/** Every JSON line of every file under `dir`. */
function* dirRecords(dir: string): Generator<Record<string, unknown>> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* dirRecords(p);
    else if (entry.isFile()) yield* jsonLinesOf(readFileSync(p, 'utf8'));
  }
}

/** Counts newline bytes of every file under `dir`. */
export function countLines(dir: string): number {
  let n = 0;
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        const buf = readFileSync(p);
        for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
      }
    }
  };
  walk(dir);
  return n;
}

async function prepare(ctx: BenchContext, kind: DestinationKind, name: string): Promise<Prepared> {
  switch (kind) {
    case 'dir': {
      const out = path.join(ctx.workDir, name);
      return {
        destination: { name, type: 'dir', path: out },
        async verify() {
          return `${verifyIds('dir', dirRecords(out), ctx.events)} in ${out}`;
        },
        async cleanup() { /* the run's workDir is removed at the end */ },
      };
    }
    case 'blob': {
      const containers = { audit: `${name}-a`.toLowerCase(), operational: `${name}-o`.toLowerCase() };
      const service = BlobServiceClient.fromConnectionString(ctx.storageConnectionString);
      return {
        destination: { name, type: 'blob', connectionStringEnv: 'AZURE_STORAGE_CONNECTION_STRING', containers },
        env: { AZURE_STORAGE_CONNECTION_STRING: ctx.storageConnectionString },
        async verify() {
          const records: Record<string, unknown>[] = [];
          let bytes = 0;
          for (const c of Object.values(containers)) {
            const container = service.getContainerClient(c);
            for await (const blob of container.listBlobsFlat()) {
              const body = await container.getBlobClient(blob.name).downloadToBuffer();
              bytes += body.length;
              records.push(...jsonLinesOf(body.toString('utf8')));
            }
          }
          return `${verifyIds('blob', records, ctx.events)}; ${(bytes / 1e6).toFixed(1)} MB in append blobs`;
        },
        async cleanup() {
          for (const c of Object.values(containers)) await service.getContainerClient(c).deleteIfExists().catch(() => undefined);
        },
      };
    }
    case 'kafka':
    case 'kafka-eos': {
      // The kafka destination wants one topic per category. kafka-eos: the same with
      // exactly-once (transactions committing the source offsets); read back read_committed.
      const targets = { audit: `${name}-out-a`, operational: `${name}-out-o` };
      await createBenchTopics(ctx.brokers, Object.values(targets), ctx.partitions);
      return {
        destination: { name, type: 'kafka', brokers: ctx.brokers, topics: targets, ...(kind === 'kafka-eos' ? { exactlyOnce: true } : {}) },
        async verify() {
          // read_committed with kcat: kafkajs' readAll would wait for ever on the offsets
          // that transaction markers take in the kafka-eos topics.
          const records: Record<string, unknown>[] = [];
          for (const topic of Object.values(targets)) {
            await readCommittedWithKcat(ctx.brokers, topic, (_partition, value) => { records.push(...jsonLinesOf(value)); });
          }
          return `${verifyIds(kind, records, ctx.events)} on the target topics`;
        },
        async cleanup() { await deleteTopics(ctx.brokers, Object.values(targets)).catch(() => undefined); },
      };
    }
    case 'eventhubs': {
      const hubs = { audit: `${name}-a`, operational: `${name}-o` };
      const double: EventHubsEndpoint = await startEventHubsDouble({ hubs: Object.values(hubs), partitions: 2 });
      return {
        destination: { name, type: 'eventhubs', connectionStringEnv: 'EVENTHUBS_CONNECTION_STRING', hubs },
        env: { EVENTHUBS_CONNECTION_STRING: double.connectionString() },
        async verify() {
          // Read back through EventHubConsumerClient, as a real consumer would.
          const records: Record<string, unknown>[] = [];
          for (const hub of Object.values(hubs)) {
            for (const e of await double.readAll(hub, { timeoutMs: 10 * 60_000 })) records.push(...((e.body as { records?: Record<string, unknown>[] })?.records ?? [{}]));
          }
          return `${verifyIds('eventhubs', records, ctx.events)} in the hubs`;
        },
        async cleanup() { await double.stop(); },
      };
    }
  }
}

export interface ForwarderRunOptions {
  cpuProfDir?: string;
  /** Name of the child's log and destinations file (default the destination name). */
  label?: string;
}

export async function runForwarder(ctx: BenchContext, kind: DestinationKind, rep: number, options: ForwarderRunOptions = {}): Promise<ForwarderRun> {
  const name = `bench-${ctx.runId}-${kind}-${rep}`;
  const prepared = await prepare(ctx, kind, name);
  const child = startForwarderChild({
    brokers: ctx.brokers, topic: ctx.sourceTopic, runId: ctx.runId, workDir: ctx.workDir,
    destinations: [prepared.destination], label: options.label ?? name,
    ...(prepared.env ? { env: prepared.env } : {}),
    ...(options.cpuProfDir ? { cpuProfDir: options.cpuProfDir } : {}),
  });
  try {
    let firstAt: number | undefined;
    const doneAt = await withAdmin(ctx.brokers, (admin) => pollUntil(`forwarder → ${kind}`, async () => {
      if (child.process.exitCode !== null) throw new Error(`forwarder exited with ${child.process.exitCode}; see ${ctx.workDir}/${name}.log`);
      const lag = await groupLag(admin, `${GROUP_PREFIX}${name}`, ctx.sourceTopic);
      if (lag < ctx.events) firstAt ??= Date.now();
      return { done: lag === 0, progress: `lag ${lag}` };
    }, 30 * 60_000, 250));
    const ms = doneAt - child.startedAt;
    const exit = await child.stop();
    if (exit !== 0) ctx.log(`  forwarder → ${kind} exited with ${exit} after SIGTERM`);
    const verified = await prepared.verify();
    const peak = child.rss.reduce((m, s) => Math.max(m, s.rssMiB), 0);
    return { ...throughput(ctx, ctx.events, ms, { startupMs: (firstAt ?? doneAt) - child.startedAt, peakRssMiB: peak }), verified, rssSamples: child.rss };
  } finally {
    await child.stop();
    await prepared.cleanup();
  }
}
