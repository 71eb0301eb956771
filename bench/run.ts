/**
 * `npm run bench`: the forwarder against its ceilings and a peer on the same machine, broker
 * and topic. Settings (env): BENCH_EVENTS (1,000,000), BENCH_RUNS (3), BENCH_PARTITIONS (3),
 * BENCH_LATENCY_SECONDS (30), BENCH_LATENCY_RATE (10,000), BENCH_SOAK_SECONDS (600; 60 quick),
 * BENCH_SOAK_RATE (10,000), BENCH_SIMULATE_RATE (25,000), BENCH_SIMULATE_SECONDS (10),
 * BENCH_KEEP=1 keeps the scratch folder. `--quick` (or BENCH_QUICK=1): 100,000 events, 1 run.
 * `--only a,b` runs some scenarios: ceilings, forwarder, rsyslog, connect, producer, clients, simulate, latency, soak. Writes bench/results/<date>-<mode>.json; a full run of every scenario (no --quick, no --only) also rewrites bench/RESULTS.md.
 * `--only search` runs the archive search scenario alone (bench/scenarios/search.ts: no Kafka,
 * its own Azurite; not part of the default run) and writes bench/results/<date>-search.json;
 * its section of bench/RESULTS.md is written by hand from that file.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../testkit/services.js';
import { javaConsumerPerf, kafkajsDoNothing } from './scenarios/ceilings.js';
import { clientVariants } from './scenarios/clients.js';
import { loadConfluentClient, type ConfluentClient } from './scenarios/confluent-client.js';
import { DESTINATION_KINDS, runForwarder } from './scenarios/forwarder.js';
import { measureLatency, type LatencyResult } from './scenarios/latency.js';
import { emitCost, javaProducerPerf, publishThroughput, type EmitCost } from './scenarios/producer.js';
import { rsyslogMissing, runRsyslog } from './scenarios/rsyslog.js';
import { kafkaConnectMissing, runKafkaConnect } from './scenarios/kafka-connect.js';
import { simulatePublishRate, type SimulateResult } from './scenarios/simulate.js';
import { soak, type SoakResult } from './scenarios/soak.js';
import { searchBench } from './scenarios/search.js';
import type { Throughput } from './lib/context.js';
import { load1, machineInfo } from './lib/machine.js';
import { renderResults, type BenchReport, type Row } from './lib/report.js';
import { openSession } from './lib/session.js';
import { median } from './lib/stats.js';

const SCENARIOS = ['ceilings', 'forwarder', 'rsyslog', 'connect', 'producer', 'clients', 'simulate', 'latency', 'soak'] as const;
/** Scenarios run only when named with --only. */
const EXTRA_SCENARIOS = ['search'] as const;

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got "${raw}"`);
  return n;
}

function parseArgs(argv: string[]): { quick: boolean; only: Set<string> } {
  const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const i = argv.indexOf('--only');
  const only = new Set(i >= 0 ? (argv[i + 1] ?? '').split(',').filter(Boolean) : SCENARIOS);
  const known: readonly string[] = [...SCENARIOS, ...EXTRA_SCENARIOS];
  for (const s of only) if (!known.includes(s)) throw new Error(`--only: unknown scenario "${s}" (known: ${known.join(', ')})`);
  if (only.has('search') && only.size > 1) throw new Error('--only search runs alone (it needs no Kafka and brings its own Azurite)');
  return { quick, only };
}

const log = (m: string): void => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`); };

/**
 * Sections of bench/RESULTS.md that other runs own (the archive search, written from an
 * `--only search` run): a full run keeps them at the end instead of dropping them.
 */
function keptSections(file: string): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('\n## Archive search');
  if (start < 0) return '';
  const next = text.indexOf('\n## ', start + 1);
  return `\n${text.slice(start + 1, next < 0 ? undefined : next + 1).trimEnd()}\n`;
}

