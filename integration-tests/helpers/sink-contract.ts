/**
 * The contract every sink type passes (Vector's component compliance, in spirit): it
 * delivers N records that can be read back from the real (or double) endpoint, reports
 * `retryable` — never throws, never `delivered` — while the endpoint is unavailable,
 * delivers again once it is back, answers healthcheck in words, and survives a double close.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Sink } from '../../src/sinks/sink.js';
import { idOf, makeSinkRecords } from './records.js';

export interface SinkContractSubject {
  /** Creates a sink pointed at a live endpoint (fresh container/topic/hub names per call). */
  create(): Promise<Sink>;
  /** Every record JSON object the endpoint holds for a category, read through the endpoint's own API. */
  readBack(category: 'audit' | 'operational'): Promise<Record<string, unknown>[]>;
  /** Makes the endpoint fail transiently (503 injected, process stopped, connections dropped). */
  makeUnavailable(): Promise<void>;
  restore(): Promise<void>;
  cleanup?(): Promise<void>;
}

export function sinkContract(name: string, subject: SinkContractSubject): void {
  describe(`sink contract: ${name}`, () => {
    let sink: Sink;
    before(async () => { sink = await subject.create(); });
    after(async () => { await sink?.close(); await subject.cleanup?.(); });

    test('healthcheck is ok against a live endpoint', async () => {
      const health = await sink.healthcheck();
      assert.equal(health.ok, true, health.ok ? '' : health.problem);
    });

    test('delivers a batch of both categories and every record can be read back', async () => {
      const audit = makeSinkRecords(40, { audit: true });
      const operational = makeSinkRecords(60, { audit: false });
      assert.equal((await sink.send(audit)).status, 'delivered');
      assert.equal((await sink.send(operational)).status, 'delivered');
      const auditIds = new Set((await subject.readBack('audit')).map(idOf));
      const operationalIds = new Set((await subject.readBack('operational')).map(idOf));
      for (const r of audit) assert.ok(auditIds.has(idOf(r.event)), `audit record ${idOf(r.event)} missing`);
      for (const r of operational) assert.ok(operationalIds.has(idOf(r.event)), `operational record ${idOf(r.event)} missing`);
      // Every destination keeps each event's correlationId (readers drop redeliveries with it).
      const read = [...(await subject.readBack('audit')), ...(await subject.readBack('operational'))];
      const correlationOf = new Map(read.map((r) => [idOf(r), (r as { correlationId?: unknown }).correlationId]));
      for (const r of [...audit, ...operational]) {
        assert.ok(r.event.correlationId, 'test records carry a correlationId');
        assert.equal(correlationOf.get(idOf(r.event)), r.event.correlationId, `record ${idOf(r.event)} lost its correlationId`);
      }
    });

    test('reports retryable (and does not throw) while the endpoint is unavailable, then delivers', async () => {
      await subject.makeUnavailable();
      const batch = makeSinkRecords(5, { audit: true });
      try {
        const outcome = await sink.send(batch);
        assert.equal(outcome.status, 'retryable', `expected retryable, got ${outcome.status}`);
        const health = await sink.healthcheck();
        assert.equal(health.ok, false, 'healthcheck should fail while the endpoint is unavailable');
        if (!health.ok) assert.ok(health.problem.length > 0);
      } finally {
        await subject.restore();
      }
      let outcome = await sink.send(batch);
      for (let i = 0; i < 20 && outcome.status === 'retryable'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        outcome = await sink.send(batch);
      }
      assert.equal(outcome.status, 'delivered');
      const ids = new Set((await subject.readBack('audit')).map(idOf));
      for (const r of batch) assert.ok(ids.has(idOf(r.event)));
    });

    test('close twice is safe', async () => {
      await sink.close();
      await sink.close();
    });
  });
}
