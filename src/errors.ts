/**
 * Every error the project raises carries a code from this one list, a message that says
 * what to do, an optional cause and a `retryable` flag. docs/errors.md documents the same
 * list; a unit test fails when the two drift.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'a setting, flag or configuration file is invalid',
  EVENT_INVALID: 'an event does not satisfy the schema rules (field, enum, pattern)',
  DECODE_FAILED: 'message bytes are not a valid Avro single-object encoded event',
  SCHEMA_UNKNOWN_FINGERPRINT: 'the writer schema fingerprint of a message is not known to this reader',
  PATH_UNSAFE: 'an event field used in a blob or file path could escape its resourceId= prefix',
  RECORD_TOO_LARGE: 'a single record is larger than the destination accepts',
  KAFKA_UNAVAILABLE: 'the Kafka brokers could not be reached',
  PUBLISH_FAILED: 'an event was accepted by the producer but could not be written to Kafka',
  QUEUE_FULL: 'the producer queue is full because Kafka is slow or unreachable',
  PRODUCER_CLOSED: 'the producer was closed; no more events are accepted',
  DESTINATION_UNKNOWN: 'no destination with this name exists',
  SINK_UNAVAILABLE: 'the destination could not be reached or refused the request',
  SINK_TYPE_UNKNOWN: 'no sink is registered for this destination type',
  SECRET_MISSING: 'an environment variable that should hold a credential is not set',
  INSECURE_SETTING: 'a setting disables transport security without being explicitly allowed',
  DEADLINE_EXCEEDED: 'an operation did not finish within its time limit (reading the dead-letter topic, recording a replay)',
  ABORTED: 'the operation was cancelled',
  DESTINATION_REFUSED: 'the destination refused a record as invalid and will refuse it again (e.g. HTTP 400); it is dead-lettered with the reason',
  PREREQUISITE_MISSING: 'a program the command needs (such as java for the local Kafka) is not installed',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface InsightLogsErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  /** Milliseconds the remote asked us to wait before retrying (e.g. a retry-after header). */
  retryAfterMs?: number;
}

export class InsightLogsError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: InsightLogsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InsightLogsError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True when `err` is an InsightLogsError with the given code. */
export function hasCode(err: unknown, code: ErrorCode): err is InsightLogsError {
  return err instanceof InsightLogsError && err.code === code;
}

const MAX_DESCRIPTION = 300;

/** Azure AD's "no credential worked" errors list every credential tried over many lines. */
const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AggregateAuthenticationError', 'AuthenticationRequiredError']);

/** The first line of a message, at most 300 characters: one line for a log or a terminal. */
function oneLine(text: string): string {
  const first = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  return first.length > MAX_DESCRIPTION ? `${first.slice(0, MAX_DESCRIPTION - 1)}…` : first;
}

/**
 * A message safe to print, never a stack trace. Our own errors are written to be read and
 * may span lines on purpose (install instructions); anyone else's is cut to one bounded line.
 */
export function describeError(err: unknown): string {
  if (err instanceof InsightLogsError) return `${err.code}: ${err.message}`;
  if (err instanceof Error && CREDENTIAL_ERRORS.has(err.name)) {
    return 'no Azure AD credential is available (DefaultAzureCredential tried environment, managed identity and developer sign-ins); set the destination\'s credential variable, or sign in (az login) / assign a managed identity';
  }
  if (err instanceof Error) return oneLine(err.message) || err.name;
  return oneLine(String(err));
}
