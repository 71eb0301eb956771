/** Settings of a `notebook` destination: which in-process notebook the records go to. */
import { assertKnownKeys, configError } from '../../src/config/settings.js';

export interface NotebookSinkSettings {
  readonly notebook: string;
}

const KEYS = ['notebook'];

export function parseNotebookSettings(raw: Record<string, unknown>, path: string): NotebookSinkSettings {
  assertKnownKeys(raw, KEYS, path);
  if (typeof raw.notebook !== 'string' || !/^[a-z0-9-]{1,40}$/.test(raw.notebook)) throw configError(`${path}.notebook`, 'set the notebook name (a-z, 0-9, -)');
  return Object.freeze({ notebook: raw.notebook });
}
