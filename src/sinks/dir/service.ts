/**
 * The file system side of the dir sink: durable appends (write, fsync the file, and fsync
 * the folder when the file was created so its name survives a power cut).
 */
import { constants } from 'node:fs';
import { mkdir, open, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

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
