/**
 * The demo's local services through `scripts/services.sh`: what already answers, starting the
 * rest, and stopping only what the demo itself started (`down kafka` / `down azurite`).
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { InsightLogsError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';

export type ServiceName = 'kafka' | 'azurite';

export interface ServiceStatus { kafka: boolean; azurite: boolean }

function script(): string {
  return path.join(packageRoot(), 'scripts', 'services.sh');
}

/**
 * `bash <path>/services.sh <args>` as a user can paste it: relative to the working directory
 * when the package is below it (a checkout: `bash scripts/services.sh down`), else absolute
 * (an installed package).
 */
export function servicesCommand(args: readonly string[], cwd: string = process.cwd()): string {
  const relative = path.relative(cwd, script());
  const where = relative.startsWith('..') || path.isAbsolute(relative) ? script() : relative;
  const quoted = /^[\w./-]+$/.test(where) ? where : `'${where.replace(/'/g, `'\\''`)}'`;
  return ['bash', quoted, ...args].join(' ');
}

/** Parses `services.sh status` (pure): `Kafka:   running (pid 1), answering on …`. */
export function parseServiceStatus(text: string): ServiceStatus {
  const answers = (name: string): boolean => new RegExp(`^${name}:.*(?<!not )answering on`, 'm').test(text);
  return { kafka: answers('Kafka'), azurite: answers('Azurite') };
}

export function serviceStatus(env: NodeJS.ProcessEnv = process.env): ServiceStatus {
  const r = spawnSync('bash', [script(), 'status'], { encoding: 'utf8', env, timeout: 60_000 });
  return parseServiceStatus(r.stdout ?? '');
}

/** True when `java -version` runs (Kafka 4.x needs Java 17+; services.sh checks the version). */
export function javaAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  const r = spawnSync('java', ['-version'], { env, stdio: 'ignore', timeout: 30_000 });
  return r.error === undefined && r.status === 0;
}

export const JAVA_MISSING_MESSAGE = [
  'the demo runs a local Kafka 4.x broker, which needs Java 17 or newer, and `java` was not found.',
  '  Install it:     sudo apt-get install -y openjdk-17-jre-headless   (and maven once: sudo apt-get install -y maven)',
  '  or use Docker:  docker compose up -d   (see docs/docker-compose.md), then run the demo again',
].join('\n');

/** Runs `services.sh <args>`, passing its progress lines to `log`; rejects with its last lines on failure. */
export function runServicesScript(args: string[], log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    // A detached process group: Ctrl-C in the terminal reaches the demo, which decides what to stop.
    const child = spawn('bash', [script(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    const tailLines: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) { log(l); tailLines.push(l); if (tailLines.length > 20) tailLines.shift(); }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial) { log(partial); tailLines.push(partial); }
      if (code === 0) resolve(stdout);
      else reject(new InsightLogsError('KAFKA_UNAVAILABLE', `${servicesCommand(args)} failed (exit ${code}):\n${tailLines.slice(-8).join('\n')}`));
    });
  });
}

/**
 * The variables `services.sh env` (and `up`) print, `export NAME=value` or `export NAME='value'`
 * a line (KAFKA_BROKERS, AZURE_STORAGE_CONNECTION_STRING); pure. The one parser of that output:
 * the demo, scripts/run-tests.mjs and the integration tests' services use it.
 */
export function parseServicesEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^export ([A-Z_]+)='?(.*?)'?$/gm)) env[m[1]!] = m[2]!;
  return env;
}
