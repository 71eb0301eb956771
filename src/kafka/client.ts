/**
 * Kafka connection settings (flags, then environment, then defaults) and the one place a
 * kafkajs client is created, with its logs bridged into pino and insecure settings refused
 * unless explicitly allowed.
 */
import { Kafka, logLevel, type KafkaConfig, type RetryOptions, type SASLOptions, type logCreator } from 'kafkajs';
import { InsightLogsError } from '../errors.js';
import { silentLogger, scrubSecrets, type Logger } from '../logging.js';
import { installProduceEncoding } from './record-encoder.js';

// Before any client of ours can produce: kafkajs' own record encoder allocates ~10 buffers per
// record and checksums a byte at a time (see record-encoder.ts).
installProduceEncoding();

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  /** TLS certificate verification; turning it off needs `allowInsecure`. */
  sslRejectUnauthorized: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Explicit consent to TLS verification off or SASL PLAIN without TLS. */
  allowInsecure: boolean;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_BROKERS = '127.0.0.1:9092';

const BROKER = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;

export function parseBrokers(value: string, path = 'KAFKA_BROKERS'): string[] {
  const brokers = value.split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) throw new InsightLogsError('CONFIG_INVALID', `${path}: give at least one broker as host:port`);
  for (const b of brokers) {
    if (!BROKER.test(b)) throw new InsightLogsError('CONFIG_INVALID', `${path}: "${b}" is not host:port`);
  }
  return brokers;
}

function bool(value: string | undefined, path: string, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new InsightLogsError('CONFIG_INVALID', `${path}: expected true or false, got "${value}"`);
}

/**
 * Reads KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SSL_REJECT_UNAUTHORIZED,
 * KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_ALLOW_INSECURE.
 * `overrides` (from flags) win over the environment.
 */
export function kafkaSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<KafkaSettings> = {}): KafkaSettings {
  const mechanism = env.KAFKA_SASL_MECHANISM?.toLowerCase();
  let sasl: KafkaSettings['sasl'];
  if (mechanism) {
    if (mechanism !== 'plain' && mechanism !== 'scram-sha-256' && mechanism !== 'scram-sha-512') {
      throw new InsightLogsError('CONFIG_INVALID', 'KAFKA_SASL_MECHANISM: use plain, scram-sha-256 or scram-sha-512');
    }
    if (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD) {
      throw new InsightLogsError('SECRET_MISSING', 'KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD must both be set when KAFKA_SASL_MECHANISM is');
    }
    sasl = { mechanism, username: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD };
  }
  const settings: KafkaSettings = {
    brokers: parseBrokers(env.KAFKA_BROKERS ?? DEFAULT_BROKERS),
    clientId: env.KAFKA_CLIENT_ID ?? 'insight-logs',
    ssl: bool(env.KAFKA_SSL, 'KAFKA_SSL', false),
    sslRejectUnauthorized: bool(env.KAFKA_SSL_REJECT_UNAUTHORIZED, 'KAFKA_SSL_REJECT_UNAUTHORIZED', true),
    allowInsecure: bool(env.KAFKA_ALLOW_INSECURE, 'KAFKA_ALLOW_INSECURE', false),
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 30000,
    ...(sasl ? { sasl } : {}),
    ...overrides,
  };
  assertSecureEnough(settings);
  return settings;
}

/** How the settings being checked are named where the user set them, for error messages. */
export interface SecuritySettingNames {
  sslRejectUnauthorized: string;
  saslMechanism: string;
  /** How to say "I mean it", e.g. `set allowInsecure: true`. */
  allow: string;
}

const ENV_NAMES: SecuritySettingNames = {
  sslRejectUnauthorized: 'KAFKA_SSL_REJECT_UNAUTHORIZED',
  saslMechanism: 'KAFKA_SASL_MECHANISM',
  allow: 'set KAFKA_ALLOW_INSECURE=true',
};

/**
 * Refuses TLS verification off (even with TLS itself off: the setting says "trust anyone")
 * and SASL PLAIN over plaintext, unless allowInsecure is set. One rule for the forwarder's own
 * connection and for Kafka destinations; the error names the setting that switched it off.
 */
export function assertSecureEnough(
  settings: { ssl: boolean; sslRejectUnauthorized: boolean; sasl?: { mechanism: string } | undefined; allowInsecure: boolean },
  names: SecuritySettingNames = ENV_NAMES,
): void {
  if (settings.allowInsecure) return;
  if (!settings.sslRejectUnauthorized) {
    throw new InsightLogsError('INSECURE_SETTING', `${names.sslRejectUnauthorized}: TLS certificate verification is off; ${names.allow} if you really mean it`);
  }
  if (settings.sasl?.mechanism === 'plain' && !settings.ssl) {
    throw new InsightLogsError('INSECURE_SETTING', `${names.saslMechanism}: SASL PLAIN without TLS sends the password in clear; enable TLS, or ${names.allow} if you really mean it`);
  }
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs messages that are expected in our set-up and say nothing actionable: we bound the
 * idempotent producer's retries on purpose (and retire a producer after a give-up), and
 * back-to-back transactions briefly meet CONCURRENT_TRANSACTIONS, which kafkajs retries.
 */
const EXPECTED_NOISE = [/Limiting retries for the idempotent producer/, /CONCURRENT_TRANSACTIONS|The producer attempted to update a transaction while another concurrent operation/];

/** kafkajs logs through our pino logger (its INFO chatter and expected noise go to debug). */
function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ level, log }) => {
    const { message, ...extra } = log as { message: string } & Record<string, unknown>;
    delete extra.timestamp; delete extra.logger;
    const text = String(message) + (typeof extra.error === 'string' ? ` ${extra.error}` : '');
    const noise = EXPECTED_NOISE.some((re) => re.test(text));
    const target = noise || LEVELS[level] === 'info' ? 'debug' : (LEVELS[level] ?? 'debug');
    logger[target]({ kafkajs: extra }, scrubSecrets(String(message)));
  };
}

/** `options.retry`: the cluster-level retry (connecting, metadata); one-shot CLI commands keep it short. */
export function createKafka(settings: KafkaSettings, logger: Logger = silentLogger, options: { retry?: RetryOptions } = {}): Kafka {
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.ssl ? { rejectUnauthorized: settings.sslRejectUnauthorized } : false,
    connectionTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ lib: 'kafkajs' })),
    ...(settings.sasl ? { sasl: settings.sasl as SASLOptions } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  };
  return new Kafka(config);
}
