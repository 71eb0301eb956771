/**
 * Runs integration-tests/fixtures/avro_single_object.py with the reference Python Avro
 * implementation (Debian's python3-avro), to check the wire format against a second
 * implementation. Missing python3-avro is an error with the fix in its message, never a skip.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { EventKind } from '../../src/events/types.js';
import { repoRoot } from '../../testkit/services.js';
import { findPython } from './python.js';

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
  return new PythonAvro(await findPython('avro.io, avro.schema', 'python3-avro', 'the Avro interop test'));
}
