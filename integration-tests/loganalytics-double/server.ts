/**
 * TEST DOUBLE of the Azure Monitor Logs Ingestion API — NOT the real service, for tests only.
 *
 * Run as its own process: `node server.js [--port 0] [--max-body-bytes 1048576]
 * [--audience https://monitor.azure.com] [--tls-cert server.pem --tls-key server.key]` (HTTPS,
 * as the service; the SDK's own bearer policy refuses plain http). It prints one JSON line
 * `{"port":…,"endpoint":…}` on stdout once it listens, and stops on SIGTERM.
 *
 * It implements the contract @azure/monitor-ingestion 1.2 uses (read from its source) and
 * checks what the service checks ("Logs Ingestion API in Azure Monitor", "Azure Monitor
 * service limits"):
 *   POST /dataCollectionRules/{ruleId}/streams/{stream}?api-version=2023-01-01
 *     (the SDK's URL template sends the query as `api%2Dversion`, which decodes the same)
 *   Authorization: Bearer <JWT>            → 401 unless its `aud` is https://monitor.azure.com
 *                                            and it has not expired (testkit/bearer-token.ts;
 *                                            the signature is not verified)
 *   the rule's immutable id and the stream → 404 when the rule or the stream is not declared
 *   Content-Type: application/json
 *   Content-Encoding: gzip (always, from the SDK's GZippingPolicy; plain bodies accepted too)
 *   1 MB per call, compressed AND uncompressed → 413 when either is over the limit
 *   body: a JSON array of rows             → 400 when not an array or a row lacks a valid TimeGenerated
 *   → 204 on success.
 * Columns a stream does not declare are dropped silently by the service; the double drops them
 * too but REPORTS them (and values whose type does not match the declaration) at
 * `GET /_test/problems`, so a test can fail on what production would lose without a word.
 *
 * Test-only control (the real service has no read API; this memory is the only read-back):
 *   POST /_test/rules            body {ruleId, streams: {<stream>: {columns: [{name, type}]}}}: declare a rule
 *   POST /_test/faults?throttle=N  next N ingestion requests → 429 with Retry-After: 1
 *   POST /_test/faults?fail=N      next N ingestion requests → 503
 *   POST /_test/clear-faults
 *   GET  /_test/rows?ruleId=…&stream=…   rows stored for a stream (JSON array)
 *   GET  /_test/requests          one entry per ingestion request (status, sizes, rows)
 *   GET  /_test/problems          undeclared or mistyped columns seen, one entry per column and stream
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { checkBearerToken } from '../../testkit/bearer-token.js';

type ColumnType = 'string' | 'datetime' | 'long' | 'int' | 'real' | 'boolean' | 'dynamic';
interface StreamState { columns: Map<string, ColumnType>; rows: Record<string, unknown>[] }
export interface ColumnProblem { ruleId: string; stream: string; column: string; problem: 'undeclared' | 'mistyped'; example: string }

interface RequestLog {
  ruleId: string;
  stream: string;
  status: number;
  /** Bytes as received (compressed when gzip). */
  wireBytes: number;
  /** Bytes of JSON after decompression. */
  jsonBytes: number;
  rows: number;
}

function argument(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const port = Number(argument('port', '0'));
const maxBodyBytes = Number(argument('max-body-bytes', String(1024 * 1024)));
const audience = argument('audience', 'https://monitor.azure.com');

const rules = new Map<string, Map<string, StreamState>>();
/** Keyed `rule|stream|column|problem`: each reported once, with the first value seen. */
const problems = new Map<string, ColumnProblem>();
const requests: RequestLog[] = [];
let throttleLeft = 0;
let failLeft = 0;

function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  reply(res, status, { error: { code, message } }, headers);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true; // keep draining so the client sees the 413, not a reset
    else chunks.push(chunk);
  }
  return tooLarge ? 'too-large' : Buffer.concat(chunks);
}

function validTime(value: unknown): boolean {
  return typeof value === 'string' && value !== '' && !Number.isNaN(Date.parse(value));
}

