/**
 * Issue #10's other design, measured without Kafka: the forwarder's per-record work (Avro
 * decode + validation + JSON in `decodeMessage`, `chunkRecords`, the dir sink's `groupByFile`
 * + `linesOf`) on fetched batches held in memory, done
 *   A. inline on the main thread (what each `--workers` process does today),
 *   B. in one `worker_threads` thread: the main thread copies each batch's message values into
 *      one transferred ArrayBuffer (+ offsets), keeps 2 batches in flight, and gets back each
 *      file group's JSON Lines as a transferred buffer plus per-record metadata,
 *   C. in two threads, round-robin, 2 batches in flight each,
 *   P. inline in two processes at once, half the batches each (`--workers 2`; timed sections
 *      started together, events/s over the union of both).
 * No files are written and kafkajs' own fetch decoding (~5 µs per record, on the main thread
 * in every design) is not included. Each run is a fresh child process (3 rounds of A, B, C
 * interleaved); the medians are printed as a table and the raw runs written to
 * bench/results/threads-<date>.json.
 *
 *   node dist/bench/threads.js          (BENCH_BATCHES=200, BENCH_BATCH_SIZE=2000, BENCH_RUNS=3,
 *                                        BENCH_NODE_FLAGS='--max-semi-space-size=64' for the children,
 *                                        BENCH_INLINE_YIELD=1: A yields to the event loop between batches)
 *   node dist/bench/threads.js --child A|B|C   (one run, JSON on stdout)
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { chunkRecords } from '../src/forwarder/chunking.js';
import { decodeMessage } from '../src/forwarder/decode.js';
import { toKafkaMessage } from '../src/producer/kafka-message.js';
import { groupByFile, linesOf } from '../src/sinks/layout/lines.js';
import type { SinkRecord } from '../src/sinks/sink.js';
import { repoRoot } from '../testkit/services.js';
import { benchEvent } from './lib/events.js';
import { load1, machineInfo } from './lib/machine.js';
import { median, round } from './lib/stats.js';

type Variant = 'A' | 'B' | 'C';
/** P: two processes running A at once on half the batches each (what `--workers 2` does). */
type Row = Variant | 'P';
const VARIANTS: Variant[] = ['A', 'B', 'C'];
const ROWS: Row[] = ['A', 'P', 'B', 'C'];
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Distinct batches encoded; the timed batches cycle through them (decoding allocates afresh each time). */
const DISTINCT = 20;
/** Batches processed before timing, through the same path: JIT and the threads' start-up out of the figures. */
const WARMUP = 20;
const IN_FLIGHT_PER_THREAD = 2;
/** BENCH_INLINE_YIELD=1: A turns the event loop after each batch. */
const YIELD = process.env.BENCH_INLINE_YIELD === '1';
/** Node flags for every child, e.g. `--max-semi-space-size=64` (V8 flags hold for the child's threads too). */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const TOPIC = 'insight-logs.operational';
const PARTITION = 0;

const registry = defaultSchemaRegistry();

interface Group { category: string; blobName: string; body: Buffer; records: SinkRecord[] }

/** What one pipeline does to a fetched batch before any I/O: decode/validate/JSON, chunk, group by file, JSON Lines. */
function work(values: readonly Buffer[], baseOffset: number): { groups: Group[]; bad: number; rejected: number } {
  const good: SinkRecord[] = [];
  let bad = 0;
  for (let i = 0; i < values.length; i++) {
    const result = decodeMessage(registry, values[i]!, { topic: TOPIC, partition: PARTITION, offset: String(baseOffset + i) });
    if (result.ok) good.push(result.record);
    else bad++;
  }
  const groups: Group[] = [];
  let rejected = 0;
  for (const chunk of chunkRecords(good)) {
    const grouped = groupByFile(chunk);
    rejected += grouped.rejected.length;
    for (const g of grouped.groups) groups.push({ category: g.category, blobName: g.blobName, body: linesOf(g.records), records: g.records });
  }
  return { groups, bad, rejected };
}

