import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSchemaRegistry } from '../codec/schema-registry.js';
import { InsightLogsError } from '../errors.js';
import { buildApiEvent, buildWorkflowEvent } from '../events/builders.js';
import type { InsightEvent } from '../events/types.js';
import { CONTENT_TYPE, toKafkaMessage } from './kafka-message.js';
import { resolveLimits } from './options.js';

const RID = '/SUBSCRIPTIONS/0F1E2D3C-1111-2222-3333-444455556666/RESOURCEGROUPS/RG-1/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/INST-1';
const topics = { audit: 'a-topic', operational: 'o-topic' };
const registry = defaultSchemaRegistry();

describe('toKafkaMessage', () => {
  test('audit methods go to the audit topic, the rest to operational; caller category ignored', () => {
    for (const [method, topic, category] of [['DELETE', 'a-topic', 'Audit'], ['PATCH', 'a-topic', 'Audit'], ['GET', 'o-topic', 'Operational'], ['HEAD', 'o-topic', 'Operational']] as const) {
      const lying = { ...buildApiEvent({ resourceId: RID, operationName: 'Op', method, status: 200 }), category: category === 'Audit' ? 'Operational' : 'Audit' } as InsightEvent;
      const out = toKafkaMessage(lying, registry, topics);
      assert.equal(out.topic, topic, method);
      assert.equal(registry.decode(out.message.value as Buffer).event.category, category);
    }
    const wf = { ...buildWorkflowEvent({ resourceId: RID, operationType: 'Map', phase: 'Task', stage: 'Started', workflowJobId: 'j', resultType: 'Running' }), category: 'Audit' } as InsightEvent;
    assert.equal(toKafkaMessage(wf, registry, topics).topic, 'o-topic');
  });

  test('key is the resourceId; headers name the kind and content type', () => {
    const out = toKafkaMessage(buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 200 }), registry, topics);
    assert.equal(out.message.key, RID);
    assert.deepEqual(out.message.headers, { kind: 'APIEvent', 'content-type': CONTENT_TYPE });
    assert.deepEqual([...(out.message.value as Buffer).subarray(0, 2)], [0xc3, 0x01]);
  });

  test('an invalid event throws EVENT_INVALID', () => {
    const bad = { ...buildApiEvent({ resourceId: RID, operationName: 'Op', method: 'GET', status: 200 }), resourceId: `${RID}/../../x` } as InsightEvent;
    assert.throws(() => toKafkaMessage(bad, registry, topics), (e: unknown) => e instanceof InsightLogsError && e.code === 'EVENT_INVALID' && /resourceId/.test(e.message));
  });
});

describe('producer options', () => {
  test('defaults', () => {
    assert.deepEqual(resolveLimits({}), {
      compression: 'none', maxQueueSize: 10_000, lingerMs: 5, maxBatchSize: 500, deliveryTimeoutMs: 30_000, closeTimeoutMs: 10_000,
      topics: { audit: 'insight-logs-audit', operational: 'insight-logs-operational' },
    });
  });

  test('bad values are CONFIG_INVALID naming the option', () => {
    const cases: [object, string][] = [
      [{ maxQueueSize: 0 }, 'maxQueueSize'], [{ lingerMs: -1 }, 'lingerMs'], [{ maxBatchSize: 1.5 }, 'maxBatchSize'],
      [{ deliveryTimeoutMs: Number.NaN }, 'deliveryTimeoutMs'], [{ compression: 'zstd' }, 'compression'],
      [{ topics: { audit: 'bad topic', operational: 'ok' } }, 'topics.audit'],
    ];
    for (const [options, path] of cases) {
      assert.throws(() => resolveLimits(options), (e: unknown) => e instanceof InsightLogsError && e.code === 'CONFIG_INVALID' && e.message.startsWith(path), path);
    }
  });
});
