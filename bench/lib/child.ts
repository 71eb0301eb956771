/**
 * Child processes the bench starts: spawned with output to a log file, RSS sampled from
 * /proc/<pid>/status every second, stopped with SIGTERM (SIGKILL after a grace period), and
 * killed if the bench itself exits first.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { openSync, readFileSync, closeSync } from 'node:fs';

export interface RssSample { atMs: number; rssMiB: number }

export interface Child {
  process: ChildProcess;
  pid: number;
  startedAt: number;
  rss: RssSample[];
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  stop(graceMs?: number): Promise<number | string>;
}

/**
 * Resident memory of a process and all its descendants (a `forward --workers N` primary and
 * its workers count as one forwarder), in MiB; undefined once the process is gone.
 */
export function rssMiB(pid: number): number | undefined {
  const own = processRssKiB(pid);
  if (own === undefined) return undefined;
  let total = own;
  for (const child of childrenOf(pid)) total += (rssMiB(child) ?? 0) * 1024;
  return total / 1024;
}

function processRssKiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function startChild(command: string, args: string[], options: SpawnOptions & { logFile: string }): Child {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(command, args, { ...options, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  const startedAt = Date.now();
  const rss: RssSample[] = [];
  const sampler = setInterval(() => {
    const v = rssMiB(pid);
    if (v !== undefined) rss.push({ atMs: Date.now() - startedAt, rssMiB: v });
  }, 1000);
  const killOnExit = (): void => { child.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  const exited = once(child, 'exit').then(([code, signal]) => {
    clearInterval(sampler);
    process.removeListener('exit', killOnExit);
    return (code ?? signal) as number | string;
  });
  return {
    process: child,
    pid,
    startedAt,
    rss,
    exited,
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}
