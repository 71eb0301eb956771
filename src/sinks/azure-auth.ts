/**
 * How the Azure destinations (blob, eventhubs) are given a credential, in one place:
 * either `connectionStringEnv` (the NAME of an environment variable holding a connection
 * string, never the string itself) or an Azure AD target (`accountUrl`,
 * `fullyQualifiedNamespace`) signed in through DefaultAzureCredential. The settings half is
 * pure; `azureCredentials` reads the environment variable when a sink is created.
 */
import { InsightLogsError } from '../errors.js';
import { configError, envVarName } from '../config/settings.js';
import type { SinkFlag } from './sink.js';

export type AzureAdAuth<TargetKey extends string> = { readonly kind: 'azureAd' } & { readonly [K in TargetKey]: string };

export type AzureAuth<TargetKey extends string> =
  /** A connection string held in this environment variable. */
  | { readonly kind: 'connectionString'; readonly connectionStringEnv: string }
  /** Azure AD through DefaultAzureCredential, at the target the type names. */
  | AzureAdAuth<TargetKey>;

/** What the service client receives: the connection string itself, or the Azure AD target. */
export type AzureCredentials<TargetKey extends string> = { kind: 'connectionString'; connectionString: string } | AzureAdAuth<TargetKey>;

export interface AzureAuthRule<TargetKey extends string> {
  /** The setting naming the Azure AD target: `accountUrl`, `fullyQualifiedNamespace`. */
  targetKey: TargetKey;
  /** Validates and normalises the target; errors name `path`. */
  parseTarget(value: unknown, path: string): string;
  /** What the connection string is, for messages: `storage connection string`. */
  secretName: string;
  /** A variable name to show as an example: `AZURE_STORAGE_CONNECTION_STRING`. */
  exampleEnv: string;
  /** A connection string of this service matches it (`AccountName=`, `Endpoint=` …). */
  connectionStringShape: RegExp;
  /** What is missing when the shape does not match, for messages: `no Endpoint=`. */
  shapeHint: string;
}

const CONNECTION_STRING_ENV = 'connectionStringEnv';

/** The `destinations add` flag every such type offers. */
export const CONNECTION_STRING_ENV_FLAG: SinkFlag = {
  flag: '--connection-string-env <VAR>',
  key: CONNECTION_STRING_ENV,
  help: 'name of the environment variable holding the connection string (never the secret itself)',
};

/** Validates the credential keys of `raw` (exactly one of connectionStringEnv and the target key). */
export function parseAzureAuth<K extends string>(raw: Record<string, unknown>, path: string, rule: AzureAuthRule<K>): AzureAuth<K> {
  const envName = raw[CONNECTION_STRING_ENV];
  const target = raw[rule.targetKey];
  if (envName !== undefined && target !== undefined) throw configError(path, `set either ${CONNECTION_STRING_ENV} or ${rule.targetKey}, not both`);
  if (envName !== undefined) {
    return Object.freeze({ kind: 'connectionString', connectionStringEnv: envVarName(envName, `${path}.${CONNECTION_STRING_ENV}`, rule.exampleEnv) });
  }
  if (target !== undefined) {
    return Object.freeze({ kind: 'azureAd', [rule.targetKey]: rule.parseTarget(target, `${path}.${rule.targetKey}`) }) as AzureAdAuth<K>;
  }
  throw configError(path, `set ${CONNECTION_STRING_ENV} (name of an environment variable holding the ${rule.secretName}) or ${rule.targetKey} (Azure AD)`);
}

/**
 * The credentials for validated settings: the connection string is read from its environment
 * variable here, once (SECRET_MISSING when unset, CONFIG_INVALID when it is not this service's).
 */
export function azureCredentials<K extends string>(auth: AzureAuth<K>, env: NodeJS.ProcessEnv, path: string, rule: AzureAuthRule<K>): AzureCredentials<K> {
  if (auth.kind === 'azureAd') return { ...auth };
  const name = (auth as { connectionStringEnv: string }).connectionStringEnv;
  const connectionString = env[name]?.trim();
  const where = `${path}.${CONNECTION_STRING_ENV}: environment variable ${name}`;
  if (!connectionString) throw new InsightLogsError('SECRET_MISSING', `${where} is not set; put the ${rule.secretName} there`);
  if (!rule.connectionStringShape.test(connectionString)) {
    throw new InsightLogsError('CONFIG_INVALID', `${where} does not hold ${/^[aeiou]/i.test(rule.secretName) ? 'an' : 'a'} ${rule.secretName} (${rule.shapeHint})`);
  }
  return { kind: 'connectionString', connectionString };
}
