/**
 * `search` scenario: a day of archived events (24 hours × the bench's 16 instances, both
 * categories) written by the real blob sink into a private Azurite and by the dir sink into a
 * folder, then one "who did X" search (a filter that matches few records) over the whole day:
 *
 * - `insight-logs search` on the dir folder and on the Azurite account (the CLI as a user runs
 *   it, Node start-up included);
 * - the baseline a user has today: `az storage blob download-batch` of both containers, then
 *   `grep` on the copy (download and grep timed apart); and `grep -r` on the dir folder.
 *
 * Every row reads the same bytes and must find the same number of matches (checked). MB/s is
 * the archive's bytes over wall time, events/s its records over wall time.
 * Settings (env): BENCH_SEARCH_MB (archive size, default 300), BENCH_SEARCH_RUNS (3).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { toSinkRecord } from '../../src/forwarder/sink-record.js';
import { silentLogger } from '../../src/logging.js';
import { blobSinkType } from '../../src/sinks/blob/sink.js';
import { dirSinkType } from '../../src/sinks/dir/sink.js';
import type { Sink, SinkRecord } from '../../src/sinks/sink.js';
import { topicFor } from '../../src/events/routing.js';
import { startAzurite } from '../../integration-tests/helpers/azurite.js';
import { repoRoot } from '../../testkit/services.js';
import { startChild } from '../lib/child.js';
import { benchEvent } from '../lib/events.js';
import { median } from '../lib/stats.js';

/** The day searched. */
const DAY = '2026-11-15';
const DAY_START_MS = Date.parse(`${DAY}T00:00:00Z`);
const DAY_MS = 86_400_000;
const NEXT_DAY = new Date(DAY_START_MS + DAY_MS).toISOString().slice(0, 10);
const BATCH = 20_000;
/** "Who deleted something as caller-42": about 1 record in 1,500. */
export const SEARCH_FILTERS = ['properties.callerObjectId=caller-42', 'properties.method=DELETE'];
const GREP_PIPELINE = `grep -rhF --include='PT1H*.json' '"callerObjectId":"caller-42"' "$DIR" | grep -cF '"method":"DELETE"'`;

export interface SearchBenchRow {
  name: string;
  runs: number;
  seconds: number;
  mbPerSec: number;
  eventsPerSec: number;
  matches: number;
  peakRssMiB?: number;
  /** For the az + grep row: the two parts. */
  downloadSeconds?: number;
  grepSeconds?: number;
  note?: string;
}

export interface SearchBenchResult {
  day: string;
  events: number;
  archiveBytes: number;
  blobs: number;
  resources: number;
  writeSeconds: { blob: number; dir: number };
  filters: string[];
  expectedMatches: number;
  azVersion?: string;
  rows: SearchBenchRow[];
  errors: Record<string, string>;
}

