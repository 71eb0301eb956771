/**
 * `insight-logs top`, the pure part: samples in (forwarders' /metrics figures, Kafka end offsets
 * and each destination group's lag read with admin requests), rows out (rates over the last
 * refresh, lag per category and its trend, dead-lettered in the last minute by code, a state
 * and its severity), and the screen drawn from them. The command (cli/commands/top.ts) does the
 * fetching, the keys and the terminal.
 */
import type { DestinationMetrics } from './metrics-scrape.js';
import { ago } from './metrics-scrape.js';

/** One refresh: what the forwarders and Kafka said at `atMs`. */
export interface TopSample {
  atMs: number;
  /** Per destination, merged over every forwarder that answered. */
  metrics: ReadonlyMap<string, DestinationMetrics>;
  /** Last error message per destination, from the forwarders' /healthz. */
  lastErrors: ReadonlyMap<string, string>;
  /** End offset total (messages written so far) per source topic. */
  topicEnds: ReadonlyMap<string, bigint>;
  /** Per destination group: Kafka state, members and lag per source topic. */
  groups: ReadonlyMap<string, { state: string; description: string; members: number; lagByTopic: ReadonlyMap<string, bigint> }>;
  /** The /metrics URLs read, and those that did not answer. */
  forwarders: { ok: string[]; failed: string[] };
}

export type Severity = 'ok' | 'warn' | 'error';

export interface TopRow {
  destination: string;
  /** running, idle, retrying, failing, stalled, crashed, no forwarder … */
  state: string;
  severity: Severity;
  /** Why the state is not ok, in words (empty when ok). */
  reason: string;
  inPerSec: number;
  outPerSec: number;
  bytesPerSec: number;
  /** Lag per category (`audit`, `operational`) of the topics the group reads. */
  lag: Record<string, number>;
  lagTotal: number;
  /** Lag change per second over the trend window (positive: growing). */
  lagTrendPerSec: number;
  retriesPerSec: number;
  deadLetteredTotal: number;
  deadLetteredLastMinute: number;
  deadLetteredLastMinuteByCode: Record<string, number>;
  lastSuccessMs: number | null;
  lastErrorMs: number | null;
  lastError: string | null;
}

export interface TopHeader {
  atMs: number;
  /** Messages per second published to each source topic, by category. */
  publishRates: { category: string; topic: string; perSec: number; total: string }[];
  forwarders: { ok: string[]; failed: string[] };
  intervalMs: number;
}

export interface TopView {
  header: TopHeader;
  rows: TopRow[];
}

