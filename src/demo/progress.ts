/**
 * The demo's progress: one line a second. On a terminal the line is redrawn in place
 * (carriage return + erase line); anywhere else (CI logs, pipes) each update is its own line.
 */
export interface ProgressSnapshot {
  elapsedMs: number;
  durationMs: number;
  phase: 'publishing' | 'delivering';
  published: number;
  failed: number;
  delivered: readonly { name: string; count: number }[];
  /** Records the demo destinations still have to deliver; undefined while unknown. */
  lag: bigint | undefined;
}

/** `[  5s/20s] publishing  published 1000  delivered demo-archive 980, demo-local 1000  lag 20` (pure). */
export function progressLine(s: ProgressSnapshot): string {
  const seconds = (ms: number): string => `${Math.floor(ms / 1000)}s`;
  const clock = `[${seconds(s.elapsedMs).padStart(4)}/${seconds(s.durationMs)}]`;
  const delivered = s.delivered.map((d) => `${d.name} ${d.count}`).join(', ');
  return `${clock} ${s.phase.padEnd(10)}  published ${s.published}${s.failed ? ` (failed ${s.failed})` : ''}  delivered ${delivered || '-'}  lag ${s.lag === undefined ? '?' : s.lag}`;
}

export class ProgressPrinter {
  private drawn = false;

  constructor(private readonly write: (text: string) => void, private readonly tty: boolean) {}

  update(line: string): void {
    if (this.tty) {
      this.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else {
      this.write(`${line}\n`);
    }
  }

  /** Ends the in-place line so what follows starts on a fresh one. */
  done(): void {
    if (this.tty && this.drawn) this.write('\n');
    this.drawn = false;
  }
}