/** `--only search`: the archive search against az + grep, written to bench/results/<date>-search.json. */
async function mainSearch(): Promise<void> {
  const machine = machineInfo();
  const startedAt = new Date();
  const runId = Math.random().toString(16).slice(2, 8);
  const workDir = path.join(os.tmpdir(), `insight-logs-bench-${runId}`);
  mkdirSync(workDir, { recursive: true });
  log(`search run: ${machine.cores} cores, ${machine.ramGiB} GiB, node ${machine.node}, load ${machine.loadAtStart}`);
  try {
    const result = await searchBench({ workDir, runId, log });
    const report = { date: startedAt.toISOString(), mode: 'search', machine: { ...machine, loadAtEnd: load1() }, search: result };
    const root = repoRoot();
    mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
    const jsonFile = path.join(root, 'bench', 'results', `${startedAt.toISOString().replace(/[:.]/g, '-')}-search.json`);
    writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    for (const r of result.rows) {
      process.stdout.write(`${r.name.padEnd(42)} ${r.seconds.toFixed(2).padStart(8)} s ${r.mbPerSec.toFixed(1).padStart(8)} MB/s ${Math.round(r.eventsPerSec).toString().padStart(9)} events/s  ${r.matches} matches${r.peakRssMiB ? `, peak RSS ${r.peakRssMiB.toFixed(0)} MiB` : ''}\n`);
    }
    log(`wrote ${path.relative(root, jsonFile)}${Object.keys(result.errors).length ? `; errors: ${JSON.stringify(result.errors)}` : ''}`);
  } finally {
    if (process.env.BENCH_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  if (only.has('search')) return mainSearch();
  const events = intEnv('BENCH_EVENTS', quick ? 100_000 : 1_000_000);
  const runs = quick ? 1 : intEnv('BENCH_RUNS', 3);
  const partitions = intEnv('BENCH_PARTITIONS', 3);
  const latencySeconds = intEnv('BENCH_LATENCY_SECONDS', 30);
  const latencyRate = intEnv('BENCH_LATENCY_RATE', 10_000);
  const soakSeconds = intEnv('BENCH_SOAK_SECONDS', quick ? 60 : 600);
  const soakRate = intEnv('BENCH_SOAK_RATE', 10_000);
  const simulateRate = intEnv('BENCH_SIMULATE_RATE', 25_000);
  const simulateSeconds = intEnv('BENCH_SIMULATE_SECONDS', 10);
  const machine = machineInfo();
  const startedAt = new Date();
  log(`${quick ? 'quick' : 'full'} run: ${events} events, ${runs} run(s); ${machine.cores} cores, ${machine.ramGiB} GiB, node ${machine.node}, kafka ${machine.kafka}, load ${machine.loadAtStart}`);

  const session = await openSession({ events, partitions, log });
  const { ctx } = session;
  const samples = new Map<string, { group: string; runs: Throughput[]; error?: string; note?: string }>();
  const loads: number[] = [];
  const record = async (group: string, name: string, work: () => Promise<Throughput>, note?: string): Promise<void> => {
    const entry = samples.get(name) ?? { group, runs: [] };
    samples.set(name, entry);
    if (note) entry.note = note;
    if (entry.error) return;
    try {
      loads.push(load1());
      const t = await work();
      entry.runs.push(t);
      log(`  ${name}: ${Math.round(t.eventsPerSec)} events/s (${(t.ms / 1000).toFixed(1)} s${t.peakRssMiB ? `, peak RSS ${t.peakRssMiB.toFixed(0)} MiB` : ''})`);
    } catch (err) {
      entry.error = (err as Error).message;
      log(`  ${name}: FAILED ${entry.error}`);
    }
  };

  let rsyslogProblem: string | undefined;
  if (only.has('rsyslog')) {
    rsyslogProblem = await rsyslogMissing(ctx.workDir);
    if (rsyslogProblem) log(`rsyslog skipped: ${rsyslogProblem}`);
  }
  let connectProblem: string | undefined;
  if (only.has('connect')) {
    connectProblem = await kafkaConnectMissing();
    if (connectProblem) log(`Kafka Connect skipped: ${connectProblem}`);
  }
  let confluent: ConfluentClient | undefined;
  let confluentProblem: string | undefined;
  if (only.has('clients')) {
    const loaded = await loadConfluentClient(log);
    if (typeof loaded === 'string') {
      confluentProblem = loaded;
      log(`@confluentinc/kafka-javascript skipped in the clients scenario: ${loaded}`);
    } else confluent = loaded;
  }
  const emitRuns: EmitCost[] = [];
  const publishRuns: (Throughput & { javaEventsPerSec: number; peakRssMiB: number })[] = [];
  const simulateRuns: SimulateResult[] = [];
  let latency: LatencyResult | undefined;
  let soakResult: SoakResult | undefined;
  const errors: Record<string, string> = {};

  try {
    // Repetitions outside, scenarios inside: a burst of load from other users hits every row alike.
    for (let rep = 1; rep <= runs; rep++) {
      log(`run ${rep}/${runs}`);
      if (only.has('ceilings')) {
        await record('ceiling', 'kafka-consumer-perf-test (Java)', () => javaConsumerPerf(ctx), 'from consumer start, JVM start-up excluded');
        await record('ceiling', 'kafkajs consumer, does nothing', () => kafkajsDoNothing(ctx));
      }
      if (only.has('forwarder')) {
        for (const kind of DESTINATION_KINDS) {
          const note = kind === 'eventhubs' ? 'to the project\'s test double (child process)' : kind === 'blob' ? 'to Azurite' : kind === 'kafka-eos' ? 'exactly-once: a transaction per chunk with the source offsets' : undefined;
          await record('forwarder', `forwarder → ${kind}`, () => runForwarder(ctx, kind, rep), note);
        }
      }
      if (only.has('rsyslog') && !rsyslogProblem) {
        await record('peer', 'rsyslog imkafka → omfile', () => runRsyslog(ctx, 'file', rep), 'no Avro decoding: passes bytes through');
        await record('peer', 'rsyslog imkafka → omkafka', () => runRsyslog(ctx, 'kafka', rep), 'no Avro decoding: passes bytes through');
      }
      if (only.has('connect') && !connectProblem) {
        await record('peer', 'Kafka Connect FileStreamSink → file', () => runKafkaConnect(ctx, rep), 'standalone worker, 1 task, ByteArrayConverter: no Avro decoding, JVM start-up included');
      }
      if (only.has('producer')) {
        try {
          emitRuns.push(await emitCost(ctx, Math.min(50_000, events)));
          const p = await publishThroughput(ctx, Math.max(20_000, Math.round(events / 5)));
          const java = await javaProducerPerf(ctx, Math.max(100_000, Math.round(events / 2)));
          publishRuns.push({ ms: p.ms, eventsPerSec: p.eventsPerSec, mbPerSec: (p.eventsPerSec * ctx.avroBytesPerEvent) / 1e6, javaEventsPerSec: java.eventsPerSec, peakRssMiB: p.peakRssMiB });
          log(`  producer: emit ${emitRuns.at(-1)!.emitMicros.toFixed(2)} µs vs pino ${emitRuns.at(-1)!.pinoMicros.toFixed(2)} µs; publish ${Math.round(p.eventsPerSec)} events/s; Java ProducerPerformance ${Math.round(java.eventsPerSec)} events/s (${(p.eventsPerSec / java.eventsPerSec).toFixed(2)}×)`);
        } catch (err) {
          errors.producer = (err as Error).message;
          log(`  producer: FAILED ${errors.producer}`);
        }
      }
      if (only.has('clients')) {
        for (const [name, work] of clientVariants(ctx, Math.max(50_000, Math.round(events / 4)), confluent)) {
          const note = name.includes('native produce') ? 'idempotent, acks=all, the same records, produce() per record (librdkafka batches)'
            : name.includes('produce') || name.includes('transactions') ? 'idempotent, acks=all, batches of 2,000 bench records (key, 2 headers)' : 'no work per record';
          await record('client', name, work, note);
        }
      }
      if (only.has('simulate') && !errors.simulate) {
        try {
          const s = await simulatePublishRate(ctx, simulateRate, simulateSeconds);
          simulateRuns.push(s);
          log(`  simulate --rate ${simulateRate} --duration ${simulateSeconds}s: ${s.published} events, ${Math.round(s.summaryEventsPerSec)}/s by its summary, ${Math.round(s.brokerEventsPerSec)}/s into the topics${s.peakRssMiB ? `, peak RSS ${s.peakRssMiB.toFixed(0)} MiB` : ''}`);
        } catch (err) {
          errors.simulate = (err as Error).message;
          log(`  simulate: FAILED ${errors.simulate}`);
        }
      }
    }
    if (only.has('latency')) {
      log(`latency: ${latencyRate}/s for ${latencySeconds} s`);
      try {
        latency = await measureLatency(ctx, latencyRate, latencySeconds);
        log(`  blob p50 ${latency.blob.p50Ms.toFixed(0)} ms p99 ${latency.blob.p99Ms.toFixed(0)} ms; dir p50 ${latency.dir.p50Ms.toFixed(0)} ms p99 ${latency.dir.p99Ms.toFixed(0)} ms`);
      } catch (err) {
        errors.latency = (err as Error).message;
        log(`  latency: FAILED ${errors.latency}`);
      }
    }
    if (only.has('soak')) {
      log(`soak: ${soakRate}/s for ${soakSeconds} s`);
      try {
        soakResult = await soak(ctx, soakRate, soakSeconds);
        log(`  RSS start ${soakResult.rssStartMiB.toFixed(0)} / middle ${soakResult.rssMiddleMiB.toFixed(0)} / end ${soakResult.rssEndMiB.toFixed(0)} MiB, slope ${soakResult.slopeMiBPerMin.toFixed(2)} MiB/min`);
      } catch (err) {
        errors.soak = (err as Error).message;
        log(`  soak: FAILED ${errors.soak}`);
      }
    }
  } finally {
    await session.close().catch((err: unknown) => log(`cleanup failed: ${String(err)}`));
  }

  const ceiling = samples.get('kafkajs consumer, does nothing');
  const ceilingRate = ceiling?.runs.length ? median(ceiling.runs.map((r) => r.eventsPerSec)) : undefined;
  const javaRows = samples.get('kafka-consumer-perf-test (Java)');
  const javaRate = javaRows?.runs.length ? median(javaRows.runs.map((r) => r.eventsPerSec)) : undefined;
  const rows: Row[] = [...samples].map(([name, s]) => {
    const eps = median(s.runs.map((r) => r.eventsPerSec));
    const peaks = s.runs.map((r) => r.peakRssMiB).filter((v): v is number => v !== undefined);
    return {
      group: s.group,
      name,
      runs: s.runs.length,
      eventsPerSec: eps,
      mbPerSec: median(s.runs.map((r) => r.mbPerSec)),
      seconds: median(s.runs.map((r) => r.ms / 1000)),
      startupSeconds: median(s.runs.map((r) => (r.startupMs ?? Number.NaN) / 1000).filter((v) => Number.isFinite(v))),
      ...(peaks.length ? { peakRssMiB: Math.max(...peaks) } : {}),
      ...(ceilingRate ? { vsKafkajs: eps / ceilingRate } : {}),
      ...(javaRate ? { vsJava: eps / javaRate } : {}),
      ...(s.error ? { error: s.error } : {}),
      ...(s.note ? { note: s.note } : {}),
    };
  });
  if (rsyslogProblem) errors.rsyslog = rsyslogProblem;
  if (connectProblem) errors.connect = connectProblem;
  if (confluentProblem) errors.confluent = confluentProblem;
  const report: BenchReport = {
    date: startedAt.toISOString(),
    mode: quick ? 'quick' : 'full',
    events, runs, partitions,
    machine: { ...machine, loadDuring: { min: Math.min(...loads), max: Math.max(...loads), median: median(loads) }, loadAtEnd: load1() },
    sizes: { avroBytesPerEvent: ctx.avroBytesPerEvent, jsonBytesPerEvent: ctx.jsonBytesPerEvent },
    preload: { eventsPerSec: session.preload.eventsPerSec, seconds: session.preload.ms / 1000 },
    rows,
    ...(emitRuns.length ? { producer: {
      emitMicros: median(emitRuns.map((e) => e.emitMicros)),
      pinoMicros: median(emitRuns.map((e) => e.pinoMicros)),
      emitVsPino: median(emitRuns.map((e) => e.ratio)),
      emitP99Micros: median(emitRuns.map((e) => e.emitP99Micros)),
      pinoP99Micros: median(emitRuns.map((e) => e.pinoP99Micros)),
      publishPeakRssMiB: Math.max(...publishRuns.map((p) => p.peakRssMiB)),
      emitsPerRun: emitRuns[0]!.emits,
      publishEventsPerSec: median(publishRuns.map((p) => p.eventsPerSec)),
      publishMbPerSec: median(publishRuns.map((p) => p.mbPerSec)),
      javaPublishEventsPerSec: median(publishRuns.map((p) => p.javaEventsPerSec)),
    } } : {}),
    ...(simulateRuns.length ? { simulate: {
      rate: simulateRate,
      seconds: simulateSeconds,
      runs: simulateRuns.length,
      published: median(simulateRuns.map((s) => s.published)),
      summaryEventsPerSec: median(simulateRuns.map((s) => s.summaryEventsPerSec)),
      brokerEventsPerSec: median(simulateRuns.map((s) => s.brokerEventsPerSec)),
      ...(simulateRuns.some((s) => s.peakRssMiB !== undefined) ? { peakRssMiB: Math.max(...simulateRuns.map((s) => s.peakRssMiB ?? 0)) } : {}),
    } } : {}),
    ...(latency ? { latency } : {}),
    ...(soakResult ? { soak: soakResult } : {}),
    errors,
  };
  const root = repoRoot();
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  const jsonFile = path.join(root, 'bench', 'results', `${startedAt.toISOString().replace(/[:.]/g, '-')}-${report.mode}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  const { table, markdown } = renderResults(report, path.join(root, 'bench', 'what-changed.md'));
  // RESULTS.md is the published table: only a full run of every scenario replaces it.
  const complete = !quick && SCENARIOS.every((s) => only.has(s));
  if (complete) writeFileSync(path.join(root, 'bench', 'RESULTS.md'), markdown + keptSections(path.join(root, 'bench', 'RESULTS.md')));
  process.stdout.write(`${table}\n`);
  log(`wrote ${path.relative(root, jsonFile)}${complete ? ' and bench/RESULTS.md' : ' (bench/RESULTS.md is only rewritten by a full run of every scenario)'}`);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