/** Sort keys, in the order the `s` key cycles through them. */
export const SORT_KEYS = ['destination', 'state', 'in', 'out', 'lag', 'retries', 'deadlettered'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** A destination with lag whose last delivery is older than this (or never) is `stalled`. */
export const STALLED_AFTER_MS = 60_000;
const MINUTE_MS = 60_000;
/** Samples older than this are dropped (the longest window used is a minute). */
const HISTORY_MS = 2 * MINUTE_MS;

const num = (v: bigint | number | undefined): number => Number(v ?? 0);
const sum = (r: Record<string, number> | undefined): number => Object.values(r ?? {}).reduce((a, b) => a + b, 0);

/** Keeps recent samples and turns them into rows (pure apart from its own history). */
export class TopModel {
  private readonly history: TopSample[] = [];

  constructor(private readonly options: { intervalMs: number; categoryOfTopic: (topic: string) => string }) {}

  add(sample: TopSample): void {
    this.history.push(sample);
    while (this.history.length > 2 && sample.atMs - this.history[0]!.atMs > HISTORY_MS) this.history.shift();
  }

  get samples(): number {
    return this.history.length;
  }

  /** The newest sample at least `ms` older than the latest; else the oldest (undefined with one sample). */
  private before(ms: number): TopSample | undefined {
    const latest = this.history[this.history.length - 1]!;
    let candidate: TopSample | undefined;
    for (const s of this.history) {
      if (s === latest) break;
      if (latest.atMs - s.atMs >= ms) candidate = s;
    }
    return candidate ?? (this.history.length > 1 ? this.history[0] : undefined);
  }

  view(): TopView | undefined {
    const latest = this.history[this.history.length - 1];
    if (!latest) return undefined;
    const previous = this.history.length > 1 ? this.history[this.history.length - 2] : undefined;
    const minuteAgo = this.before(MINUTE_MS);
    const trendFrom = this.before(Math.max(10_000, 3 * this.options.intervalMs));
    const seconds = (from: TopSample | undefined) => (from ? Math.max(0.001, (latest.atMs - from.atMs) / 1000) : undefined);
    const perSec = (now: number, then: number | undefined, from: TopSample | undefined): number => {
      const s = seconds(from);
      // A counter that went down was reset (a forwarder restarted): no rate rather than a negative one.
      return s === undefined || then === undefined || now < then ? 0 : (now - then) / s;
    };

    const publishRates = [...latest.topicEnds].map(([topic, end]) => ({
      category: this.options.categoryOfTopic(topic),
      topic,
      perSec: perSec(num(end), previous ? num(previous.topicEnds.get(topic)) : undefined, previous),
      total: String(end),
    }));

    const names = new Set([...latest.metrics.keys(), ...latest.groups.keys()]);
    const rows: TopRow[] = [];
    for (const destination of [...names].sort()) {
      const m = latest.metrics.get(destination) ?? {};
      const prev = previous?.metrics.get(destination);
      const group = latest.groups.get(destination);
      const lag: Record<string, number> = {};
      for (const [topic, n] of group?.lagByTopic ?? []) {
        const category = this.options.categoryOfTopic(topic);
        lag[category] = (lag[category] ?? 0) + num(n);
      }
      const lagTotal = sum(lag);
      const lagThen = trendFrom?.groups.get(destination);
      const lagTrendPerSec = lagThen && trendFrom ? perSecSigned(lagTotal, [...lagThen.lagByTopic.values()].reduce((a, b) => a + num(b), 0), seconds(trendFrom)!) : 0;
      const old = minuteAgo?.metrics.get(destination);
      const byCode: Record<string, number> = {};
      for (const [code, n] of Object.entries(m.deadLetteredByCode ?? {})) {
        const d = n - (old?.deadLetteredByCode?.[code] ?? (minuteAgo ? 0 : n));
        if (d > 0) byCode[code] = d;
      }
      const row: TopRow = {
        destination,
        state: '',
        severity: 'ok',
        reason: '',
        inPerSec: perSec(sum(m.recordsIn), prev ? sum(prev.recordsIn) : undefined, previous),
        outPerSec: perSec(m.delivered ?? 0, prev?.delivered, previous),
        bytesPerSec: perSec(m.bytesOut ?? 0, prev?.bytesOut, previous),
        lag,
        lagTotal,
        lagTrendPerSec,
        retriesPerSec: perSec(m.retries ?? 0, prev?.retries, previous),
        deadLetteredTotal: m.deadLettered ?? 0,
        deadLetteredLastMinute: sum(byCode),
        deadLetteredLastMinuteByCode: byCode,
        lastSuccessMs: m.lastSuccessMs ?? null,
        lastErrorMs: m.lastErrorMs ?? null,
        lastError: latest.lastErrors.get(destination) ?? null,
      };
      Object.assign(row, classify(row, m, group, latest.atMs));
      rows.push(row);
    }
    return { header: { atMs: latest.atMs, publishRates, forwarders: latest.forwarders, intervalMs: this.options.intervalMs }, rows };
  }
}

function perSecSigned(now: number, then: number, seconds: number): number {
  return (now - then) / seconds;
}

/**
 * A destination's state and how bad it is, from the most to the least urgent:
 * crashed/broken pipelines, failing (its latest send failed), stalled (lag but nothing
 * delivered for STALLED_AFTER_MS), no forwarder running while records wait: red;
 * retrying, dead-lettering in the last minute, lag growing: yellow; else running or idle.
 */
export function classify(row: Omit<TopRow, 'state' | 'severity' | 'reason'>, m: DestinationMetrics, group: { state: string; description: string; members: number } | undefined, now: number): Pick<TopRow, 'state' | 'severity' | 'reason'> {
  const pipelines = m.pipelines ?? {};
  const running = pipelines.running ?? 0;
  if ((pipelines.crashed ?? 0) > 0) return { state: 'crashed', severity: 'error', reason: 'a pipeline crashed; the forwarder restarts it after a backoff' };
  if ((pipelines.broken ?? 0) > 0) return { state: 'broken', severity: 'error', reason: 'the destination could not start (settings, secret); retried every 30 s' };
  const hasMetrics = Object.keys(pipelines).length > 0 || m.delivered !== undefined;
  if (!hasMetrics && group && group.members === 0) {
    return row.lagTotal > 0
      ? { state: 'no forwarder', severity: 'error', reason: `${group.description}: ${row.lagTotal} records wait` }
      : { state: 'no forwarder', severity: 'warn', reason: group.description };
  }
  if (row.lastErrorMs !== null && (row.lastSuccessMs === null || row.lastErrorMs > row.lastSuccessMs) && now - row.lastErrorMs < STALLED_AFTER_MS) {
    return { state: 'failing', severity: 'error', reason: 'its latest send failed and nothing was delivered since' };
  }
  if (row.lagTotal > 0 && row.outPerSec === 0 && (row.lastSuccessMs === null || now - row.lastSuccessMs > STALLED_AFTER_MS)) {
    return { state: 'stalled', severity: 'error', reason: `lag ${row.lagTotal} and nothing delivered for ${Math.round(STALLED_AFTER_MS / 1000)} s` };
  }
  if (row.retriesPerSec > 0) return { state: 'retrying', severity: 'warn', reason: 'sends are answered retryable' };
  if (row.deadLetteredLastMinute > 0) return { state: 'dead-lettering', severity: 'warn', reason: `${row.deadLetteredLastMinute} records dead-lettered in the last minute` };
  // Lag wobbles by a batch between refreshes: only more than 10 s of traffic waiting, and growing, is falling behind.
  if (row.lagTrendPerSec > 0 && row.lagTotal > Math.max(100, 10 * row.inPerSec)) return { state: 'falling behind', severity: 'warn', reason: 'lag is growing' };
  if (running === 0 && hasMetrics && (pipelines.starting ?? 0) > 0) return { state: 'starting', severity: 'ok', reason: '' };
  return { state: row.inPerSec > 0 || row.outPerSec > 0 ? 'running' : 'idle', severity: 'ok', reason: '' };
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warn: 1, ok: 2 };

export function sortRows(rows: readonly TopRow[], key: SortKey, descending: boolean): TopRow[] {
  const value = (r: TopRow): number | string => {
    switch (key) {
      case 'destination': return r.destination;
      case 'state': return SEVERITY_ORDER[r.severity];
      case 'in': return r.inPerSec;
      case 'out': return r.outPerSec;
      case 'lag': return r.lagTotal;
      case 'retries': return r.retriesPerSec;
      case 'deadlettered': return r.deadLetteredTotal;
    }
  };
  // Numbers read best largest first, names and states in their natural order; `r` flips either.
  const natural = key === 'destination' || key === 'state' ? 1 : -1;
  const sign = descending ? -natural : natural;
  return [...rows].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    const c = typeof x === 'string' ? x.localeCompare(y as string) : x - (y as number);
    return c !== 0 ? sign * c : a.destination.localeCompare(b.destination);
  });
}

