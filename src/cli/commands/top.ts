/**
 * `insight-logs top`: is everything flowing right now? A full-screen view refreshed every
 * `--interval`, one row per destination (ops/top.ts draws it), from the forwarders' /metrics
 * and /healthz and from Kafka offsets read with admin requests (never a consumer group of its
 * own). Drawn with plain ANSI sequences: an alternate screen, the cursor home, each line cleared
 * to its end; no terminal UI library (see docs/operations.md, "top").
 */
import type { Command } from 'commander';
import type { Admin } from 'kafkajs';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { InsightLogsError } from '../../errors.js';
import { GROUP_PREFIX } from '../../forwarder/pipeline.js';
import { metricsUrlOfMember } from '../../metrics/advertise.js';
import { fetchMetricsText, parseForwarderMetrics } from '../../ops/metrics-scrape.js';
import { groupLag, groupsWithPrefix, offsetsOfExisting, describeGroupState, type TopicOffsets } from '../../ops/offsets.js';
import { SORT_KEYS, TopModel, renderTop, topJson, type SortKey, type TopSample } from '../../ops/top.js';
import { useColor } from '../../tail/format.js';
import { settlesWithin, sleep } from '../../util/time.js';
import { outputOption, parseDuration } from '../common.js';
import { asKafkaUnavailable, cliKafka, cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

interface TopFlags {
  metrics: string[];
  interval: string;
  once: boolean;
  output: 'table' | 'json';
  sort: string;
  color: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** /healthz beside a /metrics URL. */
const healthUrlOf = (metricsUrl: string): string => metricsUrl.replace(/\/metrics(\?.*)?$/, '/healthz');

/**
 * Last error per destination from a forwarder's /healthz body: `detail.<destination>.lastError`,
 * or with `--workers` `detail.worker-N.detail.<destination>.lastError` (pure).
 */
export function lastErrorsOfHealth(body: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (detail: unknown): void => {
    if (!detail || typeof detail !== 'object') return;
    for (const [name, entry] of Object.entries(detail as Record<string, unknown>)) {
      if (!entry || typeof entry !== 'object') continue;
      const e = entry as { lastError?: unknown; problem?: unknown; detail?: unknown };
      if (/^worker-\d+$/.test(name) && e.detail) visit(e.detail);
      else if (typeof e.lastError === 'string') out.set(name, e.lastError);
      else if (typeof e.problem === 'string') out.set(name, e.problem);
    }
  };
  visit((body as { detail?: unknown } | undefined)?.detail);
  return out;
}

async function lastErrorsOf(metricsUrl: string): Promise<Map<string, string>> {
  try {
    const res = await fetch(healthUrlOf(metricsUrl), { signal: AbortSignal.timeout(3000) });
    return lastErrorsOfHealth(await res.json());
  } catch {
    return new Map();
  }
}

/** The /metrics URLs the destinations' group members advertise (metrics/advertise.ts). */
async function discoverMetricsUrls(admin: Admin, groupIds: string[]): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const { groups } = await admin.describeGroups(groupIds);
  const urls = new Set<string>();
  for (const g of groups) for (const m of g.members) {
    const url = metricsUrlOfMember(m);
    if (url) urls.add(url);
  }
  return [...urls].sort();
}

/** Kafka's side of a sample: end offsets and every destination group's state and lag (admin requests only). */
async function kafkaSide(admin: Admin, names: ReturnType<typeof topicNamesFromEnv>): Promise<Pick<TopSample, 'topicEnds' | 'groups'> & { groupIds: string[] }> {
  const [{ found }, groupIds] = await Promise.all([offsetsOfExisting(admin, [names.audit, names.operational]), groupsWithPrefix(admin, GROUP_PREFIX)]);
  const sources = new Map<string, TopicOffsets>(found);
  const groups: TopSample['groups'] extends ReadonlyMap<string, infer V> ? Map<string, V> : never = new Map();
  // One group after the other, as status does: kafkajs' admin hung now and then (tens of
  // seconds) with these requests sent all at once.
  for (const id of groupIds) {
    const lag = await groupLag(admin, id, sources);
    const lagByTopic = new Map<string, bigint>();
    for (const p of lag.partitions) lagByTopic.set(p.topic, (lagByTopic.get(p.topic) ?? 0n) + p.lag);
    groups.set(id.slice(GROUP_PREFIX.length), { state: lag.state, description: describeGroupState(lag), members: lag.members, lagByTopic });
  }
  return { topicEnds: new Map([...found].map(([t, o]) => [t, o.endTotal])), groups, groupIds };
}

/** The forwarders' side: /metrics and /healthz of each URL, read at the same time. */
async function forwarderSide(urls: string[]): Promise<Pick<TopSample, 'metrics' | 'lastErrors' | 'forwarders'>> {
  const ok: string[] = [];
  const failed: string[] = [];
  const texts: string[] = [];
  const lastErrors = new Map<string, string>();
  await Promise.all(urls.map(async (url) => {
    try {
      const [text, errors] = await Promise.all([fetchMetricsText(url, '--metrics'), lastErrorsOf(url)]);
      texts.push(text);
      ok.push(url);
      for (const [d, e] of errors) lastErrors.set(d, e);
    } catch {
      failed.push(url);
    }
  }));
  return { metrics: parseForwarderMetrics(...texts), lastErrors, forwarders: { ok: ok.sort(), failed: failed.sort() } };
}

/**
 * One refresh. With --metrics the two sides are read at the same time; without, the URLs
 * come from the group members Kafka lists (metrics/advertise.ts), so Kafka is read first.
 */
async function takeSample(admin: Admin, given: string[], names: ReturnType<typeof topicNamesFromEnv>): Promise<TopSample> {
  let kafka: Awaited<ReturnType<typeof kafkaSide>>;
  let forwarders: Awaited<ReturnType<typeof forwarderSide>>;
  if (given.length) [kafka, forwarders] = await Promise.all([kafkaSide(admin, names), forwarderSide(given)]);
  else {
    kafka = await kafkaSide(admin, names);
    forwarders = await forwarderSide(await discoverMetricsUrls(admin, kafka.groupIds));
  }
  return { atMs: Date.now(), topicEnds: kafka.topicEnds, groups: kafka.groups, ...forwarders };
}

const ALT_SCREEN_ON = '\x1b[?1049h\x1b[?25l';
const ALT_SCREEN_OFF = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

async function top(flags: TopFlags): Promise<void> {
  const intervalMs = parseDuration(flags.interval, '--interval');
  if (intervalMs < 200) throw new InsightLogsError('CONFIG_INVALID', `--interval: "${flags.interval}" is too short (at least 200ms)`);
  for (const url of flags.metrics) {
    if (!/^https?:\/\/[^/]+/.test(url)) throw new InsightLogsError('CONFIG_INVALID', `--metrics: "${url}" is not an http(s) URL such as http://127.0.0.1:9464/metrics`);
  }
  if (!(SORT_KEYS as readonly string[]).includes(flags.sort)) throw new InsightLogsError('CONFIG_INVALID', `--sort: "${flags.sort}" is not one of ${SORT_KEYS.join(', ')}`);
  const names = topicNamesFromEnv();
  const categoryOfTopic = (topic: string): string => (topic === names.audit ? 'audit' : topic === names.operational ? 'operational' : topic);
  const model = new TopModel({ intervalMs, categoryOfTopic });
  const settings = cliKafkaSettings();
  const admin = cliKafka(settings, cliLogger()).admin();
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const out = process.stdout;
  const screen = out.isTTY && !flags.once && flags.output === 'table';
  const color = useColor(Boolean(out.isTTY), process.env, flags.color);
  const ui: { sort: SortKey; descending: boolean; paused: boolean; problem?: string | undefined } = { sort: flags.sort as SortKey, descending: false, paused: false };
  const stdin = process.stdin;
  let raw = false;
  const draw = (): void => {
    const view = model.view();
    if (!view) return;
    if (flags.output === 'json') {
      out.write(JSON.stringify(topJson(view)) + '\n');
      return;
    }
    const lines = renderTop(view, { width: out.columns || 160, height: out.rows || 50, color, ...ui, now: Date.now() });
    if (screen) out.write(HOME + lines.map((l) => l + CLEAR_LINE_END).join('\n') + CLEAR_BELOW);
    else out.write(lines.join('\n') + '\n\n');
  };
  let wake: (() => void) | undefined;
  const onKey = (data: Buffer): void => {
    const key = data.toString('utf8');
    if (key === 'q' || key === '\x03' || key === '\x1b') stop.abort();
    else if (key === 'p' || key === ' ') ui.paused = !ui.paused;
    else if (key === 's') ui.sort = SORT_KEYS[(SORT_KEYS.indexOf(ui.sort) + 1) % SORT_KEYS.length]!;
    else if (key === 'r') ui.descending = !ui.descending;
    else return;
    draw();
    if (!ui.paused) wake?.();
  };
  // A resize redraws at the new size at once (no waiting for the next refresh, no stale lines).
  const onResize = (): void => draw();

  try {
    await withDeadline(admin.connect(), 15_000, settings, 'connecting');
    if (screen) {
      out.write(ALT_SCREEN_ON);
      out.on('resize', onResize);
      if (stdin.isTTY) {
        stdin.setRawMode(true);
        raw = true;
        stdin.on('data', onKey);
        stdin.resume();
      }
    }
    // A refresh gets a few intervals; Ctrl-C never waits for one.
    const sampleDeadlineMs = Math.max(10_000, 5 * intervalMs);
    const aborted = new Promise<undefined>((resolve) => stop.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
    const sample = (): Promise<TopSample | undefined> => Promise.race([withDeadline(takeSample(admin, flags.metrics, names), sampleDeadlineMs, settings, 'reading offsets and metrics'), aborted]);
    const firstSample = await sample();
    if (!firstSample) return;
    model.add(firstSample);
    // --once needs two samples for rates: it prints after the second, an interval later.
    if (!flags.once) draw();
    // Refreshes start every interval (the time a sample takes is not added to it).
    let started = Date.now();
    while (!stop.signal.aborted) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        void sleep(Math.max(0, started + intervalMs - Date.now()), stop.signal).then(resolve, resolve);
      });
      started = Date.now();
      wake = undefined;
      if (stop.signal.aborted) break;
      if (ui.paused) continue;
      let next: TopSample | undefined;
      try {
        next = await sample();
      } catch (err) {
        // One slow or failed refresh: say so and keep the last figures, unless printing once.
        if (flags.once || !screen) throw err;
        ui.problem = err instanceof Error ? err.message : String(err);
        draw();
        continue;
      }
      if (!next) break;
      ui.problem = undefined;
      model.add(next);
      draw();
      if (flags.once) break;
    }
  } catch (err) {
    throw asKafkaUnavailable(err, settings);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (screen) {
      out.off('resize', onResize);
      if (raw) {
        stdin.off('data', onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
      out.write(ALT_SCREEN_OFF);
    }
    await settlesWithin(admin.disconnect().catch(() => undefined), 2000);
    // A kafkajs request left hanging must not keep the process alive after the screen is restored.
    setTimeout(() => process.exit(), 2000).unref();
  }
}

export function register(program: Command): void {
  program
    .command('top')
    .description('live view of every destination: rates in and out, lag per category and its trend, retries, dead-lettered, last success and error')
    .option('--metrics <url>', 'a forwarder\'s /metrics (repeatable; default: the ones the destinations\' consumer group members advertise)', collect, [])
    .option('--interval <duration>', 'refresh interval', '2s')
    .option('--once', 'take two samples an interval apart, print once and exit', false)
    .addOption(outputOption(['table', 'json'], 'table or json (one object per refresh; with --once, one)'))
    .option('--sort <key>', `first sort key: ${SORT_KEYS.join(', ')}`, 'destination')
    .option('--no-color', 'no colours (also: NO_COLOR=1); colours are used only on a terminal')
    .addHelpText('after', `
Keys: q (or Ctrl-C) quit, p pause, s sort by the next column, r reverse the order.
Red rows: a crashed or broken pipeline, a destination whose latest send failed, one with lag
that delivered nothing for a minute, or records waiting with no forwarder running. Yellow:
retrying, dead-lettered records in the last minute, lag growing.

Reads offsets with admin requests only (like status): it never joins a consumer group.
Without --metrics it asks Kafka which forwarders are members of the destinations' groups and
reads the /metrics port each advertises in its client id (reachable when forward runs with
--metrics-host set to an address this machine can reach).

Examples:
  $ insight-logs top
  $ insight-logs top --metrics http://10.0.0.5:9464/metrics --metrics http://10.0.0.6:9464/metrics
  $ insight-logs top --once --output json | jq '.destinations[] | {destination, state, lagTotal}'`)
    .action(top);
}
