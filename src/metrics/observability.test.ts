/**
 * The metric names are defined once (names.ts) and everything else agrees with them: every
 * metric the forwarder and the producer SDK export follows Prometheus naming and has a
 * dashboard panel; the dashboard and the rules use no name that does not exist; the on-call
 * guide lists every metric and has a runbook entry for every alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardQueries, metricNamesIn, rules } from '../../testkit/observability.js';
import { packageRoot } from '../util/package-root.js';
import { ForwarderMetrics } from './metrics.js';
import { FORWARDER_METRICS, PRODUCER_METRICS } from './names.js';
import { ProducerMetrics } from './producer-metrics.js';

const root = packageRoot();

/** Every metric family the two registries export, with its type (process metrics included). */
async function exported(): Promise<{ name: string; type: string; help: string }[]> {
  const forwarder = await new ForwarderMetrics().registry.getMetricsAsJSON();
  const producer = await new ProducerMetrics().registry.getMetricsAsJSON();
  return [...forwarder, ...producer].map((m) => ({ name: m.name, type: String(m.type), help: m.help }));
}

/** The series names a family shows up as (a histogram as _bucket, _sum, _count). */
const seriesOf = (m: { name: string; type: string }): string[] => (m.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name]);

test('names.ts is what the registries export, with conventional names and help texts', async () => {
  const all = await exported();
  const byName = new Map(all.map((m) => [m.name, m]));
  for (const def of [...Object.values(FORWARDER_METRICS), ...Object.values(PRODUCER_METRICS)]) {
    const m = byName.get(def.name);
    assert.ok(m, `${def.name} is defined but not exported`);
    assert.equal(m.type, def.type, def.name);
    assert.equal(m.help, def.help, def.name);
    assert.match(def.help, /^[A-Z].*\.$/, `${def.name}: help is a sentence`);
  }
  // prom-client's process metrics keep their standard names (three of its gauges end in
  // _total: nodejs_active_handles_total …); only our own names are held to the conventions.
  const ours = new Set([...Object.values(FORWARDER_METRICS), ...Object.values(PRODUCER_METRICS)].map((d) => d.name));
  for (const m of all) {
    assert.match(m.name, /^insight_logs_[a-z0-9_]+$/, `${m.name}: prefix and snake_case`);
    if (!ours.has(m.name)) continue;
    if (m.type === 'counter') assert.match(m.name, /_total$/, `${m.name}: a counter ends in _total`);
    else assert.doesNotMatch(m.name, /_total$/, `${m.name}: only counters end in _total`);
    assert.doesNotMatch(m.name, /_(ms|milliseconds|kb|mb|percent)(_|$)/, `${m.name}: base units (seconds, bytes)`);
  }
});

test('every exported metric has a dashboard panel', async () => {
  const used = new Set(dashboardQueries(root).flatMap((q) => metricNamesIn(q.expr)));
  const missing = (await exported()).filter((m) => !seriesOf(m).some((s) => used.has(s))).map((m) => m.name);
  assert.deepEqual(missing, [], 'metrics without a panel in the dashboard');
});

test('the dashboard and the rules only use names that exist (exported or recorded)', async () => {
  const known = new Set((await exported()).flatMap(seriesOf));
  const all = rules(root);
  for (const r of all) if (r.record) known.add(r.record);
  const unknown: string[] = [];
  for (const { panel, expr } of dashboardQueries(root)) for (const n of metricNamesIn(expr)) if (!known.has(n)) unknown.push(`panel "${panel}": ${n}`);
  for (const r of all) for (const n of metricNamesIn(r.expr)) if (!known.has(n)) unknown.push(`rule ${r.record ?? r.alert}: ${n}`);
  assert.deepEqual(unknown, []);
  assert.ok(known.size > 30, 'the registries were read');
});

test('docs/operations.md lists every metric and has a runbook entry per alert', () => {
  const guide = readFileSync(join(root, 'docs/operations.md'), 'utf8');
  for (const def of [...Object.values(FORWARDER_METRICS), ...Object.values(PRODUCER_METRICS)]) assert.ok(guide.includes(`\`${def.name}\``), `${def.name} is not in docs/operations.md`);
  const alerts = rules(root).filter((r) => r.alert).map((r) => r.alert!);
  assert.equal(alerts.length, 6);
  for (const alert of alerts) {
    const section = new RegExp(`^### ${alert}\\n[\\s\\S]*?\\*\\*Means\\*\\*[\\s\\S]*?\\*\\*Check\\*\\*[\\s\\S]*?\\*\\*Do\\*\\*`, 'm');
    assert.match(guide, section, `docs/operations.md: "### ${alert}" with Means, Check and Do`);
  }
});

test('metricNamesIn: metrics and recorded names, not functions or labels', () => {
  assert.deepEqual(metricNamesIn('sum by (destination) (rate(insight_logs_records_in_total{destination=~"x"}[5m])) > 0'), ['insight_logs_records_in_total']);
  assert.deepEqual(metricNamesIn('deriv(destination:insight_logs_consumer_lag_records:sum[5m]) and on (destination) up'), ['destination:insight_logs_consumer_lag_records:sum']);
});