// ---------------------------------------------------------------- worker thread side

/** A batch as the main thread ships it: every value copied into one buffer, value i at offsets[i]..offsets[i+1]. */
interface BatchMessage { id: number; baseOffset: number; values: ArrayBuffer; offsets: Uint32Array }
interface GroupMeta { category: string; blobName: string; recordStart: number; recordCount: number }
/** What the sink and the offset bookkeeping need back: bodies, and per record its index in the batch, grouped. */
interface ResultMessage { id: number; bodies: ArrayBuffer[]; groups: GroupMeta[]; recordIndex: Int32Array; bad: number; rejected: number }

function serveBatches(): void {
  let workMs = 0;
  let packMs = 0;
  parentPort!.on('message', (m: BatchMessage | 'stats') => {
    if (m === 'stats') {
      parentPort!.postMessage({ workMs, packMs });
      return;
    }
    const t = performance.now();
    const values: Buffer[] = new Array(m.offsets.length - 1);
    for (let i = 0; i < values.length; i++) values[i] = Buffer.from(m.values, m.offsets[i]!, m.offsets[i + 1]! - m.offsets[i]!);
    const { groups, bad, rejected } = work(values, m.baseOffset);
    const t1 = performance.now();
    // Each group's JSON Lines go back as their own ArrayBuffer, transferred, not copied:
    // `linesOf` allocates bodies above the pool size (4 KiB), which own their ArrayBuffer;
    // a small one (sharing the pool) is copied out first.
    let records = 0;
    for (const g of groups) records += g.records.length;
    const bodies: ArrayBuffer[] = [];
    const recordIndex = new Int32Array(records);
    const metas: GroupMeta[] = [];
    let r = 0;
    for (const g of groups) {
      const own = g.body.byteOffset === 0 && g.body.byteLength === g.body.buffer.byteLength;
      bodies.push(own ? g.body.buffer as ArrayBuffer : new Uint8Array(g.body).buffer);
      metas.push({ category: g.category, blobName: g.blobName, recordStart: r, recordCount: g.records.length });
      for (const rec of g.records) recordIndex[r++] = Number(rec.offset) - m.baseOffset;
    }
    const result: ResultMessage = { id: m.id, bodies, groups: metas, recordIndex, bad, rejected };
    parentPort!.postMessage(result, [...bodies, recordIndex.buffer]);
    const t2 = performance.now();
    workMs += t1 - t;
    packMs += t2 - t1;
  });
}

// ---------------------------------------------------------------- one run (child process)

/** The kafkajs-like batches: each batch's values are slices of one buffer, as in a fetch response. */
function makeBatches(): Buffer[][] {
  const topics = { audit: 'insight-logs.audit', operational: TOPIC };
  const batches: Buffer[][] = [];
  for (let b = 0; b < DISTINCT; b++) {
    const encoded: Buffer[] = [];
    for (let i = 0; i < BATCH_SIZE; i++) encoded.push(toKafkaMessage(benchEvent(b * BATCH_SIZE + i, 'thr'), registry, topics).message.value as Buffer);
    const all = Buffer.concat(encoded);
    const slices: Buffer[] = [];
    let at = 0;
    for (const e of encoded) {
      slices.push(all.subarray(at, at + e.length));
      at += e.length;
    }
    batches.push(slices);
  }
  return batches;
}

/** This thread's user+system CPU ms from /proc (Linux; 10 ms ticks). Node 20 has no process.threadCpuUsage. */
function threadCpuMs(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the name start at #3 (state); utime is #14, stime #15.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface RunResult {
  variant: Row; events: number; batches: number; wallMs: number; eventsPerSec: number;
  mainCpuMs: number; mainActiveMs: number; processCpuMs: number;
  mainCpuUsPerEvent: number; mainActiveUsPerEvent: number; processCpuUsPerEvent: number;
  /** Main thread only, B/C: copying values into the shipped buffer + postMessage, and reading the results back. */
  mainPackUsPerEvent?: number; mainUnpackUsPerEvent?: number;
  /** Threads, B/C: the forwarder's work, and building/posting the result buffer. */
  threadWorkUsPerEvent?: number; threadPackUsPerEvent?: number;
  bodyBytes: number; bad: number; rejected: number; loadAtStart: number;
  /** Epoch ms of the timed section, to overlap P's two processes. */
  startedAtMs: number; endedAtMs: number;
}

