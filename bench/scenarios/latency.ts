/**
 * End-to-end latency at a steady rate: events published through the EventProducer at
 * `rate`/s for `seconds`, each carrying its publish time in its id (`<epoch ms>.<seq>`);
 * the forwarder (child process) runs a blob destination (Azurite) and a dir destination; the
 * bench tails both (new bytes of every append blob / file) and takes "seen" minus "published".
 * Resolution: the tail polls every 100 ms (dir) / 250 ms (blob), half of which adds to each figure on average.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { deleteTopics } from '../../testkit/kafka.js';
import { EventProducer } from '../../src/producer/event-producer.js';
import type { BenchContext } from '../lib/context.js';
import { benchIdOf } from '../lib/events.js';
import { startForwarderChild } from '../lib/forwarder-child.js';
import { benchKafkaSettings, createBenchTopics } from '../lib/kafka.js';
import { percentile } from '../lib/stats.js';
import { nowMs as now, publishAtRate } from '../lib/steady.js';

export interface LatencyResult {
  rate: number;
  seconds: number;
  published: number;
  blob: { seen: number; p50Ms: number; p99Ms: number; maxMs: number };
  dir: { seen: number; p50Ms: number; p99Ms: number; maxMs: number };
}

/** Parses complete JSON lines and records latency of each id not seen before. */
function lineSink(latencies: number[], seen: Set<string>): (text: string, at: number) => string {
  return (text, at) => {
    const lines = text.split('\n');
    const rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      const id = benchIdOf(JSON.parse(line) as Record<string, unknown>);
      if (!id || seen.has(id)) continue;
      seen.add(id);
      latencies.push(at - Number(id.slice(0, id.lastIndexOf('.'))));
    }
    return rest;
  };
}

function summary(latencies: number[]): LatencyResult['blob'] {
  return { seen: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies.reduce((m, v) => Math.max(m, v), 0) };
}

async function waitForReady(logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const url = existsSync(logFile) ? /metrics on (http:\/\/[^\s]+)\/metrics/.exec(readFileSync(logFile, 'utf8'))?.[1] : undefined;
    if (url) {
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      if (res?.ok) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`forwarder not ready after ${timeoutMs} ms (see ${logFile})`);
}

export async function measureLatency(ctx: BenchContext, rate: number, seconds: number): Promise<LatencyResult> {
  const name = `bench-${ctx.runId}-latency`;
  const topic = `${name}-src`;
  await createBenchTopics(ctx.brokers, [topic], ctx.partitions);
  const containers = { audit: `${name}-a`, operational: `${name}-o` };
  const outDir = path.join(ctx.workDir, `${name}-dir`);
  const service = BlobServiceClient.fromConnectionString(ctx.storageConnectionString);
  const child = startForwarderChild({
    brokers: ctx.brokers, topic, runId: ctx.runId, workDir: ctx.workDir, label: name,
    destinations: [
      { name: `${name}-blob`, type: 'blob', connectionStringEnv: 'AZURE_STORAGE_CONNECTION_STRING', containers },
      { name: `${name}-dir`, type: 'dir', path: outDir },
    ],
    env: { AZURE_STORAGE_CONNECTION_STRING: ctx.storageConnectionString },
  });
  const producer = new EventProducer({
    kafka: benchKafkaSettings(ctx.brokers, ctx.runId),
    topics: { audit: topic, operational: topic },
    maxQueueSize: rate * 5,
    deliveryTimeoutMs: 60_000,
  });
  const blobLat: number[] = [];
  const dirLat: number[] = [];
  const blobSeen = new Set<string>();
  const dirSeen = new Set<string>();
  const blobState = new Map<string, { offset: number; rest: string }>();
  const dirState = new Map<string, { offset: number; rest: string }>();
  const onBlob = lineSink(blobLat, blobSeen);
  const onDir = lineSink(dirLat, dirSeen);

  const tailBlobs = async (): Promise<void> => {
    for (const c of Object.values(containers)) {
      const container = service.getContainerClient(c);
      if (!(await container.exists())) continue;
      for await (const blob of container.listBlobsFlat()) {
        const length = blob.properties.contentLength ?? 0;
        const key = `${c}/${blob.name}`;
        const state = blobState.get(key) ?? { offset: 0, rest: '' };
        if (length <= state.offset) continue;
        const body = await container.getBlobClient(blob.name).downloadToBuffer(state.offset, length - state.offset);
        state.rest = onBlob(state.rest + body.toString('utf8'), now());
        state.offset = length;
        blobState.set(key, state);
      }
    }
  };
  const tailDir = (): void => {
    if (!existsSync(outDir)) return;
    for (const entry of readdirSync(outDir, { recursive: true, encoding: 'utf8' })) {
      const file = path.join(outDir, entry);
      const st = statSync(file);
      if (!st.isFile()) continue;
      const state = dirState.get(file) ?? { offset: 0, rest: '' };
      if (st.size <= state.offset) continue;
      const buf = Buffer.alloc(st.size - state.offset);
      const fd = openSync(file, 'r');
      try { readSync(fd, buf, 0, buf.length, state.offset); } finally { closeSync(fd); }
      state.rest = onDir(state.rest + buf.toString('utf8'), now());
      state.offset = st.size;
      dirState.set(file, state);
    }
  };

  let stopTails = false;
  let tailError = '';
  const blobLoop = (async () => {
    while (!stopTails) {
      await tailBlobs().catch((err: unknown) => {
        const message = (err as Error).message;
        if (message !== tailError) ctx.log(`  blob tail: ${(tailError = message)}`);
      });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const dirLoop = (async () => { while (!stopTails) { tailDir(); await new Promise((r) => setTimeout(r, 100)); } })();
  let published = 0;
  try {
    await waitForReady(path.join(ctx.workDir, `${name}.log`), 120_000);
    await producer.connect();
    const total = rate * seconds;
    published = await publishAtRate(producer, ctx.runId, rate, seconds);
    const deadline = Date.now() + 120_000;
    while ((blobSeen.size < total || dirSeen.size < total) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    return { rate, seconds, published, blob: summary(blobLat), dir: summary(dirLat) };
  } finally {
    stopTails = true;
    await Promise.all([blobLoop, dirLoop]);
    await producer.close();
    await child.stop();
    for (const c of Object.values(containers)) await service.getContainerClient(c).deleteIfExists().catch(() => undefined);
    await deleteTopics(ctx.brokers, [topic]).catch(() => undefined);
  }
}
