/**
 * The loganalytics sink through the real @azure/monitor-ingestion SDK against the Logs
 * Ingestion API TEST DOUBLE (a child process): the shared sink contract, then what is
 * particular to Log Analytics — the official flat columns (and no undeclared ones), ≤ 1 MB
 * requests, throttling with retry-after, oversize and refused rows, token audience and expiry,
 * unknown rule and stream, insecure endpoints.
 * Read-back is the double's memory (the real service has no read API in this SDK).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { hasCode } from '../src/errors.js';
import { toSinkRecord } from '../src/forwarder/sink-record.js';
import type { InsightEvent } from '../src/events/types.js';
import { silentLogger } from '../src/logging.js';
import type { Sink, SinkRecord } from '../src/sinks/sink.js';
import { logAnalyticsSinkType } from '../src/sinks/loganalytics/sink.js';
import { gzipSync } from 'node:zlib';
import { DEFAULT_STREAMS } from '../src/sinks/loganalytics/config.js';
import { logAnalyticsStreamDeclarations } from '../src/azure/templates.js';
import { rowToEvent } from '../src/sinks/loganalytics/request-builder.js';
import { mintTestJwt } from '../testkit/bearer-token.js';
import { MONITOR_AUDIENCE, startLogAnalyticsDouble, uniqueRuleId, type LogAnalyticsDouble } from './helpers/loganalytics.js';
import { apiEventWithId, idOf, makeSinkRecords } from './helpers/records.js';
import { sinkContract } from './helpers/sink-contract.js';

const TOKEN_ENV = 'INSIGHT_LOGS_TEST_LA_TOKEN';
const STREAMS = DEFAULT_STREAMS;

let la: LogAnalyticsDouble;
before(async () => {
  la = await startLogAnalyticsDouble();
});
after(async () => {
  await la?.stop();
});

function createSink(ruleId: string, options: { token?: string; streams?: Record<string, string> } = {}): Sink {
  const settings = logAnalyticsSinkType.parseSettings(
    { endpoint: la.endpoint, ruleId, tokenEnv: TOKEN_ENV, allowInsecure: true, ...(options.streams ? { streams: options.streams } : {}) },
    'destinations[0]',
  );
  return logAnalyticsSinkType.create(settings, {
    name: 'it-loganalytics',
    categories: ['audit', 'operational'],
    logger: silentLogger,
    env: { [TOKEN_ENV]: options.token ?? la.token },
  });
}

async function readBack(ruleId: string, category: 'audit' | 'operational'): Promise<Record<string, unknown>[]> {
  return (await la.rows(ruleId, STREAMS[category])).map(rowToEvent);
}

function record(event: InsightEvent, offset = 0): SinkRecord {
  return toSinkRecord(event, { topic: 'insight-logs-audit', partition: 0, offset: String(offset) });
}

let contractRule: string;
sinkContract('loganalytics (test double)', {
  async create() {
    contractRule = await la.addRule(Object.values(STREAMS));
    return createSink(contractRule);
  },
  readBack: (category) => readBack(contractRule, category),
  makeUnavailable: () => la.fail(1000),
  restore: () => la.clearFaults(),
  // Every column the sink sent is one the template declares: nothing Log Analytics would drop.
  cleanup: () => la.assertNoColumnProblems(contractRule),
});

describe('loganalytics sink specifics', () => {
  let sink: Sink;
  let ruleId: string;
  before(async () => {
    ruleId = await la.addRule(Object.values(STREAMS));
    sink = createSink(ruleId);
  });
  after(async () => {
    await sink?.close();
    await la?.clearFaults();
  });

  test('rows carry the official flat columns (CallerIPAddress, Method, CorrelationId …), none undeclared', async () => {
    const id = randomUUID();
    const event = {
      ...apiEventWithId(id, { audit: true }),
      identity: { Authorization: { UserRole: 'Admin', RequiredRoles: ['Admin', 'Contributor'] }, Claims: { oid: 'object-1', upn: 'a@contoso.test' } },
    } as InsightEvent;
    assert.equal((await sink.send([record(event)])).status, 'delivered');
    const row = (await la.rows(ruleId, STREAMS.audit)).find((r) => typeof r.Uri === 'string' && r.Uri.includes(id));
    assert.ok(row, 'row not found');
    assert.deepEqual(Object.keys(row).sort(), [
      'CIResourceId', 'CallerIPAddress', 'Category', 'Claims', 'CorrelationId', 'DurationMs', 'EventType', 'Level', 'Method', 'OperationName',
      'OperationStatus', 'Path', 'RequiredRoles', 'ResultSignature', 'ResultType', 'TimeGenerated', 'Uri', 'UserAgent', 'UserPrincipalName', 'UserRole',
    ]);
    const e = event as unknown as Record<string, any>;
    assert.equal(row.TimeGenerated, e.time);
    assert.equal(row.CIResourceId, e.resourceId);
    assert.equal(row.CallerIPAddress, '10.0.0.1');
    assert.equal(row.Method, 'POST');
    assert.equal(row.DurationMs, 42);
    assert.equal(row.CorrelationId, e.correlationId);
    assert.equal(row.RequiredRoles, '["Admin","Contributor"]');
    assert.equal(row.UserPrincipalName, 'a@contoso.test');
    assert.deepEqual(rowToEvent(row), e, 'a row maps back to the very event');
    await la.assertNoColumnProblems(ruleId);
  });

  test('a column the stream does not declare is reported (Log Analytics would drop it silently), and a test fails on it', async () => {
    // A DCR whose audit stream lacks Uri and declares DurationMs as a string: what a stale DCR looks like.
    const stale = logAnalyticsStreamDeclarations();
    const audit = stale[STREAMS.audit]!;
    stale[STREAMS.audit] = { columns: audit.columns.filter((c) => c.name !== 'Uri').map((c) => (c.name === 'DurationMs' ? { ...c, type: 'string' } : c)) };
    const rule = await la.addRule(stale);
    const staleSink = createSink(rule);
    try {
      assert.equal((await staleSink.send(makeSinkRecords(2, { audit: true }))).status, 'delivered', 'the service answers 204 all the same');
      const problems = (await la.problems()).filter((p) => p.ruleId === rule);
      assert.deepEqual(problems.map((p) => `${p.column}:${p.problem}`).sort(), ['DurationMs:mistyped', 'Uri:undeclared']);
      assert.ok((await la.rows(rule, STREAMS.audit)).every((r) => !('Uri' in r)), 'undeclared columns are not stored');
      await assert.rejects(la.assertNoColumnProblems(rule), /Uri/);
    } finally {
      await staleSink.close();
    }
  });

  test('a 5,000-row batch is split into several requests, each within 1 MB', async () => {
    const rule = await la.addRule(Object.values(STREAMS));
    const big = createSink(rule);
    try {
      // Padded user agents make ~1 KB rows, so 5,000 rows are ~5 MB of JSON.
      const batch = makeSinkRecords(5000, { audit: false }).map((r, i) => {
        const event = r.event as unknown as Record<string, any>;
        return record({ ...event, properties: { ...event.properties, userAgent: `agent-${'x'.repeat(600)}` } } as InsightEvent, i);
      });
      assert.equal((await big.send(batch)).status, 'delivered');
      const requests = (await la.requests()).filter((r) => r.ruleId === rule && r.status === 204);
      assert.ok(requests.length >= 5, `expected at least 5 requests, got ${requests.length}`);
      for (const r of requests) {
        assert.ok(r.jsonBytes <= 1_000_000, `request of ${r.jsonBytes} bytes of JSON`);
        assert.ok(r.wireBytes <= 1_048_576, `request of ${r.wireBytes} bytes on the wire`);
      }
      assert.equal(requests.reduce((n, r) => n + r.rows, 0), 5000);
      const ids = new Set((await readBack(rule, 'operational')).map(idOf));
      assert.equal(batch.filter((r) => !ids.has(idOf(r.event))).length, 0, 'rows missing');
      const totalJson = requests.reduce((n, r) => n + r.jsonBytes, 0);
      const totalWire = requests.reduce((n, r) => n + r.wireBytes, 0);
      console.log(`loganalytics: 5,000 rows = ${requests.length} requests, ${(totalJson / 1e6).toFixed(2)} MB JSON, ${(totalWire / 1e6).toFixed(2)} MB gzip on the wire`);
    } finally {
      await big.close();
    }
  });

  test('429 with Retry-After is retryable with retryAfterMs ≥ 1000, then delivers', async () => {
    await la.throttle(3);
    const batch = makeSinkRecords(3, { audit: true });
    const outcome = await sink.send(batch);
    await la.clearFaults();
    assert.equal(outcome.status, 'retryable');
    assert.ok(outcome.status === 'retryable' && (outcome.retryAfterMs ?? 0) >= 1000, `retryAfterMs ${outcome.status === 'retryable' ? outcome.retryAfterMs : '-'}`);
    assert.equal((await sink.send(batch)).status, 'delivered');
  });

  test('a value over 64 KB lands cut with a marker (counted); a row still over 1 MB is rejected RECORD_TOO_LARGE; the rest lands', async () => {
    const [small, other, third] = makeSinkRecords(3, { audit: true });
    const base = small!.event as unknown as Record<string, any>;
    const long = record({ ...base, uri: `${base.uri}&pad=${'p'.repeat(100_000)}` } as InsightEvent, 4);
    const big = (c: string) => c.repeat(70_000);
    // 16 string columns of 70 KB: each is cut to 64 KB and the row is still over 1 MB.
    const huge = record({
      ...(third!.event as object), operationName: big('o'), resultSignature: big('r'), callerIpAddress: big('c'), uri: `https://h.test/${big('u')}`,
      properties: { ...(third!.event.properties as object), userAgent: big('a'), path: big('p'), origin: big('g'), tenantId: big('t'), tenantName: big('n'), callerObjectId: big('b'), instanceId: big('i') },
      identity: { Authorization: { UserRole: big('R'), RequiredRoles: [big('Q')] }, Claims: { aud: big('A'), upn: big('U') } },
    } as unknown as InsightEvent, 5);
    const outcome = await sink.send([huge, long, other!]);
    assert.equal(outcome.status, 'delivered');
    assert.ok(outcome.status === 'delivered');
    assert.equal(outcome.rejected?.length, 1);
    assert.equal(outcome.truncatedValues, 1);
    assert.equal(outcome.rejected![0]!.code, 'RECORD_TOO_LARGE');
    assert.equal(outcome.rejected![0]!.record, huge);
    const rows = await la.rows(ruleId, STREAMS.audit);
    const cut = rows.find((r) => String(r.CorrelationId) === (long.event as { correlationId?: string }).correlationId);
    assert.ok(cut && /…\[truncated by insight-logs: \d+ bytes\]$/.test(String(cut.Uri)), 'the long value landed, cut with the marker');
    const ids = new Set(rows.map(rowToEvent).map(idOf));
    assert.ok(ids.has(idOf(other!.event)));
  });

  test('a row the service refuses (400) is dead-lettered alone with the service message; the others land', async () => {
    const batch = makeSinkRecords(20, { audit: true });
    const bad = { ...(batch[7]!.event as unknown as Record<string, unknown>) };
    delete bad.time; // → no TimeGenerated: the double answers 400 like the service does for a bad row
    batch[7] = record(bad as unknown as InsightEvent, 7);
    const before = (await la.requests()).length;
    const outcome = await sink.send(batch);
    assert.equal(outcome.status, 'delivered');
    assert.ok(outcome.status === 'delivered');
    assert.deepEqual(outcome.rejected?.map((r) => r.record), [batch[7]]);
    assert.equal(outcome.rejected![0]!.code, 'DESTINATION_REFUSED');
    assert.match(outcome.rejected![0]!.reason, /HTTP 400.*TimeGenerated/);
    const ids = new Set((await readBack(ruleId, 'audit')).map(idOf));
    for (const [i, r] of batch.entries()) if (i !== 7) assert.ok(ids.has(idOf(r.event)), `record ${i} missing`);
    const used = (await la.requests()).length - before;
    assert.ok(used <= 12, `narrowing one bad row out of 20 took ${used} requests`);
  });

  test('a batch the service refuses entirely fails (dead-letter) after a few requests', async () => {
    const batch = makeSinkRecords(16, { audit: true }).map((r, i) => {
      const e = { ...(r.event as unknown as Record<string, unknown>) };
      delete e.time;
      return record(e as unknown as InsightEvent, i);
    });
    const before = (await la.requests()).length;
    const outcome = await sink.send(batch);
    assert.equal(outcome.status, 'failed');
    assert.ok(outcome.status === 'failed' && outcome.code === 'DESTINATION_REFUSED');
    assert.ok((await la.requests()).length - before <= 3, 'systematic refusal must not cost a request per row');
  });

  test('a token for another audience is refused (401): retryable, the healthcheck names the audience, no token printed', async () => {
    const wrongToken = mintTestJwt({ aud: 'https://storage.azure.com/' });
    const wrong = createSink(ruleId, { token: wrongToken });
    try {
      const outcome = await wrong.send(makeSinkRecords(2, { audit: true }));
      assert.equal(outcome.status, 'retryable');
      assert.ok(outcome.status === 'retryable' && /401/.test(outcome.error.message) && /audience/.test(outcome.error.message), outcome.status === 'retryable' ? outcome.error.message : '');
      const health = await wrong.healthcheck();
      assert.ok(!health.ok && /401/.test(health.problem) && /monitor\.azure\.com/.test(health.problem), !health.ok ? health.problem : 'ok');
      assert.ok(!health.ok && !health.problem.includes(wrongToken));
      assert.ok(outcome.status === 'retryable' && !outcome.error.message.includes(wrongToken));
    } finally {
      await wrong.close();
    }
  });

  test('an expired token is refused (401), retryable with the reason: nothing dead-lettered', async () => {
    const expired = createSink(ruleId, { token: mintTestJwt({ aud: MONITOR_AUDIENCE }, { nowMs: Date.now() - 2 * 3_600_000 }) });
    try {
      const outcome = await expired.send(makeSinkRecords(2, { audit: true }));
      assert.equal(outcome.status, 'retryable');
      assert.ok(outcome.status === 'retryable' && /401.*expired/.test(outcome.error.message), outcome.status === 'retryable' ? outcome.error.message : '');
    } finally {
      await expired.close();
    }
  });

  test('not a JWT at all is refused (401)', async () => {
    const opaque = createSink(ruleId, { token: 'not-a-jwt-123' });
    try {
      const outcome = await opaque.send(makeSinkRecords(1, { audit: true }));
      assert.ok(outcome.status === 'retryable' && /401/.test(outcome.error.message));
    } finally {
      await opaque.close();
    }
  });

  test('an unknown rule immutable id is retryable (404) and the healthcheck says to check ruleId', async () => {
    const lost = createSink(uniqueRuleId());
    try {
      assert.equal((await lost.send(makeSinkRecords(1, { audit: true }))).status, 'retryable');
      const health = await lost.healthcheck();
      assert.ok(!health.ok && /404.*ruleId/.test(health.problem), !health.ok ? health.problem : 'ok');
    } finally {
      await lost.close();
    }
  });

  test('the double refuses a body over 1 MB uncompressed even when its gzip is small, as the service does', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ({ TimeGenerated: new Date().toISOString(), OperationName: `op-${i}`, Uri: `https://x.test/${'a'.repeat(600)}` }));
    const json = Buffer.from(JSON.stringify(rows));
    const body = gzipSync(json);
    assert.ok(json.length > 1_048_576 && body.length < 100_000, `${json.length} bytes JSON, ${body.length} gzip`);
    const res = await fetch(`${la.endpoint}/dataCollectionRules/${ruleId}/streams/${STREAMS.audit}?api-version=2023-01-01`, {
      method: 'POST', body, headers: { authorization: `Bearer ${la.token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /uncompressed/);
  });

  test('a 413 for the uncompressed size (a double with a 20 KB limit) is met by halving: everything lands, a lone oversize row is dead-lettered', async () => {
    const small = await startLogAnalyticsDouble({ maxBodyBytes: 20_000 });
    try {
      const rule = await small.addRule();
      const settings = logAnalyticsSinkType.parseSettings({ endpoint: small.endpoint, ruleId: rule, tokenEnv: TOKEN_ENV, allowInsecure: true }, 'destinations[0]');
      const tight = logAnalyticsSinkType.create(settings, { name: 'it-la-413', categories: ['audit', 'operational'], logger: silentLogger, env: { [TOKEN_ENV]: small.token } });
      try {
        // ~40 rows of ~1.2 KB: ~50 KB of JSON, a few KB of gzip — under the limit as sent, over it uncompressed.
        const batch = makeSinkRecords(40, { audit: true });
        const base = batch[0]!.event as unknown as Record<string, any>;
        const lone = record({ ...base, uri: `${base.uri}&pad=${'z'.repeat(30_000)}` } as InsightEvent, 99);
        const outcome = await tight.send([...batch, lone]);
        assert.ok(outcome.status === 'delivered');
        assert.deepEqual(outcome.rejected?.map((r) => [r.record, r.code]), [[lone, 'RECORD_TOO_LARGE']]);
        const requests = await small.requests();
        assert.ok(requests.some((r) => r.status === 413 && r.wireBytes < 20_000), 'a request refused for its uncompressed size');
        const ids = new Set((await small.rows(rule, STREAMS.audit)).map(rowToEvent).map(idOf));
        for (const r of batch) assert.ok(ids.has(idOf(r.event)), 'a record is missing');
        await small.assertNoColumnProblems();
      } finally {
        await tight.close();
      }
    } finally {
      await small.stop();
    }
  });

  test('an unknown stream is retryable (config can be fixed) and the healthcheck names it', async () => {
    const lost = createSink(ruleId, { streams: { audit: 'Custom-NoSuchStream', operational: STREAMS.operational } });
    try {
      const outcome = await lost.send(makeSinkRecords(2, { audit: true }));
      assert.equal(outcome.status, 'retryable');
      const health = await lost.healthcheck();
      assert.ok(!health.ok && /Custom-NoSuchStream.*404/.test(health.problem), !health.ok ? health.problem : 'ok');
    } finally {
      await lost.close();
    }
  });

  test('an http:// endpoint without allowInsecure is refused, naming the path', () => {
    assert.throws(
      () => logAnalyticsSinkType.parseSettings({ endpoint: la.endpoint, ruleId, tokenEnv: TOKEN_ENV }, 'destinations[2]'),
      (err: unknown) => hasCode(err, 'INSECURE_SETTING') && err.message.startsWith('destinations[2].endpoint:'),
    );
  });
});
