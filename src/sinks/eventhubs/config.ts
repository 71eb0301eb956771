/**
 * Settings of an `eventhubs` destination: validated once (pure, no environment lookups),
 * frozen, every error naming its path such as `destinations[1].connectionStringEnv`.
 * The connection string is referenced by environment variable name only, never stored.
 */
import { configError, perCategoryNames, type PerCategoryNamesRule } from '../../config/settings.js';
import { topicFor, type CategoryName } from '../../events/routing.js';

export type EventHubsAuth =
  /** A connection string held in this environment variable (SAS key or emulator string). */
  | { readonly kind: 'connectionString'; readonly connectionStringEnv: string }
  /** Azure AD through DefaultAzureCredential, e.g. `mynamespace.servicebus.windows.net`. */
  | { readonly kind: 'azureAd'; readonly fullyQualifiedNamespace: string };

export interface EventHubsSinkSettings {
  readonly auth: EventHubsAuth;
  /** Hub per category; defaults `insight-logs-audit` / `insight-logs-operational`. */
  readonly hubs: Readonly<Record<CategoryName, string>>;
}

const KEYS = new Set(['connectionStringEnv', 'fullyQualifiedNamespace', 'hubs']);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Event Hubs' own rule: letters, digits, `.`, `_`, `-`; start and end with a letter or digit; ≤ 256. */
const HUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
const HUBS: PerCategoryNamesRule = {
  defaults: { audit: topicFor('audit'), operational: topicFor('operational') },
  noun: 'hub',
  isValid: (name) => HUB_NAME.test(name),
  rule: 'an event hub name is 1-256 letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
};
/** A host name, no scheme, no path: `<namespace>.servicebus.windows.net` (or a private/sovereign host). */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;


function parseAuth(raw: Record<string, unknown>, path: string): EventHubsAuth {
  const envName = raw.connectionStringEnv;
  const namespace = raw.fullyQualifiedNamespace;
  if (envName !== undefined && namespace !== undefined) {
    throw configError(path, 'set either connectionStringEnv or fullyQualifiedNamespace, not both');
  }
  if (envName !== undefined) {
    if (typeof envName !== 'string' || !ENV_NAME.test(envName)) {
      // Someone pasting the secret itself here must not see it echoed back.
      throw configError(`${path}.connectionStringEnv`, 'set an environment variable name (e.g. EVENTHUBS_CONNECTION_STRING), not the secret');
    }
    return Object.freeze({ kind: 'connectionString', connectionStringEnv: envName });
  }
  if (namespace !== undefined) {
    const host = typeof namespace === 'string' ? namespace.trim() : '';
    if (!HOST_NAME.test(host)) {
      throw configError(`${path}.fullyQualifiedNamespace`, 'expected a host name such as mynamespace.servicebus.windows.net (no scheme, no path)');
    }
    return Object.freeze({ kind: 'azureAd', fullyQualifiedNamespace: host });
  }
  throw configError(path, 'set connectionStringEnv (name of an environment variable holding the connection string) or fullyQualifiedNamespace (Azure AD)');
}


/** Validates the type-specific keys of one destination; `path` is e.g. `destinations[1]`. */
export function parseEventHubsSettings(raw: Record<string, unknown>, path: string): EventHubsSinkSettings {
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) throw configError(`${path}.${key}`, `unknown setting; allowed: ${[...KEYS].join(', ')}`);
  }
  return Object.freeze({ auth: parseAuth(raw, path), hubs: Object.freeze(perCategoryNames(raw.hubs, `${path}.hubs`, HUBS)) });
}
