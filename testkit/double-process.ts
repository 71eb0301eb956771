/**
 * A test double run as its own process (`node <script> --port 0 …`): it prints one JSON line
 * once it listens; stop() sends SIGTERM (SIGKILL after 5 s); a test process that exits kills it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface DoubleProcess<Started> {
  started: Started;
  stop(): Promise<void>;
}

export async function startDoubleProcess<Started>(label: string, script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<DoubleProcess<Started>> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line as string),
    once(child, 'exit').then(([code]) => { throw new Error(`${label} exited with ${code} before listening`); }),
  ]);
  return {
    started: JSON.parse(first) as Started,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
