/**
 * Reads running forwarders' /metrics (Prometheus text) for what offsets cannot say: how much
 * each destination read and delivered, retries, dead-lettered records by code, when it last
 * delivered or failed, and its pipelines' states. Used by `destinations list --metrics-url`
 * and `top`. Metric names come from metrics/names.ts only.
 */
import { InsightLogsError } from '../errors.js';
import { urlForLogs } from '../logging.js';
import { FORWARDER_METRICS as M } from '../metrics/names.js';

/** One destination's figures from one scrape (or several forwarders' scrapes merged). */
export interface DestinationMetrics {
  /** Epoch ms of the last delivered chunk. */
  lastSuccessMs?: number;
  /** Epoch ms of the last send answered with an error. */
  lastErrorMs?: number;
  /** Records read, per source topic. */
  recordsIn?: Record<string, number>;
  delivered?: number;
  bytesOut?: number;
  retries?: number;
  deadLettered?: number;
  /** Dead-lettered records by error code. */
  deadLetteredByCode?: Record<string, number>;
  crashes?: number;
  /** Pipelines per state (running, crashed, broken …); several with `--workers` or several forwarders. */
  pipelines?: Record<string, number>;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of a Prometheus text exposition (pure; comments and bad values skipped). */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

const add = (record: Record<string, number> | undefined, key: string, value: number): Record<string, number> => ({ ...record, [key]: (record?.[key] ?? 0) + value });

/**
 * Per-destination figures from Prometheus text (pure). Called with the texts of several
 * forwarders, counters add up, states are counted together and times take the latest.
 */
export function parseForwarderMetrics(...texts: string[]): Map<string, DestinationMetrics> {
  const out = new Map<string, DestinationMetrics>();
  for (const text of texts) {
    for (const { name, labels, value } of parseSamples(text)) {
      const destination = labels.destination;
      if (destination === undefined) continue;
      const e = out.get(destination) ?? {};
      switch (name) {
        case M.lastSuccess.name: if (value > 0) e.lastSuccessMs = Math.max(e.lastSuccessMs ?? 0, Math.round(value * 1000)); break;
        case M.lastError.name: if (value > 0) e.lastErrorMs = Math.max(e.lastErrorMs ?? 0, Math.round(value * 1000)); break;
        case M.recordsIn.name: e.recordsIn = add(e.recordsIn, labels.topic ?? '', value); break;
        case M.recordsOut.name: e.delivered = (e.delivered ?? 0) + value; break;
        case M.bytesOut.name: e.bytesOut = (e.bytesOut ?? 0) + value; break;
        case M.retries.name: e.retries = (e.retries ?? 0) + value; break;
        case M.deadLettered.name:
          e.deadLettered = (e.deadLettered ?? 0) + value;
          e.deadLetteredByCode = add(e.deadLetteredByCode, labels.code ?? 'unknown', value);
          break;
        case M.pipelineCrashes.name: e.crashes = (e.crashes ?? 0) + value; break;
        case M.pipelines.name: e.pipelines = add(e.pipelines, labels.state ?? 'unknown', value); break;
        default: continue;
      }
      out.set(destination, e);
    }
  }
  return out;
}

/**
 * Fetches `url` (e.g. http://127.0.0.1:9464/metrics) and returns the text. Throws CONFIG_INVALID
 * naming `flag` when nothing answers there or it answers with an HTTP error: the flag points at
 * no running forwarder.
 */
export async function fetchMetricsText(url: string, flag = '--metrics-url', timeoutMs = 3000): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new InsightLogsError('CONFIG_INVALID', `${flag}: no forwarder answers at ${urlForLogs(url)} (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (!response.ok) throw new InsightLogsError('CONFIG_INVALID', `${flag}: ${urlForLogs(url)} answered HTTP ${response.status}`);
  return response.text();
}

/** Fetches and parses one forwarder's /metrics (see fetchMetricsText for the errors). */
export async function scrapeForwarderMetrics(url: string, timeoutMs = 3000): Promise<Map<string, DestinationMetrics>> {
  return parseForwarderMetrics(await fetchMetricsText(url, '--metrics-url', timeoutMs));
}

/** "12 s ago", "3 min ago", "2 h ago" (pure; `now` for tests). */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}
