/**
 * `insight-logs search` on archives written by the real sinks: the dir sink into a folder and
 * the blob sink into a private Azurite (small blocks and blobs, so hours continue in
 * `PT1H-1.json` …). Every source form of `--from` (folder, one container's folder, account and
 * container URL, destination names from the destinations topic), append blobs written while
 * a search reads them, torn and malformed lines, bad input, and the progress line on a TTY.
 * The oracle is plain code over the events written (method, time), not the filter under test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { buildApiEvent } from '../src/events/builders.js';
import { topicFor } from '../src/events/routing.js';
import type { InsightEvent } from '../src/events/types.js';
import { toSinkRecord } from '../src/forwarder/sink-record.js';
import { silentLogger } from '../src/logging.js';
import { resourceScopeOf } from '../src/search/plan.js';
import { runSearch } from '../src/search/search.js';
import { blobSinkType } from '../src/sinks/blob/sink.js';
import { createBlobArchiveReader } from '../src/sinks/blob/service.js';
import { dirSinkType } from '../src/sinks/dir/sink.js';
import { blobNameFor } from '../src/sinks/layout/path.js';
import type { Sink } from '../src/sinks/sink.js';
import { parseFilters } from '../src/tail/filter.js';
import { deleteTopics, privateTopics, privateTopicsEnv, uniqueName } from '../testkit/kafka.js';
import { getServices } from '../testkit/services.js';
import { startAzurite, type AzuriteInstance } from './helpers/azurite.js';
import { cliPath, runCli } from './helpers/cli.js';
import { resourceIdFor } from './helpers/records.js';

const CS_ENV = 'IT_SEARCH_STORAGE_CS';
const INSTANCES = ['SEARCH-A', 'SEARCH-B', 'SEARCH-C'];
/** 2026-05-10T21:00Z to 2026-05-11T03:00Z, across midnight: 6 hours × 3 instances × 12 events. */
const START_MS = Date.parse('2026-05-10T21:00:00Z');
const METHODS = ['GET', 'DELETE', 'POST', 'GET', 'PATCH', 'GET'];

let azurite: AzuriteInstance;
let blobClient: BlobServiceClient;
let tmp: string;
let dir: string;
const events: InsightEvent[] = [];
const sinks: Sink[] = [];
const prefix = uniqueName('it-search');

function makeEvents(): void {
  let n = 0;
  for (let hour = 0; hour < 6; hour++) {
    for (const instance of INSTANCES) {
      for (let k = 0; k < 12; k++) {
        // Minutes out of order within the hour, as retries and several producers write them.
        const minute = (k * 7) % 60;
        const time = new Date(START_MS + hour * 3_600_000 + minute * 60_000 + n % 1000).toISOString();
        events.push(buildApiEvent({
          resourceId: resourceIdFor(instance), operationName: 'Segments.Op', method: METHODS[(n + hour) % METHODS.length]!,
          status: 200, time, path: `/api/segments/${n}`, callerObjectId: `caller-${n % 5}`,
        }));
        n++;
      }
    }
  }
}

const pathOf = (e: Record<string, any>): string => e.properties.path;
/** The oracle: events in [since, until) passing `keep`, as the search must print them (hour by hour, sorted by time). */
function expected(since: string, until: string, keep: (e: InsightEvent) => boolean): string[] {
  return events
    .filter((e) => Date.parse(e.time) >= Date.parse(since) && Date.parse(e.time) < Date.parse(until) && keep(e))
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
    .map(pathOf);
}
const method = (e: InsightEvent): string => (e.properties as { method: string }).method;
const jsonLines = (stdout: string): Record<string, any>[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));

before(async () => {
  makeEvents();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'it-search-'));
  dir = path.join(tmp, 'archive');
  azurite = await startAzurite();
  blobClient = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const env = { [CS_ENV]: azurite.connectionString };
  const context = { name: 'it-search', categories: ['audit', 'operational'] as ('audit' | 'operational')[], logger: silentLogger, env };
  // Blocks of 1 KiB (two records) and one block per blob: every hour of every instance continues in PT1H-1.json, PT1H-2.json …
  sinks.push(blobSinkType.create(blobSinkType.parseSettings({ connectionStringEnv: CS_ENV, maxBlockBytes: 1024, maxBlocksPerBlob: 1 }, 'it'), context));
  sinks.push(dirSinkType.create(dirSinkType.parseSettings({ path: dir }, 'it'), context));
  const records = events.map((e, i) => toSinkRecord(e, { topic: topicFor(e.category), partition: 0, offset: String(i) }));
  // Several sends, as the forwarder's batches arrive.
  for (let i = 0; i < records.length; i += 50) for (const sink of sinks) assert.equal((await sink.send(records.slice(i, i + 50))).status, 'delivered');
});

