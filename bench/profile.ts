/**
 * Profiles the forwarder under load: pre-loads a topic, runs `insight-logs forward` with
 * `node --cpu-prof` into one destination until it has drained, stops it cleanly (the profile
 * is written at exit) and prints the functions with the most self time.
 *
 *   node dist/bench/profile.js [--destination dir|blob|kafka|eventhubs] [--top 25]
 *   (BENCH_EVENTS, default 200,000; BENCH_PARTITIONS, default 3)
 *
 * Writes bench/results/profile-<date>-<destination>.json (throughput and the ranking).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../testkit/services.js';
import { summariseProfile, type CpuProfile } from './lib/cpuprofile.js';
import { load1 } from './lib/machine.js';
import { openSession } from './lib/session.js';
import { DESTINATION_KINDS, runForwarder, type DestinationKind } from './scenarios/forwarder.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const destination = flag('--destination', 'dir') as DestinationKind;
  if (!DESTINATION_KINDS.includes(destination)) throw new Error(`--destination: one of ${DESTINATION_KINDS.join(', ')}`);
  const top = Number(flag('--top', '25'));
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
    const report = { date: new Date().toISOString(), destination, events, eventsPerSec: run.eventsPerSec, seconds: run.ms / 1000, peakRssMiB: run.peakRssMiB, load: { before: loadBefore, after: load1() }, top: ranking };
    const out = path.join(repoRoot(), 'bench', 'results', `profile-${report.date.replace(/[:.]/g, '-')}-${destination}.json`);
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`forwarder → ${destination}: ${Math.round(run.eventsPerSec)} events/s over ${events} events (profiled; load ${loadBefore})\n\n| self ms | % | function | where |\n|---:|---:|---|---|\n`);
    for (const r of ranking) process.stdout.write(`| ${r.selfMs.toFixed(0)} | ${r.percent} | ${r.functionName} | ${r.where} |\n`);
    log(`wrote ${path.relative(repoRoot(), out)}`);
  } finally {
    await session.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`profile failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
