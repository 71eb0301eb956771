/**
 * Settings of a `blob` destination: validated once (pure, no environment lookups), frozen,
 * every error naming its path such as `destinations[0].connectionStringEnv`. The
 * connection string is referenced by environment variable name only, never stored.
 */
import { assertKnownKeys, configError, optionalInteger, perCategoryNames, type PerCategoryNamesRule } from '../../config/settings.js';
import type { CategoryName } from '../../events/routing.js';
import { parseAzureAuth, type AzureAuth, type AzureAuthRule } from '../azure-auth.js';
import { defaultContainerFor } from '../layout/path.js';

/** Azure's limit for one Append Block (newer API versions allow 100 MiB; we stay at the portable 4 MiB). */
export const MAX_APPEND_BLOCK_BYTES = 4 * 1024 * 1024;
/** Azure's limit of committed blocks per append blob. */
export const MAX_BLOCKS_PER_APPEND_BLOB = 50_000;

/** A connection string from an environment variable, or Azure AD at the account URL (`https://myaccount.blob.core.windows.net`). */
export type BlobAuth = AzureAuth<'accountUrl'>;

export interface BlobSinkSettings {
  readonly auth: BlobAuth;
  /** Container per category; defaults `insight-logs-audit` / `insight-logs-operational`. */
  readonly containers: Readonly<Record<CategoryName, string>>;
  /** Bytes per Append Block, at most 4 MiB (the default). */
  readonly maxBlockBytes: number;
  /** Blocks per blob before rolling to a continuation blob; default and max 50,000 (small values for tests). */
  readonly maxBlocksPerBlob: number;
}

/** The audience of Azure AD tokens for Storage (the SDK asks for scope `https://storage.azure.com/.default`; Azurite accepts it with or without the slash). */
export const STORAGE_AAD_AUDIENCE = 'https://storage.azure.com';

const KEYS = ['connectionStringEnv', 'accountUrl', 'containers', 'maxBlockBytes', 'maxBlocksPerBlob'];
/** Azure's container rule: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit. */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** The containers a destination writes unless `containers` says otherwise (also the provisioning template's, src/azure/templates.ts). */
export const DEFAULT_CONTAINERS: Readonly<Record<CategoryName, string>> = Object.freeze({ audit: defaultContainerFor('audit'), operational: defaultContainerFor('operational') });
const CONTAINERS: PerCategoryNamesRule = {
  defaults: DEFAULT_CONTAINERS,
  noun: 'container',
  isValid: (name) => CONTAINER_NAME.test(name),
  rule: 'a container name is 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit',
};

/** The blob endpoint for Azure AD: https (http only for a local emulator), no query string or credentials. */
function parseAccountUrl(value: unknown, path: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw configError(path, 'expected the blob endpoint URL, e.g. https://myaccount.blob.core.windows.net');
  }
  if (url.search !== '' || url.username !== '' || url.password !== '') {
    // A SAS token in the URL would be a stored secret: credentials go through connectionStringEnv.
    throw configError(path, 'must not carry a query string or credentials (put a SAS connection string in an environment variable and use connectionStringEnv)');
  }
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw configError(path, 'Azure AD tokens are only sent over https (http is allowed for 127.0.0.1/localhost emulators)');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export const BLOB_AUTH: AzureAuthRule<'accountUrl'> = {
  targetKey: 'accountUrl',
  parseTarget: parseAccountUrl,
  secretName: 'storage connection string',
  exampleEnv: 'AZURE_STORAGE_CONNECTION_STRING',
  connectionStringShape: /(?:^|;)\s*(?:BlobEndpoint|AccountName|UseDevelopmentStorage)\s*=/i,
  shapeHint: 'no AccountName= or BlobEndpoint=',
};

/** Validates the type-specific keys of one destination; `path` is e.g. `destinations[0]`. */
export function parseBlobSettings(raw: Record<string, unknown>, path: string): BlobSinkSettings {
  assertKnownKeys(raw, KEYS, path);
  return Object.freeze({
    auth: parseAzureAuth(raw, path, BLOB_AUTH),
    containers: Object.freeze(perCategoryNames(raw.containers, `${path}.containers`, CONTAINERS)),
    maxBlockBytes: optionalInteger(raw.maxBlockBytes, `${path}.maxBlockBytes`, { min: 1024, max: MAX_APPEND_BLOCK_BYTES }) ?? MAX_APPEND_BLOCK_BYTES,
    maxBlocksPerBlob: optionalInteger(raw.maxBlocksPerBlob, `${path}.maxBlocksPerBlob`, { min: 1, max: MAX_BLOCKS_PER_APPEND_BLOB }) ?? MAX_BLOCKS_PER_APPEND_BLOB,
  });
}
