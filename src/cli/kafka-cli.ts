/**
 * Kafka for one-shot CLI commands (topics, emit, simulate, tail): settings from the
 * environment with short connection timeouts and few retries, so an unreachable broker is
 * one clear line within seconds rather than kafkajs retrying for a minute; kafkajs' own logs
 * stay quiet unless LOG_LEVEL asks for them.
 */
import type { Kafka, RetryOptions } from 'kafkajs';
import { InsightLogsError } from '../errors.js';
import { createKafka, kafkaSettingsFromEnv, type KafkaSettings } from '../kafka/client.js';
import { createLogger, type Logger } from '../logging.js';
import { withTimeout } from '../util/time.js';

/** kafkajs retry for admin/consumer clients of one-shot commands: about 2 s before giving up. */
export const ONE_SHOT_RETRY: RetryOptions = { retries: 3, initialRetryTime: 200, maxRetryTime: 1000, factor: 0.2, multiplier: 2 };

export function cliKafkaSettings(env: NodeJS.ProcessEnv = process.env): KafkaSettings {
  return kafkaSettingsFromEnv(env, { connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 });
}

/** A kafkajs client whose connects and metadata requests give up after about 2 s. */
export function cliKafka(settings: KafkaSettings, logger: Logger): Kafka {
  return createKafka(settings, logger, { retry: ONE_SHOT_RETRY });
}

/** The command's logger on stderr; silent unless LOG_LEVEL is set, so stdout/stderr stay readable. */
export function cliLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return createLogger({ level: env.LOG_LEVEL || 'silent' });
}

const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSBrokerNotFound', 'KafkaJSRequestTimeoutError',
  'KafkaJSConnectionClosedError', 'KafkaJSNonRetriableError', 'KafkaJSLockTimeout', 'KafkaJSTimeout',
]);

function rootCause(err: unknown): unknown {
  let current = err;
  for (let depth = 0; depth < 5; depth++) {
    const next = (current as { originalError?: unknown; cause?: unknown } | undefined)?.originalError ?? (current as { cause?: unknown } | undefined)?.cause;
    if (!next) break;
    current = next;
  }
  return current;
}

/**
 * Turns a kafkajs connection failure into KAFKA_UNAVAILABLE naming the brokers (which are not
 * secret) and what to check; other errors pass through unchanged.
 */
export function asKafkaUnavailable(err: unknown, settings: Pick<KafkaSettings, 'brokers'>): unknown {
  if (err instanceof InsightLogsError && err.code !== 'KAFKA_UNAVAILABLE') return err;
  const name = (err as { name?: string } | undefined)?.name ?? '';
  if (!(err instanceof InsightLogsError) && !CONNECTION_ERRORS.has(name)) return err;
  const cause = rootCause(err);
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new InsightLogsError(
    'KAFKA_UNAVAILABLE',
    `cannot reach Kafka at ${settings.brokers.join(',')} (${detail}); check KAFKA_BROKERS and that the brokers are up`,
    { cause: err, retryable: true },
  );
}

/** Rejects with KAFKA_UNAVAILABLE when `promise` does not settle within `ms` (a connect that hangs). */
export function withDeadline<T>(promise: Promise<T>, ms: number, settings: Pick<KafkaSettings, 'brokers'>, what: string): Promise<T> {
  return withTimeout(promise, ms, () => new InsightLogsError(
    'KAFKA_UNAVAILABLE',
    `cannot reach Kafka at ${settings.brokers.join(',')}: ${what} took longer than ${Math.round(ms / 1000)} s; check KAFKA_BROKERS and that the brokers are up`,
    { retryable: true },
  ));
}
