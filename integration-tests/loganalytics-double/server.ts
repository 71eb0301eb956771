/**
 * TEST DOUBLE of the Azure Monitor Logs Ingestion API — NOT the real service, for tests only.
 *
 * Run as its own process: `node server.js [--port 0] [--max-body-bytes 1048576]
 * [--tls-cert server.pem --tls-key server.key]` (HTTPS, as the service; the SDK's own bearer
 * policy refuses plain http) with the
 * expected bearer token in LA_DOUBLE_TOKEN. It prints one JSON line `{"port":…,"endpoint":…}`
 * on stdout once it listens, and stops on SIGTERM.
 *
 * It implements the contract @azure/monitor-ingestion 1.2 uses (read from its source):
 *   POST /dataCollectionRules/{ruleId}/streams/{stream}?api-version=2023-01-01
 *     (the SDK's URL template sends the query as `api%2Dversion`, which decodes the same)
 *   Authorization: Bearer <token>          → 401 without it or with another token
 *   Content-Type: application/json
 *   Content-Encoding: gzip (always, from the SDK's GZippingPolicy; plain bodies accepted too)
 *   body: a JSON array of rows             → 400 when not an array or a row lacks a valid TimeGenerated
 *   → 204 on success; 413 when the body as sent (compressed) is over the limit;
 *     404 {error:{code,message}} for an unknown rule or stream.
 *
 * Test-only control (the real service has no read API; this memory is the only read-back):
 *   POST /_test/rules            body {ruleId, streams: [...]}: declare a rule
 *   POST /_test/faults?throttle=N  next N ingestion requests → 429 with Retry-After: 1
 *   POST /_test/faults?fail=N      next N ingestion requests → 503
 *   POST /_test/clear-faults
 *   GET  /_test/rows?ruleId=…&stream=…   rows stored for a stream (JSON array)
 *   GET  /_test/requests          one entry per ingestion request (status, sizes, rows)
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { gunzipSync } from 'node:zlib';

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
const expectedToken = process.env.LA_DOUBLE_TOKEN ?? '';

const rules = new Map<string, Map<string, Record<string, unknown>[]>>();
const requests: RequestLog[] = [];
let throttleLeft = 0;
let failLeft = 0;

/**
 * The token LA_DOUBLE_TOKEN names, or an Azure AD access token (a JWT) for the Logs Ingestion
 * audience that has not expired, as DefaultAzureCredential gets from the test token authority.
 */
function bearerAccepted(token: string): boolean {
  if (expectedToken !== '' && token === expectedToken) return true;
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown; exp?: unknown };
    return claims.aud === 'https://monitor.azure.com' && typeof claims.exp === 'number' && claims.exp * 1000 > Date.now();
  } catch {
    return false;
  }
}

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
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('Bearer ') || !bearerAccepted(auth.slice(7))) {
    return done(401, () => error(res, 401, 'InvalidToken', 'test double: missing or wrong bearer token'));
  }
  const streams = rules.get(ruleId);
  if (!streams) return done(404, () => error(res, 404, 'NotFound', `test double: data collection rule ${ruleId} not found`));
  const rows = streams.get(stream);
  if (!rows) return done(404, () => error(res, 404, 'InvalidStream', `test double: stream ${stream} is not declared in rule ${ruleId}`));
  if (body === 'too-large') return done(413, () => error(res, 413, 'ContentLengthLimitExceeded', `test double: request body over ${maxBodyBytes} bytes`));
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
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return done(400, () => error(res, 400, 'InvalidPayload', 'test double: body is not JSON'));
  }
  if (!Array.isArray(parsed)) return done(400, () => error(res, 400, 'InvalidPayload', 'test double: body must be a JSON array of rows'));
  const bad = parsed.findIndex((row) => typeof row !== 'object' || row === null || Array.isArray(row) || !validTime((row as Record<string, unknown>).TimeGenerated));
  if (bad >= 0) return done(400, () => error(res, 400, 'InvalidPayload', `test double: row ${bad} has no valid TimeGenerated (ISO 8601 datetime)`));
  rows.push(...(parsed as Record<string, unknown>[]));
  log.rows = parsed.length;
  return done(204, () => reply(res, 204));
}

async function control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method === 'POST' && url.pathname === '/_test/rules') {
    const body = await readBody(req, 64 * 1024);
    const spec = JSON.parse(body === 'too-large' ? '{}' : body.toString('utf8')) as { ruleId?: string; streams?: string[] };
    if (!spec.ruleId || !Array.isArray(spec.streams)) return error(res, 400, 'BadRequest', 'expected {ruleId, streams: []}');
    const streams = rules.get(spec.ruleId) ?? new Map<string, Record<string, unknown>[]>();
    for (const s of spec.streams) if (!streams.has(s)) streams.set(s, []);
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
    const rows = rules.get(url.searchParams.get('ruleId') ?? '')?.get(url.searchParams.get('stream') ?? '');
    return rows ? reply(res, 200, rows) : error(res, 404, 'NotFound', 'no such rule/stream');
  }
  if (req.method === 'GET' && url.pathname === '/_test/requests') return reply(res, 200, requests);
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
  process.stdout.write(`${JSON.stringify({ port: actual, endpoint: `${tlsCert ? 'https://localhost' : 'http://127.0.0.1'}:${actual}`, maxBodyBytes })}\n`);
});

const shutdown = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
