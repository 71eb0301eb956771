import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyUploadError } from './classify.js';

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] });
const rest = (statusCode: number, h: Record<string, string> = {}, code = 'Code', message = 'msg') => ({ statusCode, code, message, response: { status: statusCode, headers: headers(h) } });

test('400 is permanent, 413 means split', () => {
  assert.equal(classifyUploadError(rest(400, {}, 'InvalidPayload', 'row 3 is bad')).kind, 'refused');
  assert.match((classifyUploadError(rest(400, {}, 'InvalidPayload', 'row 3 is bad')) as { reason: string }).reason, /HTTP 400\): InvalidPayload: row 3 is bad/);
  assert.equal(classifyUploadError(rest(413)).kind, 'too-large');
});

test('429 honours retry-after (seconds, ms headers); 5xx and transport errors are retryable', () => {
  const t = classifyUploadError(rest(429, { 'retry-after': '7' }));
  assert.ok(t.kind === 'retryable' && t.retryAfterMs === 7000 && !t.needsOperator);
  const ms = classifyUploadError(rest(429, { 'retry-after-ms': '1500' }));
  assert.ok(ms.kind === 'retryable' && ms.retryAfterMs === 1500);
  assert.ok(classifyUploadError(rest(503)).kind === 'retryable');
  assert.ok(classifyUploadError(rest(500)).kind === 'retryable');
  const conn = classifyUploadError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
  assert.ok(conn.kind === 'retryable' && /ECONNREFUSED/.test(conn.reason));
});

test('401/403/404 are retryable but call for an operator', () => {
  for (const status of [401, 403, 404]) {
    const f = classifyUploadError(rest(status));
    assert.ok(f.kind === 'retryable' && f.needsOperator, `HTTP ${status}`);
  }
  assert.match((classifyUploadError(rest(403)) as { reason: string }).reason, /Monitoring Metrics Publisher/);
});
