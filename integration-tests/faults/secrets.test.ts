/**
 * Fault: secrets never reach the output. Credentials set in the environment (an Event Hubs
 * SharedAccessKey, a storage AccountKey, a SASL password referenced by a kafka destination,
 * the forwarder's own KAFKA_SASL_PASSWORD is covered by insecure.test.ts) and fake tokens
 * inside events (a claim `Bearer eyJ…`, a uri with `sig=`), through a run with failures (Event
 * Hubs busy and dropping connections, storage unreachable, SASL refused by the broker, an
 * invalid event carrying the tokens) at LOG_LEVEL=trace and info: no secret value appears in
 * any line of stdout or stderr, nor in `destinations list`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { defaultSchemaRegistry } from '../../src/codec/schema-registry.js';
import { kindOf, type InsightEvent } from '../../src/events/types.js';
import { startEventHubsDouble, type EventHubsEndpoint } from '../../testkit/eventhubs.js';
import { apiEventWithId } from '../helpers/records.js';
import { getServices } from '../../testkit/services.js';
import { FaultRun, sleep, spawnCli } from './harness.js';

const secret = (label: string): string => `${label}${randomBytes(18).toString('base64url')}`;

describe('fault: no secret in any output line', { timeout: 170_000 }, () => {
  let run: FaultRun;
  let eh: EventHubsEndpoint;
  const secrets = {
    sharedAccessKey: secret('ehkey'),
    accountKey: Buffer.from(secret('acctkey')).toString('base64'),
    saslPassword: secret('saslpw'),
    bearer: `eyJ${secret('jwt')}`,
    sig: secret('sig'),
  };
  const env: NodeJS.ProcessEnv = {};

  before(async () => {
    run = new FaultRun('secrets', { brokers: (await getServices()).kafkaBrokers });
    await run.setup();
    // The secret is the hub's policy key: the SAS tokens the SDK signs with it travel on the wire.
    eh = await startEventHubsDouble({ partitions: 2, policy: { name: 'fault-secrets', key: secrets.sharedAccessKey } });
    env.FAULT_EH_CS = eh.connectionString();
    assert.ok(env.FAULT_EH_CS.includes(secrets.sharedAccessKey));
    // Storage that does not answer: every send fails and is logged.
    env.FAULT_BLOB_CS = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${secrets.accountKey};BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;`;
    env.FAULT_SASL_PASSWORD = secrets.saslPassword;
    const hubs = { audit: run.name('a'), operational: run.name('o') };
    await eh.createHubs(Object.values(hubs));
    await run.addDestinations([
      { name: run.name('hub'), type: 'eventhubs', connectionStringEnv: 'FAULT_EH_CS', hubs },
      { name: run.name('blob'), type: 'blob', connectionStringEnv: 'FAULT_BLOB_CS' },
      // SASL against a broker without SASL: authentication fails, over and over.
      { name: run.name('mirror'), type: 'kafka', brokers: run.brokers, allowInsecure: true, sasl: { mechanism: 'plain', username: 'mirror', passwordEnv: 'FAULT_SASL_PASSWORD' }, topics: { audit: run.name('ma', true), operational: run.name('mo', true) } },
    ]);
  });

  after(async () => {
    await run?.cleanup();
    await eh?.stop();
  });

  /** Events carrying fake tokens: valid ones (delivered) and an invalid one (dead-lettered, reason logged). */
  async function publishTokens(): Promise<void> {
    const registry = defaultSchemaRegistry();
    const withTokens = (valid: boolean): InsightEvent => {
      const e = apiEventWithId(randomUUID()) as InsightEvent & { identity?: unknown; uri?: string };
      return {
        ...e,
        identity: { Claims: { authorization: `Bearer ${secrets.bearer}`, upn: 'user@example.test' } },
        uri: valid ? `https://ci.example.test/api?testId=${randomUUID()}&sv=2024-01-01&sig=${secrets.sig}` : `not a uri sig=${secrets.sig} Bearer ${secrets.bearer}`,
        ...(valid ? {} : { resultType: `Bearer ${secrets.bearer}` }),
      } as InsightEvent;
    };
    const events = [withTokens(true), withTokens(false), withTokens(true), withTokens(false)];
    await run.sendRaw([{ topic: run.topics.operational, messages: events.map((e) => ({ key: e.resourceId, value: registry.encode(kindOf(e), e) })) }]);
  }

  function assertClean(where: string, text: string): void {
    for (const [name, value] of Object.entries(secrets)) {
      const line = text.split('\n').find((l) => l.includes(value));
      assert.equal(line, undefined, `${where}: the ${name} appears in the output:\n${line?.slice(0, 600)}`);
    }
  }

  for (const level of ['trace', 'info']) {
    test(`forward at LOG_LEVEL=${level} through failures prints no secret`, async () => {
      const p = spawnCli(['forward', '--metrics-port', '0'], run.env({ ...env, LOG_LEVEL: level }), { keepAll: true });
      try {
        await p.metricsPort;
        await publishTokens();
        await run.publish(50);
        await eh.busy(3);
        await sleep(2000);
        await eh.dropConnections();
        await publishTokens();
        await sleep(4000);
        const health = await p.healthz();
        assertClean('/healthz', health.body);
      } finally {
        const { code } = await p.stop('SIGTERM');
        assert.equal(code, 0, p.output().slice(-2000));
      }
      const output = p.output();
      const lines = output.split('\n').length;
      console.log(`[secrets] LOG_LEVEL=${level}: ${lines} lines (${output.length} bytes) checked for ${Object.keys(secrets).length} secret values`);
      assert.ok(lines > 10, 'the run logged something to check');
      assert.match(output, /dead-lettered|retry|fail/i, 'error paths ran');
      assertClean(`forward (${level})`, output);
    });
  }

  test('destinations list (table and json) prints variable names, never the values', async () => {
    for (const format of ['table', 'json']) {
      const p = spawnCli(['destinations', 'list', '--output', format], run.env(env));
      const { code } = await p.exited;
      assert.equal(code, 0, p.output());
      assert.match(p.output(), /FAULT_EH_CS/);
      assertClean(`destinations list --output ${format}`, p.output());
    }
  });
});