after(async () => {
  for (const sink of sinks) await sink.close();
  await azurite?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  const services = await getServices().catch(() => undefined);
  if (services) await deleteTopics(services.kafkaBrokers, privateTopics(prefix)).catch(() => undefined);
});

const SINCE = '2026-05-10T22:30:00Z';
const UNTIL = '2026-05-11T01:45:00Z';

describe('search on both layouts', () => {
  test('a dir destination folder: the matches in range, hour by hour in time order, summary on stderr', async () => {
    const r = await runCli(['search', '--from', dir, '--since', SINCE, '--until', UNTIL, '--filter', 'method=DELETE', '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const want = expected(SINCE, UNTIL, (e) => method(e) === 'DELETE');
    assert.ok(want.length > 5);
    assert.deepEqual(jsonLines(r.stdout).map(pathOf), want);
    assert.match(r.stderr, new RegExp(`^search: ${want.length} matches; `, 'm'));
    assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\x1b'), 'no progress line when stderr is not a terminal');
  });

  test('the blob container written by the blob sink (with continuation blobs), by account URL', async () => {
    const names: string[] = [];
    for await (const b of blobClient.getContainerClient(topicFor('audit')).listBlobsFlat()) names.push(b.name);
    assert.ok(names.some((n) => n.endsWith('/PT1H-1.json')) && names.some((n) => n.endsWith('/PT1H-2.json')), 'continuation blobs exist');
    const r = await runCli(['search', '--from', `http://127.0.0.1:${azurite.port}/devstoreaccount1`, '--since', SINCE, '--until', UNTIL, '--filter', 'method=DELETE', '--output', 'json'], { env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonLines(r.stdout).map(pathOf), expected(SINCE, UNTIL, (e) => method(e) === 'DELETE'));
    assert.ok(!r.stderr.includes('Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq'), 'the account key is never printed');
  });

  test('a container URL and a container\'s own folder (as az download-batch leaves it) hold one category', async () => {
    const audit = (e: InsightEvent): boolean => e.category === 'Audit';
    const want = expected(SINCE, UNTIL, audit);
    const byUrl = await runCli(['search', '--from', `http://127.0.0.1:${azurite.port}/devstoreaccount1/${topicFor('audit')}`, '--since', SINCE, '--until', UNTIL, '--output', 'json', '--connection-string-env', CS_ENV], { env: { [CS_ENV]: azurite.connectionString } });
    assert.equal(byUrl.code, 0, byUrl.stderr);
    assert.deepEqual(jsonLines(byUrl.stdout).map(pathOf), want);
    const byFolder = await runCli(['search', '--from', path.join(dir, topicFor('audit')), '--since', SINCE, '--until', UNTIL, '--output', 'json']);
    assert.equal(byFolder.code, 0, byFolder.stderr);
    assert.deepEqual(jsonLines(byFolder.stdout).map(pathOf), want);
    const none = await runCli(['search', '--from', path.join(dir, topicFor('audit')), '--since', SINCE, '--until', UNTIL, '--category', 'operational']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, '', 'the records of an audit container are not operational');
  });

  test('--category and a resourceId filter narrow what is listed; pretty output is tail\'s', async () => {
    const rid = resourceIdFor('SEARCH-B');
    const r = await runCli(['search', '--from', dir, '--since', SINCE, '--until', UNTIL, '--category', 'operational', '--filter', `resourceId=${rid}`]);
    assert.equal(r.code, 0, r.stderr);
    const want = expected(SINCE, UNTIL, (e) => e.category === 'Operational' && e.resourceId === rid);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, want.length);
    assert.ok(lines.every((l) => l.includes('[SEARCH-B]') && / GET \/api\/segments\//.test(l)), lines[0]);
    // 4 hours in range (22, 23, 00, 01) × 1 resource × 1 container.
    assert.match(r.stderr, /; 4 hour folder\(s\) of 1 resource folder\(s\);/);
  });
});

describe('blobs and files being written', () => {
  test('an append blob appended to during the search is read up to its length when listed; the next search sees the rest', async () => {
    const late = buildApiEvent({ resourceId: resourceIdFor('SEARCH-A'), operationName: 'Segments.Op', method: 'DELETE', status: 200, time: '2026-05-11T00:59:00.000Z', path: '/api/segments/late' });
    const reader = createBlobArchiveReader({ kind: 'connectionString', connectionString: azurite.connectionString });
    let appended = false;
    const appendingReader = {
      ...reader,
      // The first read of the hour's last blob happens after an append landed on it.
      async *read(container: string, name: string, length: number, abortSignal?: AbortSignal) {
        if (!appended && name.startsWith(blobNameFor(late).replace(/PT1H\.json$/, ''))) {
          appended = true;
          assert.equal((await sinks[0]!.send([toSinkRecord(late, { topic: topicFor(late.category), partition: 0, offset: '9999' })])).status, 'delivered');
        }
        yield* reader.read(container, name, length, abortSignal);
      },
    };
    const filters = parseFilters(['method=DELETE']);
    const run = async (r: typeof reader) => {
      const out: string[] = [];
      const warnings: string[] = [];
      const stats = await runSearch({
        reader: r, containers: [{ container: topicFor('audit'), category: 'audit' }], sinceMs: Date.parse('2026-05-11T00:00:00Z'), untilMs: Date.parse('2026-05-11T01:00:00Z'),
        filters, resourceScope: resourceScopeOf(filters), categories: ['audit'], write: (e) => out.push(pathOf(e)), warn: (w) => warnings.push(w),
      });
      return { out, warnings, stats };
    };
    const first = await run(appendingReader);
    assert.ok(appended);
    assert.deepEqual(first.warnings, []);
    assert.equal(first.stats.malformed + first.stats.partialLines, 0);
    assert.deepEqual(first.out, expected('2026-05-11T00:00:00Z', '2026-05-11T01:00:00Z', (e) => method(e) === 'DELETE'), 'what was there when listed, nothing torn');
    const second = await run(reader);
    assert.deepEqual(second.out.filter((p) => p === '/api/segments/late'), ['/api/segments/late']);
    // Only the blob archive has it: kept out of `events`, the oracle of both archives.
  });

  test('a file whose last line is being written: skipped and counted, read whole by the next search', async () => {
    const e = buildApiEvent({ resourceId: resourceIdFor('SEARCH-C'), operationName: 'Segments.Op', method: 'DELETE', status: 200, time: '2026-05-10T23:58:00.000Z', path: '/api/segments/torn' });
    const file = path.join(dir, topicFor('audit'), ...blobNameFor(e).split('/'));
    const line = JSON.stringify(e);
    await appendFile(file, line.slice(0, 40));
    const args = ['search', '--from', dir, '--since', '2026-05-10T23:00:00Z', '--until', '2026-05-11T00:00:00Z', '--filter', 'resourceId=*SEARCH-C', '--output', 'json'];
    const torn = await runCli(args);
    assert.equal(torn.code, 0, torn.stderr);
    assert.ok(!torn.stdout.includes('/api/segments/torn'));
    assert.match(torn.stderr, /1 unterminated last line\(s\) skipped/);
    assert.ok(!torn.stderr.includes('warning'), torn.stderr);
    await appendFile(file, `${line.slice(40)}\n`);
    const whole = await runCli(args);
    assert.ok(whole.stdout.includes('/api/segments/torn'), whole.stderr);
    events.push(e); // in the dir archive from now on (the progress test counts it)
  });

  test('a malformed line in a blob is a counted warning naming the blob and line, and the search goes on', async () => {
    const e = events.find((x) => x.category === 'Audit' && x.time.startsWith('2026-05-11T01'))!;
    const name = blobNameFor(e).replace(/PT1H\.json$/, 'PT1H-9.json');
    const blob = blobClient.getContainerClient(topicFor('audit')).getAppendBlobClient(name);
    await blob.create();
    // PUT: a method no other record has, so the searches of other tests do not see this one.
    const body = `not json at all\n${JSON.stringify({ ...e, properties: { ...e.properties, method: 'PUT', path: '/api/segments/after-garbage' } })}\n`;
    await blob.appendBlock(body, Buffer.byteLength(body));
    const r = await runCli(['search', '--from', `http://127.0.0.1:${azurite.port}/devstoreaccount1`, '--since', '2026-05-11T01:00:00Z', '--until', '2026-05-11T02:00:00Z', '--category', 'audit', '--output', 'json'], { env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`search: warning: ${topicFor('audit')}/${name}:1: not JSON`), r.stderr);
    assert.match(r.stderr, /1 malformed line\(s\) skipped/);
    assert.ok(r.stdout.includes('/api/segments/after-garbage'));
  });
});

describe('destinations by name', () => {
  test('a blob and a dir destination from the destinations topic; an unknown name lists the known ones', async () => {
    const services = await getServices();
    const env = { ...privateTopicsEnv(prefix), KAFKA_BROKERS: services.kafkaBrokers.join(','), [CS_ENV]: azurite.connectionString };
    const add1 = await runCli(['destinations', 'add', 'it-arch-blob', '--type', 'blob', '--categories', 'audit', '--connection-string-env', CS_ENV], { env });
    assert.equal(add1.code, 0, add1.stderr);
    const add2 = await runCli(['destinations', 'add', 'it-arch-dir', '--type', 'dir', '--path', dir], { env });
    assert.equal(add2.code, 0, add2.stderr);
    const want = expected(SINCE, UNTIL, (e) => method(e) === 'POST');
    const blob = await runCli(['search', '--from', 'it-arch-blob', '--since', SINCE, '--until', UNTIL, '--filter', 'method=POST', '--output', 'json'], { env });
    assert.equal(blob.code, 0, blob.stderr);
    assert.deepEqual(jsonLines(blob.stdout).map(pathOf), want);
    const folder = await runCli(['search', '--from', 'it-arch-dir', '--since', SINCE, '--until', UNTIL, '--filter', 'method=POST', '--output', 'json'], { env });
    assert.equal(folder.code, 0, folder.stderr);
    assert.deepEqual(jsonLines(folder.stdout).map(pathOf), want);
    const unknown = await runCli(['search', '--from', 'no-such-archive', '--since', '1h'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /DESTINATION_UNKNOWN: --from: no destination named "no-such-archive" \(known: it-arch-blob, it-arch-dir\); for a local folder of that name write \.\/no-such-archive/);
    const missingSecret = await runCli(['search', '--from', 'it-arch-blob', '--since', '1h'], { env: { ...env, [CS_ENV]: '' } });
    assert.equal(missingSecret.code, 2);
    assert.match(missingSecret.stderr, /SECRET_MISSING/);
  });
});

describe('bad input', () => {
  const noStack = (stderr: string): void => assert.ok(!/\n\s+at /.test(stderr), `no stack trace:\n${stderr}`);

  test('bad times, a missing folder, an empty range, a bad filter: one clear line, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--from', dir, '--since', 'yesterday'], /--since: "yesterday" is not a duration like 30s, 15m or 2h/],
      [['--from', dir, '--since', '2026-13-40'], /--since: "2026-13-40" is not a valid ISO 8601 time/],
      [['--from', dir, '--since', '2026-05-11', '--until', '2026-05-10'], /--until \(2026-05-10T00:00:00.000Z\) must be later than --since/],
      [['--from', path.join(tmp, 'nope'), '--since', '1h'], /--from: folder .*nope does not exist/],
      [['--from', dir, '--since', '1h', '--filter', 'methd=GET'], /unknown field "methd"/],
      [['--from', dir, '--since', '1h', '--category', 'security'], /--category: "security" is not one of audit, operational, all/],
      [['--from', 'http://127.0.0.1:1/devstoreaccount1?sig=secret', '--since', '1h'], /must not carry a query string/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['search', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      noStack(r.stderr);
      assert.ok(!r.stderr.includes('secret'));
    }
  });

  test('storage that does not answer: SINK_UNAVAILABLE naming the endpoint, never the key', async () => {
    const cs = azurite.connectionString.replace(`:${azurite.port}/`, ':1/');
    const r = await runCli(['search', '--from', 'http://127.0.0.1:1/devstoreaccount1', '--since', '1h'], { env: { AZURE_STORAGE_CONNECTION_STRING: cs }, timeoutMs: 120_000 });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /SINK_UNAVAILABLE: cannot read the archive at http:\/\/127\.0\.0\.1:1\/devstoreaccount1/);
    assert.ok(!r.stderr.includes('AccountKey'), r.stderr);
    noStack(r.stderr);
  });
});

test('on a terminal, a progress line on stderr (blobs, bytes, matches), cleared at the end', async () => {
  const out = path.join(tmp, 'tty-out.jsonl');
  // `script` gives the command a pty for stdin/stderr; stdout goes to a file.
  const r = spawnSync('script', ['-qefc', `${process.execPath} ${cliPath()} search --from ${dir} --since 2026-05-10T20:00:00Z --until 2026-05-11T04:00:00Z --output json > ${out}`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // Each redraw starts with carriage return + erase line.
  const CLEAR = '\r\u001b[2K';
  const drawn = r.stdout.split(CLEAR).slice(1);
  assert.ok(drawn.some((d) => /^searching: hour \d+\/48, \d+ blobs, [\d.]+ MB, \d+ lines, \d+ matches$/.test(d)), JSON.stringify(r.stdout.slice(0, 500)));
  assert.ok(drawn.some((d) => /^search: \d+ matches;/.test(d)), 'the progress line is cleared before the summary');
  assert.equal((await readFile(out, 'utf8')).split('\n').filter(Boolean).length, events.length);
});
