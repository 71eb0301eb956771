/**
 * Peer forwarder: Kafka Connect, the tool users compare with for Kafka → files. A standalone
 * worker (`ConnectStandalone`) with the FileStreamSink connector and ByteArrayConverter on the
 * bench topic, one task, timed like rsyslog: from spawn (JVM start-up included) until N lines
 * are in the file. It does not decode Avro, validate or build JSON: with ByteArrayConverter
 * FileStreamSink prints each value's Java identity (`[B@…`), one line per record, so this row is
 * the cost of consuming and writing a line per record, nothing more.
 *
 * Jars: connect-runtime and connect-file 4.1.1 from Maven Central, fetched once into
 * .local/kafka-connect/libs (bench/peers/kafka-connect/pom.xml).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, repoRoot } from '../../testkit/services.js';
import { startChild } from '../lib/child.js';
import { throughput, type BenchContext, type Throughput } from '../lib/context.js';
import { pollUntil } from '../lib/kafka.js';
import { lineCounter } from './rsyslog.js';

const execFileP = promisify(execFile);

function libsDir(): string {
  return path.join(repoRoot(), '.local', 'kafka-connect', 'libs');
}

/** Fetches the Connect jars once; undefined when they are there, otherwise why they are not. */
export async function kafkaConnectMissing(): Promise<string | undefined> {
  const libs = libsDir();
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('connect-file-'))) return undefined;
  const tmp = `${libs}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await execFileP('mvn', ['-q', '-B', '-f', path.join(repoRoot(), 'bench', 'peers', 'kafka-connect', 'pom.xml'),
      'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`], { timeout: 10 * 60_000, maxBuffer: 1 << 22 });
  } catch (err) {
    return `fetching Kafka Connect with Maven failed: ${(err as { stdout?: string }).stdout?.trim().split('\n').at(-1) ?? String(err)}`;
  }
  rmSync(libs, { recursive: true, force: true });
  renameSync(tmp, libs);
  return undefined;
}

export async function runKafkaConnect(ctx: BenchContext, rep: number): Promise<Throughput> {
  const name = `bench-${ctx.runId}-connect-${rep}`;
  const out = path.join(ctx.workDir, `${name}.out`);
  const worker = path.join(ctx.workDir, `${name}-worker.properties`);
  const connector = path.join(ctx.workDir, `${name}-connector.properties`);
  writeFileSync(worker, [
    `bootstrap.servers=${ctx.brokers.join(',')}`,
    'key.converter=org.apache.kafka.connect.converters.ByteArrayConverter',
    'value.converter=org.apache.kafka.connect.converters.ByteArrayConverter',
    `offset.storage.file.filename=${path.join(ctx.workDir, `${name}.offsets`)}`,
    `listeners=http://127.0.0.1:${await freePort()}`,
    '',
  ].join('\n'));
  writeFileSync(connector, [
    `name=${name}`,
    'connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector',
    'tasks.max=1',
    `topics=${ctx.sourceTopic}`,
    `file=${out}`,
    '',
  ].join('\n'));
  const child = startChild('java', ['-Xmx512m', '-cp', path.join(libsDir(), '*'), 'org.apache.kafka.connect.cli.ConnectStandalone', worker, connector], {
    cwd: ctx.workDir, logFile: path.join(ctx.workDir, `${name}.log`),
  });
  try {
    const count = lineCounter(out);
    const doneAt = await pollUntil('kafka connect → file', async () => {
      if (child.process.exitCode !== null) throw new Error(`ConnectStandalone exited with ${child.process.exitCode}; see ${ctx.workDir}/${name}.log`);
      const n = count();
      return { done: n >= ctx.events, progress: n };
    }, 30 * 60_000, 250);
    const peak = child.rss.reduce((m, s) => Math.max(m, s.rssMiB), 0);
    return throughput(ctx, ctx.events, doneAt - child.startedAt, { peakRssMiB: peak });
  } finally {
    await child.stop(10_000);
  }
}
