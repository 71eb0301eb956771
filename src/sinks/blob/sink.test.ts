import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../../logging.js';
import { buildApiEvent } from '../../events/builders.js';
import { toSinkRecord } from '../../forwarder/sink-record.js';
import type { SinkRecord } from '../sink.js';
import { parseBlobSettings } from './config.js';
import { packBlocks } from './request-builder.js';
import type { AppendBlobState, BlobService } from './service.js';
import { BlobSink } from './sink.js';
import { classifyBlobError } from './classify.js';

const RID = '/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I1';

function record(i: number, options: { resourceId?: string; method?: string; pad?: number } = {}): SinkRecord {
  const event = buildApiEvent({
    resourceId: RID, operationName: 'X.Y', method: options.method ?? 'GET', status: 200,
    time: '2024-05-01T13:45:12.1234567Z', uri: `https://x.test/a?testId=${i}${'p'.repeat(options.pad ?? 0)}`,
  });
  if (options.resourceId !== undefined) (event as { resourceId: string }).resourceId = options.resourceId;
  return toSinkRecord(event, { topic: 't', partition: 0, offset: String(i) });
}

/** An in-memory append-blob service with Azure's conditional-append semantics. */
class FakeBlobService implements BlobService {
  readonly endpoint = 'http://fake';
  readonly blobs = new Map<string, { data: Buffer; blocks: number }>();
  readonly appends: { name: string; bytes: number }[] = [];
  failNextAppends = 0;
  loseNextReply = false;
  async createContainerIfMissing(): Promise<void> {}
  async createAppendBlobIfMissing(container: string, name: string): Promise<boolean> {
    const key = `${container}/${name}`;
    if (this.blobs.has(key)) return false;
    this.blobs.set(key, { data: Buffer.alloc(0), blocks: 0 });
    return true;
  }
  private blob(container: string, name: string) {
    const b = this.blobs.get(`${container}/${name}`);
    if (!b) throw Object.assign(new Error('not found'), { statusCode: 404, code: 'BlobNotFound' });
    return b;
  }
  async getAppendBlobState(container: string, name: string): Promise<AppendBlobState> {
    const b = this.blob(container, name);
    return { length: b.data.length, committedBlocks: b.blocks };
  }
  async appendBlock(container: string, name: string, body: Buffer, position: number): Promise<AppendBlobState> {
    if (this.failNextAppends > 0) {
      this.failNextAppends--;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    }
    const b = this.blob(container, name);
    if (b.data.length !== position) throw Object.assign(new Error('412'), { statusCode: 412, code: 'AppendPositionConditionNotMet' });
    b.data = Buffer.concat([b.data, body]);
    b.blocks++;
    this.appends.push({ name, bytes: body.length });
    if (this.loseNextReply) {
      this.loseNextReply = false;
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    return { length: b.data.length, committedBlocks: b.blocks };
  }
  async readRange(container: string, name: string, offset: number, count: number): Promise<Buffer> {
    return this.blob(container, name).data.subarray(offset, offset + count);
  }
  async containerExists(): Promise<boolean> {
    return true;
  }
  lines(key: string): string[] {
    return this.blobs.get(key)!.data.toString('utf8').split('\n').filter(Boolean);
  }
}

const BASE = `insight-logs-operational/resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00`;
const context = { name: 'test', categories: ['audit', 'operational'] as const, logger: silentLogger };

function makeSink(raw: Record<string, unknown> = {}) {
  const service = new FakeBlobService();
  const sink = new BlobSink(parseBlobSettings({ connectionStringEnv: 'X', ...raw }, 'd'), context, service);
  return { service, sink };
}

describe('blob sink (fake service)', () => {
  test('one line per record in the hourly blob of its container', async () => {
    const { service, sink } = makeSink();
    const outcome = await sink.send([record(1), record(2, { method: 'POST' }), record(3)]);
    assert.equal(outcome.status, 'delivered');
    assert.deepEqual(service.lines(`${BASE}/PT1H.json`).map((l) => JSON.parse(l).uri.split('=')[1]), ['1', '3']);
    assert.equal(service.lines(`insight-logs-audit/resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`).length, 1);
  });

  test('packs blocks up to maxBlockBytes and never splits a line', async () => {
    const { service, sink } = makeSink({ maxBlockBytes: 4096 });
    const records = Array.from({ length: 30 }, (_, i) => record(i, { pad: 500 }));
    assert.equal((await sink.send(records)).status, 'delivered');
    assert.ok(service.appends.length >= 5);
    for (const a of service.appends) assert.ok(a.bytes <= 4096);
    assert.equal(service.lines(`${BASE}/PT1H.json`).length, 30);
  });

  test('a line larger than a block is rejected RECORD_TOO_LARGE, the rest delivered', async () => {
    const { service, sink } = makeSink({ maxBlockBytes: 2048 });
    const outcome = await sink.send([record(1), record(2, { pad: 3000 }), record(3)]);
    assert.equal(outcome.status, 'delivered');
    assert.equal(outcome.status === 'delivered' && outcome.rejected?.map((r) => r.code).join(), 'RECORD_TOO_LARGE');
    assert.equal(service.lines(`${BASE}/PT1H.json`).length, 2);
  });

  test('unsafe resourceIds are rejected PATH_UNSAFE and nothing is written for them', async () => {
    const { service, sink } = makeSink();
    const outcome = await sink.send([record(1, { resourceId: '/A/../../B' }), record(2)]);
    assert.equal(outcome.status, 'delivered');
    assert.equal(outcome.status === 'delivered' && outcome.rejected?.[0]?.code, 'PATH_UNSAFE');
    assert.deepEqual([...service.blobs.keys()], [`${BASE}/PT1H.json`]);
  });

  test('rolls over to PT1H-1.json, PT1H-2.json after maxBlocksPerBlob', async () => {
    const { service, sink } = makeSink({ maxBlocksPerBlob: 2 });
    for (let i = 0; i < 5; i++) assert.equal((await sink.send([record(i)])).status, 'delivered');
    assert.equal(service.lines(`${BASE}/PT1H.json`).length, 2);
    assert.equal(service.lines(`${BASE}/PT1H-1.json`).length, 2);
    assert.equal(service.lines(`${BASE}/PT1H-2.json`).length, 1);
  });

  test('starting a continuation blob logs a warning once per blob, naming it and what PT1H.json-only readers miss', async () => {
    const lines: { level: string; msg: string; continuation?: string }[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write(chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done(); } }) });
    const service = new FakeBlobService();
    const sink = new BlobSink(parseBlobSettings({ connectionStringEnv: 'X', maxBlocksPerBlob: 2 }, 'd'), { ...context, logger }, service);
    for (let i = 0; i < 7; i++) assert.equal((await sink.send([record(i)])).status, 'delivered');
    const warnings = lines.filter((l) => l.level === 'warn' && l.continuation);
    const blobBase = BASE.slice('insight-logs-operational/'.length);
    assert.deepEqual(warnings.map((w) => w.continuation), [1, 2, 3].map((n) => `${blobBase}/PT1H-${n}.json`));
    assert.match(warnings[0]!.msg, /only PT1H\.json/);
    // A second sink (a restarted forwarder) meets the full blobs again: it warns once more per blob, not per append.
    lines.length = 0;
    const again = new BlobSink(parseBlobSettings({ connectionStringEnv: 'X', maxBlocksPerBlob: 2 }, 'd'), { ...context, logger }, service);
    for (let i = 0; i < 3; i++) await again.send([record(10 + i)]);
    const names = lines.filter((l) => l.level === 'warn' && l.continuation).map((l) => l.continuation);
    assert.equal(new Set(names).size, names.length, 'no blob warned about twice');
  });

  test('a lost reply is recognised on retry: the block is not written twice', async () => {
    const { service, sink } = makeSink();
    await sink.send([record(1)]);
    service.loseNextReply = true;
    const batch = [record(2), record(3)];
    const first = await sink.send(batch);
    assert.equal(first.status, 'retryable');
    assert.equal((await sink.send(batch)).status, 'delivered');
    assert.equal(service.lines(`${BASE}/PT1H.json`).length, 3);
  });

  test('a position conflict with someone else\'s bytes appends after them', async () => {
    const { service, sink } = makeSink();
    await sink.send([record(1)]);
    const other = packBlocks([record(9)], 4096).blocks[0]!.body;
    const state = await service.getAppendBlobState('insight-logs-operational', `resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`);
    await service.appendBlock('insight-logs-operational', `resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`, other, state.length);
    assert.equal((await sink.send([record(2)])).status, 'delivered');
    assert.equal(service.lines(`${BASE}/PT1H.json`).length, 3);
  });

  test('concurrent sends to one blob (two source partitions) append one at a time: no position race, no line lost', async () => {
    // A slow service: each append waits before checking the position, as a real round trip does.
    class SlowService extends FakeBlobService {
      running = 0;
      maxRunning = 0;
      conflicts = 0;
      override async appendBlock(container: string, name: string, body: Buffer, position: number): Promise<AppendBlobState> {
        this.running++;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        try {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return await super.appendBlock(container, name, body, position);
        } catch (error) {
          this.conflicts++;
          throw error;
        } finally {
          this.running--;
        }
      }
    }
    const service = new SlowService();
    const sink = new BlobSink(parseBlobSettings({ connectionStringEnv: 'X' }, 'd'), context, service);
    // Byte-identical lines from different offsets: an append race would take one for the other's landed retry.
    const fromPartition = (partition: number) => [1, 2, 3].map((i) => ({ ...record(i), partition, offset: String(partition * 100 + i) }));
    const outcomes = await Promise.all([sink.send(fromPartition(0)), sink.send(fromPartition(1)), sink.send(fromPartition(2))]);
    assert.deepEqual(outcomes.map((o) => o.status), ['delivered', 'delivered', 'delivered']);
    assert.equal(service.maxRunning, 1);
    assert.equal(service.conflicts, 0);
    assert.equal(service.lines(`${BASE}/PT1H.json`).length, 9);
  });

  test('connection refused is retryable with a reason naming the endpoint, never delivered', async () => {
    const { service, sink } = makeSink();
    service.failNextAppends = 1;
    const outcome = await sink.send([record(1)]);
    assert.equal(outcome.status, 'retryable');
    assert.match(outcome.status === 'retryable' ? outcome.error.message : '', /http:\/\/fake: connection refused/);
  });
});

