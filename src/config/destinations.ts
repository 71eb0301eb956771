/**
 * Destination configuration: validated once (name, type, categories, then the type's own
 * settings through the sink registry), frozen afterwards. The same shape is used by
 * destinations files, the CLI and the destinations topic (as JSON).
 *
 *   { name: 'archive', type: 'blob', categories: ['audit'], connectionStringEnv: 'AZURE_STORAGE_CONNECTION_STRING' }
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { InsightLogsError } from '../errors.js';
import { CATEGORY_NAMES, type CategoryName } from '../events/routing.js';
import { defaultSinkRegistry, type SinkRegistry } from '../sinks/registry.js';
import { assertKnownKeys, configError, deepFreeze, isPlainObject, looksLikeSecret } from './settings.js';

export interface DestinationConfig {
  readonly name: string;
  readonly type: string;
  readonly categories: readonly CategoryName[];
  /** The type's own keys, as given (validated by the type's parseSettings); never secrets. What is stored and shown. */
  readonly settings: Readonly<Record<string, unknown>>;
  /**
   * `settings` as the type's parseSettings returned them: what its `create` takes
   * (`createSink` in src/sinks/registry.ts), so settings are parsed once.
   */
  readonly sinkSettings: unknown;
}

export const DESTINATION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function parseCategories(value: unknown, path: string): CategoryName[] {
  if (value === undefined) return [...CATEGORY_NAMES];
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;
  if (!Array.isArray(list) || list.length === 0) throw configError(path, 'must be a non-empty list of audit, operational');
  const out = new Set<CategoryName>();
  list.forEach((c, i) => {
    const name = typeof c === 'string' ? c.toLowerCase() : c;
    if (!CATEGORY_NAMES.includes(name as CategoryName)) throw configError(`${path}[${i}]`, 'must be audit or operational');
    out.add(name as CategoryName);
  });
  return CATEGORY_NAMES.filter((c) => out.has(c));
}

/** Refuses anything that looks like a credential anywhere in a destination's settings. */
function assertNoSecrets(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (looksLikeSecret(value)) throw configError(path, 'set an environment variable name, not the secret');
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoSecrets(v, `${path}[${i}]`));
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) assertNoSecrets(v, `${path}.${k}`);
  }
}

/** Validates one destination; `path` prefixes every error (`destinations[2]`). */
export function parseDestination(raw: unknown, path: string, registry: SinkRegistry = defaultSinkRegistry()): DestinationConfig {
  if (!isPlainObject(raw)) throw configError(path, 'must be an object with name and type');
  const { name, type, categories, ...rest } = raw;
  if (typeof name !== 'string' || !DESTINATION_NAME.test(name)) {
    throw configError(`${path}.name`, 'must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit');
  }
  if (typeof type !== 'string' || type === '') throw configError(`${path}.type`, `is required (one of ${registry.names().join(', ')})`);
  for (const [k, v] of Object.entries(rest)) assertNoSecrets(v, `${path}.${k}`);
  const sinkType = registry.get(type, `${path}.type`);
  const parsedCategories = parseCategories(categories, `${path}.categories`);
  // The type validates its own keys (and rejects unknown ones, naming the path).
  const sinkSettings: unknown = sinkType.parseSettings(rest, path);
  return deepFreeze({ name, type, categories: parsedCategories, settings: structuredClone(rest), sinkSettings });
}

/** The flat form used in files and on the destinations topic. */
export function destinationToJson(config: DestinationConfig): Record<string, unknown> {
  return { name: config.name, type: config.type, categories: [...config.categories], ...config.settings };
}

/** Validates every destination of a parsed file (`{ destinations: [...] }`); names must be unique. */
export function parseDestinations(doc: unknown, registry: SinkRegistry = defaultSinkRegistry()): DestinationConfig[] {
  if (!isPlainObject(doc)) throw configError('(file)', 'must be a mapping with a "destinations" list');
  assertKnownKeys(doc, ['destinations'], '(file)');
  const list = doc.destinations;
  if (!Array.isArray(list)) throw configError('destinations', 'must be a list');
  const seen = new Map<string, number>();
  const out = list.map((raw, i) => {
    const config = parseDestination(raw, `destinations[${i}]`, registry);
    const earlier = seen.get(config.name);
    if (earlier !== undefined) throw configError(`destinations[${i}].name`, `"${config.name}" is already used by destinations[${earlier}]`);
    seen.set(config.name, i);
    return config;
  });
  return deepFreeze(out);
}

/** Parses YAML or JSON text (JSON is YAML) of a destinations file. */
export function parseDestinationsText(text: string, source = 'destinations file', registry?: SinkRegistry): DestinationConfig[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` line ${err.linePos[0].line}` : '';
    throw new InsightLogsError('CONFIG_INVALID', `${source}${where}: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
  try {
    return parseDestinations(doc, registry);
  } catch (err) {
    if (err instanceof InsightLogsError) throw new InsightLogsError(err.code, `${source}: ${err.message}`, { cause: err });
    throw err;
  }
}

export async function loadDestinationsFile(file: string, registry?: SinkRegistry): Promise<DestinationConfig[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InsightLogsError('CONFIG_INVALID', `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  return parseDestinationsText(text, file, registry);
}

/** True when two configs would run the same pipeline (restart needed otherwise). */
export function sameDestination(a: DestinationConfig, b: DestinationConfig): boolean {
  return stableJson(destinationToJson(a)) === stableJson(destinationToJson(b));
}

/** JSON with object keys sorted, so equal configs compare equal whatever their key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v);
}