async function runChild(variant: Variant): Promise<RunResult> {
  const batches = makeBatches();
  const threads = variant === 'A' ? 0 : variant === 'B' ? 1 : 2;
  const workers = Array.from({ length: threads }, () => new Worker(fileURLToPath(import.meta.url)));
  let bodyBytes = 0;
  let bad = 0;
  let rejected = 0;
  let packMs = 0;
  let unpackMs = 0;
  let sink = 0;

  const inline = async (count: number, from: number): Promise<void> => {
    for (let b = 0; b < count; b++) {
      const n = from + b;
      const r = work(batches[n % DISTINCT]!, n * BATCH_SIZE);
      for (const g of r.groups) bodyBytes += g.body.length;
      bad += r.bad;
      rejected += r.rejected;
      // The pipeline awaits the sink's I/O after each chunk: the event loop turns (and V8's
      // foreground GC tasks run) between batches, as in the threads.
      if (YIELD) await new Promise(setImmediate);
    }
  };

  const threaded = (count: number, from: number): Promise<void> => new Promise((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const send = (w: Worker): void => {
      const n = from + sent++;
      const t = performance.now();
      const values = batches[n % DISTINCT]!;
      const offsets = new Uint32Array(values.length + 1);
      let total = 0;
      for (let i = 0; i < values.length; i++) {
        offsets[i] = total;
        total += values[i]!.length;
      }
      offsets[values.length] = total;
      const buf = new ArrayBuffer(total);
      const bytes = new Uint8Array(buf);
      for (let i = 0; i < values.length; i++) bytes.set(values[i]!, offsets[i]!);
      const m: BatchMessage = { id: n, baseOffset: n * BATCH_SIZE, values: buf, offsets };
      w.postMessage(m, [buf, offsets.buffer]);
      packMs += performance.now() - t;
    };
    for (const w of workers) {
      w.removeAllListeners('message');
      w.on('message', (r: ResultMessage) => {
        const t = performance.now();
        // What the sink and the offset tracker would take from it: a body per file, and the
        // last offset of each chunk's records (the record indexes are in batch order per group).
        for (let k = 0; k < r.groups.length; k++) {
          const g = r.groups[k]!;
          const body = Buffer.from(r.bodies[k]!);
          bodyBytes += body.length;
          let last = -1;
          for (let i = g.recordStart; i < g.recordStart + g.recordCount; i++) if (r.recordIndex[i]! > last) last = r.recordIndex[i]!;
          sink += String(r.id * BATCH_SIZE + last).length;
        }
        bad += r.bad;
        rejected += r.rejected;
        unpackMs += performance.now() - t;
        done++;
        if (sent < count) send(w);
        else if (done === count) resolve();
      });
      w.on('error', reject);
    }
    for (let k = 0; k < IN_FLIGHT_PER_THREAD; k++) for (const w of workers) if (sent < count) send(w);
  });
  const process_ = threads === 0 ? inline : threaded;

  await process_(WARMUP, 0);
  if (process.argv.includes('--barrier')) {
    // P: both processes encoded and warmed up; the parent starts their timed sections together.
    process.stdout.write('ready\n');
    const rl = createInterface({ input: process.stdin });
    await once(rl, 'line');
    rl.close();
    process.stdin.destroy(); // an open stdin would keep this process alive
  }
  const workerStats0 = await Promise.all(workers.map(workerStats));
  bodyBytes = bad = rejected = packMs = unpackMs = 0;
  const loadAtStart = load1();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const main0 = threadCpuMs(process.pid);
  const t0 = performance.now();
  await process_(BATCHES, WARMUP);
  const t1 = performance.now();
  const wallMs = t1 - t0;
  const mainCpuMs = threadCpuMs(process.pid) - main0;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const workerStats1 = await Promise.all(workers.map(workerStats));
  await Promise.all(workers.map((w) => w.terminate()));
  if (sink < 0) throw new Error('unreachable');

  const events = BATCHES * BATCH_SIZE;
  const us = (ms: number): number => round((ms * 1000) / events, 2);
  const processCpuMs = (cpu.user + cpu.system) / 1000;
  const result: RunResult = {
    variant, events, batches: BATCHES, wallMs: round(wallMs), eventsPerSec: round(events / (wallMs / 1000)),
    mainCpuMs: round(mainCpuMs), mainActiveMs: round(elu.active), processCpuMs: round(processCpuMs),
    mainCpuUsPerEvent: us(mainCpuMs), mainActiveUsPerEvent: us(elu.active), processCpuUsPerEvent: us(processCpuMs),
    bodyBytes, bad, rejected, loadAtStart, startedAtMs: performance.timeOrigin + t0, endedAtMs: performance.timeOrigin + t1,
  };
  if (threads > 0) {
    result.mainPackUsPerEvent = us(packMs);
    result.mainUnpackUsPerEvent = us(unpackMs);
    let w = 0;
    let p = 0;
    workerStats1.forEach((s, i) => {
      w += s.workMs - workerStats0[i]!.workMs;
      p += s.packMs - workerStats0[i]!.packMs;
    });
    result.threadWorkUsPerEvent = us(w);
    result.threadPackUsPerEvent = us(p);
  }
  return result;
}

