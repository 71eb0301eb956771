/** Settings of a `dir` destination (pure validation, frozen; errors name the path). */
import { assertKnownKeys, configError } from '../../config/settings.js';

export interface DirSinkSettings {
  /** The folder that receives `<container>/<blob name>` files; relative paths resolve against the working directory at start. */
  readonly path: string;
}

const KEYS = ['path'];

export function parseDirSettings(raw: Record<string, unknown>, path: string): DirSinkSettings {
  assertKnownKeys(raw, KEYS, path);
  const folder = raw.path;
  if (typeof folder !== 'string' || folder.trim() === '') {
    throw configError(`${path}.path`, 'set the folder that receives the files, e.g. ./insight-logs-out');
  }
  if (folder.includes('\0')) throw configError(`${path}.path`, 'contains a NUL character');
  return Object.freeze({ path: folder });
}
