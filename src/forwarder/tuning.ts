/**
 * Throughput settings of a pipeline, from the environment (pure parsing, clear errors):
 *
 * - INSIGHT_LOGS_PARTITION_CONCURRENCY: partitions whose batches are delivered at the same
 *   time. With one, the forwarder waited on one chunk at a time (fsync, append, send, commit)
 *   and idled a third of the time; every sink is safe for concurrent sends (appends to one
 *   blob or file are serialised inside the sink, and so are the Kafka sink's plain sends, on its
 *   idempotent producer: kafka/idempotent-producer.ts), and a partition's records stay in order.
 * - INSIGHT_LOGS_COMMIT_INTERVAL_MS: within a fetched batch, a partition's delivered offsets
 *   are committed at most this often (0 = after every chunk). The end of every batch and a
 *   stop always commit what was delivered, so only a kill -9 or a lost machine redelivers more.
 *
 * Defaults chosen by measurement (bench/what-changed.md).
 */
import { InsightLogsError } from '../errors.js';

export interface PipelineTuning {
  readonly partitionConcurrency: number;
  readonly commitIntervalMs: number;
}

export const PARTITION_CONCURRENCY_ENV = 'INSIGHT_LOGS_PARTITION_CONCURRENCY';
export const COMMIT_INTERVAL_ENV = 'INSIGHT_LOGS_COMMIT_INTERVAL_MS';
export const DEFAULT_TUNING: PipelineTuning = Object.freeze({ partitionConcurrency: 3, commitIntervalMs: 1000 });
const MAX_PARTITION_CONCURRENCY = 64;
const MAX_COMMIT_INTERVAL_MS = 60_000;

function intFromEnv(env: NodeJS.ProcessEnv, name: string, min: number, max: number, what: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const text = raw.trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new InsightLogsError('CONFIG_INVALID', `${name}: "${raw}" is not ${what}; expected a whole number from ${min} to ${max}`);
  }
  return n;
}

export function tuningFromEnv(env: NodeJS.ProcessEnv = process.env): PipelineTuning {
  return Object.freeze({
    partitionConcurrency: intFromEnv(env, PARTITION_CONCURRENCY_ENV, 1, MAX_PARTITION_CONCURRENCY, 'a number of partitions') ?? DEFAULT_TUNING.partitionConcurrency,
    commitIntervalMs: intFromEnv(env, COMMIT_INTERVAL_ENV, 0, MAX_COMMIT_INTERVAL_MS, 'a commit interval in milliseconds') ?? DEFAULT_TUNING.commitIntervalMs,
  });
}