describe('classifyBlobError', () => {
  const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] });
  test('maps status codes and storage codes', () => {
    assert.deepEqual(classifyBlobError({ statusCode: 412, code: 'AppendPositionConditionNotMet' }), { kind: 'position-mismatch' });
    assert.equal(classifyBlobError({ statusCode: 409, code: 'BlockCountExceedsLimit' }).kind, 'blob-full');
    assert.equal(classifyBlobError({ statusCode: 412, code: 'MaxBlobSizeConditionNotMet' }).kind, 'blob-full');
    const throttled = classifyBlobError({ statusCode: 429, code: 'X', response: { headers: headers({ 'retry-after': '3' }) } });
    assert.deepEqual(throttled.kind === 'retryable' && throttled.retryAfterMs, 3000);
    // retry-after-ms is already milliseconds (it used to be read as seconds: 1000× too long).
    const throttledMs = classifyBlobError({ statusCode: 429, code: 'X', response: { headers: headers({ 'retry-after-ms': '250', 'retry-after': '9' }) } });
    assert.deepEqual(throttledMs.kind === 'retryable' && throttledMs.retryAfterMs, 250);
    const s503 = classifyBlobError({ statusCode: 503, code: 'ServerBusy' });
    assert.equal(s503.kind, 'retryable');
    const denied = classifyBlobError({ statusCode: 403, code: 'AuthenticationFailed' });
    assert.ok(denied.kind === 'retryable' && denied.operator);
    const refused = classifyBlobError(Object.assign(new Error('x'), { code: 'REQUEST_SEND_ERROR', cause: { code: 'ECONNREFUSED' } }));
    assert.ok(refused.kind === 'retryable' && refused.reason === 'connection refused');
  });
});

