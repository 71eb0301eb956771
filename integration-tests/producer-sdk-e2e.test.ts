/**
 * The producer SDK end to end against the real broker: a `node:http` server with
 * `apiEventMiddleware` (GET, POST, DELETE and a 500) and a `startWorkflow` run with two tasks
 * (one failing), all through one real EventProducer into a unique topic pair. Read back two
 * independent ways:
 *   - `insight-logs tail --output json` (the project's own CLI decodes the Avro), and
 *   - kcat (librdkafka, no Avro): keys, headers, counts per topic, and the raw value bytes
 *     (single-object encoding: C3 01, the schema fingerprint, the body).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import type { InsightLogsError } from '../src/errors.js';
import type { EventKind } from '../src/events/types.js';
import { kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { EventProducer } from '../src/producer/event-producer.js';
import { apiEventMiddleware } from '../src/producer/http-middleware.js';
import { startWorkflow } from '../src/producer/workflow-tracker.js';
import { runCli } from './helpers/cli.js';
import { createTopics, deleteTopics, uniqueName } from '../testkit/kafka.js';
import { resourceIdFor } from './helpers/records.js';
import { getServices } from '../testkit/services.js';

const execFileP = promisify(execFile);
const registry = defaultSchemaRegistry();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Json = Record<string, any>;

/** kcat is a Debian package (.ci/run installs it): say so plainly when it is missing. */
function requireKcat(): void {
  const probe = spawnSync('kcat', ['-V'], { encoding: 'utf8' });
  if (probe.error) throw new Error('kcat is not installed: `sudo apt-get install kcat` (.ci/run installs it)');
}

async function kcat(args: string[]): Promise<Buffer> {
  const { stdout } = await execFileP('kcat', args, { timeout: 60_000, maxBuffer: 16 << 20, encoding: 'buffer' });
  return stdout;
}

/**
 * `-f '%p,%o,%S:%s'` prints each message's partition, offset and value length, a colon, then
 * the raw value: cut on the lengths, so binary values containing newlines or colons split exactly.
 */
function splitSized(out: Buffer): Map<string, Buffer> {
  const values = new Map<string, Buffer>();
  let at = 0;
  while (at < out.length) {
    const colon = out.indexOf(0x3a, at);
    const head = out.subarray(at, colon).toString('ascii');
    const m = /^(\d+),(\d+),(\d+)$/.exec(head);
    assert.ok(colon > at && m, `kcat output: no "partition,offset,length:" at byte ${at} (${JSON.stringify(head.slice(0, 40))})`);
    const size = Number(m[3]);
    values.set(`${m[1]}/${m[2]}`, out.subarray(colon + 1, colon + 1 + size));
    at = colon + 1 + size;
  }
  return values;
}

