/**
 * Settings of a `loganalytics` destination (Logs Ingestion API): validated once, pure (no
 * environment lookups), frozen, every error naming its path such as `destinations[3].ruleId`.
 * A static token for tests/dev is referenced by environment variable name, never stored.
 */
import { InsightLogsError } from '../../errors.js';
import { assertKnownKeys, configError, envVarName, optionalBoolean, perCategoryNames, type PerCategoryNamesRule } from '../../config/settings.js';
import type { CategoryName } from '../../events/routing.js';
import { TABLE_FOR_CATEGORY, streamForTable } from './columns.js';

export type LogAnalyticsAuth =
  /** Azure AD through DefaultAzureCredential (managed identity, workload identity, az login …). */
  | { readonly kind: 'azureAd' }
  /** A bearer token held in this environment variable (tests, dev); it is read when a request is made. */
  | { readonly kind: 'token'; readonly tokenEnv: string };

export interface LogAnalyticsSinkSettings {
  /** Data collection endpoint (or DCR logs ingestion endpoint), without a trailing slash. */
  readonly endpoint: string;
  /** The data collection rule's immutable id, `dcr-<32 hex>`. */
  readonly ruleId: string;
  /** Stream declared in the DCR per category. */
  readonly streams: Readonly<Record<CategoryName, string>>;
  readonly auth: LogAnalyticsAuth;
  /** Token audience for sovereign clouds, e.g. `https://monitor.azure.us`; default the public cloud. */
  readonly audience: string | undefined;
  /** Allows an `http://` endpoint (the test double); the bearer token then travels in clear. */
  readonly allowInsecure: boolean;
}

/** `Custom-CIEventsAudit_CL` / `Custom-CIEventsOperational_CL`: the streams of the custom tables (columns.ts). */
export const DEFAULT_STREAMS: Readonly<Record<CategoryName, string>> = Object.freeze({
  audit: streamForTable(TABLE_FOR_CATEGORY.audit),
  operational: streamForTable(TABLE_FOR_CATEGORY.operational),
});

const KEYS = ['endpoint', 'ruleId', 'streams', 'tokenEnv', 'audience', 'allowInsecure'];
/** What the Azure portal shows as "Immutable Id" on a data collection rule. */
const RULE_ID = /^dcr-[0-9a-f]{32}$/i;
/**
 * Stream names a DCR declares for data sent through the Logs Ingestion API: `Custom-<name>`.
 * (`Microsoft-<Table>` streams exist only for the few Azure tables the API supports; see
 * `refuseBuiltInStreams`.)
 */
const STREAM = /^Custom-[A-Za-z0-9_]{1,100}$/;
const STREAMS: PerCategoryNamesRule = {
  defaults: DEFAULT_STREAMS,
  noun: 'stream',
  isValid: (name) => STREAM.test(name),
  rule: 'a DCR stream name looks like Custom-CIEventsAudit_CL (Custom-<letters, digits, _>)',
  distinct: false,
};

/**
 * `Microsoft-CIEventsAudit` / `Microsoft-CIEventsOperational` (what older versions accepted)
 * cannot exist: the Logs Ingestion API writes only custom tables (`*_CL`) and a short list of
 * Azure tables, and the CIEvents tables are not on it. Say so instead of a generic message.
 */
function refuseBuiltInStreams(value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [category, name] of Object.entries(value)) {
    if (typeof name === 'string' && /^Microsoft-/i.test(name)) {
      const table = name.replace(/^Microsoft-/i, '');
      throw configError(
        `${path}.${category}`,
        `${name} is the stream of the built-in table ${table}, which the Logs Ingestion API cannot write (it writes custom tables ending in _CL and a few listed Azure tables only); create the custom tables with \`insight-logs azure template loganalytics\` and use ${DEFAULT_STREAMS[category as CategoryName] ?? 'Custom-<table>_CL'}`,
      );
    }
  }
}


/** An https URL (or http with allowInsecure), no credentials, no query: those would be secrets in a config file. */
function parseEndpoint(value: unknown, allowInsecure: boolean, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw configError(path, 'set the data collection endpoint URL, e.g. https://my-dce-abcd.westeurope-1.ingest.monitor.azure.com');
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw configError(path, 'not a URL; expected e.g. https://my-dce-abcd.westeurope-1.ingest.monitor.azure.com');
  }
  if (url.username || url.password || url.search || url.hash) {
    // Never echo the value: a query string or user info may be a credential.
    throw configError(path, 'the endpoint URL must not contain user info, a query string or a fragment');
  }
  if (url.protocol === 'http:') {
    if (!allowInsecure) {
      throw new InsightLogsError('INSECURE_SETTING', `${path}: an http:// endpoint sends the bearer token in clear; use https, or set allowInsecure: true for a local test double`);
    }
  } else if (url.protocol !== 'https:') {
    throw configError(path, `unsupported scheme ${url.protocol}; expected https:`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}


function parseAudience(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^https:\/\/[A-Za-z0-9.-]+$/.test(value.replace(/\/+$/, ''))) {
    throw configError(path, 'expected an https origin such as https://monitor.azure.us');
  }
  return value.replace(/\/+$/, '');
}

/** Validates the type-specific keys of one destination; `path` is e.g. `destinations[3]`. */
export function parseLogAnalyticsSettings(raw: Record<string, unknown>, path: string): LogAnalyticsSinkSettings {
  assertKnownKeys(raw, KEYS, path);
  const allowInsecure = optionalBoolean(raw.allowInsecure, `${path}.allowInsecure`) ?? false;
  const endpoint = parseEndpoint(raw.endpoint, allowInsecure, `${path}.endpoint`);
  const ruleId = raw.ruleId;
  if (typeof ruleId !== 'string' || !RULE_ID.test(ruleId.trim())) {
    throw configError(`${path}.ruleId`, "expected the data collection rule's immutable id, dcr- followed by 32 hex digits (not its resource id)");
  }
  refuseBuiltInStreams(raw.streams, `${path}.streams`);
  const auth: LogAnalyticsAuth = raw.tokenEnv === undefined
    ? { kind: 'azureAd' }
    : { kind: 'token', tokenEnv: envVarName(raw.tokenEnv, `${path}.tokenEnv`, 'LOGS_INGESTION_TOKEN') };
  return Object.freeze({
    endpoint,
    ruleId: ruleId.trim(),
    streams: Object.freeze(perCategoryNames(raw.streams, `${path}.streams`, STREAMS)),
    auth: Object.freeze(auth),
    audience: parseAudience(raw.audience, `${path}.audience`),
    allowInsecure,
  });
}
