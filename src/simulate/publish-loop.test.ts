import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InsightEvent } from '../events/types.js';
import { maxInFlightFor, publishTraffic, publishedCount } from './publish-loop.js';
import { TrafficGenerator } from './traffic.js';

test('paces to the rate, counts by category and kind, and waits for every publish', async () => {
  let calls = 0;
  let unsettled = 0;
  const delivered = { Audit: 0, Operational: 0 };
  const producer = {
    publish: async (event: InsightEvent) => {
      const call = ++calls;
      unsettled++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      unsettled--;
      if (call % 10 === 0) throw new Error('broker said no');
      delivered[event.category]++;
    },
  };
  const progress: number[] = [];
  const result = await publishTraffic({
    producer, generator: new TrafficGenerator({ seed: 7 }), rate: 1000, durationMs: 500,
    progressEveryMs: 100, onProgress: (p) => { progress.push(p.generated); },
  });
  assert.equal(unsettled, 0, 'every publish settled before it returned');
  assert.equal(result.generated, calls);
  assert.ok(result.generated >= 300 && result.generated <= 600, `about 500 expected, got ${result.generated}`);
  assert.equal(result.failed, Math.floor(calls / 10));
  assert.match(result.firstError ?? '', /broker said no/);
  assert.deepEqual({ Audit: result.audit, Operational: result.operational }, delivered);
  assert.equal(result.api + result.workflow, publishedCount(result));
  assert.ok(progress.length >= 3, `progress calls: ${progress.join(',')}`);
  assert.equal(result.aborted, false);
});

test('stops at maxEvents and on abort', async () => {
  const producer = { publish: async () => undefined };
  const capped = await publishTraffic({ producer, generator: new TrafficGenerator({ seed: 1 }), rate: 10_000, durationMs: 10_000, maxEvents: 25 });
  assert.equal(capped.generated, 25);
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 150);
  const started = Date.now();
  const aborted = await publishTraffic({ producer, generator: new TrafficGenerator({ seed: 1 }), rate: 100, durationMs: 60_000, abortSignal: stop.signal });
  assert.equal(aborted.aborted, true);
  assert.ok(Date.now() - started < 1000);
});

test('in-flight bound: at least 2,000, about a second of traffic, at most 20,000', () => {
  assert.equal(maxInFlightFor(10), 2_000);
  assert.equal(maxInFlightFor(5_000), 5_000);
  assert.equal(maxInFlightFor(1_000_000), 20_000);
});
