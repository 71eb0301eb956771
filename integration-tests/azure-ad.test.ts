/**
 * Azure AD end to end, through the production path: `insight-logs forward` (the real CLI, a
 * child process) signs in with DefaultAzureCredential (EnvironmentCredential: AZURE_TENANT_ID,
 * AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST) against the local test token
 * authority (testkit/token-authority.ts), every endpoint over HTTPS/TLS with a throwaway CA
 * trusted through NODE_EXTRA_CA_CERTS:
 *   - blob `accountUrl` against a second Azurite in OAuth mode (`--oauth basic`, HTTPS);
 *   - eventhubs `fullyQualifiedNamespace` against the strict Event Hubs double over TLS,
 *     which checks the JWT's audience, expiry and signature (the authority's key);
 *   - loganalytics without `tokenEnv` over HTTPS against the Logs Ingestion double, through
 *     the SDK's own bearer-token policy (an http:// endpoint would bypass it).
 * Then an expired and a wrong-audience token: the destination stays undelivered with a clear
 * error naming it and what to fix, nothing is dead-lettered, and a fresh sign-in delivers all.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DEFAULT_STREAMS } from '../src/sinks/loganalytics/config.js';
import { startEventHubsDouble, type EventHubsEndpoint } from '../testkit/eventhubs.js';
import { getServices } from '../testkit/services.js';
import { createTestCertificates, type TestCertificates } from '../testkit/test-ca.js';
import { startTokenAuthority, type TokenAuthority } from '../testkit/token-authority.js';
import { FaultRun, type ForwardProcess } from './faults/harness.js';
import { startAzurite, type AzuriteInstance } from './helpers/azurite.js';
import { startLogAnalyticsDouble, type LogAnalyticsDouble } from './helpers/loganalytics.js';
import { readBlobStreamsTrusting } from './helpers/blob-streams-child.js';
import { printReport, readEventHubsStreams, type DeliveredStream } from './helpers/oracle.js';

const EVENTS = 90;
// The sink's default streams, which the double declares from the provisioning template.
const STREAMS = DEFAULT_STREAMS;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function deadLettered(run: FaultRun): Promise<number> {
  const admin = run.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(run.topics.deadLetter).catch(() => []);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function waitForOutput(forwarder: ForwardProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(forwarder.output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the forwarder's output within ${timeoutMs} ms:\n${forwarder.output().slice(-3000)}`);
    await sleep(250);
  }
  return forwarder.output().split('\n').find((l) => pattern.test(l)) ?? '';
}

describe('Azure AD end to end: DefaultAzureCredential against a local token authority', { timeout: 420_000 }, () => {
  let certs: TestCertificates;
  let authority: TokenAuthority;
  let azurite: AzuriteInstance;
  let eh: EventHubsEndpoint;
  let la: LogAnalyticsDouble;
  let brokers: string[];
  const runs: FaultRun[] = [];

  before(async () => {
    certs = createTestCertificates();
    authority = await startTokenAuthority(certs);
    [azurite, eh, la] = await Promise.all([
      startAzurite({ oauth: certs }),
      startEventHubsDouble({ tls: certs, partitions: 2, jwtPublicKeyPath: authority.publicKeyPath }),
      startLogAnalyticsDouble({ tls: certs }),
    ]);
    brokers = (await getServices()).kafkaBrokers;
  });

  after(async () => {
    for (const run of runs) await run.cleanup();
    await azurite?.dispose();
    await eh?.stop();
    await la?.stop();
    await authority?.stop();
    certs?.remove();
  });

  /** A scenario of its own: topics, a blob and an eventhubs destination signed in with Azure AD. */
  async function scenario(name: string): Promise<{ run: FaultRun; blob: string; hub: string; logs: string; ruleId: string; containers: Record<string, string>; hubs: Record<string, string> }> {
    const run = new FaultRun(name, { brokers });
    runs.push(run);
    await run.setup();
    const blob = run.name('blob');
    const hub = run.name('hub');
    const suffix = randomBytes(6).toString('hex');
    const containers = { audit: `aad-${suffix}-audit`, operational: `aad-${suffix}-operational` };
    const hubs = { audit: run.name('hub-audit'), operational: run.name('hub-operational') };
    await eh.createHubs(Object.values(hubs));
    const logs = run.name('logs');
    const ruleId = await la.addRule([...Object.values(STREAMS)]);
    assert.match(la.endpoint, /^https:\/\//);
    await run.addDestinations([
      { name: blob, type: 'blob', accountUrl: azurite.accountUrl, containers },
      { name: hub, type: 'eventhubs', fullyQualifiedNamespace: eh.tlsNamespace, hubs },
      { name: logs, type: 'loganalytics', endpoint: la.endpoint, ruleId, streams: STREAMS },
    ]);
    return { run, blob, hub, logs, ruleId, containers, hubs };
  }

  async function delivered(s: Awaited<ReturnType<typeof scenario>>): Promise<void> {
    const blobStreams: DeliveredStream[] = await readBlobStreamsTrusting(certs.caPath, azurite.connectionString, Object.values(s.containers));
    const hubStreams = await readEventHubsStreams(eh, Object.values(s.hubs));
    for (const report of [s.run.oracle.check(s.blob, blobStreams), s.run.oracle.check(s.hub, hubStreams)]) {
      printReport(report);
      assert.equal(report.missing, 0, `${report.destination}: missing ${report.missingSample.join(', ')}`);
      assert.equal(report.unexpected, 0, `${report.destination}: ${report.unexpectedSample.join('\n')}`);
    }
    // Log Analytics rows are flattened columns, not common-schema records: counted (one forwarder, no faults: once each).
    const rows = (await la.rows(s.ruleId, STREAMS.audit)).length + (await la.rows(s.ruleId, STREAMS.operational)).length;
    assert.equal(rows, s.run.oracle.check(s.blob, []).published, 'every record is one Log Analytics row');
  }

  test(`blob (accountUrl, Azurite --oauth basic over HTTPS), eventhubs (fullyQualifiedNamespace, the strict double over TLS) and loganalytics (SDK bearer policy, HTTPS): ${EVENTS} events delivered with Azure AD tokens`, async () => {
    authority.setMode('valid');
    const s = await scenario('aad');
    assert.match(azurite.accountUrl, /^https:\/\//);
    const forwarder = s.run.spawnForwarder(authority.env());
    await s.run.publish(EVENTS);
    await s.run.waitForLagZero([s.blob, s.hub, s.logs], 120_000, [forwarder]);
    const stopped = await forwarder.stop('SIGTERM');
    assert.equal(stopped.code, 0, forwarder.output().slice(-3000));
    await delivered(s);
    const audiences = new Set(authority.requests().filter((r) => r.status === 200 && r.audience).map((r) => r.audience));
    assert.ok(audiences.has('https://storage.azure.com'), `token requests: ${JSON.stringify(authority.requests())}`);
    assert.ok(audiences.has('https://eventhubs.azure.net/'));
    assert.ok(audiences.has('https://monitor.azure.com'));
    assert.equal(await deadLettered(s.run), 0);
  });

  for (const mode of ['expired', 'wrong-audience'] as const) {
    test(`${mode} token: blob, eventhubs and loganalytics report what to fix, naming the destination; nothing dead-lettered; a fresh sign-in delivers everything`, async () => {
      authority.setMode(mode);
      const s = await scenario(`aad-${mode}`);
      const forwarder = s.run.spawnForwarder({ ...authority.env(), LOG_LEVEL: 'warn' });
      try {
        await s.run.publish(12);
        const hubLine = await waitForOutput(forwarder, new RegExp(`destination '${s.hub}'.*to fix: check the Azure AD sign-in`), 60_000);
        assert.match(hubLine, mode === 'expired' ? /ExpiredToken/ : /InvalidAudience/);
        assert.match(hubLine, /https:\/\/eventhubs\.azure\.net\//);
        const blobLine = await waitForOutput(forwarder, new RegExp(`destination '${s.blob}'.*to fix: check the Azure AD sign-in`), 60_000);
        assert.match(blobLine, mode === 'expired' ? /expired/i : /audience/i);
        assert.match(blobLine, /for audience https:\/\/storage\.azure\.com/);
        const logsLine = await waitForOutput(forwarder, new RegExp(`"destination":"${s.logs}".*not authorized \\(HTTP 401\\).*Monitoring Metrics Publisher`), 60_000);
        assert.ok(logsLine.length > 0);
        assert.ok(!forwarder.output().includes(authority.clientSecret), 'the client secret never appears');
        for (const d of [s.blob, s.hub, s.logs]) assert.ok((await s.run.lag(d)) > 0, `${d}: nothing committed while the token is refused`);
        assert.equal(await deadLettered(s.run), 0, 'nothing dead-lettered for a credential problem');
      } finally {
        await forwarder.stop('SIGTERM');
      }
      // The operator fixes the credential; a restarted forwarder signs in afresh and delivers every record.
      authority.setMode('valid');
      const fixed = s.run.spawnForwarder(authority.env());
      await s.run.waitForLagZero([s.blob, s.hub, s.logs], 120_000, [fixed]);
      await fixed.stop('SIGTERM');
      await delivered(s);
      assert.equal(await deadLettered(s.run), 0);
    });
  }
});
