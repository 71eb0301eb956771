/**
 * `insight-logs destinations add|list|remove|apply`: manage where the forwarder sends records.
 * Definitions live in the compacted destinations topic; running forwarders pick changes up
 * without a restart. Everything is validated before anything is written.
 */
import type { Command } from 'commander';
import { destinationToJson, loadDestinationsFile, parseDestination, sameDestination, type DestinationConfig } from '../../config/destinations.js';
import { DestinationStore } from '../../destinations/store.js';
import { InsightLogsError, hasCode } from '../../errors.js';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { groupIdFor } from '../../forwarder/pipeline.js';
import { describeGroupState, groupLag, offsetsOfExisting } from '../../ops/offsets.js';
import { ago, scrapeForwarderMetrics, type DestinationMetrics } from '../../ops/metrics-scrape.js';
import { defaultSinkRegistry } from '../../sinks/registry.js';
import { EXIT, outputOption, parseDuration } from '../common.js';
import { asKafkaUnavailable, cliKafka, cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

/** Flags that map one-to-one onto a destination setting (the rest goes through --set). */
const SETTING_FLAGS: Record<string, string> = {
  path: 'path',
  connectionStringEnv: 'connectionStringEnv',
  accountUrl: 'accountUrl',
  brokers: 'brokers',
  fullyQualifiedNamespace: 'fullyQualifiedNamespace',
};

async function withStore<T>(run: (store: DestinationStore) => Promise<T>): Promise<T> {
  const settings = cliKafkaSettings();
  const logger = cliLogger();
  const store = new DestinationStore({ kafka: cliKafka(settings, logger), logger, topic: topicNamesFromEnv().destinations });
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

interface AddFlags {
  type: string;
  categories?: string;
  set: string[];
  replace?: boolean;
  [flag: string]: unknown;
}

async function add(name: string, flags: AddFlags): Promise<void> {
  const raw: Record<string, unknown> = { name, type: flags.type };
  if (flags.categories !== undefined) raw.categories = flags.categories;
  for (const [flag, key] of Object.entries(SETTING_FLAGS)) if (typeof flags[flag] === 'string') raw[key] = flags[flag];
  for (const assignment of flags.set) applySetFlag(raw, assignment);
  // Validate before connecting anywhere.
  const config = parseDestination(raw, 'destination');
  await withStore(async (store) => {
    const existing = (await store.list()).find((d) => d.name === name);
    if (existing && !flags.replace) {
      throw new InsightLogsError('CONFIG_INVALID', `destination "${name}" already exists (${existing.type}); pass --replace to change it or remove it first`);
    }
    await store.apply([config]);
  });
  process.stdout.write(`destination "${name}" (${config.type}, ${config.categories.join(', ')}) ${flags.replace ? 'saved' : 'added'}; running forwarders start it without a restart\n`);
}

async function list(flags: { output: 'table' | 'json'; metricsUrl?: string }): Promise<void> {
  if (flags.metricsUrl !== undefined && !/^https?:\/\//.test(flags.metricsUrl)) throw new InsightLogsError('CONFIG_INVALID', `--metrics-url: "${flags.metricsUrl}" is not an http(s) URL such as http://127.0.0.1:9464/metrics`);
  const destinations = await withStore((store) => store.list());
  if (flags.output === 'json') process.stdout.write(JSON.stringify(destinations.map(destinationToJson), null, 2) + '\n');
  else printTable(destinations, await destinationStates(destinations, flags.metricsUrl));
}

/** Creates the destination's sink as a forwarder would and runs its healthcheck. */
async function testDestination(name: string, flags: { timeout: string }): Promise<void> {
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  const config = await withStore(async (store) => {
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
    const type = defaultSinkRegistry().get(config.type);
    const settings: unknown = type.parseSettings({ ...config.settings }, `destination "${name}"`);
    sink = type.create(settings, { name, categories: config.categories, logger: cliLogger(), env: process.env });
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

async function remove(name: string): Promise<void> {
  try {
    await withStore((store) => store.remove(name));
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

async function apply(flags: { file: string; prune?: boolean }): Promise<void> {
  // Every definition is validated first: nothing is written if any is wrong.
  const wanted = await loadDestinationsFile(flags.file);
  const summary = await withStore(async (store) => {
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

export function register(program: Command): void {
  const destinations = program.command('destinations').description('add, list, test, remove or declare the destinations records are forwarded to')
    .addHelpText('after', `
Examples:
  $ insight-logs destinations add local --type dir --path ./insight-logs-out
  $ insight-logs destinations list
  $ insight-logs destinations test local`);
  destinations
    .command('add <name>')
    .description('add a destination (running forwarders start it without a restart)')
    .requiredOption('--type <type>', 'blob | eventhubs | kafka | loganalytics | dir')
    .option('--categories <list>', 'audit, operational or both (default both)')
    .option('--path <dir>', 'dir: the folder to write to')
    .option('--connection-string-env <VAR>', 'name of the environment variable holding the connection string (never the secret itself)')
    .option('--account-url <url>', 'blob: account URL for Azure AD sign-in instead of a connection string')
    .option('--fully-qualified-namespace <host>', 'eventhubs: namespace host for Azure AD sign-in')
    .option('--brokers <list>', 'kafka: target brokers host:port,…')
    .option('--set <key=value>', 'any other setting of the type (repeatable; dots nest: topics.audit=mirror-audit)', collect, [])
    .option('--replace', 'replace an existing destination of that name')
    .addHelpText('after', `
Examples:
  $ insight-logs destinations add archive --type blob --connection-string-env AZURE_STORAGE_CONNECTION_STRING
  $ insight-logs destinations add local --type dir --path ./insight-logs-out --categories audit
  $ insight-logs destinations add mirror --type kafka --brokers 127.0.0.1:9092 --set topics.audit=mirror-audit`)
    .action(add);
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
    .action(list);
  destinations
    .command('test <name>')
    .description('create the destination\'s sink and run its healthcheck; says what is wrong; exit 0 when usable, 1 when not')
    .option('--timeout <duration>', 'how long to wait for the destination to answer', '15s')
    .addHelpText('after', `
Uses the same settings and environment variables a forwarder on this machine would.

Examples:
  $ insight-logs destinations test archive
  $ AZURE_STORAGE_CONNECTION_STRING=… insight-logs destinations test archive --timeout 5s`)
    .action(testDestination);
  destinations
    .command('remove <name>')
    .description('stop forwarding to a destination (its data and remote resources are not deleted)')
    .addHelpText('after', `
Examples:
  $ insight-logs destinations remove archive`)
    .action(remove);
  destinations
    .command('apply')
    .description('add or update every destination of a YAML or JSON file; nothing is written if any entry is invalid')
    .requiredOption('-f, --file <file>', 'destinations file (see docs/destinations.md)')
    .option('--prune', 'also remove destinations the file does not list')
    .addHelpText('after', `
Examples:
  $ insight-logs destinations apply -f destinations.yaml
  $ insight-logs destinations apply -f destinations.json --prune`)
    .action(apply);
}