describe('parseBlobSettings', () => {
  test('errors name the path and never echo a secret', () => {
    assert.throws(() => parseBlobSettings({ connectionStringEnv: 'AccountKey=abc;' }, 'destinations[2]'), (e: Error) => e.message.startsWith('destinations[2].connectionStringEnv:') && !e.message.includes('abc'));
    assert.throws(() => parseBlobSettings({ accountUrl: 'https://a.blob.core.windows.net/?sig=abc' }, 'd'), /d\.accountUrl/);
    assert.throws(() => parseBlobSettings({ connectionStringEnv: 'X', maxBlockBytes: 5 * 1024 * 1024 }, 'd'), /d\.maxBlockBytes/);
    assert.throws(() => parseBlobSettings({ connectionStringEnv: 'X', containers: { audit: 'Bad_Name' } }, 'd'), /d\.containers\.audit/);
    assert.throws(() => parseBlobSettings({ connectionStringEnv: 'X', bogus: 1 }, 'd'), /d\.bogus: unknown key/);
    assert.throws(() => parseBlobSettings({}, 'd'), /d: set connectionStringEnv/);
  });
  test('defaults', () => {
    const s = parseBlobSettings({ connectionStringEnv: 'X' }, 'd');
    assert.equal(s.maxBlockBytes, 4 * 1024 * 1024);
    assert.equal(s.maxBlocksPerBlob, 50_000);
    assert.deepEqual({ ...s.containers }, { audit: 'insight-logs-audit', operational: 'insight-logs-operational' });
  });
});
