/**
 * A private Azurite blob process for tests that need to stop and restart storage
 * (outages) without losing data: disk persistence in a temp dir (or `location`),
 * loopback only, same port and location on restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AZURITE_ACCOUNT, azuriteConnectionString, freePort } from '../../testkit/services.js';
import type { TestCertificates } from '../../testkit/test-ca.js';

export interface AzuriteOptions {
  /** Loopback port; a free one when omitted. */
  port?: number;
  /** Data directory; a fresh temp dir when omitted (removed by `dispose()`). */
  location?: string;
  /** Milliseconds to wait for the server to answer (default 30 s). */
  startTimeoutMs?: number;
  /**
   * HTTPS with this certificate and Azure AD bearer tokens accepted (`--oauth basic`: Azurite
   * checks a token's issuer, audience and lifetime, not its signature); shared keys still work.
   */
  oauth?: TestCertificates;
}

export interface AzuriteInstance {
  readonly connectionString: string;
  /** `http(s)://127.0.0.1:<port>/devstoreaccount1`: the `accountUrl` of an Azure AD blob destination. */
  readonly accountUrl: string;
  readonly port: number;
  readonly location: string;
  readonly running: boolean;
  /** Stop the server (SIGTERM, SIGKILL after 10 s); data stays on disk. No-op when stopped. */
  stop(): Promise<void>;
  /**
   * SIGSTOP: the port still accepts connections (the kernel completes them) but nothing
   * answers, so a request hangs in flight until its client times out or aborts it.
   */
  freeze(): void;
  /** SIGCONT after freeze(): requests still open are served. */
  thaw(): void;
  /** Start again on the same port and location (stopping first when running). */
  restart(): Promise<void>;
  /** Alias of restart() for a stopped server. */
  start(): Promise<void>;
  /** Stop, and remove the data directory when it was created here. */
  dispose(): Promise<void>;
}

function azuriteBlobMain(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve('azurite/package.json');
  return path.join(path.dirname(pkgJson), 'dist', 'src', 'blob', 'main.js');
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const port = options.port ?? (await freePort());
  const ownsLocation = !options.location;
  const location = options.location ?? (await mkdtemp(path.join(os.tmpdir(), 'azurite-test-')));
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const main = azuriteBlobMain();
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    if (child) return;
    output = '';
    const proc = spawn(
      process.execPath,
      [
        main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--skipApiVersionCheck',
        ...(options.oauth ? ['--oauth', 'basic', '--cert', options.oauth.certPath, '--key', options.oauth.keyPath] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (exited) throw new Error(`azurite-blob exited during startup on port ${port}:\n${output}`);
      if (/successfully listen/i.test(output) && (await portAnswers(port))) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`azurite-blob did not start on port ${port} within ${startTimeoutMs} ms:\n${output}`);
      }
      await sleep(100);
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    if (proc.exitCode !== null || proc.signalCode !== null) {
      child = undefined;
      return;
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT'); // a frozen server would not act on SIGTERM
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
    // The listening socket is gone once the process exited; wait until the port refuses.
    for (let i = 0; i < 50 && (await portAnswers(port)); i++) await sleep(100);
  }

  await start();

  const protocol = options.oauth ? 'https' : 'http';
  return {
    connectionString: azuriteConnectionString('127.0.0.1', port, protocol),
    accountUrl: `${protocol}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`,
    port,
    location,
    get running() {
      return child !== undefined;
    },
    stop,
    freeze() {
      if (!child?.kill('SIGSTOP')) throw new Error(`azurite-blob on port ${port} is not running`);
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async restart() {
      await stop();
      await start();
    },
    start,
    async dispose() {
      await stop();
      if (ownsLocation) await rm(location, { recursive: true, force: true });
    },
  };
}
