/**
 * `--filter field=glob` for `insight-logs tail` and `insight-logs search`: field paths with dots into the common-schema
 * record (`properties.method`, `identity.Claims.tid`), globs with `*` and `?`, matched
 * case-sensitively against the whole value. Several filters are AND-ed; `field!=glob` negates.
 * Field names are checked against the schema's fields (src/events/fields.ts) so a typo is an
 * error, not a silent empty tail.
 */
import { InsightLogsError } from '../errors.js';
import { ADDITIONAL_INFO_FIELDS, AUTHORIZATION_FIELDS, PROPERTY_FIELDS, TOP_LEVEL_FIELDS } from '../events/fields.js';

/** The objects a filter reaches into; their own fields are named by path. */
const NESTED: ReadonlySet<string> = new Set(['identity', 'properties', 'additionalInfo']);
const TOP_LEVEL = TOP_LEVEL_FIELDS.filter((f) => !NESTED.has(f));
const PROPERTIES = PROPERTY_FIELDS.filter((p) => !NESTED.has(p));

/** Every field path a filter may name, except `identity.Claims.<any claim>`. */
export const KNOWN_FIELDS: readonly string[] = [
  ...TOP_LEVEL,
  ...PROPERTIES.map((p) => `properties.${p}`),
  ...ADDITIONAL_INFO_FIELDS.map((p) => `properties.additionalInfo.${p}`),
  ...AUTHORIZATION_FIELDS.map((p) => `identity.Authorization.${p}`),
];
const KNOWN = new Set(KNOWN_FIELDS);
const PROPERTY_NAMES: ReadonlySet<string> = new Set(PROPERTIES);
const CLAIM = /^identity\.Claims\.[^.]+$/;

export interface FieldFilter {
  /** The field path as resolved (`method` becomes `properties.method`). */
  field: string;
  glob: string;
  negate: boolean;
  /** The filter as written, for messages. */
  source: string;
  matches(record: unknown): boolean;
  /**
   * Texts that the JSON line of every record this filter matches contains (see `lineHintsOf`):
   * `search` skips a line that lacks one before parsing it. Empty for negated filters.
   */
  lineHints: readonly string[];
}

/**
 * Characters that every JSON writer leaves as they are inside a string (JSON.stringify,
 * System.Text.Json, Newtonsoft): letters, digits, space and `_ . : -`. Others (`/`, `+`, `<`,
 * `&`, non-ASCII) may be escaped by some writer, so a hint never contains them.
 */
const PLAIN_RUN = /[A-Za-z0-9 _.:-]+/g;

/**
 * The runs of plain characters in the literal parts of a glob (between `*` and `?`), longest
 * first. A matching value contains each run, and a string value appears in the record's JSON
 * line with those characters unescaped (a number or boolean as its digits or word), so a line
 * without one of them cannot hold a match.
 */
export function lineHintsOf(glob: string): string[] {
  const runs = new Set<string>();
  for (const literal of glob.split(/[*?]/)) for (const run of literal.match(PLAIN_RUN) ?? []) runs.add(run);
  return [...runs].sort((a, b) => b.length - a.length);
}

/** A glob (`*` any run, `?` one character) as an anchored, case-sensitive regular expression. */
export function globToRegExp(glob: string): RegExp {
  let pattern = '';
  for (const ch of glob) {
    if (ch === '*') pattern += '.*';
    else if (ch === '?') pattern += '.';
    else pattern += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`, 's');
}

/** Resolves a field name, accepting a bare property name as shorthand for `properties.<name>`. */
export function resolveField(name: string): string {
  if (KNOWN.has(name) || CLAIM.test(name)) return name;
  if (PROPERTY_NAMES.has(name)) return `properties.${name}`;
  const suggestion = KNOWN_FIELDS.find((f) => f.toLowerCase() === name.toLowerCase() || f.toLowerCase() === `properties.${name.toLowerCase()}`);
  throw new InsightLogsError(
    'CONFIG_INVALID',
    `--filter: unknown field "${name}"${suggestion ? ` (did you mean ${suggestion}?)` : ''}; known fields: ${TOP_LEVEL.join(', ')}, properties.<name> (e.g. properties.method, properties.workflowJobId), identity.Claims.<claim>`,
  );
}

/** The values at a dotted path: arrays give each element, objects and missing give nothing. */
export function valuesAt(record: unknown, path: string): string[] {
  let current: unknown = record;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return [];
    current = (current as Record<string, unknown>)[part];
  }
  const items = Array.isArray(current) ? current : [current];
  return items.filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean').map(String);
}

/** Parses `field=glob` or `field!=glob`. */
export function parseFilter(text: string): FieldFilter {
  const m = /^([^=!]+)(!?=)(.*)$/s.exec(text);
  if (!m || m[1]!.trim() === '') {
    throw new InsightLogsError('CONFIG_INVALID', `--filter: "${text}" is not field=glob (e.g. properties.method=DELETE, operationName=Segmentation.*)`);
  }
  const field = resolveField(m[1]!.trim());
  const negate = m[2] === '!=';
  const glob = m[3]!;
  const regex = globToRegExp(glob);
  // A negated filter matches records without the value: no text is required of their lines.
  const lineHints = negate ? [] : lineHintsOf(glob);
  return {
    field,
    glob,
    negate,
    source: text,
    lineHints,
    // A negated filter also matches records without the field: "method is not DELETE".
    matches: (record) => valuesAt(record, field).some((v) => regex.test(v)) !== negate,
  };
}

export function parseFilters(texts: readonly string[]): FieldFilter[] {
  return texts.map(parseFilter);
}

/** True when the record passes every filter (AND); no filters pass everything. */
export function matchesAll(filters: readonly FieldFilter[], record: unknown): boolean {
  return filters.every((f) => f.matches(record));
}
