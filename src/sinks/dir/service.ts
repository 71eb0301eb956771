/**
 * The file system side of the dir sink: durable appends (write, fsync the file, and fsync
 * the folder when the file was created so its name survives a power cut).
 */
import { constants, createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArchiveEntry, ArchiveReader } from '../layout/archive.js';
import { filePathFor } from './request-builder.js';

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` and its parents; true when some folder was created (its parent must then be fsynced). */
async function ensureDir(dir: string): Promise<boolean> {
  const first = await mkdir(dir, { recursive: true });
  return first !== undefined;
}

/**
 * Appends `body` to `file` in one write and fsyncs it. When the file does not end with a
 * newline (a line torn by a crash mid-write), a newline goes first so the new lines stay
 * whole and parseable; returns whether that happened.
 */
export async function appendDurably(file: string, body: Buffer, checkTail: boolean): Promise<{ repairedTornLine: boolean }> {
  const dir = path.dirname(file);
  const createdDirs = await ensureDir(dir);
  const handle = await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND, 0o644);
  let repairedTornLine = false;
  let created = false;
  try {
    const { size } = await handle.stat();
    created = size === 0;
    let data = body;
    if (checkTail && size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        data = Buffer.concat([Buffer.from('\n'), body]);
        repairedTornLine = true;
      }
    }
    await handle.write(data, 0, data.length);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (created || createdDirs) {
    await fsyncDir(dir);
    if (createdDirs) await fsyncDir(path.dirname(dir)).catch(() => undefined);
  }
  return { repairedTornLine };
}

/** Proves the folder can take files: creates it if needed, writes and removes a probe file. */
export async function probeWritable(root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  const probe = path.join(root, `.insight-logs-probe-${process.pid}-${Date.now()}`);
  await writeFile(probe, 'ok');
  await unlink(probe);
}

const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Reads a dir destination's folder as an archive (`insight-logs search`): `<root>/<container>/`
 * holds the blob layout. A file is read up to the length it had when listed, in 1 MiB chunks,
 * so a file the sink is appending to is read as it was (a line cut by a write in progress is
 * then the last, unterminated line: the search skips it and counts it).
 */
export function createDirArchiveReader(root: string): ArchiveReader {
  const resolvedRoot = path.resolve(root);
  return {
    location: resolvedRoot,
    async containerExists(container) {
      try {
        return (await stat(filePathFor(resolvedRoot, container, ''))).isDirectory();
      } catch (error) {
        if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return false;
        throw error;
      }
    },
    async list(container, folder) {
      let entries;
      try {
        entries = await readdir(filePathFor(resolvedRoot, container, folder), { withFileTypes: true });
      } catch (error) {
        if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return { folders: [], files: [] };
        throw error;
      }
      const folders: string[] = [];
      const files: ArchiveEntry[] = [];
      for (const entry of entries) {
        if (entry.isDirectory()) folders.push(`${folder}${entry.name}/`);
        else if (entry.isFile()) {
          const name = `${folder}${entry.name}`;
          files.push({ name, size: (await stat(filePathFor(resolvedRoot, container, name))).size });
        }
      }
      return { folders, files };
    },
    async listFiles(container, folder) {
      const base = filePathFor(resolvedRoot, container, folder);
      let entries;
      try {
        entries = await readdir(base, { recursive: true, withFileTypes: true });
      } catch (error) {
        if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return [];
        throw error;
      }
      const files: ArchiveEntry[] = [];
      for (const entry of entries) {
        if (!entry.isFile()) continue;
        const file = path.join(entry.parentPath, entry.name);
        files.push({ name: `${folder}${path.relative(base, file).split(path.sep).join('/')}`, size: (await stat(file)).size });
      }
      return files;
    },
    async *read(container, name, length, abortSignal) {
      if (length <= 0) return;
      const stream = createReadStream(filePathFor(resolvedRoot, container, name), { start: 0, end: length - 1, highWaterMark: 1024 * 1024, ...(abortSignal ? { signal: abortSignal } : {}) });
      for await (const chunk of stream) yield chunk as Buffer;
    },
  };
}
