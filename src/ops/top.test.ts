import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopModel, renderTop, sortRows, topJson, type TopSample } from './top.js';
import { lastErrorsOfHealth } from '../cli/commands/top.js';
import { clientIdWithMetricsPort, metricsPortOfClientId, metricsUrlOfMember } from '../metrics/advertise.js';
import type { DestinationMetrics } from './metrics-scrape.js';

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);
const categoryOfTopic = (t: string): string => (t === 'a' ? 'audit' : 'operational');

function sample(atMs: number, metrics: Record<string, DestinationMetrics>, lag: Record<string, [number, number]>, ends: [number, number], members = 1): TopSample {
  return {
    atMs,
    metrics: new Map(Object.entries(metrics)),
    lastErrors: new Map([['blob', 'SINK_UNAVAILABLE: blob storage unreachable']]),
    topicEnds: new Map([['a', BigInt(ends[0])], ['o', BigInt(ends[1])]]),
    groups: new Map(Object.entries(lag).map(([d, [a, o]]) => [d, { state: members ? 'Stable' : 'Empty', description: members ? 'running (1 forwarder)' : 'stopped (no forwarder running)', members, lagByTopic: new Map([['a', BigInt(a)], ['o', BigInt(o)]]) }])),
    forwarders: { ok: ['http://127.0.0.1:9464/metrics'], failed: [] },
  };
}

const running = { pipelines: { running: 1 } };

test('rates over the last refresh, lag per category and its trend, dead letters of the last minute by code', () => {
  const model = new TopModel({ intervalMs: 2000, categoryOfTopic });
  model.add(sample(T0, { dir: { ...running, recordsIn: { a: 100, o: 300 }, delivered: 400, bytesOut: 40_000, retries: 0, deadLetteredByCode: { PATH_UNSAFE: 1 }, deadLettered: 1, lastSuccessMs: T0 } }, { dir: [0, 10] }, [1000, 3000]));
  model.add(sample(T0 + 2000, { dir: { ...running, recordsIn: { a: 120, o: 380 }, delivered: 500, bytesOut: 50_000, retries: 2, deadLetteredByCode: { PATH_UNSAFE: 1, DECODE_FAILED: 3 }, deadLettered: 4, lastSuccessMs: T0 + 1900 } }, { dir: [0, 30] }, [1020, 3080]));
  const view = model.view()!;
  assert.deepEqual(view.header.publishRates.map((p) => [p.category, p.perSec]), [['audit', 10], ['operational', 40]]);
  const row = view.rows[0]!;
  assert.equal(row.inPerSec, 50);
  assert.equal(row.outPerSec, 50);
  assert.equal(row.bytesPerSec, 5000);
  assert.equal(row.retriesPerSec, 1);
  assert.deepEqual(row.lag, { audit: 0, operational: 30 });
  assert.equal(row.lagTrendPerSec, 10);
  assert.deepEqual(row.deadLetteredLastMinuteByCode, { DECODE_FAILED: 3 });
  assert.equal(row.state, 'retrying');
  assert.equal(row.severity, 'warn');
});

test('states: failing, stalled, crashed, no forwarder are red; a healthy one is not', () => {
  const model = new TopModel({ intervalMs: 1000, categoryOfTopic });
  const metrics = (t: number): Record<string, DestinationMetrics> => ({
    blob: { ...running, delivered: 10, lastSuccessMs: T0 - 5000, lastErrorMs: t - 100 },
    slow: { ...running, delivered: 10, lastSuccessMs: T0 - 120_000 },
    crashy: { pipelines: { running: 0, crashed: 1 }, delivered: 5 },
    ok: { ...running, delivered: t - T0, recordsIn: { a: t - T0 }, lastSuccessMs: t },
  });
  model.add(sample(T0, metrics(T0), { blob: [5, 5], slow: [50, 0], crashy: [0, 0], ok: [0, 0], gone: [7, 0] }, [0, 0]));
  model.add(sample(T0 + 1000, metrics(T0 + 1000), { blob: [9, 9], slow: [60, 0], crashy: [0, 0], ok: [0, 0], gone: [8, 0] }, [0, 0], 1));
  const rows = new Map(model.view()!.rows.map((r) => [r.destination, r]));
  assert.equal(rows.get('blob')!.state, 'failing');
  assert.equal(rows.get('blob')!.lastError, 'SINK_UNAVAILABLE: blob storage unreachable');
  assert.equal(rows.get('slow')!.state, 'stalled');
  assert.equal(rows.get('crashy')!.state, 'crashed');
  assert.equal(rows.get('ok')!.state, 'running');
  assert.equal(rows.get('ok')!.severity, 'ok');
  for (const name of ['blob', 'slow', 'crashy']) assert.equal(rows.get(name)!.severity, 'error', name);

  const noForwarder = new TopModel({ intervalMs: 1000, categoryOfTopic });
  noForwarder.add(sample(T0, {}, { gone: [8, 0] }, [0, 0], 0));
  assert.deepEqual([noForwarder.view()!.rows[0]!.state, noForwarder.view()!.rows[0]!.severity], ['no forwarder', 'error']);
});

