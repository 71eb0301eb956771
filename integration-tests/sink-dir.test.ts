/**
 * The dir sink on the real file system: the shared sink contract (outage = the folder
 * replaced by a file, since tests run as root and chmod does not stop root), the exact
 * layout and line format, hostile resourceIds kept inside the folder, torn-line repair.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/logging.js';
import { toSinkRecord } from '../src/forwarder/sink-record.js';
import type { Sink, SinkRecord } from '../src/sinks/sink.js';
import { dirSinkType } from '../src/sinks/dir/sink.js';
import { apiEventWithId, idOf, resourceIdFor, workflowEventWithId } from './helpers/records.js';
import { sinkContract } from './helpers/sink-contract.js';

let base: string;
before(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'it-dir-sink-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

function createSink(folder: string): Sink {
  return dirSinkType.create(dirSinkType.parseSettings({ path: folder }, 'destinations[0]'), { name: 'it-dir', categories: ['audit', 'operational'], logger: silentLogger, env: {} });
}

/** Every file under `dir`, relative, with `/` separators. */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  assert.ok(text.endsWith('\n'), `${file} does not end with a newline`);
  return text.split('\n').filter((l) => l !== '');
}

async function readBack(folder: string, container: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const f of await filesUnder(path.join(folder, container))) for (const l of await readLines(path.join(folder, container, f))) out.push(JSON.parse(l));
  return out;
}

{
  let folder: string;
  sinkContract('dir (local folder)', {
    async create() {
      folder = path.join(base, `contract-${randomUUID()}`);
      return createSink(folder);
    },
    readBack: (category) => readBack(folder, `insight-logs-${category}`),
    // Root is not stopped by chmod: put a file where the folder was, so writes fail with ENOTDIR.
    async makeUnavailable() {
      await rename(folder, `${folder}.away`);
      await writeFile(folder, 'not a folder');
    },
    async restore() {
      await rm(folder);
      await rename(`${folder}.away`, folder);
    },
  });
}

const RID = resourceIdFor('TEST-INSTANCE-1');
const rec = (event: object, offset = 0): SinkRecord => toSinkRecord(event as never, { topic: 't', partition: 0, offset: String(offset) });

describe('dir sink specifics', () => {
  test('exact paths and JSON Lines, same layout as blob', async () => {
    const folder = path.join(base, `layout-${randomUUID()}`);
    const sink = createSink(folder);
    const a = rec(apiEventWithId(randomUUID(), { time: '2024-05-01T13:45:12.1234567Z' }));
    const b = rec(workflowEventWithId(randomUUID(), { time: '2024-05-01T13:00:00+00:00' }));
    const c = rec(apiEventWithId(randomUUID(), { audit: true, time: '2024-12-31T23:59:59.9Z' }));
    assert.equal((await sink.send([a, b, c])).status, 'delivered');
    assert.deepEqual(await filesUnder(folder), [
      `insight-logs-audit/resourceId=${RID}/y=2024/m=12/d=31/h=23/m=00/PT1H.json`,
      `insight-logs-operational/resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`,
    ]);
    const file = path.join(folder, `insight-logs-operational/resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`);
    assert.deepEqual(await readLines(file), [a.json, b.json]);
    // A second batch appends to the same file.
    const d = rec(apiEventWithId(randomUUID(), { time: '2024-05-01T13:10:00Z' }));
    assert.equal((await sink.send([d])).status, 'delivered');
    assert.deepEqual((await readLines(file)).map((l) => idOf(JSON.parse(l))), [a, b, d].map((r) => idOf(r.event)));
    await sink.close();
  });

  test('hostile resourceIds are rejected PATH_UNSAFE and nothing is written outside the folder', async () => {
    const parent = path.join(base, `hostile-${randomUUID()}`);
    const folder = path.join(parent, 'out');
    const sink = createSink(folder);
    const hostile = ['/../../ESCAPE', '/A/../../../../ESCAPE', '/A/%2e%2e/ESCAPE', '/A\\..\\..\\ESCAPE', '/A\u2215..\u2215ESCAPE', '/A\uFF0F..', '//ESCAPE', '/A/.', '/A/\u0000', `/${'A'.repeat(2000)}`];
    const good = rec(apiEventWithId(randomUUID(), { time: '2024-08-01T01:00:00Z' }), 99);
    const outcome = await sink.send([...hostile.map((resourceId, i) => rec({ ...apiEventWithId(randomUUID()), resourceId }, i)), good]);
    assert.ok(outcome.status === 'delivered');
    assert.deepEqual(outcome.rejected?.map((r) => r.code), hostile.map(() => 'PATH_UNSAFE'));
    assert.deepEqual(await filesUnder(parent), [`out/insight-logs-operational/resourceId=${RID}/y=2024/m=08/d=01/h=01/m=00/PT1H.json`]);
    await sink.close();
  });

  test('a line torn by an earlier crash is closed before new lines are appended', async () => {
    const folder = path.join(base, `torn-${randomUUID()}`);
    const first = createSink(folder);
    const a = rec(apiEventWithId(randomUUID(), { time: '2024-09-01T02:00:00Z' }));
    await first.send([a]);
    const file = path.join(folder, `insight-logs-operational/resourceId=${RID}/y=2024/m=09/d=01/h=02/m=00/PT1H.json`);
    await appendFile(file, '{"time":"2024-09-01T02:00:00Z","resou'); // half a line, as a kill -9 mid-write could leave
    const second = createSink(folder);
    const b = rec(apiEventWithId(randomUUID(), { time: '2024-09-01T02:30:00Z' }));
    assert.equal((await second.send([b])).status, 'delivered');
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines[0], a.json);
    assert.equal(lines[2], b.json, 'the new line starts on a fresh line');
    assert.ok((await stat(file)).size > 0);
  });

  test('healthcheck names the folder and the reason when it cannot be used', async () => {
    const folder = path.join(base, `health-${randomUUID()}`);
    await writeFile(folder, 'a file, not a folder');
    const health = await createSink(folder).healthcheck();
    assert.equal(health.ok, false);
    assert.match(health.ok ? '' : health.problem, /not writable \((EEXIST|ENOTDIR)/);
  });

  test('settings: path required, unknown keys named', () => {
    assert.throws(() => dirSinkType.parseSettings({}, 'destinations[3]'), /destinations\[3\]\.path/);
    assert.throws(() => dirSinkType.parseSettings({ path: 'x', dir: 'y' }, 'destinations[3]'), /destinations\[3\]\.dir: unknown key/);
  });
});
