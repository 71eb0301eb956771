/**
 * Runs the real `insight-logs` binary (the compiled `dist/src/cli/main.js`, found relative to
 * this file) the way a user would: `runCli` for one-shot commands, `spawnCli` for long-running
 * ones (tail, forward, simulate) that a test stops with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `dist/src/cli/main.js`: this file compiles to `dist/integration-tests/helpers/cli.js`. */
export function cliPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const main = path.resolve(here, '..', '..', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`insight-logs binary not found at ${main}; run npx tsc -p tsconfig.json first`);
  return main;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time until exit, ms. */
  elapsedMs: number;
}

export interface CliOptions {
  /** Added to (and overriding) process.env. */
  env?: NodeJS.ProcessEnv;
  /** Kill with SIGKILL after this long (default 60 s); the result then has signal SIGKILL. */
  timeoutMs?: number;
  cwd?: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout has a line matching `pattern` (or rejects after `timeoutMs`). */
  waitForOutput(pattern: RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<string>;
  /** Sends a signal (default SIGINT) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  /** Resolves on exit. */
  exited: Promise<CliResult>;
}

/** Starts `insight-logs <args>`; the caller must `stop()` it or await `exited`. */
export function spawnCli(args: string[], options: CliOptions = {}): RunningCli {
  const started = Date.now();
  const child = spawn(process.execPath, [cliPath(), ...args], {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; for (const l of listeners) l(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; for (const l of listeners) l(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForOutput(pattern, timeoutMs = 30_000, stream = 'stdout') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const text = stream === 'stdout' ? stdout : stderr;
          const line = text.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) { done(); resolve(line); }
        };
        const timer = setTimeout(() => { done(); reject(new Error(`no ${stream} line matching ${pattern} within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`)); }, timeoutMs);
        const onExit = () => { check(); done(); reject(new Error(`exited before a ${stream} line matched ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`)); };
        const done = () => { clearTimeout(timer); listeners.delete(check); child.off('close', onExit); };
        listeners.add(check);
        child.once('close', onExit);
        check();
      });
    },
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `insight-logs <args>` to completion. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, options).exited;
}
