import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../../errors.js';
import { buildApiEvent } from '../../events/builders.js';
import { toSinkRecord } from '../../forwarder/sink-record.js';
import { silentLogger } from '../../logging.js';
import { parseLogAnalyticsSettings } from './config.js';
import type { IngestionService } from './service.js';
import { LogAnalyticsSink, logAnalyticsSinkType } from './sink.js';

const settings = parseLogAnalyticsSettings({ endpoint: 'https://dce.example.test', ruleId: `dcr-${'a'.repeat(32)}`, tokenEnv: 'T' }, 'destinations[0]');
const context = { name: 'la', categories: ['audit', 'operational'] as const, logger: silentLogger, env: {} };
const records = (n: number) => Array.from({ length: n }, (_, i) => toSinkRecord(
  buildApiEvent({ resourceId: '/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I', operationName: 'X.Y', method: 'POST', status: 200, uri: `https://h.test/?i=${i}` }),
  { topic: 't', partition: 0, offset: String(i) },
));

/** A fake service refusing (400) any upload containing a row whose Uri ends with one of `bad`. */
function fakeService(bad: Set<string>, probeStatus = 204) {
  const calls: number[] = [];
  const service: IngestionService = {
    async upload(_stream, rows) {
      calls.push(rows.length);
      if (rows.some((r) => bad.has(String(r.Uri)))) throw Object.assign(new Error('bad row'), { statusCode: 400, code: 'InvalidPayload' });
    },
    async probe() { return { status: probeStatus, message: 'x' }; },
    async close() {},
  };
  return { service, calls };
}

test('one refused row among 32 is isolated in a handful of requests', async () => {
  const batch = records(32);
  const { service, calls } = fakeService(new Set(['https://h.test/?i=13']));
  const outcome = await new LogAnalyticsSink(settings, { ...context, categories: [...context.categories] }, service).send(batch);
  assert.ok(outcome.status === 'delivered');
  assert.deepEqual(outcome.rejected?.map((r) => r.record), [batch[13]]);
  assert.equal(outcome.rejected![0]!.code, 'DESTINATION_REFUSED');
  assert.ok(calls.length <= 1 + 2 * 5, `${calls.length} requests`);
});

test('every row refused → failed after three requests', async () => {
  const batch = records(32);
  const { service, calls } = fakeService(new Set(batch.map((r) => (r.event as { uri?: string }).uri!)));
  const outcome = await new LogAnalyticsSink(settings, { ...context, categories: [...context.categories] }, service).send(batch);
  assert.equal(outcome.status, 'failed');
  assert.equal(calls.length, 3);
});

test('healthcheck: 2xx and 400 to the empty probe are usable, 403 is not', async () => {
  for (const [status, ok] of [[204, true], [400, true], [403, false]] as const) {
    const health = await new LogAnalyticsSink(settings, { ...context, categories: [...context.categories] }, fakeService(new Set(), status).service).healthcheck();
    assert.equal(health.ok, ok, `HTTP ${status}`);
    if (!health.ok) assert.match(health.problem, /HTTP 403.*Monitoring Metrics Publisher/);
  }
});

test('a missing token variable is SECRET_MISSING naming the setting', () => {
  assert.throws(() => logAnalyticsSinkType.create(settings, { ...context, categories: [...context.categories] }), (e: unknown) => hasCode(e, 'SECRET_MISSING') && /tokenEnv/.test(e.message));
});

test('a value over 64 KB is delivered cut with a marker and counted in the outcome (never silently)', async () => {
  const sent: Record<string, unknown>[][] = [];
  const service: IngestionService = { async upload(_s, rows) { sent.push(rows); }, async probe() { return { status: 204, message: '' }; }, async close() {} };
  const batch = records(3);
  (batch[1]!.event as { uri?: string }).uri = `https://h.test/?pad=${'p'.repeat(80_000)}`;
  const outcome = await new LogAnalyticsSink(settings, { ...context, categories: [...context.categories] }, service).send(batch);
  assert.equal(outcome.status, 'delivered');
  assert.ok(outcome.status === 'delivered' && outcome.truncatedValues === 1 && outcome.rejected === undefined);
  const uri = String(sent.flat()[1]!.Uri);
  assert.ok(Buffer.byteLength(uri) <= 64_000);
  assert.match(uri, /…\[truncated by insight-logs: \d+ bytes\]$/);
});
