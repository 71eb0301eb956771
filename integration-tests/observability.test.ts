/**
 * deploy/observability checked for real (Debian's `prometheus` package: `promtool` and the
 * server; in .ci/run's package list, skipped with a note when missing):
 * - `promtool check rules` and `promtool test rules` (unit tests of every alert), and a broken
 *   expectation makes `promtool test rules` fail;
 * - a real Prometheus (own config, port and data dir; scrape and evaluation every second)
 *   scraping a running forwarder and a producer (`simulate --metrics-port`): every rule is
 *   healthy, every expression of the dashboard and every recorded series returns data, every
 *   metric an alert selects has data, and InsightLogsDestinationStalled fires for the blob
 *   destination when its Azurite is stopped (not for the dir one) and resolves when it is back.
 *   The rules are loaded with windows of 30 s and `for:` of 5 s instead of minutes
 *   (testkit/observability.ts, shortenedRules); nothing else differs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DASHBOARD_FILE, RULES_FILE, RULE_TESTS_FILE, dashboardQueries, metricNamesIn, rules, shortenedRules } from '../testkit/observability.js';
import { freePort, getServices } from '../testkit/services.js';
import { packageRoot } from '../src/util/package-root.js';
import { startForwarderStack, type ForwarderStack } from './helpers/forwarder-stack.js';

const root = packageRoot();
const hasPrometheus = spawnSync('promtool', ['--version']).status === 0 && spawnSync('prometheus', ['--version']).status === 0;
const NO_PROMETHEUS = 'Debian\'s prometheus package is not installed (apt-get install -y prometheus)';
const WINDOW = '30s';
const FOR = '5s';

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'observability-it-'));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: root, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('promtool: the rules are valid and every alert passes its unit tests', { skip: hasPrometheus ? false : NO_PROMETHEUS }, () => {
  const check = promtool('check', 'rules', RULES_FILE);
  assert.equal(check.status, 0, check.output);
  assert.match(check.output, /SUCCESS: 14 rules found/);
  const unit = promtool('test', 'rules', RULE_TESTS_FILE);
  assert.equal(unit.status, 0, unit.output);
  assert.match(unit.output, /SUCCESS/);
  // Every alert of the rules file is tested there.
  const tested = new Set([...readFileSync(path.join(root, RULE_TESTS_FILE), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
  for (const r of rules(root)) if (r.alert) assert.ok(tested.has(r.alert), `${r.alert} has no promtool unit test`);

  // The unit tests can fail: the same file with one expectation changed.
  const dir = mkdtempSync(path.join(tmp, 'promtool-'));
  writeFileSync(path.join(dir, 'insight-logs.rules.yml'), readFileSync(path.join(root, RULES_FILE)));
  const tests = readFileSync(path.join(root, RULE_TESTS_FILE), 'utf8').replace('../insight-logs.rules.yml', 'insight-logs.rules.yml').replace('destination: archive }', 'destination: local }');
  writeFileSync(path.join(dir, 'broken.test.yml'), tests);
  const broken = spawnSync('promtool', ['test', 'rules', 'broken.test.yml'], { cwd: dir, encoding: 'utf8' });
  assert.notEqual(broken.status, 0, 'a wrong expectation fails promtool test rules');
  assert.match(broken.stdout + broken.stderr, /FAILED/);
});

interface PromResult { metric: Record<string, string>; value: [number, string] }

class Prometheus {
  private child: ChildProcess | undefined;
  private log = '';
  constructor(readonly url: string) {}

  static async start(dir: string, targets: { forwarder: number; producer: number }): Promise<Prometheus> {
    const port = await freePort();
    writeFileSync(path.join(dir, 'rules.yml'), shortenedRules(readFileSync(path.join(root, RULES_FILE), 'utf8'), WINDOW, FOR));
    writeFileSync(path.join(dir, 'prometheus.yml'), `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: insight-logs-forwarder
    static_configs: [{ targets: ['127.0.0.1:${targets.forwarder}'] }]
  - job_name: insight-logs-producer
    static_configs: [{ targets: ['127.0.0.1:${targets.producer}'] }]
`);
    const p = new Prometheus(`http://127.0.0.1:${port}`);
    p.child = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--web.enable-lifecycle',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => { p.log = (p.log + d.toString()).slice(-8000); };
    p.child.stdout!.on('data', keep);
    p.child.stderr!.on('data', keep);
    await p.until('Prometheus ready', async () => (await fetch(`${p.url}/-/ready`).catch(() => undefined))?.ok === true, 30_000);
    return p;
  }

  async api<T>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`${this.url}/api/v1/${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${pathAndQuery}: ${body.error}`);
    return body.data;
  }

  async query(expr: string): Promise<PromResult[]> {
    return (await this.api<{ result: PromResult[] }>(`query?query=${encodeURIComponent(expr)}`)).result;
  }

  async until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      if (await ok().catch(() => false)) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms\nprometheus log:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async firing(alert: string): Promise<Record<string, string>[]> {
    const { alerts } = await this.api<{ alerts: { labels: Record<string, string>; state: string }[] }>('alerts');
    return alerts.filter((a) => a.labels.alertname === alert && a.state === 'firing').map((a) => a.labels);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A dashboard expression as Grafana would send it: the variable set to every destination, the rate interval fixed. */
