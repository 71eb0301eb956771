/**
 * Reads a running forwarder's /metrics (Prometheus text) for what offsets cannot say: when a
 * destination last received a chunk, and how many records it took.
 */
import { InsightLogsError } from '../errors.js';
import { urlForLogs } from '../logging.js';

export interface DestinationMetrics {
  /** Epoch ms of the last delivered chunk. */
  lastSuccessMs?: number;
  delivered?: number;
  deadLettered?: number;
  /** Sends answered retryable (or that threw) and tried again. */
  retries?: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Per-destination figures from Prometheus text exposition (pure). */
export function parseForwarderMetrics(text: string): Map<string, DestinationMetrics> {
  const out = new Map<string, DestinationMetrics>();
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name, labels, raw] = m;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    let destination: string | undefined;
    for (const l of labels!.matchAll(LABEL)) if (l[1] === 'destination') destination = l[2]!.replace(/\\(.)/g, '$1');
    if (destination === undefined) continue;
    const entry = out.get(destination) ?? {};
    if (name === 'insight_logs_last_success_timestamp_seconds' && value > 0) entry.lastSuccessMs = Math.round(value * 1000);
    else if (name === 'insight_logs_records_out_total') entry.delivered = (entry.delivered ?? 0) + value;
    else if (name === 'insight_logs_deadlettered_total') entry.deadLettered = (entry.deadLettered ?? 0) + value;
    else if (name === 'insight_logs_retries_total') entry.retries = (entry.retries ?? 0) + value;
    else continue;
    out.set(destination, entry);
  }
  return out;
}

/**
 * Fetches and parses `url` (e.g. http://127.0.0.1:9464/metrics). Throws CONFIG_INVALID naming
 * `--metrics-url` when nothing answers there or it answers with an HTTP error: the flag points
 * at no running forwarder.
 */
export async function scrapeForwarderMetrics(url: string, timeoutMs = 3000): Promise<Map<string, DestinationMetrics>> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new InsightLogsError('CONFIG_INVALID', `--metrics-url: no forwarder answers at ${urlForLogs(url)} (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (!response.ok) throw new InsightLogsError('CONFIG_INVALID', `--metrics-url: ${urlForLogs(url)} answered HTTP ${response.status}`);
  return parseForwarderMetrics(await response.text());
}

/** "12 s ago", "3 min ago", "2 h ago" (pure; `now` for tests). */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}