describe('producer SDK → real Kafka → tail --output json and kcat', { timeout: 120_000 }, () => {
  let brokers: string[];
  let producer: EventProducer;
  let server: http.Server;
  let baseUrl: string;
  const emitErrors: InsightLogsError[] = [];
  const run = uniqueName('sdk-e2e');
  const topics = { audit: `${run}-audit`, operational: `${run}-operational` };
  // One instance per run, so nothing of another test can match.
  const instance = `SDK-E2E-${randomBytes(4).toString('hex').toUpperCase()}`;
  const resourceId = resourceIdFor(instance);
  const workflowResourceId = resourceIdFor(`${instance}-WF`);
  let workflowJobId = '';

  before(async () => {
    requireKcat();
    brokers = (await getServices()).kafkaBrokers;
    await createTopics(brokers, [topics.audit, topics.operational], 3);
    producer = new EventProducer({
      kafka: kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(','), KAFKA_CLIENT_ID: uniqueName('sdk-e2e') }),
      topics,
      onError: (error) => { emitErrors.push(error); },
    });
    await producer.connect();

    const apiEvents = apiEventMiddleware({
      producer,
      resourceId,
      operationName: (req) => `Segments.${req.method}`,
      properties: () => ({ tenantId: 'tenant-e2e', instanceId: instance }),
    });
    server = http.createServer((req, res) => {
      apiEvents(req, res, () => {
        const status = req.url === '/api/boom' ? 500 : req.method === 'POST' ? 201 : req.method === 'DELETE' ? 204 : 200;
        res.statusCode = status;
        res.end(status === 204 ? undefined : JSON.stringify({ ok: status < 500 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // Four HTTP calls; the middleware emits when each response finishes.
    const call = async (method: string, path: string): Promise<number> => {
      const res = await fetch(`${baseUrl}${path}`, { method, headers: { 'user-agent': 'sdk-e2e/1.0' }, ...(method === 'POST' ? { body: '{"name":"vip"}' } : {}) });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await call('GET', '/api/segments/42?expand=true'), 200);
    assert.equal(await call('POST', '/api/segments'), 201);
    assert.equal(await call('DELETE', '/api/segments/42'), 204);
    assert.equal(await call('GET', '/api/boom'), 500);
    // `emit` runs on the server's 'finish', which may trail the client's view by a tick.
    const deadline = Date.now() + 10_000;
    while (producer.stats().published + producer.stats().queued + producer.stats().inFlight + producer.stats().failed < 4) {
      assert.ok(Date.now() < deadline, `the middleware emitted fewer than 4 events: ${JSON.stringify(producer.stats())}`);
      await sleep(20);
    }

    // A workflow run: two tasks, the second fails; each step is awaited (acknowledged).
    const wf = await startWorkflow(producer, {
      resourceId: workflowResourceId, operationType: 'Segmentation', tasksCount: 2, submittedBy: 'sdk-e2e',
      workflowType: 'incremental', submissionKind: 'OnDemand', instanceId: instance,
    });
    workflowJobId = wf.workflowJobId;
    const first = await wf.startTask({ identifier: 'seg-1', friendlyName: 'High-value customers' });
    await first.complete({ additionalInfo: { Kind: 'Segment', entityCount: 12 } });
    const second = await wf.startTask({ identifier: 'seg-2', friendlyName: 'Churn risk' });
    await second.fail(new Error('source table missing'));
    await wf.complete();
    await producer.flush();
    assert.deepEqual(emitErrors.map((e) => e.message), []);
    assert.equal(producer.stats().published, 10);
    assert.equal(producer.stats().failed, 0);
  });

  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await producer?.close();
    if (brokers) await deleteTopics(brokers, [topics.audit, topics.operational]);
  });

  test('insight-logs tail --output json shows every event with the right fields', async () => {
    const result = await runCli(['tail', '--category', 'all', '--from-beginning', '--output', 'json', '--max', '10'], {
      env: { KAFKA_BROKERS: brokers.join(','), INSIGHT_LOGS_AUDIT_TOPIC: topics.audit, INSIGHT_LOGS_OPERATIONAL_TOPIC: topics.operational, NO_COLOR: '1' },
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, `tail failed (signal ${result.signal}):\n${result.stderr}`);
    const records = result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
    assert.equal(records.length, 10, result.stdout);

    // API events: method, path, status → resultSignature / operationStatus, routing.
    const api = records.filter((r) => r.properties?.eventType === 'ApiEvent');
    assert.equal(api.length, 4);
    const byCall = new Map(api.map((r) => [`${r.properties.method} ${r.properties.path}`, r]));
    const expected = [
      { call: 'GET /api/segments/42', status: '200', operationStatus: 'Success', resultType: 'Success', category: 'Operational', level: 'Informational' },
      { call: 'POST /api/segments', status: '201', operationStatus: 'Success', resultType: 'Success', category: 'Audit', level: 'Informational' },
      { call: 'DELETE /api/segments/42', status: '204', operationStatus: 'Success', resultType: 'Success', category: 'Audit', level: 'Informational' },
      { call: 'GET /api/boom', status: '500', operationStatus: 'Error', resultType: 'Failure', category: 'Operational', level: 'Error' },
    ];
    for (const e of expected) {
      const r = byCall.get(e.call);
      assert.ok(r, `no API event for ${e.call}; got ${[...byCall.keys()].join(', ')}`);
      assert.equal(r.resourceId, resourceId);
      assert.equal(r.operationName, `Segments.${e.call.split(' ')[0]}`);
      assert.equal(r.resultSignature, e.status, e.call);
      assert.equal(r.properties.operationStatus, e.operationStatus, e.call);
      assert.equal(r.resultType, e.resultType, e.call);
      assert.equal(r.category, e.category, e.call);
      assert.equal(r.level, e.level, e.call);
      assert.equal(r.properties.userAgent, 'sdk-e2e/1.0');
      assert.equal(r.properties.tenantId, 'tenant-e2e');
      assert.equal(r.callerIpAddress, '127.0.0.1');
      assert.equal(typeof r.durationMs, 'number');
      assert.ok(String(r.uri).startsWith(`${baseUrl}/api/`), r.uri);
    }
    assert.equal(byCall.get('GET /api/segments/42')!.uri, `${baseUrl}/api/segments/42?expand=true`, 'uri keeps the query, path does not');

    // Workflow run: one job id, started → tasks → completed, the failing task carries its error.
    const wf = records.filter((r) => r.properties?.eventType === 'WorkflowEvent');
    assert.equal(wf.length, 6);
    assert.deepEqual(new Set(wf.map((r) => r.properties.workflowJobId)), new Set([workflowJobId]));
    for (const r of wf) {
      assert.equal(r.category, 'Operational');
      assert.equal(r.resourceId, workflowResourceId);
    }
    // One resourceId → one partition, so tail prints them in publish order.
    assert.deepEqual(wf.map((r) => r.operationName), [
      'Segmentation.WorkflowStarted', 'Segmentation.TaskStarted', 'Segmentation.TaskCompleted',
      'Segmentation.TaskStarted', 'Segmentation.TaskCompleted', 'Segmentation.WorkflowCompleted',
    ]);
    const [started, , done1, , done2, completed] = wf as [Json, Json, Json, Json, Json, Json];
    assert.equal(started.resultType, 'Running');
    assert.equal(started.properties.workflowStatus, 'Running');
    assert.equal(started.properties.tasksCount, 2);
    assert.equal(started.properties.submittedBy, 'sdk-e2e');
    assert.equal(done1.resultType, 'Successful');
    assert.equal(done1.properties.identifier, 'seg-1');
    assert.equal(done1.properties.additionalInfo?.tableCount, 12, 'entityCount on input is written as tableCount');
    assert.equal(done1.properties.error, undefined);
    assert.equal(done2.resultType, 'Failure');
    assert.equal(done2.level, 'Error');
    assert.equal(done2.properties.identifier, 'seg-2');
    assert.equal(done2.properties.friendlyName, 'Churn risk');
    assert.match(String(done2.properties.error), /source table missing/);
    assert.equal(completed.resultType, 'Successful');
    assert.equal(completed.properties.workflowStatus, 'Successful');
    assert.equal(typeof completed.durationMs, 'number');
    assert.ok(completed.properties.endTimestamp >= completed.properties.startTimestamp);
  });

  test('kcat sees the keys, kind headers, counts per topic and single-object Avro values', async () => {
    const expectedPerTopic: Record<string, { count: number; kinds: Record<EventKind, number> }> = {
      [topics.audit]: { count: 2, kinds: { APIEvent: 2, WorkflowEvent: 0 } },
      [topics.operational]: { count: 8, kinds: { APIEvent: 2, WorkflowEvent: 6 } },
    };
    for (const [topic, want] of Object.entries(expectedPerTopic)) {
      const base = ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q'];
      const lines = (await kcat([...base, '-f', '%p\t%o\t%k\t%h\t%S\n'])).toString('utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, want.count, `kcat message count on ${topic}:\n${lines.join('\n')}`);
      const kinds: Record<EventKind, number> = { APIEvent: 0, WorkflowEvent: 0 };
      const sizes = new Map<string, number>();
      for (const line of lines) {
        const [partition, offset, key, headers, size] = line.split('\t') as [string, string, string, string, string];
        const headerMap = new Map(headers.split(',').map((h) => h.split('=') as [string, string]));
        const kind = headerMap.get('kind');
        assert.ok(kind === 'APIEvent' || kind === 'WorkflowEvent', `kind header: ${headers}`);
        kinds[kind]++;
        assert.equal(headerMap.get('content-type'), 'application/vnd.apache.avro+binary');
        assert.equal(key, kind === 'APIEvent' ? resourceId : workflowResourceId, 'key = resourceId');
        sizes.set(`${partition}/${offset}`, Number(size));
      }
      assert.deepEqual(kinds, want.kinds, `kinds on ${topic}`);

      // Raw values, length-prefixed so binary bytes are cut exactly.
      const values = splitSized(await kcat([...base, '-f', '%p,%o,%S:%s']));
      assert.deepEqual(new Map([...values].map(([at, v]) => [at, v.length])), sizes, 'the raw read has the same messages and sizes');
      for (const value of values.values()) {
        assert.deepEqual([...value.subarray(0, 2)], [0xc3, 0x01], 'single-object marker C3 01');
        const fingerprint = value.subarray(2, 10).toString('hex');
        const decoded = registry.decode(value);
        assert.equal(fingerprint, registry.fingerprint(decoded.kind), 'the 8 bytes after the marker are the writer schema fingerprint');
        assert.equal(decoded.event.resourceId, decoded.kind === 'APIEvent' ? resourceId : workflowResourceId);
      }
    }
  });
});
