/**
 * `readBlobStreams` in a child process, for storage that only a process trusting the test CA
 * can reach (Azurite over HTTPS): NODE_EXTRA_CA_CERTS is read when Node starts, so the test
 * process itself cannot be given it.
 *
 *   BLOB_STREAMS_CONNECTION_STRING=… NODE_EXTRA_CA_CERTS=ca.pem node blob-streams-child.js <container>…
 *
 * prints the streams as one JSON array.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readBlobStreams, type DeliveredStream } from './oracle.js';

const CONNECTION_STRING_ENV = 'BLOB_STREAMS_CONNECTION_STRING';

/** Every blob of `containers` as oracle streams, read by a child process that trusts `caPath`. */
export async function readBlobStreamsTrusting(caPath: string, connectionString: string, containers: readonly string[]): Promise<DeliveredStream[]> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...containers], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caPath, [CONNECTION_STRING_ENV]: connectionString },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`reading blobs over TLS failed (exit ${code}): ${err.slice(-2000)}`);
  return JSON.parse(out) as DeliveredStream[];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const streams = await readBlobStreams(process.env[CONNECTION_STRING_ENV] ?? '', process.argv.slice(2));
  process.stdout.write(JSON.stringify(streams));
}
