/**
 * Settings of a `blob` destination: validated once (pure, no environment lookups), frozen,
 * every error naming its path such as `destinations[0].connectionStringEnv`. The
 * connection string is referenced by environment variable name only, never stored.
 */
import { configError, perCategoryNames, type PerCategoryNamesRule } from '../../config/settings.js';
import type { CategoryName } from '../../events/routing.js';
import { defaultContainerFor } from '../layout/path.js';

/** Azure's limit for one Append Block (newer API versions allow 100 MiB; we stay at the portable 4 MiB). */
export const MAX_APPEND_BLOCK_BYTES = 4 * 1024 * 1024;
/** Azure's limit of committed blocks per append blob. */
export const MAX_BLOCKS_PER_APPEND_BLOB = 50_000;

export type BlobAuth =
  /** A connection string held in this environment variable (account key or SAS). */
  | { readonly kind: 'connectionString'; readonly connectionStringEnv: string }
  /** Azure AD through DefaultAzureCredential, e.g. `https://myaccount.blob.core.windows.net`. */
  | { readonly kind: 'azureAd'; readonly accountUrl: string };

export interface BlobSinkSettings {
  readonly auth: BlobAuth;
  /** Container per category; defaults `insight-logs-audit` / `insight-logs-operational`. */
  readonly containers: Readonly<Record<CategoryName, string>>;
  /** Bytes per Append Block, at most 4 MiB (the default). */
  readonly maxBlockBytes: number;
  /** Blocks per blob before rolling to a continuation blob; default and max 50,000 (small values for tests). */
  readonly maxBlocksPerBlob: number;
}

const KEYS = new Set(['connectionStringEnv', 'accountUrl', 'containers', 'maxBlockBytes', 'maxBlocksPerBlob']);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Azure's container rule: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit. */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;
const CONTAINERS: PerCategoryNamesRule = {
  defaults: { audit: defaultContainerFor('audit'), operational: defaultContainerFor('operational') },
  noun: 'container',
  isValid: (name) => CONTAINER_NAME.test(name),
  rule: 'a container name is 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit',
};


function parseAuth(raw: Record<string, unknown>, path: string): BlobAuth {
  const envName = raw.connectionStringEnv;
  const accountUrl = raw.accountUrl;
  if (envName !== undefined && accountUrl !== undefined) throw configError(path, 'set either connectionStringEnv or accountUrl, not both');
  if (envName !== undefined) {
    if (typeof envName !== 'string' || !ENV_NAME.test(envName)) {
      // Someone pasting the secret itself here must not see it echoed back.
      throw configError(`${path}.connectionStringEnv`, 'set an environment variable name (e.g. AZURE_STORAGE_CONNECTION_STRING), not the secret');
    }
    return Object.freeze({ kind: 'connectionString', connectionStringEnv: envName });
  }
  if (accountUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = typeof accountUrl === 'string' ? new URL(accountUrl) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw configError(`${path}.accountUrl`, 'expected the blob endpoint URL, e.g. https://myaccount.blob.core.windows.net');
    }
    if (url.search !== '' || url.username !== '' || url.password !== '') {
      // A SAS token in the URL would be a stored secret: credentials go through connectionStringEnv.
      throw configError(`${path}.accountUrl`, 'must not carry a query string or credentials (put a SAS connection string in an environment variable and use connectionStringEnv)');
    }
    if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
      throw configError(`${path}.accountUrl`, 'Azure AD tokens are only sent over https (http is allowed for 127.0.0.1/localhost emulators)');
    }
    return Object.freeze({ kind: 'azureAd', accountUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}` });
  }
  throw configError(path, 'set connectionStringEnv (name of an environment variable holding the storage connection string) or accountUrl (Azure AD)');
}


function parseInt(value: unknown, path: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw configError(path, `expected an integer from ${min} to ${max}`);
  return n;
}

/** Validates the type-specific keys of one destination; `path` is e.g. `destinations[0]`. */
export function parseBlobSettings(raw: Record<string, unknown>, path: string): BlobSinkSettings {
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) throw configError(`${path}.${key}`, `unknown setting; allowed: ${[...KEYS].join(', ')}`);
  }
  return Object.freeze({
    auth: parseAuth(raw, path),
    containers: Object.freeze(perCategoryNames(raw.containers, `${path}.containers`, CONTAINERS)),
    maxBlockBytes: parseInt(raw.maxBlockBytes, `${path}.maxBlockBytes`, 1024, MAX_APPEND_BLOCK_BYTES, MAX_APPEND_BLOCK_BYTES),
    maxBlocksPerBlob: parseInt(raw.maxBlocksPerBlob, `${path}.maxBlocksPerBlob`, 1, MAX_BLOCKS_PER_APPEND_BLOB, MAX_BLOCKS_PER_APPEND_BLOB),
  });
}
