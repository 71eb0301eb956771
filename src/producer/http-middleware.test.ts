import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InsightLogsError } from '../errors.js';
import type { ApiEvent, InsightEvent } from '../events/types.js';
import { apiEventMiddleware, correlationIdFromHeaders, type ApiEventMiddlewareOptions } from './http-middleware.js';
import { hmacHex } from './pseudonymize.js';

const RESOURCE_ID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST-1';
const SALT = 'test-salt';

/** An in-memory producer that resolves a waiter per emitted event. */
class FakeProducer {
  readonly events: InsightEvent[] = [];
  private waiters: (() => void)[] = [];
  emit(event: InsightEvent): void {
    this.events.push(event);
    this.waiters.shift()?.();
  }
  next(): Promise<ApiEvent> {
    const count = this.events.length;
    return new Promise((resolve) => {
      const check = (): void => resolve(this.events[count] as ApiEvent);
      if (this.events.length > count) check();
      else this.waiters.push(check);
    });
  }
}

interface Started { server: Server; port: number; producer: FakeProducer; errors: InsightLogsError[] }

async function startServer(options: Partial<ApiEventMiddlewareOptions> = {}): Promise<Started> {
  const producer = new FakeProducer();
  const errors: InsightLogsError[] = [];
  const middleware = apiEventMiddleware({ producer, resourceId: RESOURCE_ID, onError: (e) => errors.push(e), ...options });
  const server = createServer((req, res) => {
    middleware(req, res, () => {
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      req.resume();
      req.on('end', () => { res.statusCode = status; res.end('ok'); });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, producer, errors };
}

function call(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end(method === 'POST' ? '{"a":1}' : undefined);
  });
}

describe('apiEventMiddleware with a real node:http server', () => {
  let s: Started;
  before(async () => { s = await startServer({ identity: () => ({ Claims: { upn: 'alice@example.test' }, Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin'] } }) }); });
  after(() => new Promise<void>((resolve) => s.server.close(() => resolve())));

  test('GET 200: operational, success, path without query, absolute uri, caller and headers', async () => {
    const next = s.producer.next();
    assert.equal(await call(s.port, 'GET', '/api/segments/7?status=200&x=1', { 'user-agent': 'ua-test', origin: 'https://app.example.test' }), 200);
    const e = await next;
    assert.equal(e.category, 'Operational');
    assert.equal(e.operationName, 'GET /api/segments/7');
    assert.equal(e.resultType, 'Success');
    assert.equal(e.resultSignature, '200');
    assert.equal(e.level, 'Informational');
    assert.equal(e.properties.operationStatus, 'Success');
    assert.equal(e.properties.method, 'GET');
    assert.equal(e.properties.path, '/api/segments/7');
    assert.equal(e.uri, `http://127.0.0.1:${s.port}/api/segments/7?status=200&x=1`);
    assert.equal(e.callerIpAddress, '127.0.0.1');
    assert.equal(e.properties.userAgent, 'ua-test');
    assert.equal(e.properties.origin, 'https://app.example.test');
    assert.equal(e.resourceId, RESOURCE_ID);
    assert.deepEqual(e.identity?.Claims, { upn: 'alice@example.test' });
    assert.ok(typeof e.durationMs === 'number' && e.durationMs >= 0);
  });

  test('correlationId: traceparent trace id, then x-ms-correlation-request-id, then x-request-id, else a fresh UUID each', async () => {
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const cases: [Record<string, string>, string | RegExp][] = [
      [{ traceparent: `00-${trace}-00f067aa0ba902b7-01`, 'x-ms-correlation-request-id': 'ms-1', 'x-request-id': 'r-1' }, trace],
      [{ traceparent: 'garbage', 'x-ms-correlation-request-id': 'ms-1', 'x-request-id': 'r-1' }, 'ms-1'],
      [{ 'x-request-id': 'r-1' }, 'r-1'],
      [{}, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/],
    ];
    for (const [headers, expected] of cases) {
      const next = s.producer.next();
      await call(s.port, 'GET', '/api/x?status=200', headers);
      const e = await next;
      if (typeof expected === 'string') assert.equal(e.correlationId, expected, JSON.stringify(headers));
      else assert.match(e.correlationId ?? '', expected);
    }
    const a = s.producer.next();
    await call(s.port, 'GET', '/api/x?status=200');
    const b = s.producer.next();
    await call(s.port, 'GET', '/api/x?status=200');
    assert.notEqual((await a).correlationId, (await b).correlationId, 'two requests without headers get two ids');
  });

  test('POST 201: audit, success', async () => {
    const next = s.producer.next();
    await call(s.port, 'POST', '/api/segments?status=201');
    const e = await next;
    assert.equal(e.category, 'Audit');
    assert.equal(e.resultSignature, '201');
    assert.equal(e.resultType, 'Success');
  });

  test('DELETE 404: audit, client error, warning', async () => {
    const next = s.producer.next();
    await call(s.port, 'DELETE', '/api/segments/9?status=404');
    const e = await next;
    assert.equal(e.category, 'Audit');
    assert.equal(e.resultType, 'ClientError');
    assert.equal(e.properties.operationStatus, 'ClientError');
    assert.equal(e.level, 'Warning');
  });

  test('500: failure, error level', async () => {
    const next = s.producer.next();
    await call(s.port, 'GET', '/boom?status=500');
    const e = await next;
    assert.equal(e.resultType, 'Failure');
    assert.equal(e.properties.operationStatus, 'Error');
    assert.equal(e.level, 'Error');
    assert.equal(e.resultSignature, '500');
  });

  test('x-forwarded-for is ignored without trustProxy', async () => {
    const next = s.producer.next();
    await call(s.port, 'GET', '/x', { 'x-forwarded-for': '203.0.113.9' });
    assert.equal((await next).callerIpAddress, '127.0.0.1');
  });
});

describe('apiEventMiddleware personal data options', () => {
  test('trustProxy takes the first x-forwarded-for hop; hash gives the HMAC; claims hashed', async () => {
    const s = await startServer({ trustProxy: true, ipAddress: 'hash', claims: 'hash', salt: SALT, identity: () => ({ Claims: { upn: 'bob@example.test' } }) });
    try {
      const next = s.producer.next();
      await call(s.port, 'GET', '/x', { 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'ci.example.test' });
      const e = await next;
      assert.equal(e.callerIpAddress, hmacHex(SALT, '203.0.113.9'));
      assert.match(e.callerIpAddress!, /^[0-9a-f]{64}$/);
      assert.equal(e.identity?.Claims.upn, hmacHex(SALT, 'bob@example.test'));
      assert.equal(e.uri, 'https://ci.example.test/x');
    } finally {
      s.server.close();
    }
  });

  test('drop removes the IP address and the claims', async () => {
    const s = await startServer({ ipAddress: 'drop', claims: 'drop', identity: () => ({ Claims: { upn: 'bob@example.test' } }) });
    try {
      const next = s.producer.next();
      await call(s.port, 'GET', '/x');
      const e = await next;
      assert.equal('callerIpAddress' in e, false);
      assert.deepEqual(e.identity?.Claims, {});
    } finally {
      s.server.close();
    }
  });

  test('hash without a salt is refused at setup', () => {
    assert.throws(() => apiEventMiddleware({ producer: new FakeProducer(), resourceId: RESOURCE_ID, ipAddress: 'hash' }),
      (e: unknown) => e instanceof InsightLogsError && e.code === 'CONFIG_INVALID' && /salt/.test(e.message));
  });

  test('a bad event goes to onError and the request still succeeds', async () => {
    const s = await startServer({ resourceId: (req: IncomingMessage) => `/SUBSCRIPTIONS/../${req.url ?? ''}` });
    try {
      const failed = new Promise<void>((resolve) => { const t = setInterval(() => { if (s.errors.length > 0) { clearInterval(t); resolve(); } }, 5); });
      assert.equal(await call(s.port, 'GET', '/x'), 200);
      await failed;
      assert.equal(s.producer.events.length, 0);
      assert.equal(s.errors[0]!.code, 'EVENT_INVALID');
      assert.match(s.errors[0]!.message, /resourceId/);
    } finally {
      s.server.close();
    }
  });
});

test('correlationIdFromHeaders skips implausible values: all-zero or version-ff trace ids, spaces, over 128 characters', () => {
  const uuid = /^[0-9a-f-]{36}$/;
  assert.match(correlationIdFromHeaders({ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }), uuid);
  assert.match(correlationIdFromHeaders({ traceparent: `ff-${'a'.repeat(32)}-00f067aa0ba902b7-01` }), uuid);
  assert.equal(correlationIdFromHeaders({ traceparent: `00-${'A'.repeat(32)}-00F067AA0BA902B7-01` }), 'a'.repeat(32), 'upper-case hex is read as lower case');
  assert.match(correlationIdFromHeaders({ 'x-request-id': 'has space' }), uuid);
  assert.match(correlationIdFromHeaders({ 'x-request-id': 'x'.repeat(129) }), uuid);
  assert.equal(correlationIdFromHeaders({ 'x-request-id': ['first', 'second'] as unknown as string }), 'first');
});
