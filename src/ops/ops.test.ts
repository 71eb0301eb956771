import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advanceReplayState, decodeReplayed } from './deadletter.js';
import { ago, parseForwarderMetrics } from './metrics-scrape.js';
import { describeGroupState } from './offsets.js';
import { parseServiceStatus } from '../demo/services.js';
import { progressLine } from '../demo/progress.js';

test('replay state: the watermark moves over a replayed run, gaps are kept as ranges', () => {
  const first = advanceReplayState({ watermark: 0n, above: new Set() }, [0n, 1n, 5n, 7n, 8n, 9n]);
  assert.deepEqual(first, { watermark: 2n, metadata: 'r1:5,7-9' });
  const second = advanceReplayState({ watermark: first.watermark, above: decodeReplayed(first.metadata) }, [2n, 3n, 4n, 6n]);
  assert.deepEqual(second, { watermark: 10n, metadata: 'r1:' });
  assert.deepEqual([...decodeReplayed('r1:3,10-12')], [3n, 10n, 11n, 12n]);
  assert.equal(decodeReplayed(null).size, 0);
  assert.equal(decodeReplayed('something else').size, 0);
});

test('forwarder metrics: last delivery and counts per destination from Prometheus text', () => {
  const text = [
    '# HELP insight_logs_last_success_timestamp_seconds x',
    'insight_logs_last_success_timestamp_seconds{destination="archive"} 1700000000.5',
    'insight_logs_records_out_total{destination="archive"} 42',
    'insight_logs_records_dead_lettered_total{destination="archive",code="PATH_UNSAFE"} 2',
    'insight_logs_records_dead_lettered_total{destination="archive",code="RECORD_TOO_LARGE"} 1',
    'insight_logs_records_in_total{destination="archive",topic="insight-logs-audit"} 50',
    'insight_logs_pipelines{destination="archive",state="running"} 1',
    'insight_logs_pipelines{destination="archive",state="crashed"} 0',
    'insight_logs_records_out_total{destination="idle"} 0',
    'insight_logs_records_out_total 7',
  ].join('\n');
  const m = parseForwarderMetrics(text);
  assert.deepEqual(m.get('archive'), {
    lastSuccessMs: 1700000000500, delivered: 42, deadLettered: 3, deadLetteredByCode: { PATH_UNSAFE: 2, RECORD_TOO_LARGE: 1 },
    recordsIn: { 'insight-logs-audit': 50 }, pipelines: { running: 1, crashed: 0 },
  });
  assert.deepEqual(m.get('idle'), { delivered: 0 });
  // Two forwarders: counters add up, the latest delivery wins, states are counted together.
  const other = 'insight_logs_records_out_total{destination="archive"} 8\ninsight_logs_last_success_timestamp_seconds{destination="archive"} 1700000100\ninsight_logs_pipelines{destination="archive",state="running"} 1';
  const both = parseForwarderMetrics(text, other).get('archive')!;
  assert.equal(both.delivered, 50);
  assert.equal(both.lastSuccessMs, 1700000100000);
  assert.deepEqual(both.pipelines, { running: 2, crashed: 0 });
  assert.equal(ago(1000, 13_000), '12 s ago');
  assert.equal(ago(0, 600_000), '10 min ago');
});

test('group states in words', () => {
  assert.equal(describeGroupState({ state: 'Stable', members: 2, hasCommitted: true }), 'running (2 forwarders)');
  assert.equal(describeGroupState({ state: 'Empty', members: 0, hasCommitted: true }), 'stopped (no forwarder running)');
  assert.equal(describeGroupState({ state: 'Dead', members: 0, hasCommitted: false }), 'not started');
});

test('services.sh status: "not answering" is not answering', () => {
  const s = parseServiceStatus('Kafka:   stopped, not answering on 127.0.0.1:9092\nAzurite: running (pid 7), answering on 127.0.0.1:10000\n');
  assert.deepEqual(s, { kafka: false, azurite: true });
});

test('progress line', () => {
  assert.equal(
    progressLine({ elapsedMs: 5400, durationMs: 20_000, phase: 'publishing', published: 1000, failed: 0, delivered: [{ name: 'a', count: 990 }, { name: 'b', count: 1000 }], lag: 10n }),
    '[  5s/20s] publishing  published 1000  delivered a 990, b 1000  lag 10',
  );
});
