/**
 * Settings of a `kafka` destination: validated once (pure, no environment lookups), frozen,
 * every error naming its path such as `destinations[2].sasl.passwordEnv`. Credentials are
 * referenced by environment variable name only; the password itself is never stored here.
 */
import { assertKnownKeys, configError, envVarName, isPlainObject, optionalBoolean, perCategoryNames, type PerCategoryNamesRule } from '../../config/settings.js';
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

const KEYS = ['brokers', 'topics', 'ssl', 'sslRejectUnauthorized', 'sasl', 'allowInsecure', 'compression', 'exactlyOnce', 'transactionalIdPrefix'];
const SASL_KEYS = ['mechanism', 'username', 'passwordEnv'];
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
  assertKnownKeys(value, SASL_KEYS, path);
  const { mechanism, username, passwordEnv } = value;
  if (typeof mechanism !== 'string' || !MECHANISMS.includes(mechanism.toLowerCase() as SaslMechanism)) {
    throw configError(`${path}.mechanism`, `use one of ${MECHANISMS.join(', ')}`);
  }
  if (typeof username !== 'string' || username === '') throw configError(`${path}.username`, 'required');
  return Object.freeze({ mechanism: mechanism.toLowerCase() as SaslMechanism, username, passwordEnv: envVarName(passwordEnv, `${path}.passwordEnv`, 'MIRROR_KAFKA_SECRET') });
}

export function parseKafkaSinkSettings(raw: Record<string, unknown>, path: string): KafkaSinkSettings {
  assertKnownKeys(raw, KEYS, path);
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
    ssl: optionalBoolean(raw.ssl, `${path}.ssl`) ?? false,
    sslRejectUnauthorized: optionalBoolean(raw.sslRejectUnauthorized, `${path}.sslRejectUnauthorized`) ?? true,
    ...(sasl ? { sasl } : {}),
    allowInsecure: optionalBoolean(raw.allowInsecure, `${path}.allowInsecure`) ?? false,
    compression,
    exactlyOnce: optionalBoolean(raw.exactlyOnce, `${path}.exactlyOnce`) ?? false,
    transactionalIdPrefix: prefix,
  };
  assertSecureEnough(settings, { sslRejectUnauthorized: `${path}.sslRejectUnauthorized`, saslMechanism: `${path}.sasl.mechanism`, allow: 'set allowInsecure: true' });
  return Object.freeze(settings);
}
