/** What every scenario gets: services, the pre-loaded source topic, sizes, a scratch folder. */

export interface BenchContext {
  brokers: string[];
  storageConnectionString: string;
  runId: string;
  /** Scratch folder of this run (destination output, logs, configs); removed at the end unless BENCH_KEEP=1. */
  workDir: string;
  /** The pre-loaded topic every throughput scenario reads. */
  sourceTopic: string;
  partitions: number;
  events: number;
  /** Average Avro single-object message value: what every reader consumes. */
  avroBytesPerEvent: number;
  /** Average JSON line: what every destination stores. */
  jsonBytesPerEvent: number;
  log(message: string): void;
}

/** One throughput measurement. MB/s counts the Avro bytes consumed from Kafka (the same for every row). */
export interface Throughput {
  ms: number;
  eventsPerSec: number;
  mbPerSec: number;
  peakRssMiB?: number;
  /** Time from start until the first record was delivered (start-up, group join). */
  startupMs?: number;
}

export function throughput(ctx: BenchContext, events: number, ms: number, extra: Partial<Throughput> = {}): Throughput {
  const eventsPerSec = events / (ms / 1000);
  return { ms, eventsPerSec, mbPerSec: (eventsPerSec * ctx.avroBytesPerEvent) / 1e6, ...extra };
}
