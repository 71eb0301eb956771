/** The bench report: its JSON shape, the console table and bench/RESULTS.md. */
import { existsSync, readFileSync } from 'node:fs';
import type { LatencyResult } from '../scenarios/latency.js';
import type { SoakResult } from '../scenarios/soak.js';
import type { MachineInfo } from './machine.js';

export interface Row {
  group: string;
  name: string;
  runs: number;
  eventsPerSec: number;
  mbPerSec: number;
  seconds: number;
  startupSeconds: number;
  peakRssMiB?: number;
  /** events/s ÷ the do-nothing kafkajs consumer's events/s. */
  vsKafkajs?: number;
  vsJava?: number;
  error?: string;
  note?: string;
}

export interface BenchReport {
  date: string;
  mode: 'quick' | 'full';
  events: number;
  runs: number;
  partitions: number;
  machine: MachineInfo & { loadDuring: { min: number; max: number; median: number }; loadAtEnd: number };
  sizes: { avroBytesPerEvent: number; jsonBytesPerEvent: number };
  preload: { eventsPerSec: number; seconds: number };
  rows: Row[];
  producer?: { emitMicros: number; pinoMicros: number; emitVsPino: number; emitsPerRun: number; emitP99Micros?: number; pinoP99Micros?: number; publishEventsPerSec: number; publishMbPerSec: number; publishPeakRssMiB?: number; javaPublishEventsPerSec?: number };
  /** `insight-logs simulate` as a child process (medians over runs). */
  simulate?: { rate: number; seconds: number; runs: number; published: number; summaryEventsPerSec: number; brokerEventsPerSec: number; peakRssMiB?: number };
  latency?: LatencyResult;
  soak?: SoakResult;
  errors: Record<string, string>;
}

const int = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const fix = (n: number | undefined, d = 1): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d));

function throughputTable(rows: Row[]): string {
  const head = '| what | events/s | MB/s (Avro in) | × kafkajs no-op | × Java perf-test | time s | start-up s | peak RSS MiB | runs | note |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const lines = rows.map((r) => r.error && r.runs === 0
    ? `| ${r.name} | failed | | | | | | | 0 | ${r.error.replaceAll('|', '/').slice(0, 160)} |`
    : `| ${r.name} | ${int(r.eventsPerSec)} | ${fix(r.mbPerSec)} | ${fix(r.vsKafkajs, 2)} | ${fix(r.vsJava, 2)} | ${fix(r.seconds)} | ${fix(r.startupSeconds)} | ${r.peakRssMiB ? int(r.peakRssMiB) : '–'} | ${r.runs} | ${[r.note, r.error && `one run failed: ${r.error}`].filter(Boolean).join('; ').replaceAll('|', '/').slice(0, 200)} |`);
  return [head, ...lines].join('\n');
}