function typeMatches(type: ColumnType, value: unknown): boolean {
  switch (type) {
    case 'string': return typeof value === 'string';
    case 'datetime': return validTime(value);
    case 'long': return typeof value === 'number' && Number.isSafeInteger(value);
    case 'int': return typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
    case 'real': return typeof value === 'number';
    case 'boolean': return typeof value === 'boolean';
    case 'dynamic': return true;
  }
}

function report(ruleId: string, stream: string, column: string, problem: ColumnProblem['problem'], value: unknown): void {
  const key = `${ruleId}|${stream}|${column}|${problem}`;
  if (!problems.has(key)) problems.set(key, { ruleId, stream, column, problem, example: JSON.stringify(value)?.slice(0, 100) ?? 'undefined' });
}

/** What the service stores of a row: declared columns only (the others vanish, reported here). */
function keepDeclared(ruleId: string, stream: string, state: StreamState, row: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const type = state.columns.get(column);
    if (type === undefined) {
      report(ruleId, stream, column, 'undeclared', value);
      continue;
    }
    if (value !== null && !typeMatches(type, value)) report(ruleId, stream, column, 'mistyped', value);
    kept[column] = value;
  }
  return kept;
}

async function ingest(req: IncomingMessage, res: ServerResponse, ruleId: string, stream: string): Promise<void> {
  const log: RequestLog = { ruleId, stream, status: 0, wireBytes: 0, jsonBytes: 0, rows: 0 };
  const done = (status: number, send: () => void): void => {
    log.status = status;
    requests.push(log);
    send();
  };
  const body = await readBody(req, maxBodyBytes);
  log.wireBytes = body === 'too-large' ? maxBodyBytes + 1 : body.length;
  if (throttleLeft > 0) {
    throttleLeft--;
    return done(429, () => error(res, 429, 'TooManyRequests', 'test double: throttled', { 'retry-after': '1' }));
  }
  if (failLeft > 0) {
    failLeft--;
    return done(503, () => error(res, 503, 'ServiceUnavailable', 'test double: injected failure'));
  }
  const token = checkBearerToken(req.headers.authorization, audience);
  if (!token.ok) return done(401, () => error(res, 401, token.code, `test double: ${token.message}`));
  const streams = rules.get(ruleId);
  if (!streams) return done(404, () => error(res, 404, 'NotFound', `test double: data collection rule ${ruleId} not found`));
  const state = streams.get(stream);
  if (!state) return done(404, () => error(res, 404, 'InvalidStream', `test double: stream ${stream} is not declared in rule ${ruleId}`));
  if (body === 'too-large') return done(413, () => error(res, 413, 'ContentLengthLimitExceeded', `test double: request body over ${maxBodyBytes} bytes as sent`));
  if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) {
    return done(415, () => error(res, 415, 'UnsupportedMediaType', 'test double: Content-Type must be application/json'));
  }
  let json: Buffer;
  try {
    json = /gzip/i.test(req.headers['content-encoding'] ?? '') ? gunzipSync(body) : body;
  } catch {
    return done(400, () => error(res, 400, 'InvalidContentEncoding', 'test double: body is not valid gzip'));
  }
  log.jsonBytes = json.length;
  // The limit holds for the uncompressed payload too: gzip does not buy a bigger call.
  if (json.length > maxBodyBytes) return done(413, () => error(res, 413, 'ContentLengthLimitExceeded', `test double: uncompressed body of ${json.length} bytes is over ${maxBodyBytes}`));
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return done(400, () => error(res, 400, 'InvalidPayload', 'test double: body is not JSON'));
  }
  if (!Array.isArray(parsed)) return done(400, () => error(res, 400, 'InvalidPayload', 'test double: body must be a JSON array of rows'));
  const bad = parsed.findIndex((row) => typeof row !== 'object' || row === null || Array.isArray(row) || !validTime((row as Record<string, unknown>).TimeGenerated));
  if (bad >= 0) return done(400, () => error(res, 400, 'InvalidPayload', `test double: row ${bad} has no valid TimeGenerated (ISO 8601 datetime)`));
  for (const row of parsed as Record<string, unknown>[]) state.rows.push(keepDeclared(ruleId, stream, state, row));
  log.rows = parsed.length;
  return done(204, () => reply(res, 204));
}

