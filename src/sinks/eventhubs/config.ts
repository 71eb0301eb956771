/**
 * Settings of an `eventhubs` destination: validated once (pure, no environment lookups),
 * frozen, every error naming its path such as `destinations[1].connectionStringEnv`.
 * The connection string is referenced by environment variable name only, never stored.
 */
import { assertKnownKeys, configError, perCategoryNames, type PerCategoryNamesRule } from '../../config/settings.js';
import { topicFor, type CategoryName } from '../../events/routing.js';
import { parseAzureAuth, type AzureAuth, type AzureAuthRule } from '../azure-auth.js';

/** A connection string from an environment variable (SAS key or emulator string), or Azure AD at the namespace (`mynamespace.servicebus.windows.net`). */
export type EventHubsAuth = AzureAuth<'fullyQualifiedNamespace'>;

export interface EventHubsSinkSettings {
  readonly auth: EventHubsAuth;
  /** Hub per category; defaults `insight-logs-audit` / `insight-logs-operational`. */
  readonly hubs: Readonly<Record<CategoryName, string>>;
}

/** The audience of Azure AD tokens for Event Hubs (the SDK asks for scope `https://eventhubs.azure.net//.default`). */
export const EVENTHUBS_AAD_AUDIENCE = 'https://eventhubs.azure.net/';

const KEYS = ['connectionStringEnv', 'fullyQualifiedNamespace', 'hubs'];
/** Event Hubs' own rule: letters, digits, `.`, `_`, `-`; start and end with a letter or digit; ≤ 256. */
const HUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
/** The hubs a destination writes unless `hubs` says otherwise (also the provisioning template's, src/azure/templates.ts). */
export const DEFAULT_HUBS: Readonly<Record<CategoryName, string>> = Object.freeze({ audit: topicFor('audit'), operational: topicFor('operational') });
const HUBS: PerCategoryNamesRule = {
  defaults: DEFAULT_HUBS,
  noun: 'hub',
  isValid: (name) => HUB_NAME.test(name),
  rule: 'an event hub name is 1-256 letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
};
/**
 * A host name, no scheme, no path: `<namespace>.servicebus.windows.net` (or a private/sovereign
 * host, `localhost`), with an optional `:port` for an endpoint that does not listen on 5671
 * (a proxy, a private endpoint, the test double's TLS port).
 */
const HOST_NAME = /^(?=[^:]{1,253}(?::|$))(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+|localhost)(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$/;

export const EVENTHUBS_AUTH: AzureAuthRule<'fullyQualifiedNamespace'> = {
  targetKey: 'fullyQualifiedNamespace',
  parseTarget(value, path) {
    const host = typeof value === 'string' ? value.trim() : '';
    if (!HOST_NAME.test(host)) throw configError(path, 'expected a host name such as mynamespace.servicebus.windows.net, optionally with :port (no scheme, no path)');
    return host;
  },
  secretName: 'Event Hubs connection string',
  exampleEnv: 'EVENTHUBS_CONNECTION_STRING',
  connectionStringShape: /(?:^|;)\s*Endpoint\s*=/i,
  shapeHint: 'no Endpoint=',
};

/** Validates the type-specific keys of one destination; `path` is e.g. `destinations[1]`. */
export function parseEventHubsSettings(raw: Record<string, unknown>, path: string): EventHubsSinkSettings {
  assertKnownKeys(raw, KEYS, path);
  return Object.freeze({ auth: parseAzureAuth(raw, path, EVENTHUBS_AUTH), hubs: Object.freeze(perCategoryNames(raw.hubs, `${path}.hubs`, HUBS)) });
}
