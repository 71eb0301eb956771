/**
 * Peer forwarder: rsyslog with imkafka → omfile and imkafka → omkafka on the same topic,
 * run as `rsyslogd -n -f <conf> -i <pidfile>` under an unprivileged user (nobody), timed from
 * spawn until N lines are in the file / N messages on the target topic.
 */
import { execFile } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { deleteTopics, withAdmin } from '../../testkit/kafka.js';
import { repoRoot } from '../../testkit/services.js';
import { startChild } from '../lib/child.js';
import { throughput, type BenchContext, type Throughput } from '../lib/context.js';
import { createBenchTopics, endOffsetSum, pollUntil } from '../lib/kafka.js';

const execFileP = promisify(execFile);
const NOBODY = 65534;
export const RSYSLOG_INSTALL = 'apt-get install -y rsyslog rsyslog-kafka   # Debian/Ubuntu: imkafka and omkafka';

export type RsyslogMode = 'file' | 'kafka';

/** Undefined when rsyslogd with imkafka/omkafka is usable, otherwise what is missing and how to install it. */
export async function rsyslogMissing(workDir: string): Promise<string | undefined> {
  try {
    await execFileP('rsyslogd', ['-v']);
  } catch {
    return `rsyslogd not found (install: ${RSYSLOG_INSTALL})`;
  }
  // A config check loads the modules: it fails when rsyslog-kafka is missing.
  const conf = writeConf({ workDir, mode: 'kafka', topic: 'check', target: 'check', brokers: ['127.0.0.1:9092'], group: 'check', out: path.join(workDir, 'check.log') });
  try {
    await execFileP('rsyslogd', ['-N1', '-f', conf]);
    return undefined;
  } catch (err) {
    return `rsyslog cannot load imkafka/omkafka (install: ${RSYSLOG_INSTALL}): ${(err as { stderr?: string }).stderr?.trim().split('\n')[0] ?? String(err)}`;
  }
}

function writeConf(o: { workDir: string; mode: RsyslogMode; topic: string; target: string; brokers: string[]; group: string; out: string }): string {
  const template = readFileSync(path.join(repoRoot(), 'bench', 'peers', `rsyslog-kafka-to-${o.mode}.conf`), 'utf8');
  const spool = path.join(o.workDir, `rsyslog-spool-${o.group}`);
  mkdirSync(spool, { recursive: true });
  chmodSync(spool, 0o777);
  const conf = template
    .replaceAll('@WORKDIR@', spool)
    .replaceAll('@OUT@', o.out)
    .replaceAll('@TOPIC@', o.topic)
    .replaceAll('@TARGET@', o.target)
    .replaceAll('@GROUP@', o.group)
    .replaceAll('@BROKERS@', o.brokers.map((b) => `"${b}"`).join(', '));
  const file = path.join(o.workDir, `${o.group}.conf`);
  writeFileSync(file, conf);
  chmodSync(file, 0o644);
  return file;
}

/** Counts newlines appended to `file` since the last call (reads only the new bytes). */
export function lineCounter(file: string): () => number {
  let offset = 0;
  let lines = 0;
  const buf = Buffer.alloc(4 * 1024 * 1024);
  return () => {
    if (!existsSync(file)) return lines;
    const fd = openSync(file, 'r');
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        for (let i = buf.indexOf(10); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
      }
    } finally {
      closeSync(fd);
    }
    return lines;
  };
}

export async function runRsyslog(ctx: BenchContext, mode: RsyslogMode, rep: number): Promise<Throughput> {
  const group = `bench-${ctx.runId}-rsyslog-${mode}-${rep}`;
  const target = `${group}-out`;
  const out = path.join(ctx.workDir, `${group}.out`);
  chmodSync(ctx.workDir, 0o777);
  if (mode === 'kafka') await createBenchTopics(ctx.brokers, [target], ctx.partitions);
  const conf = writeConf({ workDir: ctx.workDir, mode, topic: ctx.sourceTopic, target, brokers: ctx.brokers, group, out });
  const pidFile = path.join(ctx.workDir, `${group}.pid`);
  const child = startChild('rsyslogd', ['-n', '-f', conf, '-i', pidFile], {
    cwd: ctx.workDir, uid: NOBODY, gid: NOBODY, logFile: path.join(ctx.workDir, `${group}.log`),
  });
  try {
    const count = mode === 'file' ? lineCounter(out) : undefined;
    const doneAt = await withAdmin(ctx.brokers, (admin) => pollUntil(`rsyslog → ${mode}`, async () => {
      if (child.process.exitCode !== null) throw new Error(`rsyslogd exited with ${child.process.exitCode}; see ${ctx.workDir}/${group}.log`);
      const n = count ? count() : await endOffsetSum(admin, target);
      return { done: n >= ctx.events, progress: n };
    }, 30 * 60_000, 250));
    const peak = child.rss.reduce((m, s) => Math.max(m, s.rssMiB), 0);
    return throughput(ctx, ctx.events, doneAt - child.startedAt, { peakRssMiB: peak });
  } finally {
    await child.stop(10_000);
    if (mode === 'kafka') await deleteTopics(ctx.brokers, [target]).catch(() => undefined);
  }
}
