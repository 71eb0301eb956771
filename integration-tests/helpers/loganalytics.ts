/**
 * The Logs Ingestion API TEST DOUBLE (integration-tests/loganalytics-double/server.ts) as a
 * child process. The real service has no read API in @azure/monitor-ingestion (reading means
 * a Log Analytics query minutes later), so `rows()` reads the double's memory: it is the only
 * read-back there is, and it proves what the SDK sent, not what a workspace would store.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { startDoubleProcess } from '../../testkit/double-process.js';
import type { TestCertificates } from '../../testkit/test-ca.js';

export interface IngestionRequestLog {
  ruleId: string;
  stream: string;
  status: number;
  wireBytes: number;
  jsonBytes: number;
  rows: number;
}

export interface LogAnalyticsDouble {
  /** http://127.0.0.1:<port> (needs allowInsecure: true), or https://localhost:<port> when started with `tls`. */
  endpoint: string;
  /** The bearer token the double expects (a random test value, not a secret). */
  token: string;
  maxBodyBytes: number;
  /** Declares a data collection rule with its streams; returns the rule id. */
  addRule(streams: string[], ruleId?: string): Promise<string>;
  rows(ruleId: string, stream: string): Promise<Record<string, unknown>[]>;
  requests(): Promise<IngestionRequestLog[]>;
  /** Next `count` ingestion requests get 429 with Retry-After: 1. */
  throttle(count: number): Promise<void>;
  /** Next `count` ingestion requests get 503. */
  fail(count: number): Promise<void>;
  clearFaults(): Promise<void>;
  stop(): Promise<void>;
}

/** A fresh immutable-id-shaped rule id, `dcr-` + 32 hex digits. */
export function uniqueRuleId(): string {
  return `dcr-${randomBytes(16).toString('hex')}`;
}

/** A JSON request trusting the test CA (this process cannot take NODE_EXTRA_CA_CERTS any more). */
function httpsJson(url: string, method: string, ca: string, body?: unknown): Promise<{ ok: boolean; status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString('utf8'); });
      res.on('end', () => resolve({ ok: (res.statusCode ?? 0) < 300, status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

export async function startLogAnalyticsDouble(options: { maxBodyBytes?: number; tls?: TestCertificates } = {}): Promise<LogAnalyticsDouble> {
  const server = fileURLToPath(new URL('../loganalytics-double/server.js', import.meta.url));
  const token = `test-token-${randomBytes(8).toString('hex')}`;
  const args = [server, '--port', '0'];
  if (options.maxBodyBytes) args.push('--max-body-bytes', String(options.maxBodyBytes));
  if (options.tls) args.push('--tls-cert', options.tls.certPath, '--tls-key', options.tls.keyPath);
  const double = await startDoubleProcess<{ port: number; endpoint: string; maxBodyBytes: number }>('loganalytics double', server, args.slice(1), { ...process.env, LA_DOUBLE_TOKEN: token });
  const started = double.started;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = options.tls
      ? await httpsJson(`${started.endpoint}${path}`, method, options.tls.ca, body)
      : await fetch(`${started.endpoint}${path}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) }).then(async (r) => ({ ok: r.ok, status: r.status, text: await r.text() }));
    if (!res.ok) throw new Error(`loganalytics double ${method} ${path}: HTTP ${res.status} ${res.text}`);
    return JSON.parse(res.text) as T;
  };
  return {
    endpoint: started.endpoint,
    token,
    maxBodyBytes: started.maxBodyBytes,
    async addRule(streams, ruleId = uniqueRuleId()) {
      await call('POST', '/_test/rules', { ruleId, streams });
      return ruleId;
    },
    rows: (ruleId, stream) => call('GET', `/_test/rows?ruleId=${encodeURIComponent(ruleId)}&stream=${encodeURIComponent(stream)}`),
    requests: () => call('GET', '/_test/requests'),
    throttle: async (count) => void (await call('POST', `/_test/faults?throttle=${count}`)),
    fail: async (count) => void (await call('POST', `/_test/faults?fail=${count}`)),
    clearFaults: async () => void (await call('POST', '/_test/clear-faults')),
    stop: () => double.stop(),
  };
}
