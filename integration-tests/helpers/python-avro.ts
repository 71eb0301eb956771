/**
 * Runs integration-tests/fixtures/avro_single_object.py with the reference Python Avro
 * implementation (Debian's python3-avro), to check the wire format against a second
 * implementation. Missing python3-avro is an error with the fix in its message, never a skip.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EventKind } from '../../src/events/types.js';
import { repoRoot } from '../../testkit/services.js';

const execFileP = promisify(execFile);

/** Debian installs python3-avro for the system interpreter, which may not be the `python3` on PATH (pyenv). */
const CANDIDATES = [process.env.INSIGHT_LOGS_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => Boolean(p));

export interface PythonDecoded { kind: EventKind; fingerprint: string; event: Record<string, unknown> }
export interface PythonFingerprint { canonical: string; fingerprint: string }

export class PythonAvro {
  constructor(readonly python: string) {}

  private script(): string {
    return join(repoRoot(), 'integration-tests', 'fixtures', 'avro_single_object.py');
  }

  private schema(kind: EventKind): string {
    return join(repoRoot(), 'schemas', `${kind}.avsc`);
  }

  private run(args: string[], input: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.python, [this.script(), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`avro_single_object.py ${args[0]} exited ${code}: ${err.trim()}`))));
      child.stdin.end(input);
    });
  }

  async fingerprints(): Promise<Record<EventKind, PythonFingerprint>> {
    const out = await this.run(['fingerprints', this.schema('APIEvent'), this.schema('WorkflowEvent')], '');
    return JSON.parse(out) as Record<EventKind, PythonFingerprint>;
  }

  /** Decodes single-object messages with only the .avsc files. */
  async decode(messages: Buffer[]): Promise<PythonDecoded[]> {
    const out = await this.run(['decode', this.schema('APIEvent'), this.schema('WorkflowEvent')], messages.map((m) => m.toString('hex')).join('\n') + '\n');
    return out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PythonDecoded);
  }

  /** Encodes events (plain JSON, optional fields absent) as single-object messages. */
  async encode(kind: EventKind, events: object[]): Promise<Buffer[]> {
    const out = await this.run(['encode', this.schema(kind)], events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    return out.trim().split('\n').filter(Boolean).map((l) => Buffer.from(l, 'hex'));
  }
}

/** The first interpreter that can `import avro`; throws a clear error when there is none. */
export async function pythonAvro(): Promise<PythonAvro> {
  const tried: string[] = [];
  for (const python of CANDIDATES) {
    try {
      await execFileP(python, ['-c', 'import avro.io, avro.schema'], { timeout: 30_000 });
      return new PythonAvro(python);
    } catch (err) {
      tried.push(`${python}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    'python3-avro is required for the Avro interop test and was not found. Install it with ' +
    '`apt-get install -y --no-install-recommends python3-avro` (or point INSIGHT_LOGS_PYTHON at a python with the avro package). ' +
    `Tried: ${tried.join('; ')}`,
  );
}
