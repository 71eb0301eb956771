/**
 * A bench session: services, a run id, a scratch folder, the pre-loaded source topic with its
 * average message sizes, and cleanup of everything the session created.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deleteTopics, withAdmin } from '../../testkit/kafka.js';
import { getServices } from '../../testkit/services.js';
import { defaultSchemaRegistry } from '../../src/codec/schema-registry.js';
import { kindOf } from '../../src/events/types.js';
import type { BenchContext } from './context.js';
import { benchEvent } from './events.js';
import { createBenchTopics } from './kafka.js';
import { publishEvents, type PublishResult } from './preload.js';

export interface Session { ctx: BenchContext; preload: PublishResult; close(): Promise<void> }

export function averageSizes(runId: string): { avro: number; json: number } {
  const registry = defaultSchemaRegistry();
  let avro = 0;
  let json = 0;
  const n = 1000;
  for (let i = 0; i < n; i++) {
    const e = benchEvent(i, runId);
    avro += registry.encode(kindOf(e), e).length;
    json += Buffer.byteLength(JSON.stringify(e)) + 1;
  }
  return { avro: avro / n, json: json / n };
}

export async function openSession(options: { events: number; partitions: number; log: (m: string) => void }): Promise<Session> {
  const services = await getServices();
  const runId = randomBytes(3).toString('hex');
  const workDir = path.join(os.tmpdir(), `insight-logs-bench-${runId}`);
  mkdirSync(workDir, { recursive: true });
  const sourceTopic = `bench-${runId}-src`;
  await createBenchTopics(services.kafkaBrokers, [sourceTopic], options.partitions);
  const sizes = averageSizes(runId);
  const ctx: BenchContext = {
    brokers: services.kafkaBrokers,
    storageConnectionString: services.storageConnectionString,
    runId, workDir, sourceTopic,
    partitions: options.partitions,
    events: options.events,
    avroBytesPerEvent: sizes.avro,
    jsonBytesPerEvent: sizes.json,
    log: options.log,
  };
  options.log(`pre-loading ${options.events} events into ${sourceTopic} (${options.partitions} partitions; avg ${sizes.avro.toFixed(0)} B Avro, ${sizes.json.toFixed(0)} B JSON)`);
  const preload = await publishEvents(ctx.brokers, sourceTopic, runId, options.events);
  options.log(`pre-loaded in ${(preload.ms / 1000).toFixed(1)} s (${Math.round(preload.eventsPerSec)} events/s)`);
  return {
    ctx,
    preload,
    async close() {
      const mine = await withAdmin(ctx.brokers, (admin) => admin.listTopics()).then((all) => all.filter((t) => t.startsWith(`bench-${runId}-`))).catch(() => []);
      await deleteTopics(ctx.brokers, mine).catch(() => undefined);
      if (process.env.BENCH_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
      await services.stop();
    },
  };
}
