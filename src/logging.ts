/**
 * Logging: the CLI owns the root pino logger; library code takes a logger (silent by
 * default) and makes children such as `{ component: 'forwarder', destination }`.
 * Secrets are redacted twice: by key (pino `redact`) and by shape (`scrubSecrets`) for
 * text such as error messages that may quote a connection string or a SAS URL.
 */
import { InsightLogsError } from './errors.js';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Keys whose values are never logged, at any depth we know of. Fixed list, never built from input. */
const SECRET_KEYS = [
  'connectionString', 'password', 'sasToken', 'sharedAccessKey', 'accountKey', 'secret', 'token', 'authorization', 'Authorization',
];
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

const SECRET_PATTERNS: [RegExp, string][] = [
  [/(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)=[^;\s"']*/gi, '$1=[REDACTED]'],
  [/([?&](?:sig|se|sv|sp|sr|st|skoid|sktid|spr|srt|ss)=)[^&\s"']*/gi, '$1[REDACTED]'],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1[REDACTED]'],
  [/(sasl[^\n]*?password["']?\s*[:=]\s*["']?)[^"',\s}]+/gi, '$1[REDACTED]'],
];

/** Removes credentials from free text (error messages, URLs). */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** A URL for logs: scheme, host and path only, never the query string (SAS tokens live there). */
export function urlForLogs(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[unparseable url]';
  }
}

export interface CreateLoggerOptions {
  level?: string;
  /** Destination stream; default stderr so stdout stays clean for command output. */
  destination?: NodeJS.WritableStream;
}

const LEVEL_NAMES = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The level to log at: explicit, else LOG_LEVEL, else info; a bad name is a clear config error. */
export function logLevelFrom(level: string | undefined): string {
  const name = (level ?? '').trim().toLowerCase() || 'info';
  if (!LEVEL_NAMES.includes(name)) {
    throw new InsightLogsError('CONFIG_INVALID', `LOG_LEVEL: "${level}" is not one of ${LEVEL_NAMES.join(', ')}`);
  }
  return name;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const config: LoggerOptions = {
    level: logLevelFrom(options.level ?? process.env.LOG_LEVEL),
    base: { service: 'insight-logs' },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      // Error messages from SDKs sometimes quote the request URL or the connection string.
      logMethod(args, method) {
        const scrubbed = args.map((a) => {
          if (typeof a === 'string') return scrubSecrets(a);
          if (a instanceof Error) return { err: { type: a.name, message: scrubSecrets(a.message), code: (a as { code?: unknown }).code } };
          if (a && typeof a === 'object' && (a as { err?: unknown }).err instanceof Error) {
            const e = (a as { err: Error }).err;
            return { ...a, err: { type: e.name, message: scrubSecrets(e.message), code: (e as { code?: unknown }).code } };
          }
          return a;
        });
        return method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  return pino(config, (options.destination ?? process.stderr) as DestinationStream);
}

export const silentLogger: Logger = pino({ level: 'silent' });
