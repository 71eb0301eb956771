/**
 * The Logs Ingestion API TEST DOUBLE (integration-tests/loganalytics-double/server.ts) as a
 * child process. The real service has no read API in @azure/monitor-ingestion (reading means
 * a Log Analytics query minutes later), so `rows()` reads the double's memory: it is the only
 * read-back there is, and it proves what the SDK sent, not what a workspace would store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { logAnalyticsStreamDeclarations } from '../../src/azure/templates.js';
import { mintTestJwt } from '../../testkit/bearer-token.js';
import { startDoubleProcess } from '../../testkit/double-process.js';
import type { ColumnProblem } from '../loganalytics-double/server.js';

export type { ColumnProblem };
/** The audience the Logs Ingestion API requires ("Logs Ingestion API in Azure Monitor", Token audience). */
export const MONITOR_AUDIENCE = 'https://monitor.azure.com';
type StreamDeclarations = Record<string, { columns: { name: string; type: string }[] }>;
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
  /** A JWT the double accepts (audience https://monitor.azure.com, valid for an hour; unsigned in effect). */
  token: string;
  maxBodyBytes: number;
  /**
   * Declares a data collection rule; returns its id. Streams are named (their columns then come
   * from the provisioning template, `insight-logs azure template loganalytics`) or given with
   * their declarations. Default: the template's two streams.
   */
  addRule(streams?: string[] | StreamDeclarations, ruleId?: string): Promise<string>;
  /** Columns sent that a stream does not declare (the service drops them silently) or with the wrong type. */
  problems(): Promise<ColumnProblem[]>;
  /** Fails the calling test when any column was undeclared or mistyped (of one rule, or of all). */
  assertNoColumnProblems(ruleId?: string): Promise<void>;
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
  const token = mintTestJwt({ aud: MONITOR_AUDIENCE, oid: randomBytes(8).toString('hex') });
  const args = [server, '--port', '0'];
  if (options.maxBodyBytes) args.push('--max-body-bytes', String(options.maxBodyBytes));
  if (options.tls) args.push('--tls-cert', options.tls.certPath, '--tls-key', options.tls.keyPath);
  const double = await startDoubleProcess<{ port: number; endpoint: string; maxBodyBytes: number }>('loganalytics double', server, args.slice(1));
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
    async addRule(streams = logAnalyticsStreamDeclarations(), ruleId = uniqueRuleId()) {
      const template = logAnalyticsStreamDeclarations();
      const declarations: StreamDeclarations = {};
      if (Array.isArray(streams)) {
        for (const name of streams) {
          const declared = template[name];
          if (!declared) throw new Error(`loganalytics double: stream ${name} is not in the template; pass its declaration`);
          declarations[name] = declared;
        }
      } else {
        Object.assign(declarations, streams);
      }
      await call('POST', '/_test/rules', { ruleId, streams: declarations });
      return ruleId;
    },
    problems: () => call('GET', '/_test/problems'),
    async assertNoColumnProblems(ruleId) {
      const problems = (await call<ColumnProblem[]>('GET', '/_test/problems')).filter((p) => ruleId === undefined || p.ruleId === ruleId);
      assert.deepEqual(problems, [], 'columns the streams do not declare (Log Analytics would drop them silently) or with the wrong type');
    },
    rows: (ruleId, stream) => call('GET', `/_test/rows?ruleId=${encodeURIComponent(ruleId)}&stream=${encodeURIComponent(stream)}`),
    requests: () => call('GET', '/_test/requests'),
    throttle: async (count) => void (await call('POST', `/_test/faults?throttle=${count}`)),
    fail: async (count) => void (await call('POST', `/_test/faults?fail=${count}`)),
    clearFaults: async () => void (await call('POST', '/_test/clear-faults')),
    stop: () => double.stop(),
  };
}