async function control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method === 'POST' && url.pathname === '/_test/rules') {
    const body = await readBody(req, 1024 * 1024);
    const spec = JSON.parse(body === 'too-large' ? '{}' : body.toString('utf8')) as { ruleId?: string; streams?: Record<string, { columns?: { name: string; type: ColumnType }[] }> };
    if (!spec.ruleId || typeof spec.streams !== 'object' || spec.streams === null) return error(res, 400, 'BadRequest', 'expected {ruleId, streams: {<name>: {columns: [{name, type}]}}}');
    const streams = rules.get(spec.ruleId) ?? new Map<string, StreamState>();
    for (const [name, declaration] of Object.entries(spec.streams)) {
      if (!Array.isArray(declaration.columns) || declaration.columns.length === 0) return error(res, 400, 'BadRequest', `stream ${name}: a stream declares its columns`);
      streams.set(name, { columns: new Map(declaration.columns.map((c) => [c.name, c.type])), rows: streams.get(name)?.rows ?? [] });
    }
    rules.set(spec.ruleId, streams);
    return reply(res, 200, { ruleId: spec.ruleId, streams: [...streams.keys()] });
  }
  if (req.method === 'POST' && url.pathname === '/_test/faults') {
    throttleLeft += Number(url.searchParams.get('throttle') ?? 0);
    failLeft += Number(url.searchParams.get('fail') ?? 0);
    return reply(res, 200, { throttleLeft, failLeft });
  }
  if (req.method === 'POST' && url.pathname === '/_test/clear-faults') {
    throttleLeft = 0;
    failLeft = 0;
    return reply(res, 200, { throttleLeft, failLeft });
  }
  if (req.method === 'GET' && url.pathname === '/_test/rows') {
    const state = rules.get(url.searchParams.get('ruleId') ?? '')?.get(url.searchParams.get('stream') ?? '');
    return state ? reply(res, 200, state.rows) : error(res, 404, 'NotFound', 'no such rule/stream');
  }
  if (req.method === 'GET' && url.pathname === '/_test/requests') return reply(res, 200, requests);
  if (req.method === 'GET' && url.pathname === '/_test/problems') return reply(res, 200, [...problems.values()]);
  return error(res, 404, 'NotFound', 'unknown test endpoint');
}

const INGEST_PATH = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/;

const tlsCert = argument('tls-cert', '');
const tlsKey = argument('tls-key', '');
const listener: RequestListener = (req, res) => {
  const url = new URL(req.url ?? '/', 'http://double');
  const handle = async (): Promise<void> => {
    if (url.pathname.startsWith('/_test/')) return control(req, res, url);
    const match = INGEST_PATH.exec(url.pathname);
    if (!match || req.method !== 'POST') return error(res, 404, 'NotFound', `test double: no route for ${req.method} ${url.pathname}`);
    // searchParams decodes `api%2Dversion` (what the SDK sends) to `api-version`.
    if (url.searchParams.get('api-version') !== '2023-01-01') {
      return error(res, 400, 'InvalidApiVersion', 'test double: api-version must be 2023-01-01');
    }
    return ingest(req, res, decodeURIComponent(match[1]!), decodeURIComponent(match[2]!));
  };
  handle().catch((e: unknown) => {
    if (!res.headersSent) error(res, 500, 'InternalError', `test double: ${(e as Error).message}`);
    else res.destroy();
  });
};
const server = tlsCert && tlsKey ? createHttpsServer({ cert: readFileSync(tlsCert), key: readFileSync(tlsKey) }, listener) : createServer(listener);

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ port: actual, endpoint: `${tlsCert ? 'https://localhost' : 'http://127.0.0.1'}:${actual}`, maxBodyBytes, audience })}\n`);
});

const shutdown = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