test('the screen: red rows only with colour, cut to the width, sorted, paused shown', () => {
  const model = new TopModel({ intervalMs: 1000, categoryOfTopic });
  model.add(sample(T0, { blob: { ...running, delivered: 1, lastErrorMs: T0 } }, { blob: [3, 4] }, [0, 0]));
  model.add(sample(T0 + 1000, { blob: { ...running, delivered: 1, lastErrorMs: T0 + 900 }, ok: { ...running, delivered: 5 } }, { blob: [3, 4], ok: [0, 0] }, [0, 0]));
  const view = model.view()!;
  const options = { width: 80, height: 20, sort: 'state' as const, descending: false, paused: true };
  const colored = renderTop(view, { ...options, color: true });
  const plain = renderTop(view, { ...options, color: false });
  assert.ok(colored.find((l) => l.includes('blob'))!.startsWith('\x1b[31mblob '), 'the failing row is red');
  assert.ok(plain.every((l) => !l.includes('\x1b')), 'no escapes without colour');
  assert.ok(plain.every((l) => [...l].length <= 80), 'every line fits the width');
  assert.match(plain[0]!, / — PAUSED — /);
  assert.match(plain.find((l) => l.startsWith('DESTINATION'))!, /STATE↓/);
  assert.deepEqual(sortRows(view.rows, 'state', false).map((r) => r.destination), ['blob', 'ok']);
  assert.deepEqual(sortRows(view.rows, 'destination', true).map((r) => r.destination), ['ok', 'blob']);
  const json = topJson(view) as { destinations: { destination: string; lag: Record<string, number>; lastErrorTime: string | null }[] };
  assert.deepEqual(json.destinations.find((d) => d.destination === 'blob')!.lag, { audit: 3, operational: 4 });
  assert.equal(json.destinations.find((d) => d.destination === 'blob')!.lastErrorTime, new Date(T0 + 900).toISOString());
});

test('more destinations than the terminal has lines: the screen keeps its height and its title, and says how many are cut', () => {
  const model = new TopModel({ intervalMs: 1000, categoryOfTopic });
  const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`d${String(i).padStart(2, '0')}`, { ...running, delivered: i }]));
  const lags = Object.fromEntries(Object.keys(many).map((name) => [name, [0, 0] as [number, number]]));
  model.add(sample(T0, many, lags, [0, 0]));
  model.add(sample(T0 + 1000, many, lags, [0, 0]));
  for (const height of [10, 20, 41, 43, 44, 60]) {
    const screen = renderTop(model.view()!, { width: 120, height, sort: 'destination', descending: false, paused: false, color: false });
    assert.ok(screen.length <= height, `height ${height}: ${screen.length} lines`);
    assert.match(screen[0]!, /^insight-logs top — /);
    const shown = screen.filter((l) => /^d\d\d /.test(l)).length;
    const cut = /^… (\d+) more/.exec(screen.find((l) => l.startsWith('…')) ?? '');
    assert.equal(shown + Number(cut?.[1] ?? 0), 40, `height ${height}: every destination shown or counted`);
  }
});

test('forwarders advertise their metrics port in the client id; top reads it back', () => {
  assert.equal(clientIdWithMetricsPort('insight-logs', 9464), 'insight-logs.metrics-9464');
  assert.equal(clientIdWithMetricsPort('insight-logs.metrics-1', 9464), 'insight-logs.metrics-9464');
  assert.equal(metricsPortOfClientId('insight-logs.metrics-9464'), 9464);
  assert.equal(metricsPortOfClientId('insight-logs'), undefined);
  assert.equal(metricsPortOfClientId('x.metrics-70000'), undefined);
  assert.equal(metricsUrlOfMember({ clientId: 'insight-logs.metrics-9464', clientHost: '/10.0.0.5' }), 'http://10.0.0.5:9464/metrics');
  assert.equal(metricsUrlOfMember({ clientId: 'insight-logs.metrics-9464', clientHost: '/::1' }), 'http://[::1]:9464/metrics');
  assert.equal(metricsUrlOfMember({ clientId: 'insight-logs', clientHost: '/10.0.0.5' }), undefined);
});

test('last errors from /healthz, one forwarder or --workers', () => {
  assert.deepEqual([...lastErrorsOfHealth({ detail: { blob: { state: 'running', lastError: 'boom' }, dir: { state: 'running' }, hub: { state: 'broken', problem: 'secret missing' } } })], [['blob', 'boom'], ['hub', 'secret missing']]);
  assert.deepEqual([...lastErrorsOfHealth({ detail: { 'worker-0': { healthy: true, detail: { blob: { lastError: 'w0' } } } } })], [['blob', 'w0']]);
  assert.deepEqual([...lastErrorsOfHealth(undefined)], []);
});