function workerStats(w: Worker): Promise<{ workMs: number; packMs: number }> {
  return new Promise((resolve) => {
    w.removeAllListeners('message');
    w.once('message', resolve);
    w.postMessage('stats');
  });
}

// ---------------------------------------------------------------- orchestration

/** Two `--child A` processes on half the batches each, timed sections started together, merged into one row. */
async function runProcesses(): Promise<RunResult> {
  const children = [0, 1].map(() => spawn(process.execPath, [...NODE_FLAGS, fileURLToPath(import.meta.url), '--child', 'A', '--barrier'], {
    env: { ...process.env, BENCH_BATCHES: String(BATCHES / 2) }, stdio: ['pipe', 'pipe', 'inherit'],
  }));
  const lines = children.map((c) => createInterface({ input: c.stdout! })[Symbol.asyncIterator]());
  for (const l of lines) if ((await l.next()).value !== 'ready') throw new Error('a P child did not get ready');
  for (const c of children) c.stdin!.write('go\n');
  const rs = await Promise.all(lines.map(async (l) => JSON.parse((await l.next()).value as string) as RunResult));
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
  const events = rs[0]!.events + rs[1]!.events;
  const startedAtMs = Math.min(rs[0]!.startedAtMs, rs[1]!.startedAtMs);
  const endedAtMs = Math.max(rs[0]!.endedAtMs, rs[1]!.endedAtMs);
  const wallMs = endedAtMs - startedAtMs;
  const sum = (k: keyof RunResult): number => (rs[0]![k] as number) + (rs[1]![k] as number);
  const us = (ms: number): number => round((ms * 1000) / events, 2);
  return {
    variant: 'P', events, batches: BATCHES, wallMs: round(wallMs), eventsPerSec: round(events / (wallMs / 1000)),
    mainCpuMs: sum('mainCpuMs'), mainActiveMs: sum('mainActiveMs'), processCpuMs: sum('processCpuMs'),
    // Each process's main thread per event it forwards (both do the same work).
    mainCpuUsPerEvent: us(sum('mainCpuMs')), mainActiveUsPerEvent: us(sum('mainActiveMs')), processCpuUsPerEvent: us(sum('processCpuMs')),
    bodyBytes: sum('bodyBytes'), bad: sum('bad'), rejected: sum('rejected'), loadAtStart: rs[0]!.loadAtStart, startedAtMs, endedAtMs,
  };
}

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const runs: RunResult[] = [];
  const script = fileURLToPath(import.meta.url);
  for (let round_ = 1; round_ <= RUNS; round_++) {
    for (const v of ROWS) {
      const r = v === 'P' ? await runProcesses()
        : JSON.parse(execFileSync(process.execPath, [...NODE_FLAGS, script, '--child', v], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 })) as RunResult;
      runs.push(r);
      process.stderr.write(`[threads] round ${round_} ${v}: ${r.eventsPerSec} events/s, main ${r.mainCpuUsPerEvent} µs/event (active ${r.mainActiveUsPerEvent}), process ${r.processCpuUsPerEvent} µs/event, load ${r.loadAtStart}\n`);
    }
  }
  const medians = ROWS.map((v) => {
    const of = runs.filter((r) => r.variant === v);
    const m = (k: keyof RunResult): number | undefined => (of[0]![k] === undefined ? undefined : round(median(of.map((r) => r[k] as number)), 2));
    return {
      variant: v, eventsPerSec: round(m('eventsPerSec')!), mainCpuUsPerEvent: m('mainCpuUsPerEvent'), mainActiveUsPerEvent: m('mainActiveUsPerEvent'),
      processCpuUsPerEvent: m('processCpuUsPerEvent'), mainPackUsPerEvent: m('mainPackUsPerEvent'), mainUnpackUsPerEvent: m('mainUnpackUsPerEvent'),
      threadWorkUsPerEvent: m('threadWorkUsPerEvent'), threadPackUsPerEvent: m('threadPackUsPerEvent'),
    };
  });
  const file = path.join(repoRoot(), 'bench', 'results', `threads-${date.replace(/[:.]/g, '-')}${NODE_FLAGS.length ? '-flags' : ''}.json`);
  const settings = { nodeFlags: NODE_FLAGS, batches: BATCHES, batchSize: BATCH_SIZE, distinctBatches: DISTINCT, warmupBatches: WARMUP, inFlightPerThread: IN_FLIGHT_PER_THREAD, runs: RUNS };
  writeFileSync(file, `${JSON.stringify({ date, machine: machineInfo(), settings, medians, runs }, null, 2)}\n`);
  const names: Record<Row, string> = { A: 'A. inline, 1 process', P: 'P. inline, 2 processes (A twice)', B: 'B. 1 worker thread', C: 'C. 2 worker threads' };
  const f = (n: number | undefined): string => (n === undefined ? '–' : n.toFixed(2));
  process.stdout.write('| variant | events/s | main thread CPU µs/event | main loop active µs/event | process CPU µs/event | main: pack + post / read back µs | thread: work / pack µs |\n|---|---:|---:|---:|---:|---:|---:|\n');
  for (const m of medians) {
    process.stdout.write(`| ${names[m.variant]} | ${m.eventsPerSec.toLocaleString('en-US')} | ${f(m.mainCpuUsPerEvent)} | ${f(m.mainActiveUsPerEvent)} | ${f(m.processCpuUsPerEvent)} | ${m.mainPackUsPerEvent === undefined ? '–' : `${f(m.mainPackUsPerEvent)} / ${f(m.mainUnpackUsPerEvent)}`} | ${m.threadWorkUsPerEvent === undefined ? '–' : `${f(m.threadWorkUsPerEvent)} / ${f(m.threadPackUsPerEvent)}`} |\n`);
  }
  process.stderr.write(`[threads] wrote ${path.relative(repoRoot(), file)}\n`);
}

if (!isMainThread) {
  serveBatches();
} else if (process.argv.includes('--child')) {
  const v = process.argv[process.argv.indexOf('--child') + 1] as Variant;
  if (!VARIANTS.includes(v)) throw new Error(`--child takes A, B or C, not ${v}`);
  runChild(v).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`), (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
