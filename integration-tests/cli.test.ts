/**
 * The first CLI commands against a real Kafka, through the real binary: topics ensure,
 * emit api|workflow, tail (filters, --since, json, undecodable messages, SIGINT), simulate,
 * bad flags and an unreachable broker. Each run uses its own topic names
 * (INSIGHT_LOGS_*_TOPIC) and unique ids, and deletes its topics afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { DEMO_RESOURCE_ID } from '../src/simulate/resources.js';
import { runCli, spawnCli, type CliResult } from './helpers/cli.js';
import { deleteTopics, kafkaClient, uniqueName } from '../testkit/kafka.js';
import { getServices } from '../testkit/services.js';

let env: NodeJS.ProcessEnv;
let brokers: string[];
let topics: { audit: string; operational: string; deadLetter: string; destinations: string };

function explain(r: CliResult): string {
  return `exit ${r.code} (${r.signal ?? 'no signal'})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function jsonLines(stdout: string): Record<string, any>[] {
  return stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, any>);
}

async function cli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return runCli(args, { env, timeoutMs });
}

before(async () => {
  const services = await getServices();
  brokers = services.kafkaBrokers;
  const base = uniqueName('cli');
  topics = { audit: `${base}-audit`, operational: `${base}-operational`, deadLetter: `${base}-deadletter`, destinations: `${base}-destinations` };
  env = {
    KAFKA_BROKERS: brokers.join(','),
    INSIGHT_LOGS_AUDIT_TOPIC: topics.audit,
    INSIGHT_LOGS_OPERATIONAL_TOPIC: topics.operational,
    INSIGHT_LOGS_DEADLETTER_TOPIC: topics.deadLetter,
    INSIGHT_LOGS_DESTINATIONS_TOPIC: topics.destinations,
    LOG_LEVEL: 'silent',
  };
});

after(async () => {
  if (topics) await deleteTopics(brokers, Object.values(topics));
});

describe('insight-logs CLI', () => {
  test('topics ensure creates the four topics, then is idempotent', { timeout: 60_000 }, async () => {
    const first = await cli(['topics', 'ensure', '--partitions', '2']);
    assert.equal(first.code, 0, explain(first));
    assert.match(first.stdout, /4 created, 0 already existed/);
    for (const t of Object.values(topics)) assert.match(first.stdout, new RegExp(`created\\s+${t}\\b`));

    const second = await cli(['topics', 'ensure', '--partitions', '2']);
    assert.equal(second.code, 0, explain(second));
    assert.match(second.stdout, /0 created, 4 already existed/);

    const bigger = await cli(['topics', 'ensure', '--partitions', '4']);
    assert.equal(bigger.code, 0, explain(bigger));
    assert.match(bigger.stderr, new RegExp(`warning: ${topics.audit} has 2 partition\\(s\\), fewer than the 4 asked`));

    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topics.audit, topics.destinations] });
      assert.deepEqual(new Map(meta.topics.map((t) => [t.name, t.partitions.length])), new Map([[topics.audit, 2], [topics.destinations, 1]]));
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topics.destinations, configNames: ['cleanup.policy'] }] });
      assert.equal(configs.resources[0]!.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue, 'compact');
    } finally {
      await admin.disconnect();
    }
  });

  test('emit api POST lands on the audit topic; tail --from-beginning --output json shows it', { timeout: 60_000 }, async () => {
    const path = `/api/instances/it/segments/${randomUUID()}`;
    const emitted = await cli(['emit', 'api', '--method', 'POST', '--status', '201', '--path', path, '--duration-ms', '42', '--caller-ip', '10.9.8.7']);
    assert.equal(emitted.code, 0, explain(emitted));
    assert.match(emitted.stdout, new RegExp(`published APIEvent Segments.CreateSegmentAsync \\(Audit\\) to ${topics.audit}`));

    const tailed = await cli(['tail', '--category', 'audit', '--from-beginning', '--max', '1', '--output', 'json', '--filter', `properties.path=${path}`], 30_000);
    assert.equal(tailed.code, 0, explain(tailed));
    const [record, ...rest] = jsonLines(tailed.stdout);
    assert.equal(rest.length, 0);
    assert.equal(record!.category, 'Audit');
    assert.equal(record!.properties.method, 'POST');
    assert.equal(record!.resultSignature, '201');
    assert.equal(record!.callerIpAddress, '10.9.8.7');
    assert.equal(record!.durationMs, 42);

    // --since finds it too; pretty output is one readable line.
    const since = await cli(['tail', '--category', 'audit', '--since', '5m', '--max', '1', '--filter', `properties.path=${path}`], 30_000);
    assert.equal(since.code, 0, explain(since));
    assert.match(since.stdout.trim(), new RegExp(`^\\S+Z\\s+Audit\\s+Informational\\s+Segments\\.CreateSegmentAsync\\s+Success 201\\s+42ms\\s+POST ${path} \\[CONTOSO\\]$`));
  });

  test('tail filters: properties.method=DELETE and operationName=Segmentation.* (AND with ids)', { timeout: 90_000 }, async () => {
    const id = randomUUID();
    const jobId = `job-${id}`;
    const emits = await Promise.all([
      cli(['emit', 'api', '--method', 'DELETE', '--status', '204', '--path', `/x/${id}/a`]),
      cli(['emit', 'api', '--method', 'PUT', '--status', '200', '--path', `/x/${id}/b`]),
      cli(['emit', 'api', '--method', 'GET', '--status', '500', '--path', `/x/${id}/c`]),
      cli(['emit', 'workflow', '--operation-type', 'Segmentation', '--phase', 'workflow', '--stage', 'started', '--job-id', jobId, '--tasks-count', '1']),
      cli(['emit', 'workflow', '--operation-type', 'Segmentation', '--phase', 'task', '--stage', 'completed', '--job-id', jobId, '--identifier', 'seg-1', '--result', 'Failure', '--error', 'timeout']),
      cli(['emit', 'workflow', '--operation-type', 'Ingestion', '--phase', 'workflow', '--stage', 'started', '--job-id', jobId]),
    ]);
    for (const e of emits) assert.equal(e.code, 0, explain(e));

    const deletes = await cli(['tail', '--from-beginning', '--output', 'json', '--max', '1', '--filter', 'properties.method=DELETE', '--filter', `properties.path=/x/${id}/*`], 30_000);
    assert.equal(deletes.code, 0, explain(deletes));
    assert.deepEqual(jsonLines(deletes.stdout).map((r) => r.properties.path), [`/x/${id}/a`]);

    // --max 2 with exactly two Segmentation events of this job: both arrive, nothing else.
    const segmentation = await cli(['tail', '--category', 'operational', '--from-beginning', '--output', 'json', '--max', '2', '--filter', 'operationName=Segmentation.*', '--filter', `workflowJobId=${jobId}`], 30_000);
    assert.equal(segmentation.code, 0, explain(segmentation));
    assert.deepEqual(jsonLines(segmentation.stdout).map((r) => r.operationName).sort(), ['Segmentation.TaskCompleted', 'Segmentation.WorkflowStarted']);

    const errors = await cli(['tail', '--category', 'operational', '--from-beginning', '--output', 'json', '--max', '1', '--filter', 'level=Error', '--filter', `path=/x/${id}/*`], 30_000);
    assert.equal(errors.code, 0, explain(errors));
    assert.equal(jsonLines(errors.stdout)[0]!.resultSignature, '500');
  });

  test('tail warns about an undecodable message with its coordinates and goes on', { timeout: 60_000 }, async () => {
    const id = randomUUID();
    const producer = kafkaClient(brokers).producer();
    await producer.connect();
    try {
      // Same key (the default resourceId) and partitioner as emit: the bad message sits just before the good one.
      await producer.send({ topic: topics.audit, messages: [{ key: DEMO_RESOURCE_ID, value: Buffer.from('not avro') }] });
    } finally {
      await producer.disconnect();
    }
    const emitted = await cli(['emit', 'api', '--method', 'PATCH', '--path', `/after/${id}`]);
    assert.equal(emitted.code, 0, explain(emitted));
    const tailed = await cli(['tail', '--category', 'audit', '--from-beginning', '--max', '1', '--filter', `path=/after/${id}`], 30_000);
    assert.equal(tailed.code, 0, explain(tailed));
    assert.match(tailed.stdout, new RegExp(`PATCH /after/${id}`));
    assert.match(tailed.stderr, new RegExp(`warning: ${topics.audit}/\\d+@\\d+: cannot decode \\(DECODE_FAILED`));
  });

  test('simulate --rate 200 --duration 3s publishes mixed traffic that tail counts', { timeout: 90_000 }, async () => {
    const prefix = `SIM${randomUUID().slice(0, 8).toUpperCase()}`;
    const sim = await cli(['simulate', '--rate', '200', '--duration', '3s', '--instance-prefix', prefix, '--seed', '7']);
    assert.equal(sim.code, 0, explain(sim));
    const m = /published (\d+) events .*audit (\d+), operational (\d+) \(api (\d+), workflow (\d+)\); failed 0/.exec(sim.stdout);
    assert.ok(m, explain(sim));
    const [published, audit, operational, api, workflow] = m.slice(1).map(Number) as [number, number, number, number, number];
    assert.ok(published >= 540 && published <= 620, `published ${published} at 200/s for 3 s`);
    assert.equal(audit + operational, published);
    assert.equal(api + workflow, published);
    assert.ok(audit > 0 && workflow > 0, 'both categories and both kinds');

    const tailed = await cli(['tail', '--from-beginning', '--output', 'json', '--max', String(published), '--filter', `resourceId=*/INSTANCES/${prefix}-*`], 60_000);
    assert.equal(tailed.code, 0, explain(tailed));
    const records = jsonLines(tailed.stdout);
    assert.equal(records.length, published);
    assert.equal(records.filter((r) => r.category === 'Audit').length, audit);
    assert.equal(new Set(records.map((r) => r.resourceId)).size, 3, 'three instances by default');
    assert.ok(records.some((r) => r.operationName.endsWith('.WorkflowStarted')));
  });

  test('bad flags exit 2 with a message naming the flag', { timeout: 60_000 }, async () => {
    const cases: [string[], RegExp][] = [
      [['tail', '--category', 'billing'], /--category: "billing" is not one of audit, operational, all/],
      [['tail', '--output', 'xml'], /option '--output <format>' argument 'xml' is invalid\. Allowed choices are pretty, json/],
      [['status', '--output', 'yaml'], /option '--output <format>' argument 'yaml' is invalid\. Allowed choices are table, json/],
      [['tail', '--since', 'yesterday'], /--since: "yesterday" is not a duration/],
      [['tail', '--filter', 'metod=GET'], /--filter: unknown field "metod"/],
      [['tail', '--filter', 'method'], /--filter: "method" is not field=glob/],
      [['emit', 'api', '--status', 'abc'], /--status: "abc" is not an HTTP status code/],
      [['emit', 'workflow', '--operation-type', 'Cooking'], /--operation-type: "Cooking"/],
      [['simulate', '--rate', 'fast'], /--rate: "fast" is not a positive whole number/],
      [['simulate', '--duration', 'forever'], /--duration: "forever" is not a duration/],
      [['topics', 'ensure', '--bogus'], /unknown option '--bogus'/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args, 20_000)));
    results.forEach((r, i) => {
      assert.equal(r.code, 2, `${cases[i]![0].join(' ')}: ${explain(r)}`);
      assert.match(r.stderr, cases[i]![1]);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  });

  test('unreachable broker: one clear line naming it, non-zero, within 15 s', { timeout: 60_000 }, async () => {
    const commands = [['topics', 'ensure'], ['emit', 'api'], ['tail'], ['simulate', '--duration', '2s']];
    const results = await Promise.all(commands.map((args) => runCli(args, { env: { ...env, KAFKA_BROKERS: '127.0.0.1:1' }, timeoutMs: 30_000 })));
    results.forEach((r, i) => {
      const what = commands[i]!.join(' ');
      assert.notEqual(r.code, 0, `${what}: ${explain(r)}`);
      assert.equal(r.signal, null, `${what} exited by itself`);
      assert.ok(r.elapsedMs < 15_000, `${what} took ${r.elapsedMs} ms`);
      assert.match(r.stderr, /KAFKA_UNAVAILABLE: cannot reach Kafka at 127\.0\.0\.1:1/, `${what}: ${explain(r)}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
    });
  });

  test('tail follows live and exits 0 on SIGINT', { timeout: 60_000 }, async () => {
    const id = randomUUID();
    const tail = spawnCli(['tail', '--from-beginning', '--filter', `path=/live/${id}`], { env, timeoutMs: 45_000 });
    try {
      const emitted = await cli(['emit', 'api', '--method', 'GET', '--path', `/live/${id}`]);
      assert.equal(emitted.code, 0, explain(emitted));
      await tail.waitForOutput(new RegExp(`/live/${id}`), 30_000);
    } finally {
      const r = await tail.stop('SIGINT');
      assert.equal(r.code, 0, explain(r));
      assert.equal(r.stdout.trim().split('\n').length, 1);
    }
  });
});
