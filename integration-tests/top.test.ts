/**
 * `insight-logs top` against a running forwarder (the real binary, a blob destination on a
 * private Azurite and a dir destination, `simulate` publishing about 40 events/s):
 * - `--once --output json`: publish and delivery rates near the simulator's rate, lag close to
 *   what `status` reports at the same moment, the forwarder found without `--metrics`
 *   (advertised in its consumer group), dead-lettered records counted by code;
 * - in tmux: the screen shows both destinations, keys sort and pause, a resize redraws at the
 *   new width, stopping Azurite turns the blob row red within one refresh of the forwarder
 *   reporting the failure, NO_COLOR draws no colour, Ctrl-C exits 0 and restores the screen.
 * With TOP_CAPTURE=<file>, the plain screen (tmux capture-pane) is written there (docs/top-capture.txt).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getServices } from '../testkit/services.js';
import { runCli } from './helpers/cli.js';
import { startForwarderStack, type ForwarderStack } from './helpers/forwarder-stack.js';
import { NO_TMUX, Terminal, colour, colouredLines, hasTmux, stripAnsi } from './helpers/tmux.js';
import { parseForwarderMetrics } from '../src/ops/metrics-scrape.js';

const INTERVAL_S = 1;
let brokers: string[];
let stack: ForwarderStack | undefined;
let tmp: string;
const term = new Terminal();

interface TopJson {
  forwarders: { ok: string[]; failed: string[] };
  topics: { category: string; topic: string; publishedPerSec: number }[];
  destinations: { destination: string; state: string; severity: string; inPerSec: number; outPerSec: number; lag: Record<string, number>; lagTotal: number; deadLettered: { total: number; lastMinute: number; lastMinuteByCode: Record<string, number> }; lastSuccess: string | null }[];
}

before(async () => {
  brokers = (await getServices()).kafkaBrokers;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'top-it-'));
  stack = await startForwarderStack(brokers, { rate: 40, name: 'top' });
});

after(async () => {
  term.kill();
  await stack?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function topOnce(args: string[] = []): Promise<TopJson> {
  const r = await runCli(['top', '--once', '--output', 'json', '--interval', '3s', ...args], { env: stack!.env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as TopJson;
}

const metricsUrl = (): string => `http://127.0.0.1:${stack!.forwarderMetricsPort}/metrics`;

test('top --once --output json: rates near the simulator\'s, lag as status reports it, forwarder discovered', { timeout: 180_000 }, async () => {
  const s = stack!;
  // Both destinations delivering.
  const deadline = Date.now() + 60_000;
  let view: TopJson;
  for (;;) {
    view = await topOnce(['--metrics', metricsUrl()]);
    const mine = view.destinations.filter((d) => d.destination === s.blob || d.destination === s.dir);
    if (mine.length === 2 && mine.every((d) => d.outPerSec > 0 && d.lastSuccess)) break;
    if (Date.now() > deadline) assert.fail(`destinations not delivering:\n${JSON.stringify(view, null, 2)}`);
  }
  const published = view.topics.reduce((n, t) => n + t.publishedPerSec, 0);
  assert.ok(published > 25 && published < 60, `publish rate ${published}/s, the simulator sends 40/s`);
  assert.deepEqual(view.topics.map((t) => t.category).sort(), ['audit', 'operational']);
  for (const name of [s.blob, s.dir]) {
    const row = view.destinations.find((d) => d.destination === name)!;
    assert.ok(row.inPerSec > 20 && row.inPerSec < 70, `${name}: in ${row.inPerSec}/s`);
    assert.ok(row.outPerSec > 20 && row.outPerSec < 70, `${name}: out ${row.outPerSec}/s`);
    assert.equal(row.severity, 'ok', `${name}: ${row.state}`);
    assert.deepEqual(Object.keys(row.lag).sort(), ['audit', 'operational']);
  }

  // The same lag as status: both read offsets and the groups' commits through the admin API.
  const [statusRun, again] = await Promise.all([runCli(['status', '--output', 'json'], { env: s.env }), topOnce(['--metrics', metricsUrl()])]);
  const status = JSON.parse(statusRun.stdout) as { groups: { destination: string; lag: string }[] };
  for (const name of [s.blob, s.dir]) {
    const fromStatus = Number(status.groups.find((g) => g.destination === name)!.lag);
    const fromTop = again.destinations.find((d) => d.destination === name)!.lagTotal;
    // Read a few seconds apart at 40 events/s: within a few seconds' traffic of each other.
    assert.ok(Math.abs(fromStatus - fromTop) <= 200, `${name}: status lag ${fromStatus}, top lag ${fromTop}`);
  }

  // No --metrics: the forwarder's /metrics is found through its consumer group membership.
  const discovered = await topOnce();
  assert.ok(discovered.forwarders.ok.includes(metricsUrl()), `discovered ${JSON.stringify(discovered.forwarders)}`);

  // Dead-lettered records: total and last minute, by code.
  await s.publishUndecodable(3);
  const dlDeadline = Date.now() + 30_000;
  for (;;) {
    const v = await topOnce(['--metrics', metricsUrl()]);
    const row = v.destinations.find((d) => d.destination === s.blob)!;
    if (row.deadLettered.total === 3) {
      assert.equal(row.deadLettered.lastMinuteByCode.DECODE_FAILED ?? 0, row.deadLettered.lastMinute);
      break;
    }
    if (Date.now() > dlDeadline) assert.fail(`dead-lettered never reached 3: ${JSON.stringify(row)}`);
  }
});

test('bad flags are refused with one clear line', async () => {
  const r = await runCli(['top', '--metrics', 'localhost:9464'], { env: stack!.env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--metrics: "localhost:9464" is not an http\(s\) URL/);
  const s = await runCli(['top', '--sort', 'size'], { env: stack!.env });
  assert.equal(s.code, 2);
  assert.match(s.stderr, /--sort: "size" is not one of destination, state/);
});

/** Terminal lines: room for the forwarder groups other tests of the suite left on the broker. */
const TALL = 120;

