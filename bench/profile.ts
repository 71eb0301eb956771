/**
 * Profiles the forwarder under load: pre-loads a topic, runs `insight-logs forward` with
 * `node --cpu-prof` into one destination until it has drained, stops it cleanly (the profile
 * is written at exit) and prints the functions with the most self time.
 *
 *   node dist/bench/profile.js [--destination dir|blob|kafka|eventhubs] [--top 25]
 *   node dist/bench/profile.js --producer [--top 25]
 *   (BENCH_EVENTS, default 200,000; BENCH_PARTITIONS, default 3)
 *
 * `--producer` profiles `EventProducer` publishing BENCH_EVENTS events as fast as it can, in
 * this process (the bench's own event building, the caller's share, is in the ranking too).
 * Writes bench/results/profile-<date>-<destination or producer>.json (throughput and the ranking).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { repoRoot } from '../testkit/services.js';
import { summariseProfile, type CpuProfile } from './lib/cpuprofile.js';
import { load1 } from './lib/machine.js';
import { openSession } from './lib/session.js';
import { DESTINATION_KINDS, runForwarder, type DestinationKind } from './scenarios/forwarder.js';
import { createBenchTopics } from './lib/kafka.js';
import { publishEvents } from './lib/preload.js';
import { deleteTopics, uniqueName } from '../testkit/kafka.js';
import { kafkaSettingsFromEnv } from '../src/kafka/client.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function writeReport(name: string, report: { date: string } & Record<string, unknown>, ranking: ReturnType<typeof summariseProfile>, headline: string): void {
  const out = path.join(repoRoot(), 'bench', 'results', `profile-${report.date.replace(/[:.]/g, '-')}-${name}.json`);
  writeFileSync(out, `${JSON.stringify({ ...report, top: ranking }, null, 2)}\n`);
  process.stdout.write(`${headline}\n\n| self ms | % | function | where |\n|---:|---:|---|---|\n`);
  for (const r of ranking) process.stdout.write(`| ${r.selfMs.toFixed(0)} | ${r.percent} | ${r.functionName} | ${r.where} |\n`);
  process.stderr.write(`[profile] wrote ${path.relative(repoRoot(), out)}\n`);
}

/** EventProducer at its limit, profiled in this process with the inspector. */
async function profileProducer(events: number, partitions: number, top: number): Promise<void> {
  const brokers = kafkaSettingsFromEnv().brokers;
  const topic = uniqueName('bench-profile-producer');
  await createBenchTopics(brokers, [topic], partitions);
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const loadBefore = load1();
    const result = await publishEvents(brokers, topic, 'profile', events);
    const { profile } = await session.post('Profiler.stop');
    const ranking = summariseProfile(profile as unknown as CpuProfile, top);
    writeReport('producer', { date: new Date().toISOString(), producer: true, events, partitions, eventsPerSec: result.eventsPerSec, seconds: result.ms / 1000, load: { before: loadBefore, after: load1() } }, ranking,
      `EventProducer: ${Math.round(result.eventsPerSec)} events/s over ${events} events (profiled; load ${loadBefore})`);
  } finally {
    session.disconnect();
    await deleteTopics(brokers, [topic]).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const top = Number(flag('--top', '25'));
  if (process.argv.includes('--producer')) {
    await profileProducer(Number(process.env.BENCH_EVENTS ?? 200_000), Number(process.env.BENCH_PARTITIONS ?? 3), top);
    return;
  }
  const destination = flag('--destination', 'dir') as DestinationKind;
  // One forwarder process (no cluster workers), so its one profile is the whole forwarder's work.
  process.env.INSIGHT_LOGS_WORKERS ??= '1';
  if (!DESTINATION_KINDS.includes(destination)) throw new Error(`--destination: one of ${DESTINATION_KINDS.join(', ')}`);
  const events = Number(process.env.BENCH_EVENTS ?? 200_000);
  const partitions = Number(process.env.BENCH_PARTITIONS ?? 3);
  const log = (m: string): void => { process.stderr.write(`[profile] ${m}\n`); };
  const session = await openSession({ events, partitions, log });
  const profDir = path.join(session.ctx.workDir, 'cpuprof');
  mkdirSync(profDir, { recursive: true });
  try {
    const loadBefore = load1();
    const run = await runForwarder(session.ctx, destination, 1, { cpuProfDir: profDir });
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile in ${profDir}: did the forwarder exit cleanly?`);
    const ranking = summariseProfile(JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as CpuProfile, top);
    writeReport(destination, { date: new Date().toISOString(), destination, events, eventsPerSec: run.eventsPerSec, seconds: run.ms / 1000, peakRssMiB: run.peakRssMiB, load: { before: loadBefore, after: load1() } }, ranking,
      `forwarder → ${destination}: ${Math.round(run.eventsPerSec)} events/s over ${events} events (profiled; load ${loadBefore})`);
  } finally {
    await session.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`profile failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
