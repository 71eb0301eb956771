/**
 * What the demo shows at the end: a sample file from the directory destination, the matching
 * blob in Azurite, and a few records. The blob and the file share one layout, so the sample
 * file's relative path is the blob's container and name.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BlobServiceClient } from '@azure/storage-blob';
import type { InsightEvent } from '../events/types.js';
import { formatPretty } from '../tail/format.js';

export interface DirSummary {
  files: string[];
  records: number;
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await walk(full, out);
    else if (e.isFile() && e.name.endsWith('.json')) out.push(full);
  }
}

async function lines(file: string, limit = Number.POSITIVE_INFINITY): Promise<string[]> {
  const out: string[] = [];
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim()) out.push(line);
    if (out.length >= limit) break;
  }
  rl.close();
  return out;
}

/** Every JSON Lines file under `root` (sorted) and how many records they hold. */
export async function summarizeDir(root: string): Promise<DirSummary> {
  const files: string[] = [];
  await walk(root, files);
  files.sort();
  let records = 0;
  for (const f of files) records += (await lines(f)).length;
  return { files, records };
}

/** The sample: the biggest file of the audit container, else the biggest file. */
export async function pickSample(root: string, files: readonly string[]): Promise<string | undefined> {
  let best: { file: string; size: number; audit: boolean } | undefined;
  for (const file of files) {
    const size = (await stat(file)).size;
    const audit = path.relative(root, file).startsWith('insight-logs-audit');
    if (!best || (audit && !best.audit) || (audit === best.audit && size > best.size)) best = { file, size, audit };
  }
  return best?.file;
}

/** `<container>/<blob name>` of a file under the dir destination (pure). */
export function blobOf(root: string, file: string): { container: string; name: string } {
  const rel = path.relative(root, file).split(path.sep);
  return { container: rel[0]!, name: rel.slice(1).join('/') };
}

/** The size of a blob, or undefined when it cannot be read. */
export async function blobSize(connectionString: string, container: string, name: string): Promise<number | undefined> {
  try {
    const props = await BlobServiceClient.fromConnectionString(connectionString)
      .getContainerClient(container).getBlobClient(name)
      .getProperties({ abortSignal: AbortSignal.timeout(10_000) });
    return props.contentLength;
  } catch {
    return undefined;
  }
}

/** The first `n` records of a file as `tail --output pretty` lines. */
export async function sampleRecords(file: string, n: number): Promise<string[]> {
  return (await lines(file, n)).map((line) => {
    try {
      return formatPretty(JSON.parse(line) as InsightEvent);
    } catch {
      return line;
    }
  });
}

/** The blob endpoint of a connection string (no key), for display. */
export function blobEndpointOf(connectionString: string): string {
  const m = /BlobEndpoint=([^;]+)/i.exec(connectionString);
  return m ? m[1]! : 'the storage account';
}
