/**
 * Settings of a `kafka` destination: validated once (pure, no environment lookups), frozen,
 * every error naming its path such as `destinations[2].sasl.passwordEnv`. Credentials are
 * referenced by environment variable name only; the password itself is never stored here.
 */
import { configError, isPlainObject, perCategoryNames, type PerCategoryNamesRule } from '../../config/settings.js';
import { assertSecureEnough, parseBrokers } from '../../kafka/client.js';
import { topicFor, type CategoryName } from '../../events/routing.js';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
export type Compression = 'none' | 'gzip';

export interface KafkaSinkSettings {
  readonly brokers: readonly string[];
  /** Target topic per category; defaults to the category's topic name on the target cluster. */
  readonly topics: Readonly<Record<CategoryName, string>>;
  readonly ssl: boolean;
  readonly sslRejectUnauthorized: boolean;
  readonly sasl?: Readonly<{ mechanism: SaslMechanism; username: string; passwordEnv: string }>;
  readonly allowInsecure: boolean;
  readonly compression: Compression;
  /** Transactions: records and consumer offsets are committed atomically. */
  readonly exactlyOnce: boolean;
  /** Start of every transactional id; default `insight-logs`. */
  readonly transactionalIdPrefix: string;
}

const KEYS = new Set(['brokers', 'topics', 'ssl', 'sslRejectUnauthorized', 'sasl', 'allowInsecure', 'compression', 'exactlyOnce', 'transactionalIdPrefix']);
const SASL_KEYS = new Set(['mechanism', 'username', 'passwordEnv']);
const MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];
/** Kafka's own rule for topic names. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const TOPICS: PerCategoryNamesRule = {
  defaults: { audit: topicFor('audit'), operational: topicFor('operational') },
  noun: 'topic',
  isValid: (name) => TOPIC_NAME.test(name) && name !== '.' && name !== '..',
  rule: 'a topic name is 1-249 characters of letters, digits, ".", "_" and "-"',
};
/** Transactional ids end up in logs and ACLs: keep them to a plain charset. */
const ID_PREFIX = /^[A-Za-z0-9._-]{1,100}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;


function rejectUnknownKeys(raw: Record<string, unknown>, allowed: Set<string>, path: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key)) throw configError(`${path}.${key}`, `unknown setting; allowed: ${[...allowed].join(', ')}`);
  }
}

function optionalBool(raw: Record<string, unknown>, key: string, path: string, fallback: boolean): boolean {
  const value = raw[key];
  if (value === undefined) return fallback;
  // "true"/"false" arrive as strings from CLI flags such as `--set exactlyOnce=true`.
  if (value === 'true' || value === 'false') return value === 'true';
  if (typeof value !== 'boolean') throw configError(`${path}.${key}`, `expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

function parseBrokerList(value: unknown, path: string): string[] {
  if (typeof value === 'string') return parseBrokers(value, path);
  if (!Array.isArray(value) || value.length === 0) throw configError(path, 'give a list of brokers as host:port, e.g. [127.0.0.1:9092]');
  return value.flatMap((b, i) => {
    if (typeof b !== 'string') throw configError(`${path}[${i}]`, 'expected "host:port"');
    return parseBrokers(b, `${path}[${i}]`);
  });
}


function parseSasl(value: unknown, path: string): KafkaSinkSettings['sasl'] {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw configError(path, 'expected { mechanism, username, passwordEnv }');
  if ('password' in value) throw configError(`${path}.password`, 'set passwordEnv to the NAME of an environment variable holding the password, not the secret');
  rejectUnknownKeys(value, SASL_KEYS, path);
  const { mechanism, username, passwordEnv } = value;
  if (typeof mechanism !== 'string' || !MECHANISMS.includes(mechanism.toLowerCase() as SaslMechanism)) {
    throw configError(`${path}.mechanism`, `use one of ${MECHANISMS.join(', ')}`);
  }
  if (typeof username !== 'string' || username === '') throw configError(`${path}.username`, 'required');
  if (typeof passwordEnv !== 'string' || !ENV_NAME.test(passwordEnv)) {
    throw configError(`${path}.passwordEnv`, 'set the name of an environment variable (e.g. MIRROR_KAFKA_SECRET), not the secret');
  }
  return Object.freeze({ mechanism: mechanism.toLowerCase() as SaslMechanism, username, passwordEnv });
}

export function parseKafkaSinkSettings(raw: Record<string, unknown>, path: string): KafkaSinkSettings {
  rejectUnknownKeys(raw, KEYS, path);
  if (raw.brokers === undefined) throw configError(`${path}.brokers`, 'required: the target cluster, e.g. [127.0.0.1:9092]');
  const compression = raw.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') throw configError(`${path}.compression`, 'use none or gzip (the codecs built into kafkajs)');
  const prefix = raw.transactionalIdPrefix ?? 'insight-logs';
  if (typeof prefix !== 'string' || !ID_PREFIX.test(prefix)) {
    throw configError(`${path}.transactionalIdPrefix`, '1-100 characters of letters, digits, ".", "_" and "-"');
  }
  const sasl = parseSasl(raw.sasl, `${path}.sasl`);
  const settings: KafkaSinkSettings = {
    brokers: Object.freeze(parseBrokerList(raw.brokers, `${path}.brokers`)),
    topics: Object.freeze(perCategoryNames(raw.topics, `${path}.topics`, TOPICS)),
    ssl: optionalBool(raw, 'ssl', path, false),
    sslRejectUnauthorized: optionalBool(raw, 'sslRejectUnauthorized', path, true),
    ...(sasl ? { sasl } : {}),
    allowInsecure: optionalBool(raw, 'allowInsecure', path, false),
    compression,
    exactlyOnce: optionalBool(raw, 'exactlyOnce', path, false),
    transactionalIdPrefix: prefix,
  };
  assertSecureEnough(settings, { sslRejectUnauthorized: `${path}.sslRejectUnauthorized`, saslMechanism: `${path}.sasl.mechanism`, allow: 'set allowInsecure: true' });
  return Object.freeze(settings);
}
