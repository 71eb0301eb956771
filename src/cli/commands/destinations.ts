/**
 * `insight-logs destinations add|list|remove|apply`: manage where the forwarder sends records.
 * Definitions live in the compacted destinations topic; running forwarders pick changes up
 * without a restart. Everything is validated before anything is written.
 */
import { Option, type Command } from 'commander';
import { destinationToJson, loadDestinationsFile, parseDestination, sameDestination, type DestinationConfig } from '../../config/destinations.js';
import { DestinationStore } from '../../destinations/store.js';
import { InsightLogsError, hasCode } from '../../errors.js';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { groupIdFor } from '../../forwarder/pipeline.js';
import { describeGroupState, groupLag, offsetsOfExisting } from '../../ops/offsets.js';
import { ago, scrapeForwarderMetrics, type DestinationMetrics } from '../../ops/metrics-scrape.js';
import { createSink, defaultSinkRegistry, type SinkRegistry } from '../../sinks/registry.js';
import { EXIT, outputOption, parseDuration } from '../common.js';
import { asKafkaUnavailable, cliKafka, cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

/** The flags of `add` itself; a type's own flags must not reuse them. */
const ADD_FLAGS = ['--type', '--categories', '--set', '--replace'];

/** One `add` option for a type setting, and the setting it fills. */
export interface TypeFlag {
  option: Option;
  key: string;
}

/**
 * The `add` flags every registered type declares (`SinkType.addFlags`), one option per flag;
 * its help names the types that take it, e.g. `blob, eventhubs: name of the environment …`.
 */
export function typeFlags(registry: SinkRegistry): TypeFlag[] {
  const byFlag = new Map<string, { key: string; helps: Map<string, string[]> }>();
  for (const type of registry.all()) {
    for (const { flag, key, help } of type.addFlags ?? []) {
      const long = flag.split(/[ ,]/)[0]!;
      if (ADD_FLAGS.includes(long)) throw new Error(`sink type ${type.type}: flag ${long} is one of destinations add's own`);
      let entry = byFlag.get(flag);
      if (!entry) byFlag.set(flag, (entry = { key, helps: new Map() }));
      if (entry.key !== key) throw new Error(`sink type ${type.type}: flag ${flag} sets ${key}, another type uses it for ${entry.key}`);
      entry.helps.set(help, [...(entry.helps.get(help) ?? []), type.type]);
    }
  }
  return [...byFlag].map(([flag, { key, helps }]) => ({
    option: new Option(flag, [...helps].map(([help, types]) => `${types.join(', ')}: ${help}`).join('; ')),
    key,
  }));
}

/** `destinations add --help`: each type with its description. */
function typesHelp(registry: SinkRegistry): string {
  const width = Math.max(...registry.names().map((n) => n.length));
  return registry.all().map((t) => `  ${t.type.padEnd(width)}  ${t.description}`).join('\n');
}

/** Runs `run` with a destinations store on the configured Kafka; a broker that does not answer is KAFKA_UNAVAILABLE. */
export async function withStore<T>(registry: SinkRegistry, run: (store: DestinationStore) => Promise<T>): Promise<T> {
  const settings = cliKafkaSettings();
  const logger = cliLogger();
  const store = new DestinationStore({ kafka: cliKafka(settings, logger), logger, topic: topicNamesFromEnv().destinations, registry });
  try {
    return await withDeadline(run(store), 60_000, settings, 'reading or writing the destinations topic');
  } catch (err) {
    throw asKafkaUnavailable(err, settings);
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** `key=value` → sets `key` (dots make nested objects: `topics.audit=mirror-audit`). */
export function applySetFlag(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new InsightLogsError('CONFIG_INVALID', `--set: "${assignment}" is not key=value`);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  // JSON lists and objects are taken as such; everything else stays a string (types validate).
  let value: unknown = raw;
  if (/^[[{]/.test(raw.trim())) {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new InsightLogsError('CONFIG_INVALID', `--set ${path.join('.')}: value starts like JSON but is not valid JSON`);
    }
  }
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) throw new InsightLogsError('CONFIG_INVALID', `--set: "${key}" is not a setting name`);
    const next = node[key];
    node = (node[key] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(last)) throw new InsightLogsError('CONFIG_INVALID', `--set: "${last}" is not a setting name`);
  node[last] = value;
}

function settingsText(config: DestinationConfig): string {
  return Object.entries(config.settings).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}

/** State, lag and last delivery of one destination, as shown by `destinations list`. */
interface DestinationState { state: string; lag: string; lastDelivery: string }

function printTable(list: DestinationConfig[], states: Map<string, DestinationState>): void {
  if (list.length === 0) {
    process.stdout.write('no destinations configured (add one with: insight-logs destinations add <name> --type …)\n');
    return;
  }
  const unknown: DestinationState = { state: 'unknown', lag: 'unknown', lastDelivery: 'unknown' };
  const rows = [['NAME', 'TYPE', 'CATEGORIES', 'STATE', 'LAG', 'LAST DELIVERY', 'SETTINGS'], ...list.map((d) => {
    const s = states.get(d.name) ?? unknown;
    return [d.name, d.type, d.categories.join(','), s.state, s.lag, s.lastDelivery, settingsText(d)];
  })];
  const widths = [0, 1, 2, 3, 4, 5].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.slice(0, 6).map((c, i) => c.padEnd(widths[i]!)).join('  ')}  ${r[6]}\n`.replace(/\s+\n$/, '\n'));
}

/**
 * Each destination's consumer group state and lag (admin requests only) and, from a running
 * forwarder's /metrics when given, when it last delivered. Problems become "unknown", never errors.
 */
async function destinationStates(list: DestinationConfig[], metricsUrl: string | undefined): Promise<Map<string, DestinationState>> {
  const out = new Map<string, DestinationState>();
  if (list.length === 0) return out;
  const settings = cliKafkaSettings();
  const names = topicNamesFromEnv();
  let metrics: Map<string, DestinationMetrics> | undefined;
  let metricsProblem = 'unknown';
  if (metricsUrl) {
    try {
      metrics = await scrapeForwarderMetrics(metricsUrl);
    } catch (err) {
      metricsProblem = 'no metrics';
      process.stderr.write(`warning: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  const admin = cliKafka(settings, cliLogger()).admin();
  try {
    await withDeadline(admin.connect(), 15_000, settings, 'connecting');
    const { found } = await offsetsOfExisting(admin, [names.audit, names.operational]);
    for (const d of list) {
      const topics = d.categories.map((c) => (c === 'audit' ? names.audit : names.operational));
      const lag = await groupLag(admin, groupIdFor(d.name), found, topics);
      const m = metrics?.get(d.name);
      out.set(d.name, {
        state: describeGroupState(lag),
        lag: String(lag.totalLag),
        lastDelivery: m?.lastSuccessMs ? `${new Date(m.lastSuccessMs).toISOString()} (${ago(m.lastSuccessMs)})` : metrics ? 'none yet' : metricsProblem,
      });
    }
  } catch (err) {
    process.stderr.write(`warning: state and lag unknown (${err instanceof Error ? err.message : String(err)})\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return out;
}

export interface AddFlags {
  type: string;
  categories?: string;
  set: string[];
  replace?: boolean;
  [flag: string]: unknown;
}

/** The destination `add` describes, validated: type flags become their settings, then `--set` applies. */
export function destinationFromAddFlags(registry: SinkRegistry, name: string, flags: AddFlags, settingFlags: readonly TypeFlag[] = typeFlags(registry)): DestinationConfig {
  const raw: Record<string, unknown> = { name, type: flags.type };
  if (flags.categories !== undefined) raw.categories = flags.categories;
  for (const { option, key } of settingFlags) {
    const value = flags[option.attributeName()];
    if (typeof value === 'string') raw[key] = value;
  }
  for (const assignment of flags.set) applySetFlag(raw, assignment);
  return parseDestination(raw, 'destination', registry);
}

async function add(registry: SinkRegistry, settingFlags: readonly TypeFlag[], name: string, flags: AddFlags): Promise<void> {
  // Validate before connecting anywhere.
  const config = destinationFromAddFlags(registry, name, flags, settingFlags);
  await withStore(registry, async (store) => {
    const existing = (await store.list()).find((d) => d.name === name);
    if (existing && !flags.replace) {
      throw new InsightLogsError('CONFIG_INVALID', `destination "${name}" already exists (${existing.type}); pass --replace to change it or remove it first`);
    }
    await store.apply([config]);
  });
  process.stdout.write(`destination "${name}" (${config.type}, ${config.categories.join(', ')}) ${flags.replace ? 'saved' : 'added'}; running forwarders start it without a restart\n`);
}

async function list(registry: SinkRegistry, flags: { output: 'table' | 'json'; metricsUrl?: string }): Promise<void> {
  if (flags.metricsUrl !== undefined && !/^https?:\/\//.test(flags.metricsUrl)) throw new InsightLogsError('CONFIG_INVALID', `--metrics-url: "${flags.metricsUrl}" is not an http(s) URL such as http://127.0.0.1:9464/metrics`);
  const destinations = await withStore(registry, (store) => store.list());
  if (flags.output === 'json') process.stdout.write(JSON.stringify(destinations.map(destinationToJson), null, 2) + '\n');
  else printTable(destinations, await destinationStates(destinations, flags.metricsUrl));
}

/** Creates the destination's sink as a forwarder would and runs its healthcheck. */
async function testDestination(registry: SinkRegistry, name: string, flags: { timeout: string }): Promise<void> {
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  const config = await withStore(registry, async (store) => {
    const all = await store.list();
    const found = all.find((d) => d.name === name);
    if (!found) throw new InsightLogsError('DESTINATION_UNKNOWN', `no destination named "${name}"${all.length ? ` (known: ${all.map((d) => d.name).join(', ')})` : ' (none configured)'}`);
    return found;
  });
  const fail = (problem: string): void => {
    process.stdout.write(`destination "${name}" (${config.type}): NOT OK: ${problem}\n`);
    process.exitCode = EXIT.FAILURE;
  };
  let sink;
  try {
    sink = createSink(registry, config, { logger: cliLogger(), env: process.env });
  } catch (err) {
    fail(`cannot be created: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  try {
    const abort = AbortSignal.timeout(timeoutMs);
    const health = await Promise.race([
      sink.healthcheck({ abortSignal: abort }),
      new Promise<{ ok: false; problem: string }>((resolve) => abort.addEventListener('abort', () => resolve({ ok: false, problem: `no answer within ${flags.timeout}` }), { once: true })),
    ]).catch((err: unknown) => ({ ok: false as const, problem: err instanceof Error ? err.message : String(err) }));
    if (health.ok) process.stdout.write(`destination "${name}" (${config.type}): OK${health.detail ? `: ${health.detail}` : ''}\n`);
    else fail(health.problem);
  } finally {
    await sink.close().catch(() => undefined);
  }
}

async function remove(registry: SinkRegistry, name: string): Promise<void> {
  try {
    await withStore(registry, (store) => store.remove(name));
  } catch (err) {
    if (hasCode(err, 'DESTINATION_UNKNOWN')) {
      process.stderr.write(`insight-logs: ${err.message}\n`);
      process.exitCode = EXIT.USAGE;
      return;
    }
    throw err;
  }
  process.stdout.write(`destination "${name}" removed; forwarders stop sending to it (its data and remote resources are left as they are)\n`);
}

async function apply(registry: SinkRegistry, flags: { file: string; prune?: boolean }): Promise<void> {
  // Every definition is validated first: nothing is written if any is wrong.
  const wanted = await loadDestinationsFile(flags.file, registry);
  const summary = await withStore(registry, async (store) => {
    const current = new Map((await store.list()).map((d) => [d.name, d]));
    const changed = wanted.filter((d) => !current.has(d.name) || !sameDestination(current.get(d.name)!, d));
    await store.apply(changed);
    const stale = flags.prune ? [...current.keys()].filter((n) => !wanted.some((d) => d.name === n)) : [];
    for (const name of stale) await store.remove(name);
    return {
      added: changed.filter((d) => !current.has(d.name)).map((d) => d.name),
      updated: changed.filter((d) => current.has(d.name)).map((d) => d.name),
      unchanged: wanted.length - changed.length,
      removed: stale,
    };
  });
  const names = (l: string[]) => (l.length ? ` (${l.join(', ')})` : '');
  process.stdout.write(`${summary.added.length} added${names(summary.added)}, ${summary.updated.length} updated${names(summary.updated)}, ${summary.unchanged} unchanged${flags.prune ? `, ${summary.removed.length} removed${names(summary.removed)}` : ''}\n`);
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Registers `destinations …`; `registry` decides the types `add` offers and accepts. */
export function register(program: Command, registry: SinkRegistry = defaultSinkRegistry()): void {
  const settingFlags = typeFlags(registry);
  const destinations = program.command('destinations').description('add, list, test, remove or declare the destinations records are forwarded to')
    .addHelpText('after', `
Examples:
  $ insight-logs destinations add local --type dir --path ./insight-logs-out
  $ insight-logs destinations list
  $ insight-logs destinations test local`);
  const addCommand = destinations
    .command('add <name>')
    .description('add a destination (running forwarders start it without a restart)')
    .requiredOption('--type <type>', registry.names().join(' | '))
    .option('--categories <list>', 'audit, operational or both (default both)');
  for (const { option } of settingFlags) addCommand.addOption(option);
  addCommand
    .option('--set <key=value>', 'any other setting of the type (repeatable; dots nest: topics.audit=mirror-audit)', collect, [])
    .option('--replace', 'replace an existing destination of that name')
    .addHelpText('after', `
Destination types (settings: docs/sinks/<type>.md):
${typesHelp(registry)}

Examples:
  $ insight-logs destinations add archive --type blob --connection-string-env AZURE_STORAGE_CONNECTION_STRING
  $ insight-logs destinations add local --type dir --path ./insight-logs-out --categories audit
  $ insight-logs destinations add mirror --type kafka --brokers 127.0.0.1:9092 --set topics.audit=mirror-audit`)
    .action((name: string, flags: AddFlags) => add(registry, settingFlags, name, flags));
  destinations
    .command('list')
    .description('list destinations (settings hold variable names, never secrets)')
    .addOption(outputOption(['table', 'json'], 'table or json (json: the definitions only)'))
    .option('--metrics-url <url>', 'a running forwarder\'s /metrics, for the last delivery time (e.g. http://127.0.0.1:9464/metrics)')
    .addHelpText('after', `
The table shows each destination's consumer group (insight-logs-forwarder.<name>) state, its
lag (records not yet delivered) and, with --metrics-url, when it last delivered.

Examples:
  $ insight-logs destinations list
  $ insight-logs destinations list --metrics-url http://127.0.0.1:9464/metrics
  $ insight-logs destinations list --output json`)
    .action((flags: { output: 'table' | 'json'; metricsUrl?: string }) => list(registry, flags));
  destinations
    .command('test <name>')
    .description('create the destination\'s sink and run its healthcheck; says what is wrong; exit 0 when usable, 1 when not')
    .option('--timeout <duration>', 'how long to wait for the destination to answer', '15s')
    .addHelpText('after', `
Uses the same settings and environment variables a forwarder on this machine would.

Examples:
  $ insight-logs destinations test archive
  $ AZURE_STORAGE_CONNECTION_STRING=… insight-logs destinations test archive --timeout 5s`)
    .action((name: string, flags: { timeout: string }) => testDestination(registry, name, flags));
  destinations
    .command('remove <name>')
    .description('stop forwarding to a destination (its data and remote resources are not deleted)')
    .addHelpText('after', `
Examples:
  $ insight-logs destinations remove archive`)
    .action((name: string) => remove(registry, name));
  destinations
    .command('apply')
    .description('add or update every destination of a YAML or JSON file; nothing is written if any entry is invalid')
    .requiredOption('-f, --file <file>', 'destinations file (see docs/destinations.md)')
    .option('--prune', 'also remove destinations the file does not list')
    .addHelpText('after', `
Examples:
  $ insight-logs destinations apply -f destinations.yaml
  $ insight-logs destinations apply -f destinations.json --prune`)
    .action((flags: { file: string; prune?: boolean }) => apply(registry, flags));
}