function filesUnder(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

/** Runs a command to the end: wall time, stdout, peak RSS of it and its children (sampled each second). */
async function runMeasured(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<{ ms: number; code: number | string; peakRssMiB?: number }> {
  const started = process.hrtime.bigint();
  const child = startChild(command, args, { env: { ...process.env, ...env }, logFile });
  const code = await child.exited;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const peaks = child.rss.map((s) => s.rssMiB);
  return { ms, code, ...(peaks.length ? { peakRssMiB: Math.max(...peaks) } : {}) };
}

function sh(script: string, env: NodeJS.ProcessEnv): { ms: number; stdout: string } {
  const started = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', script], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0 && !(r.status === 1 && r.stdout.trim() === '0')) throw new Error(`${script.slice(0, 80)}… exited ${r.status}: ${r.stderr.slice(-500)}`);
  return { ms, stdout: r.stdout };
}

function countLines(file: string): number {
  const r = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
  return Number(r.stdout.trim().split(/\s+/)[0]);
}

/** Writes the day through both sinks; returns the number of events and the expected matches. */
async function writeArchive(sinks: Sink[], targetBytes: number, runId: string, log: (m: string) => void): Promise<{ events: number; expected: number; ms: { blob: number; dir: number } }> {
  // Average JSON line of bench events, to size the day.
  let sample = 0;
  for (let i = 0; i < 1000; i++) sample += Buffer.byteLength(JSON.stringify(benchEvent(i, runId))) + 1;
  const events = Math.max(10_000, Math.round(targetBytes / (sample / 1000)));
  const stepMs = DAY_MS / events;
  let expected = 0;
  const ms = { blob: 0, dir: 0 };
  for (let from = 0; from < events; from += BATCH) {
    const batch: SinkRecord[] = [];
    for (let i = from; i < Math.min(events, from + BATCH); i++) {
      const event = benchEvent(i, runId);
      event.time = new Date(DAY_START_MS + Math.floor(i * stepMs)).toISOString();
      const p = event.properties as unknown as Record<string, unknown>;
      if (p.callerObjectId === 'caller-42' && p.method === 'DELETE') expected++;
      batch.push(toSinkRecord(event, { topic: topicFor(event.category), partition: 0, offset: String(i) }));
    }
    for (const [i, sink] of sinks.entries()) {
      const t = await timed(() => sink.send(batch));
      if (t.value.status !== 'delivered') throw new Error(`writing the archive: ${sink.type} answered ${t.value.status}`);
      ms[i === 0 ? 'blob' : 'dir'] += t.ms;
    }
    if ((from / BATCH) % 10 === 0) log(`  archive: ${Math.min(events, from + BATCH)}/${events} events written`);
  }
  return { events, expected, ms };
}

export async function searchBench(options: { workDir: string; runId: string; log: (m: string) => void }): Promise<SearchBenchResult> {
  const targetMb = Number(process.env.BENCH_SEARCH_MB || 300);
  const runs = Number(process.env.BENCH_SEARCH_RUNS || 3);
  const { workDir, runId, log } = options;
  const dir = path.join(workDir, 'search-dir');
  const azurite = await startAzurite({ location: path.join(workDir, 'search-azurite') });
  const errors: Record<string, string> = {};
  const rows: SearchBenchRow[] = [];
  try {
    const env = { BENCH_SEARCH_CS: azurite.connectionString };
    const context = { name: 'bench-search', categories: ['audit', 'operational'] as const, logger: silentLogger, env };
    const blobSink = blobSinkType.create(blobSinkType.parseSettings({ connectionStringEnv: 'BENCH_SEARCH_CS' }, 'bench'), { ...context, categories: [...context.categories] });
    const dirSink = dirSinkType.create(dirSinkType.parseSettings({ path: dir }, 'bench'), { ...context, categories: [...context.categories] });
    log(`search: writing ~${targetMb} MB of ${DAY} through the blob sink (Azurite on ${azurite.port}) and the dir sink`);
    const written = await writeArchive([blobSink, dirSink], targetMb * 1e6, runId, log);
    await blobSink.close();
    await dirSink.close();
    const { files, bytes } = filesUnder(dir);
    log(`search: ${written.events} events, ${files} files, ${(bytes / 1e6).toFixed(0)} MB per copy, ${written.expected} expected matches (blob sink ${(written.ms.blob / 1000).toFixed(1)} s, dir sink ${(written.ms.dir / 1000).toFixed(1)} s)`);

    const cli = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
    const searchArgs = (from: string): string[] => [cli, 'search', '--from', from, '--since', DAY, '--until', NEXT_DAY, ...SEARCH_FILTERS.flatMap((f) => ['--filter', f]), '--output', 'json'];
    const samples = new Map<string, { ms: number[]; matches: number; rss: number[]; download: number[]; grep: number[]; note?: string }>();
    const sample = (name: string) => {
      const s = samples.get(name) ?? { ms: [], matches: -1, rss: [], download: [], grep: [] };
      samples.set(name, s);
      return s;
    };
    const azVersion = spawnSync('az', ['version', '--output', 'tsv'], { encoding: 'utf8' });
    const haveAz = azVersion.status === 0;
    if (!haveAz) errors.az = 'az not installed (Debian: apt-get install azure-cli)';

    for (let rep = 1; rep <= runs; rep++) {
      log(`search: run ${rep}/${runs}`);
      for (const [name, from, env2] of [
        ['insight-logs search, dir folder', dir, {}],
        ['insight-logs search, Azurite account', `http://127.0.0.1:${azurite.port}/devstoreaccount1`, { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString }],
      ] as const) {
        const out = path.join(workDir, `search-out-${rep}.jsonl`);
        const r = await runMeasured('bash', ['-c', `exec node ${searchArgs(from).map((a) => `'${a}'`).join(' ')} > '${out}'`], env2, path.join(workDir, 'search-cli.log'));
        if (r.code !== 0) throw new Error(`${name} exited ${r.code}; see ${path.join(workDir, 'search-cli.log')}`);
        const s = sample(name);
        s.ms.push(r.ms);
        s.matches = countLines(out);
        if (r.peakRssMiB !== undefined) s.rss.push(r.peakRssMiB);
        log(`  ${name}: ${(r.ms / 1000).toFixed(2)} s, ${s.matches} matches`);
      }
      const g = sh(GREP_PIPELINE, { DIR: dir });
      const gs = sample('grep -r on the dir folder');
      gs.ms.push(g.ms);
      gs.matches = Number(g.stdout.trim());
      log(`  grep -r on the dir folder: ${(g.ms / 1000).toFixed(2)} s, ${gs.matches} matches`);
      if (haveAz && !errors.az) {
        const copy = path.join(workDir, `az-copy-${rep}`);
        rmSync(copy, { recursive: true, force: true });
        try {
          const download = sh(['audit', 'operational'].map((c) => `mkdir -p '${copy}/${topicFor(c as 'audit')}' && az storage blob download-batch --only-show-errors --output none --max-connections 4 -s ${topicFor(c as 'audit')} -d '${copy}/${topicFor(c as 'audit')}'`).join(' && '), { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString });
          const grep = sh(GREP_PIPELINE, { DIR: copy });
          const s = sample('az storage blob download-batch + grep');
          s.note = 'download of both containers (4 connections each), then grep on the copy';
          s.ms.push(download.ms + grep.ms);
          s.download.push(download.ms);
          s.grep.push(grep.ms);
          s.matches = Number(grep.stdout.trim());
          log(`  az download-batch + grep: ${(download.ms / 1000).toFixed(2)} s + ${(grep.ms / 1000).toFixed(2)} s, ${s.matches} matches`);
        } catch (err) {
          errors.az = (err as Error).message;
          log(`  az: FAILED ${errors.az}`);
        } finally {
          rmSync(copy, { recursive: true, force: true });
        }
      }
    }
    for (const [name, s] of samples) {
      const seconds = median(s.ms) / 1000;
      rows.push({
        name,
        runs: s.ms.length,
        seconds,
        mbPerSec: bytes / 1e6 / seconds,
        eventsPerSec: written.events / seconds,
        matches: s.matches,
        ...(s.rss.length ? { peakRssMiB: Math.max(...s.rss) } : {}),
        ...(s.download.length ? { downloadSeconds: median(s.download) / 1000, grepSeconds: median(s.grep) / 1000 } : {}),
        ...(s.note ? { note: s.note } : {}),
      });
      if (s.matches !== written.expected) errors[name] = `found ${s.matches} matches, expected ${written.expected}`;
    }
    return {
      day: DAY,
      events: written.events,
      archiveBytes: bytes,
      blobs: files,
      resources: 16,
      writeSeconds: { blob: written.ms.blob / 1000, dir: written.ms.dir / 1000 },
      filters: SEARCH_FILTERS,
      expectedMatches: written.expected,
      ...(haveAz ? { azVersion: azVersion.stdout.trim().split(/\s+/)[0]! } : {}),
      rows,
      errors,
    };
  } finally {
    await azurite.dispose();
    mkdirSync(workDir, { recursive: true });
  }
}
