/**
 * What a person sees in a real terminal: commands run inside a private tmux server (a pty),
 * and the screen is read back with `tmux capture-pane -p -e` (escape sequences kept).
 */
import { spawnSync } from 'node:child_process';
import { uniqueName } from '../../testkit/kafka.js';
import { cliPath } from './cli.js';

export const hasTmux = spawnSync('tmux', ['-V']).status === 0;
export const NO_TMUX = 'tmux is not installed (apt-get install -y tmux)';

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class Terminal {
  readonly socket = uniqueName('it-tmux');

  tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /**
   * Starts `env … node main.js <args>` in a new session in `cwd`. Avoid session names tmux reads
   * as pane tokens (`top`, `bottom`, `left`, `right`, …: `-t top` is the top pane of the current
   * window, not the session "top").
   */
  start(session: string, cwd: string, env: Record<string, string>, args: string[], size = { x: 220, y: 60 }): void {
    if (/^(top|bottom|left|right|top-left|top-right|bottom-left|bottom-right|last|next|previous|mouse)$/.test(session)) throw new Error(`tmux session name "${session}" is a pane token`);
    this.startSession(session, cwd, env, args, size);
  }

  /** Starts `env … node main.js <args>` in a new session in `cwd`; the shell prints EXIT=<code> after it. */
  private startSession(session: string, cwd: string, env: Record<string, string>, args: string[], size: { x: number; y: number }): void {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    // The shell outlives a Ctrl-C aimed at the command (a trap, reset for the child), so the exit code shows.
    const command = `trap 'true' INT; cd ${shellQuote(cwd)} && env -u NO_COLOR -u FORCE_COLOR ${vars} ${shellQuote(process.execPath)} ${shellQuote(cliPath())} ${args.map(shellQuote).join(' ')}; echo "EXIT=$?"; sleep 600`;
    this.tmux('new-session', '-d', '-s', session, '-x', String(size.x), '-y', String(size.y), 'sh', '-c', command);
    if (process.env.DEBUG_TMUX) this.tmux('set-option', '-t', session, 'remain-on-exit', 'on');
  }

  /** The screen (and scroll-back) as the person sees it, with colour escapes. */
  screen(session: string, options: { history?: boolean } = {}): string {
    return this.tmux('capture-pane', '-p', '-e', '-J', ...(options.history === false ? [] : ['-S', '-']), '-t', session);
  }

  async waitForScreen(session: string, pattern: RegExp, timeoutMs = 30_000, options: { history?: boolean } = {}): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.screen(session, options);
      // Against the text with and without escapes: tmux puts an attribute where it changes, which may be mid-line.
      if (pattern.test(text) || pattern.test(stripAnsi(text))) return text;
      if (Date.now() > deadline) throw new Error(`screen never matched ${pattern}:\n${text}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  kill(): void {
    if (hasTmux) spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

const ESC = '\x1b';
export const stripAnsi = (s: string): string => s.split(ESC).map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;?]*[a-zA-Z]/, ''))).join('');
/** The colour escape `ESC[<code>m` as a pattern (built from a string: no control characters in regex literals). */
export const colour = (codes: string): RegExp => new RegExp(`${ESC}\\[(${codes})m`);

/**
 * Each screen line as text with the foreground colour in effect at its first character (30-37,
 * or undefined for the default). tmux writes an attribute only where it changes, so a line that
 * is red like the one above it may carry no escape of its own: the state is followed through
 * the whole capture.
 */
export function colouredLines(screen: string): { text: string; fg: number | undefined }[] {
  let fg: number | undefined;
  return screen.split('\n').map((line) => {
    let text = '';
    let lineFg: number | undefined;
    let seen = false;
    for (let i = 0; i < line.length; i++) {
      if (line[i] === ESC) {
        const m = /^\[([0-9;]*)m/.exec(line.slice(i + 1));
        if (m) {
          for (const p of (m[1] || '0').split(';').map(Number)) {
            if (p === 0 || p === 39) fg = undefined;
            else if (p >= 30 && p <= 37) fg = p;
          }
          i += m[0].length;
          continue;
        }
      }
      if (!seen && line[i] !== ' ') { lineFg = fg; seen = true; }
      text += line[i];
    }
    return { text, fg: seen ? lineFg : fg };
  });
}