test('top in a terminal: keys, resize, a stopped destination turns red within a refresh, NO_COLOR, Ctrl-C', { timeout: 240_000, skip: hasTmux ? false : NO_TMUX }, async () => {
  const s = stack!;
  const args = ['top', '--interval', `${INTERVAL_S}s`, '--metrics', metricsUrl()];
  // Tall: top lists every forwarder group on the broker, and the suite's earlier tests leave
  // theirs (30 seen in CI); the rows this test looks for must not be cut off below.
  term.start('topview', tmp, s.env, args, { x: 200, y: TALL });
  const rowOf = (text: string, name: string): { text: string; fg: number | undefined } => colouredLines(text).find((l) => l.text.startsWith(name)) ?? { text: '', fg: undefined };
  const rowPattern = (name: string, state: string) => new RegExp(`^${name}\\s+${state}\\s+\\d`, 'm');
  const first = await term.waitForScreen('topview', rowPattern(s.blob, 'running'), 30_000, { history: false });
  assert.match(stripAnsi(first), /^insight-logs top — .* — every 1 s — forwarders: 1 answering/m);
  assert.match(stripAnsi(first), /^published: audit [\d.]+\/s .* operational [\d.]+\/s/m);
  assert.match(stripAnsi(first), /DESTINATION↓\s+STATE\s+IN\/s\s+OUT\/s\s+BYTES\/s\s+LAG audit\s+LAG oper\.\s+TREND\s+RETRY\/s\s+DLQ\s+DLQ 1m\s+LAST OK\s+LAST ERROR/);
  assert.notEqual(rowOf(first, s.blob).fg, 31, 'a delivering destination is not red');

  // Keys: s moves the sort to the next column, r reverses it, p pauses.
  term.tmux('send-keys', '-t', 'topview', 's');
  await term.waitForScreen('topview', /STATE↓/, 5000, { history: false });
  term.tmux('send-keys', '-t', 'topview', 'r');
  await term.waitForScreen('topview', /STATE↑/, 5000, { history: false });
  term.tmux('send-keys', '-t', 'topview', 'p');
  await term.waitForScreen('topview', / — PAUSED — /, 5000, { history: false });
  term.tmux('send-keys', '-t', 'topview', 'p');
  await term.waitForScreen('topview', / — every 1 s — /, 5000, { history: false });
  term.tmux('send-keys', '-t', 'topview', 'r');
  await term.waitForScreen('topview', /STATE↓/, 5000, { history: false });

  // A resize redraws at the new width at once, and top keeps running.
  term.tmux('resize-window', '-t', 'topview', '-x', '100', '-y', String(TALL - 10));
  const narrow = stripAnsi(await term.waitForScreen('topview', /insight-logs top — /, 5000, { history: false }));
  const lines = narrow.split('\n').filter((l) => l.trim());
  assert.ok(lines.every((l) => [...l].length <= 100), `every line fits 100 columns:\n${narrow}`);
  assert.match(narrow, new RegExp(`^${s.blob}`, 'm'));
  assert.doesNotMatch(narrow, /EXIT=/);
  term.tmux('resize-window', '-t', 'topview', '-x', '200', '-y', String(TALL));
  await term.waitForScreen('topview', /LAST ERROR/, 5000, { history: false });

  // Stop the blob destination's storage: once the forwarder reports the failure on /metrics,
  // the row is red by the next refresh.
  const stoppedAt = Date.now();
  await s.azurite.stop();
  let reportedAt: number;
  for (;;) {
    const text = await (await fetch(metricsUrl())).text();
    const m = parseForwarderMetrics(text).get(s.blob);
    if (m?.lastErrorMs !== undefined && m.lastErrorMs > (m.lastSuccessMs ?? 0)) { reportedAt = Date.now(); break; }
    if (Date.now() - stoppedAt > 60_000) assert.fail('the forwarder never reported the failure');
    await new Promise((r) => setTimeout(r, 100));
  }
  let red: string;
  for (;;) {
    red = term.screen('topview', { history: false });
    const row = rowOf(red, s.blob);
    if (row.fg === 31 && /^\S+\s+(failing|stalled)\s/.test(row.text)) break;
    if (Date.now() - reportedAt > 30_000) assert.fail(`the row never turned red:\n${red}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const redAt = Date.now();
  // One refresh (plus the time a refresh takes, and tmux polling): the whole point of the interval.
  assert.ok(redAt - reportedAt <= INTERVAL_S * 1000 + 1500, `red ${redAt - reportedAt} ms after the forwarder reported it (refresh every ${INTERVAL_S} s)`);
  assert.notEqual(rowOf(red, s.dir).fg, 31, 'the dir destination keeps delivering: not red');
  process.stdout.write(`# top: storage stopped → forwarder reported failure ${reportedAt - stoppedAt} ms → row red ${redAt - reportedAt} ms later\n`);
  if (process.env.TOP_CAPTURE) writeFileSync(process.env.TOP_CAPTURE, term.tmux('capture-pane', '-p', '-t', 'topview').replace(/[ \t]+$/gm, '').trimEnd() + '\n');

  // NO_COLOR: the same screen without a single colour.
  term.start('plain', tmp, { ...s.env, NO_COLOR: '1' }, args, { x: 200, y: TALL });
  const plain = await term.waitForScreen('plain', rowPattern(s.blob, '(failing|stalled)'), 30_000, { history: false });
  assert.doesNotMatch(plain, colour('3[0-7]|1|7'), 'NO_COLOR: no colour, bold or inverse');
  term.tmux('send-keys', '-t', 'plain', 'q');
  assert.match(await term.waitForScreen('plain', /EXIT=\d+/, 15_000), /EXIT=0/);

  // Ctrl-C: exit 0, no error, the terminal's own screen back (the alternate screen is left).
  term.tmux('send-keys', '-t', 'topview', 'C-c');
  const exited = stripAnsi(await term.waitForScreen('topview', /EXIT=\d+/, 15_000, { history: false }));
  assert.match(exited, /EXIT=0/);
  assert.doesNotMatch(exited, /insight-logs: /, 'no error printed');
  assert.doesNotMatch(exited, /DESTINATION/, 'the table went with the alternate screen');
  await s.azurite.start();
});
