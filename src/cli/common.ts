/**
 * What every CLI command shares: the root logger, Kafka settings from flags + environment,
 * duration parsing, and turning errors into one clear line and an exit code (no stack trace
 * unless --debug / LOG_LEVEL=debug).
 */
import { Option } from 'commander';
import { InsightLogsError, describeError } from '../errors.js';
import { scrubSecrets } from '../logging.js';

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, UNAVAILABLE: 69 } as const;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `15m`, `2h`, `1d`; a bare number is seconds. */
export function parseDuration(value: string, flag: string): number {
  const m = DURATION.exec(value.trim());
  if (!m) throw new InsightLogsError('CONFIG_INVALID', `${flag}: "${value}" is not a duration like 30s, 15m or 2h`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
}

/** A point in time for a flag: a duration ago (`15m`, `2d`), or an ISO 8601 date or time (`2026-11-01`, `2026-11-01T12:00:00Z`). */
export function parseTime(value: string, flag: string, now = Date.now()): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
    // A time without a zone is UTC, as every time in the archive is (JavaScript would take it as local time).
    const text = /T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/.test(value.trim()) ? `${value.trim()}Z` : value.trim();
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new InsightLogsError('CONFIG_INVALID', `${flag}: "${value}" is not a valid ISO 8601 time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z)`);
    return ms;
  }
  return now - parseDuration(value, flag);
}

/** Commander's accumulator for a repeatable flag (`--filter a=1 --filter b=2`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InsightLogsError('CONFIG_INVALID', `${flag}: "${value}" is not a positive whole number`);
  }
  return n;
}

/** A TCP port; 0 picks a free one. */
export function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InsightLogsError('CONFIG_INVALID', `${flag}: "${value}" is not a port (0-65535; 0 picks a free one)`);
  return n;
}

/**
 * `--output <format>` limited to `formats` (the first is the default). Commander refuses any
 * other value before the command runs, with a message naming the flag and the choices, and
 * main.ts turns that into exit code 2 like every other usage error.
 */
export function outputOption(formats: readonly [string, ...string[]], description: string): Option {
  return new Option('--output <format>', description).choices(formats).default(formats[0]);
}

/** Errors caused by what the user typed or configured: exit code 2. */
const USAGE_ERRORS: ReadonlySet<string> = new Set(['CONFIG_INVALID', 'EVENT_INVALID', 'INSECURE_SETTING', 'SECRET_MISSING', 'SINK_TYPE_UNKNOWN', 'DESTINATION_UNKNOWN']);

/** Prints one clear line for an error and returns the exit code to use. */
export function reportError(err: unknown, debug = false): number {
  const message = scrubSecrets(describeError(err));
  process.stderr.write(`insight-logs: ${message}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(scrubSecrets(err.stack) + '\n');
  if (err instanceof InsightLogsError) {
    if (USAGE_ERRORS.has(err.code)) return EXIT.USAGE;
    if (err.code === 'KAFKA_UNAVAILABLE' || err.code === 'SINK_UNAVAILABLE') return EXIT.UNAVAILABLE;
  }
  return EXIT.FAILURE;
}
