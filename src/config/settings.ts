/**
 * Small validators every destination type uses in its `parseSettings(raw, path)`, so that
 * errors read the same everywhere: `destinations[2].connectionStringEnv: <what to do>`.
 * Pure; they throw CONFIG_INVALID and never echo a value that may be a secret.
 */
import { InsightLogsError } from '../errors.js';
import type { CategoryName } from '../events/routing.js';

export function configError(path: string, message: string): InsightLogsError {
  return new InsightLogsError('CONFIG_INVALID', `${path}: ${message}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Throws `<path>.<key>: unknown key (allowed here: …)` for the first key outside `allowed`:
 * every settings object (a destination, a nested `sasl`) rejects unknown keys this way.
 */
export function assertKnownKeys(raw: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) {
      throw configError(`${path}.${key}`, `unknown key (allowed here: ${allowed.length ? allowed.join(', ') : 'none'})`);
    }
  }
}

/** Shapes that only a credential has: connection-string keys, SAS signatures, passwords. */
const SECRET_SHAPES = [/AccountKey=/i, /SharedAccessKey=/i, /SharedAccessSignature=/i, /[?&;]?sig=/i, /(password|pwd)\s*[=:]/i, /Bearer\s+\S/];

export function looksLikeSecret(value: string): boolean {
  return SECRET_SHAPES.some((re) => re.test(value));
}

/**
 * The one rule for environment variable names in settings: letters, digits and `_`, not
 * starting with a digit, at most 128 characters (a long run of such characters is more
 * likely a pasted key than a name, and names are echoed in messages).
 */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * An environment variable NAME (credentials are referenced, never stored). A value that
 * looks like the secret itself is refused without being repeated in the message.
 */
export function envVarName(value: unknown, path: string, example = 'AZURE_STORAGE_CONNECTION_STRING'): string {
  if (typeof value === 'string' && looksLikeSecret(value)) throw configError(path, 'set an environment variable name, not the secret');
  if (typeof value !== 'string' || !ENV_NAME.test(value)) {
    throw configError(path, `must be the name of an environment variable such as ${example} (letters, digits, _), not its value`);
  }
  return value;
}

export function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw configError(path, 'must be a non-empty string');
  return value;
}

/** A whole number within [min, max]; strings of digits are accepted (CLI `--set maxBlockBytes=65536`). */
export function optionalInteger(value: unknown, path: string, range: { min: number; max?: number }): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  const { min, max = Number.MAX_SAFE_INTEGER } = range;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw configError(path, max === Number.MAX_SAFE_INTEGER ? `must be a whole number ≥ ${min}` : `must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** true or false; the strings "true" and "false" are accepted (CLI `--set exactlyOnce=true`). */
export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw configError(path, 'must be true or false');
}

/** Deep-freezes validated configuration: validated once, never changed afterwards. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

export interface PerCategoryNamesRule {
  /** The names used when a category is not given. */
  defaults: Readonly<Record<CategoryName, string>>;
  /** What one entry is called in messages: `container`, `hub`, `topic`, `stream`. */
  noun: string;
  isValid(name: string): boolean;
  /** Why a name is refused, in words: `a topic name is 1-249 characters of …`. */
  rule: string;
  /** Audit and operational must not share a name (default true). */
  distinct?: boolean;
}

/**
 * `{ audit?: <name>, operational?: <name> }`: where each category goes (blob containers, hubs,
 * topics, streams), with defaults, one validity rule, and the two categories kept apart.
 */
export function perCategoryNames(value: unknown, path: string, rule: PerCategoryNamesRule): Record<CategoryName, string> {
  const names: Record<CategoryName, string> = { ...rule.defaults };
  if (value === undefined) return names;
  if (!isPlainObject(value)) throw configError(path, `expected { audit?: <${rule.noun}>, operational?: <${rule.noun}> }`);
  for (const key of Object.keys(value)) {
    if (key !== 'audit' && key !== 'operational') throw configError(`${path}.${key}`, 'unknown category; allowed: audit, operational');
  }
  for (const category of ['audit', 'operational'] as const) {
    const name = value[category];
    if (name === undefined) continue;
    if (typeof name !== 'string' || !rule.isValid(name)) throw configError(`${path}.${category}`, rule.rule);
    names[category] = name;
  }
  if ((rule.distinct ?? true) && names.audit === names.operational) {
    throw configError(path, `audit and operational must go to different ${rule.noun}s`);
  }
  return names;
}