const asGrafanaSends = (expr: string): string => expr.replace(/\$destination/g, '.+').replace(/\$__rate_interval/g, '30s');

test('a real Prometheus on a running forwarder: every query returns data; DestinationStalled fires when Azurite stops and resolves when it is back', { timeout: 420_000, skip: hasPrometheus ? false : NO_PROMETHEUS }, async () => {
  const { kafkaBrokers } = await getServices();
  let stack: ForwarderStack | undefined;
  let prometheus: Prometheus | undefined;
  try {
    stack = await startForwarderStack(kafkaBrokers, { rate: 40, name: 'prom' });
    const s = stack;
    prometheus = await Prometheus.start(mkdtempSync(path.join(tmp, 'prometheus-')), { forwarder: s.forwarderMetricsPort, producer: s.producerMetricsPort });
    const p = prometheus;
    await p.until('both targets up', async () => {
      const { activeTargets } = await p.api<{ activeTargets: { health: string }[] }>('targets');
      return activeTargets.length === 2 && activeTargets.every((t) => t.health === 'up');
    }, 30_000);
    await p.until('both destinations delivering', async () => (await p.query(`destination:insight_logs_records_out:rate1m{destination=~"${s.blob}|${s.dir}"} > 0`)).length === 2, 90_000);
    await s.publishUndecodable(2); // dead-letter series for the dashboard and the alert

    // promtool's own linter on what the forwarder and the producer serve: nothing about our
    // metrics (prom-client's process gauges named *_total are its standard names, not ours).
    for (const port of [s.forwarderMetricsPort, s.producerMetricsPort]) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      const ours = (lint.stdout + lint.stderr).split('\n').filter((l) => l.trim() && !/^insight_logs_(nodejs|process)_/.test(l));
      assert.deepEqual(ours, [], `promtool check metrics on :${port}`);
    }

    // The blob destination's storage goes away: the alert fires for it (and only it).
    assert.deepEqual(await p.firing('InsightLogsDestinationStalled'), [], 'nothing stalled while delivering');
    await s.azurite.stop();
    const firedAfterMs = await p.until('InsightLogsDestinationStalled firing', async () => (await p.firing('InsightLogsDestinationStalled')).some((l) => l.destination === s.blob), 180_000);
    const firing = await p.firing('InsightLogsDestinationStalled');
    assert.ok(!firing.some((l) => l.destination === s.dir), 'the dir destination keeps delivering: not stalled');
    assert.equal(firing.find((l) => l.destination === s.blob)?.severity, 'page');

    // Now the error and dead-letter series exist too: every expression has data.
    const empty: string[] = [];
    const check = async (): Promise<boolean> => {
      empty.length = 0;
      for (const { panel, expr } of dashboardQueries(root)) if ((await p.query(asGrafanaSends(expr))).length === 0) empty.push(`dashboard "${panel}": ${expr}`);
      for (const r of rules(root)) {
        if (r.record && (await p.query(r.record)).length === 0) empty.push(`recording rule ${r.record}`);
        if (r.alert) for (const name of metricNamesIn(r.expr)) if ((await p.query(name)).length === 0) empty.push(`alert ${r.alert}: ${name}`);
      }
      return empty.length === 0;
    };
    await p.until('every expression returns data', check, 60_000).catch(() => undefined);
    assert.deepEqual(empty, [], `expressions without data (of ${DASHBOARD_FILE} and ${RULES_FILE})`);
    const groups = await p.api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>('rules');
    const unhealthy = groups.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
    assert.deepEqual(unhealthy, [], 'every rule evaluates');
    assert.equal(groups.groups.flatMap((g) => g.rules).length, rules(root).length);

    // Storage back: the chunk is resent (backoff up to 30 s), deliveries resume, the alert resolves.
    await s.azurite.start();
    const resolvedAfterMs = await p.until('InsightLogsDestinationStalled resolved', async () => !(await p.firing('InsightLogsDestinationStalled')).some((l) => l.destination === s.blob), 120_000);
    process.stdout.write(`# DestinationStalled (windows ${WINDOW}, for ${FOR}): fired ${Math.round(firedAfterMs / 1000)} s after Azurite stopped, resolved ${Math.round(resolvedAfterMs / 1000)} s after it started again\n`);
  } finally {
    await prometheus?.stop();
    await stack?.close();
  }
});
