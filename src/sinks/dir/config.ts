/** Settings of a `dir` destination (pure validation, frozen; errors name the path). */
import { InsightLogsError } from '../../errors.js';

export interface DirSinkSettings {
  /** The folder that receives `<container>/<blob name>` files; relative paths resolve against the working directory at start. */
  readonly path: string;
}

const KEYS = new Set(['path']);

export function parseDirSettings(raw: Record<string, unknown>, path: string): DirSinkSettings {
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) throw new InsightLogsError('CONFIG_INVALID', `${path}.${key}: unknown setting; allowed: ${[...KEYS].join(', ')}`);
  }
  const folder = raw.path;
  if (typeof folder !== 'string' || folder.trim() === '') {
    throw new InsightLogsError('CONFIG_INVALID', `${path}.path: set the folder that receives the files, e.g. ./insight-logs-out`);
  }
  if (folder.includes('\0')) throw new InsightLogsError('CONFIG_INVALID', `${path}.path: contains a NUL character`);
  return Object.freeze({ path: folder });
}
