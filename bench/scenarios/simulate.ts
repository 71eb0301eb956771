/**
 * `insight-logs simulate` as an operator runs it: `node dist/src/cli/main.js simulate --rate R
 * --duration Ns` into a topic pair of its own, measured two ways:
 *   - its own summary line ("published N events in S s (X/s)"), which counts from connect until
 *     every accepted event was acknowledged, drain included;
 *   - the broker: the topics' end offsets sampled every 500 ms while it runs, the rate between
 *     the first and the last growth (what Kafka took in), and their final sum, which must equal
 *     the summary's count.
 *
 * simulate has no "as fast as possible" mode: `--rate` is a token bucket, and back-pressure
 * lets up to max(2,000, 5 × rate) events be in flight. A rate far above what the producer
 * achieves fills that bound (hundreds of thousands of pending events, GBs of heap) and the
 * publish rate collapses while generation hogs the loop (measured: --rate 50,000 → 250,000 in
 * flight, 1.1 GB RSS, ~1,300/s while generating). So the default (BENCH_SIMULATE_RATE 25,000)
 * asks for a little more than the producer reaches on the 2-core dev machine (about 19,000/s
 * with acks=all): saturated, but with a bounded backlog (peak RSS ~450 MiB).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deleteTopics, withAdmin } from '../../testkit/kafka.js';
import { repoRoot } from '../../testkit/services.js';
import { startChild } from '../lib/child.js';
import type { BenchContext } from '../lib/context.js';
import { createBenchTopics, endOffsetSum } from '../lib/kafka.js';

export interface SimulateResult {
  /** --rate asked for. */
  rate: number;
  /** --duration, seconds. */
  seconds: number;
  /** From simulate's summary line. */
  published: number;
  summarySeconds: number;
  summaryEventsPerSec: number;
  /** Sum of both topics' end offsets after it exited. */
  endOffsets: number;
  /** End offsets' growth per second between the first and the last sample that grew. */
  brokerEventsPerSec: number;
  peakRssMiB?: number;
}

const SUMMARY = /^simulate: published (\d+) events in ([\d.]+) s \(([\d.]+)\/s\).*failed (\d+)/m;

export function parseSummary(output: string): { published: number; seconds: number; eventsPerSec: number; failed: number } | undefined {
  const m = SUMMARY.exec(output);
  return m ? { published: Number(m[1]), seconds: Number(m[2]), eventsPerSec: Number(m[3]), failed: Number(m[4]) } : undefined;
}

/** Rate between the first sample above zero and the first sample that reached the final count. */
export function growthRate(samples: { atMs: number; total: number }[]): number {
  const final = samples.at(-1)?.total ?? 0;
  const first = samples.find((s) => s.total > 0);
  const last = samples.find((s) => s.total === final);
  if (!first || !last || last.atMs <= first.atMs) return Number.NaN;
  return (last.total - first.total) / ((last.atMs - first.atMs) / 1000);
}

export async function simulatePublishRate(ctx: BenchContext, rate: number, seconds: number): Promise<SimulateResult> {
  const topics = { audit: `bench-${ctx.runId}-sim-audit`, operational: `bench-${ctx.runId}-sim-operational` };
  await createBenchTopics(ctx.brokers, [topics.audit, topics.operational], ctx.partitions);
  const logFile = path.join(ctx.workDir, 'simulate.log');
  try {
    const child = startChild(process.execPath, [
      path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), 'simulate',
      '--rate', String(rate), '--duration', `${seconds}s`, '--instances', '8', '--seed', '42', '--progress-every', '5s',
    ], {
      cwd: ctx.workDir,
      logFile,
      env: {
        ...process.env,
        KAFKA_BROKERS: ctx.brokers.join(','),
        INSIGHT_LOGS_AUDIT_TOPIC: topics.audit,
        INSIGHT_LOGS_OPERATIONAL_TOPIC: topics.operational,
        LOG_LEVEL: 'warn',
      },
    });
    const samples: { atMs: number; total: number }[] = [];
    let exitCode: number | string | undefined;
    void child.exited.then((code) => { exitCode = code; });
    const killer = setTimeout(() => child.process.kill('SIGKILL'), (seconds + 120) * 1000);
    try {
      await withAdmin(ctx.brokers, async (admin) => {
        const sample = async () => samples.push({ atMs: Date.now(), total: await endOffsetSum(admin, topics.audit) + await endOffsetSum(admin, topics.operational) });
        while (exitCode === undefined) {
          await sample();
          await new Promise((r) => setTimeout(r, 500));
        }
        await sample();
      });
    } finally {
      clearTimeout(killer);
    }
    const output = readFileSync(logFile, 'utf8');
    const summary = parseSummary(output);
    if (exitCode !== 0 || !summary) throw new Error(`simulate exited ${String(exitCode)}${summary ? '' : ' without a summary'}: ${output.trim().split('\n').slice(-3).join(' / ')}`);
    if (summary.failed > 0) throw new Error(`simulate: ${summary.failed} events failed`);
    const endOffsets = samples.at(-1)!.total;
    if (endOffsets !== summary.published) throw new Error(`simulate says ${summary.published} published, the topics' end offsets sum to ${endOffsets}`);
    const peaks = child.rss.map((s) => s.rssMiB);
    return {
      rate, seconds,
      published: summary.published,
      summarySeconds: summary.seconds,
      summaryEventsPerSec: summary.eventsPerSec,
      endOffsets,
      brokerEventsPerSec: growthRate(samples),
      ...(peaks.length ? { peakRssMiB: Math.max(...peaks) } : {}),
    };
  } finally {
    await deleteTopics(ctx.brokers, [topics.audit, topics.operational]).catch(() => undefined);
  }
}
