/**
 * Event Hubs the way production connects: `insight-logs forward` (the real CLI, a child
 * process) sends over AMQP with TLS to the strict test double, with a production-style
 * connection string (no `UseDevelopmentEmulator=true`, so the SDK's TLS path runs) and a
 * throwaway CA made at test time, trusted through NODE_EXTRA_CA_CERTS (read at process start,
 * hence the child process). Then a second, independent client — Python's azure-eventhub 5.11
 * from Debian's python3-azure, TLS only — reads every event back; the records inside the
 * `{"records":[…]}` bodies are counted and every published id must be there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startEventHubsDouble, type EventHubsEndpoint } from '../testkit/eventhubs.js';
import { getServices, repoRoot } from '../testkit/services.js';
import { createTestCertificates, type TestCertificates } from '../testkit/test-ca.js';
import { FaultRun } from './faults/harness.js';
import { printReport, type DeliveredStream } from './helpers/oracle.js';
import { findPython } from './helpers/python.js';

const EVENTS = 600;
const CS_ENV = 'EH_TLS_CONNECTION_STRING';

/** Every event of `hub`, read by Python's azure-eventhub over TLS, as oracle streams (one per partition). */
async function readWithPython(python: string, connectionString: string, hub: string, caPath: string, minEvents: number): Promise<{ streams: DeliveredStream[]; events: number }> {
  const script = path.join(repoRoot(), 'integration-tests', 'fixtures', 'eventhub_read.py');
  const child = spawn(python, [script, CS_ENV, hub, caPath, String(minEvents), '60'], { env: { ...process.env, [CS_ENV]: connectionString }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `eventhub_read.py ${hub}: exit ${code}: ${err.slice(-2000)}`);
  const lines = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { partition: string; body: string });
  const byPartition = new Map<string, Record<string, unknown>[]>();
  for (const line of lines) {
    const body = JSON.parse(line.body) as { records?: Record<string, unknown>[] };
    assert.ok(Array.isArray(body.records), `an event body is not {"records":[…]}: ${line.body.slice(0, 200)}`);
    byPartition.set(line.partition, [...(byPartition.get(line.partition) ?? []), ...body.records]);
  }
  return { streams: [...byPartition].map(([partition, records]) => ({ name: `${hub}/${partition}`, records })), events: lines.length };
}

describe('Event Hubs over TLS with a production-style connection string, read back by Python azure-eventhub', { timeout: 240_000 }, () => {
  let run: FaultRun;
  let eh: EventHubsEndpoint;
  let certs: TestCertificates;
  let python: string;
  const hubs = { audit: '', operational: '' };
  let destination = '';

  before(async () => {
    python = await findPython('azure.eventhub', 'python3-azure', 'reading Event Hubs back with a second, independent client');
    certs = createTestCertificates();
    eh = await startEventHubsDouble({ tls: certs, partitions: 2 });
    run = new FaultRun('eh-tls', { brokers: (await getServices()).kafkaBrokers });
    await run.setup();
    destination = run.name('hub');
    Object.assign(hubs, { audit: run.name('hub-audit'), operational: run.name('hub-operational') });
    await eh.createHubs(Object.values(hubs));
    await run.addDestinations([{ name: destination, type: 'eventhubs', connectionStringEnv: CS_ENV, hubs }]);
  });

  after(async () => {
    await run?.cleanup();
    await eh?.stop();
    certs?.remove();
  });

  test(`${EVENTS} events: forward over TLS, every record read back by Python in {"records":[…]} bodies`, async () => {
    const connectionString = eh.tlsConnectionString();
    assert.doesNotMatch(connectionString, /UseDevelopmentEmulator/i);
    assert.match(connectionString, /^Endpoint=sb:\/\/localhost:\d+\/;/);
    const forwarder = run.spawnForwarder({ [CS_ENV]: connectionString, NODE_EXTRA_CA_CERTS: certs.caPath });
    await run.publish(EVENTS);
    await run.waitForLagZero([destination], 90_000, [forwarder]);
    const stopped = await forwarder.stop('SIGTERM');
    assert.equal(stopped.code, 0, forwarder.output().slice(-3000));

    const audit = await readWithPython(python, connectionString, hubs.audit, certs.caPath, 1);
    const operational = await readWithPython(python, connectionString, hubs.operational, certs.caPath, 1);
    const report = run.oracle.check(destination, [...audit.streams, ...operational.streams]);
    printReport(report);
    const records = [...audit.streams, ...operational.streams].reduce((n, s) => n + s.records.length, 0);
    console.log(`[eh-tls] python read ${audit.events + operational.events} events holding ${records} records (${(records / (audit.events + operational.events)).toFixed(1)} per event)`);
    assert.equal(report.published, EVENTS);
    assert.equal(report.missing, 0, `missing ${report.missingSample.join(', ')}`);
    assert.equal(report.unexpected, 0, report.unexpectedSample.join('\n'));
    assert.ok(records >= EVENTS);
    assert.ok(audit.events + operational.events < records, 'several records per event body');
  });

  test('the same connection string without the CA is refused by TLS (the certificate is really checked)', async () => {
    const forwarder = run.spawnForwarder({ [CS_ENV]: eh.tlsConnectionString(), LOG_LEVEL: 'info' });
    try {
      await run.publish(3);
      const deadline = Date.now() + 30_000;
      while (!/self[- ]signed|unable to (verify|get local issuer)|certificate/i.test(forwarder.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      assert.match(forwarder.output(), /self[- ]signed|unable to (verify|get local issuer)|certificate/i);
    } finally {
      await forwarder.stop('SIGKILL');
    }
  });
});
