/**
 * The forwarder (child process, `insight-logs forward`) draining the pre-loaded bench topic
 * into one destination: timed from spawn until the destination's consumer group has no lag
 * (every record delivered and committed). Destinations: dir, blob (Azurite), kafka (same
 * broker, another topic), eventhubs (the project's test double as a child process).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { deleteTopics, withAdmin } from '../../testkit/kafka.js';
import { startEventHubsDouble, type EventHubsEndpoint } from '../../testkit/eventhubs.js';
import { GROUP_PREFIX } from '../../src/forwarder/pipeline.js';
import { throughput, type BenchContext, type Throughput } from '../lib/context.js';
import { startForwarderChild } from '../lib/forwarder-child.js';
import { createBenchTopics, endOffsetSum, groupLag, pollUntil } from '../lib/kafka.js';

export const DESTINATION_KINDS = ['dir', 'blob', 'kafka', 'eventhubs'] as const;
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
          const lines = countLines(out);
          if (lines !== ctx.events) throw new Error(`dir: ${lines} lines for ${ctx.events} events`);
          return `${lines} lines in ${out}`;
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
          let bytes = 0;
          for (const c of Object.values(containers)) {
            for await (const blob of service.getContainerClient(c).listBlobsFlat()) bytes += blob.properties.contentLength ?? 0;
          }
          const expected = ctx.events * ctx.jsonBytesPerEvent;
          // Sizes vary per record; within 5 % of N average lines means nothing is missing wholesale.
          if (Math.abs(bytes - expected) > expected * 0.05) throw new Error(`blob: ${bytes} bytes stored, about ${expected} expected`);
          return `${(bytes / 1e6).toFixed(1)} MB in append blobs`;
        },
        async cleanup() {
          for (const c of Object.values(containers)) await service.getContainerClient(c).deleteIfExists().catch(() => undefined);
        },
      };
    }
    case 'kafka': {
      // The kafka destination wants one topic per category.
      const targets = { audit: `${name}-out-a`, operational: `${name}-out-o` };
      await createBenchTopics(ctx.brokers, Object.values(targets), ctx.partitions);
      return {
        destination: { name, type: 'kafka', brokers: ctx.brokers, topics: targets },
        async verify() {
          const n = await withAdmin(ctx.brokers, async (admin) => (await endOffsetSum(admin, targets.audit)) + (await endOffsetSum(admin, targets.operational)));
          if (n < ctx.events) throw new Error(`kafka: ${n} messages on the target topics for ${ctx.events} events`);
          return `${n} messages on the target topics`;
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
          const state = (await (await fetch(`${double.controlUrl}/state`)).json()) as unknown;
          return `double state: ${JSON.stringify(state).slice(0, 200)}`;
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
