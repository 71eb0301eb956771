import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../index.js';
import { memorySinkType } from './memory/sink.js';
import { SINK_TYPES, SinkRegistry } from './registry.js';

test('the registry holds every destination type of destination-types.ts, each with what the CLI shows', () => {
  assert.deepEqual(SINK_TYPES.map((t) => t.type).sort(), ['blob', 'dir', 'eventhubs', 'kafka', 'loganalytics']);
  for (const t of SINK_TYPES) {
    assert.ok(t.title && t.description, `${t.type}: title and description`);
    for (const f of t.addFlags ?? []) assert.match(f.flag, /^--[a-z-]+ <[^>]+>$/, `${t.type}: ${f.flag}`);
  }
  assert.equal(new SinkRegistry(SINK_TYPES).titlesInWords(), 'Azure Blob, a local folder, Event Hubs, Kafka and Log Analytics');
});

test('the package exports every real destination type and not the test-only memory type', () => {
  const exported = new Set<unknown>(Object.values(api));
  for (const t of SINK_TYPES) assert.ok(exported.has(t), `${t.type} is exported from src/index.ts`);
  assert.ok(!exported.has(memorySinkType), 'memory is for tests only');
  assert.ok(!Object.keys(api).some((name) => /memory/i.test(name)), 'nothing memory-related is exported');
});
