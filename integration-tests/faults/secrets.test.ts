/**
 * Fault: secrets never reach the output. Credentials set in the environment (an Event Hubs
 * SharedAccessKey, a storage AccountKey, a SASL password referenced by a kafka destination,
 * the forwarder's own KAFKA_SASL_PASSWORD is covered by insecure.test.ts) and fake tokens
 * inside events (a claim `Bearer eyJ…`, a uri with `sig=`), through a run with failures (Event
 * Hubs busy and dropping connections, storage unreachable, SASL refused by the broker, an
 * invalid event carrying the tokens) at LOG_LEVEL=trace and info: no secret value appears in
 * any line of stdout or stderr, nor in `destinations list`: not as written, not URL-encoded or
 * in base64, and nothing shaped like what is derived from them (SAS and SharedKey signatures,
 * signed JWTs, Authorization header values). The log lines of each failure path are checked
 * by destination, so the test knows the paths it guards ran.
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

  /**
   * Each secret as written, and as it travels: URL-encoded (connection strings and SAS URIs),
   * base64 (headers), and the SASL PLAIN message (`\0user\0password`) in base64.
   */
  function secretForms(): [string, string][] {
    const forms: [string, string][] = [];
    for (const [name, value] of Object.entries(secrets)) {
      forms.push([name, value], [`${name} (URL-encoded)`, encodeURIComponent(value)], [`${name} (base64)`, Buffer.from(value).toString('base64')]);
    }
    forms.push(['SASL PLAIN message (base64)', Buffer.from(`\0mirror\0${secrets.saslPassword}`).toString('base64')]);
    return forms;
  }

  /** What is derived from a secret and unknown to the test (signatures, tokens): recognised by its shape. */
  const DERIVED: [string, RegExp][] = [
    ['a SAS signature (sig=…)', /[?&;\s]sig=(?!\[REDACTED\])[^&\s"']{16,}/i],
    ['a storage SharedKey signature', /SharedKey\s+[^:\s"]+:[A-Za-z0-9+/=]{20,}/],
    ['a signed JWT', /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/],
    ['an Authorization header value', /"authorization"\s*:\s*"(?!\[REDACTED\])[^"]{8,}"/i],
  ];

  function assertClean(where: string, text: string): void {
    for (const [name, value] of secretForms()) {
      const line = text.split('\n').find((l) => l.includes(value));
      assert.equal(line, undefined, `${where}: the ${name} appears in the output:\n${line?.slice(0, 600)}`);
    }
    for (const [name, shape] of DERIVED) {
      const line = text.split('\n').find((l) => shape.test(l));
      assert.equal(line, undefined, `${where}: ${name} appears in the output:\n${line?.slice(0, 600)}`);
    }
  }

  /** The JSON log lines of one destination at warn level or above whose message matches. */
  function logLines(output: string, destination: string, message: RegExp): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of output.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const level = entry.level;
      const atLeastWarn = typeof level === 'number' ? level >= 40 : ['warn', 'error', 'fatal'].includes(String(level));
      if (atLeastWarn && entry.destination === destination && message.test(String(entry.msg ?? ''))) out.push(entry);
    }
    return out;
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
      // The error paths this scenario exists for ran, each where its secret is in play.
      const names = { hub: run.name('hub'), blob: run.name('blob'), mirror: run.name('mirror') };
      assert.ok(logLines(output, names.blob, /will retry the same chunk/).length > 0, 'storage unreachable: the blob destination retried');
      // Event Hubs "busy" answers are retried inside the SDK (no pipeline retry line to check);
      // the hub's own path is the dead-lettering of the invalid events below.
      assert.ok(logLines(output, names.mirror, /./).length > 0, 'SASL refused: the kafka destination logged its failure');
      assert.ok(logLines(output, names.hub, /records dead-lettered/).some((e) => JSON.stringify(e.codes).includes('EVENT_INVALID')), 'the invalid events carrying tokens were dead-lettered');
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