/** 1234 → "1.2k", 0.4 → "0.4" (a column of rates fits 6 characters). */
export function rate(n: number): string {
  if (n === 0) return '0';
  if (n < 10) return n.toFixed(1);
  if (n < 10_000) return Math.round(n).toString();
  if (n < 10_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function bytesRate(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function trendArrow(perSec: number): string {
  if (perSec > 0.05) return `↑${rate(perSec)}/s`;
  if (perSec < -0.05) return `↓${rate(-perSec)}/s`;
  return '→';
}

export interface RenderOptions {
  width: number;
  height: number;
  color: boolean;
  sort: SortKey;
  descending: boolean;
  paused: boolean;
  /** Why the latest refresh failed (the figures shown are the previous ones). */
  problem?: string | undefined;
  /** Shown in the header: the time of the latest refresh. */
  now?: number;
}

const COLORS: Record<Severity, string> = { error: '\x1b[31m', warn: '\x1b[33m', ok: '\x1b[32m' };
const BOLD = '\x1b[1m';
const INVERSE = '\x1b[7m';
const RESET = '\x1b[0m';

/** Cuts a line to `width` characters (code points; no colour codes inside). */
function fit(line: string, width: number): string {
  const chars = [...line];
  return chars.length > width ? chars.slice(0, Math.max(0, width - 1)).join('') + '…' : line;
}

const COLUMNS: { title: string; key?: SortKey; align: 'left' | 'right'; cell: (r: TopRow, now: number) => string }[] = [
  { title: 'DESTINATION', key: 'destination', align: 'left', cell: (r) => r.destination },
  { title: 'STATE', key: 'state', align: 'left', cell: (r) => r.state },
  { title: 'IN/s', key: 'in', align: 'right', cell: (r) => rate(r.inPerSec) },
  { title: 'OUT/s', key: 'out', align: 'right', cell: (r) => rate(r.outPerSec) },
  { title: 'BYTES/s', align: 'right', cell: (r) => bytesRate(r.bytesPerSec) },
  { title: 'LAG audit', key: 'lag', align: 'right', cell: (r) => (r.lag.audit === undefined ? '-' : String(r.lag.audit)) },
  { title: 'LAG oper.', align: 'right', cell: (r) => (r.lag.operational === undefined ? '-' : String(r.lag.operational)) },
  { title: 'TREND', align: 'left', cell: (r) => trendArrow(r.lagTrendPerSec) },
  { title: 'RETRY/s', key: 'retries', align: 'right', cell: (r) => rate(r.retriesPerSec) },
  { title: 'DLQ', key: 'deadlettered', align: 'right', cell: (r) => String(r.deadLetteredTotal) },
  { title: 'DLQ 1m', align: 'left', cell: (r) => Object.entries(r.deadLetteredLastMinuteByCode).map(([c, n]) => `${c}:${n}`).join(',') || '0' },
  { title: 'LAST OK', align: 'left', cell: (r, now) => (r.lastSuccessMs === null ? 'never' : ago(r.lastSuccessMs, now)) },
  { title: 'LAST ERROR', align: 'left', cell: (r, now) => (r.lastErrorMs === null ? '-' : `${ago(r.lastErrorMs, now)}${r.lastError ? `: ${r.lastError}` : ''}`) },
];

/** The whole screen as lines (pure): header, column titles, one row per destination, key help. */
export function renderTop(view: TopView, options: RenderOptions): string[] {
  const { header } = view;
  const now = options.now ?? header.atMs;
  const paint = (text: string, code: string): string => (options.color ? `${code}${text}${RESET}` : text);
  const lines: string[] = [];
  const time = new Date(header.atMs).toISOString().replace('T', ' ').slice(0, 19);
  const state = options.paused ? 'PAUSED' : `every ${header.intervalMs / 1000} s`;
  lines.push(paint(fit(`insight-logs top — ${time} UTC — ${state} — forwarders: ${header.forwarders.ok.length} answering${header.forwarders.failed.length ? `, ${header.forwarders.failed.length} not (${header.forwarders.failed.join(', ')})` : ''}`, options.width), BOLD));
  const published = header.publishRates.map((p) => `${p.category} ${rate(p.perSec)}/s (${p.topic}, ${p.total} total)`).join('   ');
  lines.push(fit(`published: ${published || 'no source topics'}`, options.width));
  if (options.problem) lines.push(paint(fit(`last refresh failed (showing the one before): ${options.problem}`, options.width), options.color ? COLORS.warn : ''));
  if (header.forwarders.ok.length === 0) lines.push(paint(fit('no forwarder metrics: pass --metrics http://HOST:PORT/metrics, or start one with: insight-logs forward', options.width), options.color ? COLORS.warn : ''));
  lines.push('');

  const rows = sortRows(view.rows, options.sort, options.descending);
  const cells = rows.map((r) => COLUMNS.map((c) => c.cell(r, now)));
  const titles = COLUMNS.map((c) => (c.key === options.sort ? `${c.title}${options.descending ? '↑' : '↓'}` : c.title));
  // LAST ERROR takes what is left of the width.
  const widths = COLUMNS.map((_, i) => Math.max([...titles[i]!].length, ...cells.map((r) => [...r[i]!].length)));
  const line = (values: string[]): string => values.map((v, i) => {
    const pad = ' '.repeat(Math.max(0, widths[i]! - [...v].length));
    if (i === values.length - 1) return v;
    return COLUMNS[i]!.align === 'right' ? pad + v : v + pad;
  }).join('  ');
  lines.push(paint(fit(line(titles), options.width), options.color ? INVERSE : ''));
  if (rows.length === 0) lines.push('no destinations yet (add one with: insight-logs destinations add)');
  // Below the rows: a blank line and the key help, plus "… N more" when rows are cut. Counting
  // that line too keeps the screen at its height, so the title never scrolls off.
  const free = Math.max(1, options.height - lines.length - 2);
  const room = rows.length > free ? Math.max(1, free - 1) : free;
  rows.slice(0, room).forEach((r, i) => {
    const text = fit(line(cells[i]!), options.width);
    lines.push(options.color && r.severity !== 'ok' ? paint(text, COLORS[r.severity]) : text);
  });
  if (rows.length > room) lines.push(fit(`… ${rows.length - room} more (make the terminal taller)`, options.width));
  lines.push('');
  lines.push(fit('q quit   p pause   s sort by next column   r reverse   (red: crashed, failing, stalled or no forwarder; yellow: retrying, dead-lettering, falling behind)', options.width));
  return lines;
}

/** What `--output json` prints for one refresh (rates per second, times as ISO strings). */
export function topJson(view: TopView): unknown {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    time: new Date(view.header.atMs).toISOString(),
    intervalMs: view.header.intervalMs,
    forwarders: view.header.forwarders,
    topics: view.header.publishRates.map((p) => ({ category: p.category, topic: p.topic, publishedPerSec: round(p.perSec), endOffsetsTotal: p.total })),
    destinations: view.rows.map((r) => ({
      destination: r.destination,
      state: r.state,
      severity: r.severity,
      reason: r.reason,
      inPerSec: round(r.inPerSec),
      outPerSec: round(r.outPerSec),
      bytesPerSec: round(r.bytesPerSec),
      lag: r.lag,
      lagTotal: r.lagTotal,
      lagTrendPerSec: round(r.lagTrendPerSec),
      retriesPerSec: round(r.retriesPerSec),
      deadLettered: { total: r.deadLetteredTotal, lastMinute: r.deadLetteredLastMinute, lastMinuteByCode: r.deadLetteredLastMinuteByCode },
      lastSuccess: iso(r.lastSuccessMs),
      lastErrorTime: iso(r.lastErrorMs),
      lastError: r.lastError,
    })),
  };
}

const round = (n: number): number => Math.round(n * 100) / 100;