function otherFigures(r: BenchReport): string {
  const out: string[] = [];
  if (r.producer) {
    const p = r.producer;
    out.push(`| producer: one \`emit\` on the caller's loop | ${fix(p.emitMicros, 2)} µs (median over ${int(p.emitsPerRun)} emits) |`);
    out.push(`| one pino log line to /dev/null, same run | ${fix(p.pinoMicros, 2)} µs → emit = ${fix(p.emitVsPino, 1)} × a log line |`);
    if (p.emitP99Micros !== undefined && p.pinoP99Micros !== undefined) out.push(`| p99 of a single \`emit\` / pino line, same run | ${fix(p.emitP99Micros, 2)} µs / ${fix(p.pinoP99Micros, 2)} µs |`);
    out.push(`| producer publish throughput (acks=all) | ${int(p.publishEventsPerSec)} events/s, ${fix(p.publishMbPerSec)} MB/s${p.publishPeakRssMiB ? `, peak RSS ${int(p.publishPeakRssMiB)} MiB (bench process with the producer in it)` : ''} |`);
    if (p.javaPublishEventsPerSec) out.push(`| Kafka's ProducerPerformance (Java), same record size, acks=all, idempotent, same run | ${int(p.javaPublishEventsPerSec)} events/s → EventProducer = ${fix(p.publishEventsPerSec / p.javaPublishEventsPerSec, 2)} × Java |`);
  }
  if (r.simulate) {
    const s = r.simulate;
    out.push(`| \`insight-logs simulate --rate ${int(s.rate)} --duration ${s.seconds}s\` publish rate | ${int(s.summaryEventsPerSec)} events/s by its summary (drain included), ${int(s.brokerEventsPerSec)} events/s into the topics (end offsets); ${int(s.published)} events${s.peakRssMiB ? `, peak RSS ${int(s.peakRssMiB)} MiB` : ''}, ${s.runs} run(s) |`);
  }
  out.push(`| pre-load of the bench topic (EventProducer, ${int(r.events)} events) | ${int(r.preload.eventsPerSec)} events/s |`);
  if (r.latency) {
    const l = r.latency;
    out.push(`| end-to-end latency publish → visible in blob (Azurite), ${int(l.rate)}/s for ${l.seconds} s | p50 ${int(l.blob.p50Ms)} ms, p99 ${int(l.blob.p99Ms)} ms, max ${int(l.blob.maxMs)} ms (${int(l.blob.seen)}/${int(l.published)} seen) |`);
    out.push(`| same events, publish → visible in the dir destination | p50 ${int(l.dir.p50Ms)} ms, p99 ${int(l.dir.p99Ms)} ms, max ${int(l.dir.maxMs)} ms (${int(l.dir.seen)}/${int(l.published)} seen) |`);
  }
  if (r.soak) {
    const s = r.soak;
    out.push(`| forwarder RSS, Kafka → Kafka at ${int(s.rate)}/s for ${s.seconds} s | start ${int(s.rssStartMiB)} / middle ${int(s.rssMiddleMiB)} / end ${int(s.rssEndMiB)} MiB, peak ${int(s.rssPeakMiB)} MiB, slope ${fix(s.slopeMiBPerMin, 2)} MiB/min, drained ${fix(s.drainSeconds)} s after the last publish |`);
  }
  return ['| figure | value |\n|---|---|', ...out].join('\n');
}

export function renderResults(r: BenchReport, changesFile: string): { table: string; markdown: string } {
  const m = r.machine;
  const table = `${throughputTable(r.rows)}\n\n${otherFigures(r)}`;
  const errors = Object.entries(r.errors).map(([k, v]) => `- ${k}: ${v}`).join('\n');
  const changes = existsSync(changesFile) ? readFileSync(changesFile, 'utf8').trim() : '';
  const markdown = `# Benchmark results

Generated by \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\` (bench/run.ts) on ${r.date}; rewritten by every full run of every scenario.
Raw figures: \`bench/results/\`. How to run and what each row means: [docs/benchmarks.md](../docs/benchmarks.md).

- **Machine**: ${m.cores} cores (${m.cpuModel}), ${m.ramGiB} GiB RAM, ${m.platform}, Node ${m.node}, Kafka ${m.kafka} (single local broker, KRaft).
- **Load**: this machine is shared with other engineers' builds and tests; 1-minute load average ${m.loadAtStart} at start, ${m.loadDuring.min}–${m.loadDuring.max} (median ${m.loadDuring.median.toFixed(2)}) at the start of each measurement, ${m.loadAtEnd} at the end. Figures from a busy machine are lower bounds.
- **Work**: ${r.mode} run, ${r.events.toLocaleString('en-US')} events pre-loaded once into one topic of ${r.partitions} partitions (60 % API GET, 20 % API writes, 20 % workflow task events; ${r.sizes.avroBytesPerEvent.toFixed(0)} B Avro per message, ${r.sizes.jsonBytesPerEvent.toFixed(0)} B per JSON line); every figure is the median of ${r.runs} run(s); every reader starts a fresh consumer group at the beginning of that topic.
- **Timing**: from process (or consumer) start until the destination's consumer group has no lag (forwarder), N lines/messages arrived (rsyslog) or N records counted (ceilings). Start-up (group join) is included and shown separately.

## Throughput

${throughputTable(r.rows)}

## Producer, latency, memory

${otherFigures(r)}
${errors ? `\n## Problems in this run\n\n${errors}\n` : ''}
${changes ? `\n${changes}\n` : ''}`;
  return { table, markdown };
}
