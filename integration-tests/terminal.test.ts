/**
 * What a person sees in a real terminal: commands run inside a private tmux server (a pty),
 * and the screen is read back with `tmux capture-pane -p -e` (escape sequences kept).
 * - tail: Error lines red and Warning lines yellow on a TTY; none with NO_COLOR; Ctrl-C exits 0.
 * - demo: the progress line is redrawn in place (one line on screen that changes), and the
 *   final summary is visible.
 * Needs tmux (in .ci/run's package list); skipped with a note when it is not installed.
 * (`top` on a terminal is in top.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApiEvent } from '../src/events/builders.js';
import { createTopics, deleteTopics, publishEvents, uniqueName } from '../testkit/kafka.js';
import { resourceIdFor } from './helpers/records.js';
import { getServices } from '../testkit/services.js';
import { NO_TMUX, Terminal, colour, hasTmux, stripAnsi } from './helpers/tmux.js';

const term = new Terminal();
let brokers: string[];
let connectionString: string;
let tmp: string;
const topics: string[] = [];
const tmux = (...args: string[]): string => term.tmux(...args);
const startInTerminal = (session: string, env: Record<string, string>, args: string[], size?: { x: number; y: number }): void => term.start(session, tmp, env, args, size);
const waitForScreen = (session: string, pattern: RegExp, timeoutMs?: number): Promise<string> => term.waitForScreen(session, pattern, timeoutMs);

before(async () => {
  const services = await getServices();
  brokers = services.kafkaBrokers;
  connectionString = services.storageConnectionString;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'terminal-it-'));
});

after(async () => {
  term.kill();
  rmSync(tmp, { recursive: true, force: true });
  if (topics.length) await deleteTopics(brokers, topics);
});

test('tail on a terminal: Error red, Warning yellow, nothing with NO_COLOR, Ctrl-C exits 0', { timeout: 90_000, skip: hasTmux ? false : NO_TMUX }, async () => {
  const prefix = uniqueName('term-tail');
  const audit = `${prefix}-audit`;
  const operational = `${prefix}-operational`;
  topics.push(audit, operational);
  await createTopics(brokers, [audit, operational], 1);
  const event = (status: number, op: string) => buildApiEvent({ resourceId: resourceIdFor('TERM-1'), operationName: op, method: 'GET', status, durationMs: 5, path: '/api/x' });
  await publishEvents(brokers, operational, [event(500, 'Fails.ServerErrorAsync'), event(429, 'Busy.ThrottledAsync'), event(200, 'Fine.OkAsync')]);
  const env = { KAFKA_BROKERS: brokers.join(','), INSIGHT_LOGS_AUDIT_TOPIC: audit, INSIGHT_LOGS_OPERATIONAL_TOPIC: operational };

  startInTerminal('tail-color', env, ['tail', '--from-beginning']);
  const colored = await waitForScreen('tail-color', /Fine\.OkAsync/);
  const lineOf = (text: string, op: string) => text.split('\n').find((l) => l.includes(op)) ?? '';
  assert.match(lineOf(colored, 'Fails.ServerErrorAsync'), new RegExp(`^${colour('31').source}.*Error`), `red Error line:\n${JSON.stringify(colored)}`);
  assert.match(lineOf(colored, 'Busy.ThrottledAsync'), new RegExp(`^${colour('33').source}.*Warning`), 'yellow Warning line');
  assert.doesNotMatch(lineOf(colored, 'Fine.OkAsync'), colour('31|33'), 'Informational stays plain');
  tmux('send-keys', '-t', 'tail-color', 'C-c');
  const exited = await waitForScreen('tail-color', /EXIT=\d+/, 20_000);
  assert.match(exited, /EXIT=0/);
  assert.doesNotMatch(stripAnsi(exited), /insight-logs: /, 'no error printed on Ctrl-C');

  startInTerminal('tail-nocolor', { ...env, NO_COLOR: '1' }, ['tail', '--from-beginning', '--max', '3']);
  const plain = await waitForScreen('tail-nocolor', /EXIT=\d+/);
  assert.match(plain, /EXIT=0/);
  assert.match(plain, /Fails\.ServerErrorAsync/);
  assert.doesNotMatch(plain, colour('31|33'), 'NO_COLOR: no colours');

  startInTerminal('tail-flag', env, ['tail', '--from-beginning', '--max', '3', '--no-color']);
  const flagged = await waitForScreen('tail-flag', /EXIT=\d+/);
  assert.match(flagged, /Busy\.ThrottledAsync/);
  assert.doesNotMatch(flagged, colour('31|33'), '--no-color: no colours');
});

test('demo on a terminal: one progress line redrawn in place, then the summary', { timeout: 120_000, skip: hasTmux ? false : NO_TMUX }, async () => {
  const prefix = uniqueName('term-demo');
  topics.push(...['audit', 'operational', 'deadletter', 'destinations'].map((s) => `${prefix}-${s}`));
  const env = {
    KAFKA_PORT: brokers[0]!.split(':').pop()!,
    AZURITE_PORT: /BlobEndpoint=https?:\/\/[^:/]+:(\d+)/.exec(connectionString)?.[1] ?? '10000',
    INSIGHT_LOGS_AUDIT_TOPIC: `${prefix}-audit`,
    INSIGHT_LOGS_OPERATIONAL_TOPIC: `${prefix}-operational`,
    INSIGHT_LOGS_DEADLETTER_TOPIC: `${prefix}-deadletter`,
    INSIGHT_LOGS_DESTINATIONS_TOPIC: `${prefix}-destinations`,
  };
  startInTerminal('demo', env, ['demo', '--duration', '6s', '--rate', '50', '--out', path.join(tmp, 'demo-out')], { x: 250, y: 80 });
  const progressLines = (text: string) => stripAnsi(text).split('\n').filter((l) => /^\[\s*\d+s\/6s\] (publishing|delivering) /.test(l));
  const early = progressLines(await waitForScreen('demo', /\[\s*2s\/6s\] publishing/, 60_000));
  assert.equal(early.length, 1, `one progress line on screen, got:\n${early.join('\n')}`);
  const later = progressLines(await waitForScreen('demo', /\[\s*4s\/6s\] publishing/, 30_000));
  assert.equal(later.length, 1, 'still one line: redrawn, not appended');
  assert.notEqual(later[0], early[0], 'the line changed');

  const final = stripAnsi(await waitForScreen('demo', /EXIT=\d+/, 90_000));
  assert.match(final, /EXIT=0/);
  assert.equal(progressLines(final).length, 1, 'the finished progress line stays, once');
  assert.match(final, /^done: published \d+ events; delivered demo-archive \d+, demo-local \d+; lag 0/m);
  assert.match(final, /Where the output is:/);
  assert.match(final, /sample blob: insight-logs-(audit|operational)\/resourceId=/);
  assert.match(final, /A few records from the sample file:\n {2}\d{4}-/);
});
