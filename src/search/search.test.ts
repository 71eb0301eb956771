/**
 * The search engine over an in-memory archive: what is listed, the order of the output, the
 * buffer limit, --max, and how malformed and unterminated lines are counted. The same engine
 * on Azurite and on real folders: integration-tests/search.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent } from '../events/builders.js';
import type { InsightEvent } from '../events/types.js';
import type { ArchiveListing, ArchiveReader } from '../sinks/layout/archive.js';
import { blobNameFor, continuationName } from '../sinks/layout/path.js';
import { parseFilters } from '../tail/filter.js';
import { resourceScopeOf } from './plan.js';
import { newSearchStats, runSearch, type SearchOptions } from './search.js';

const rid = (i: string): string => `/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I${i}`;

function event(i: number, time: string, instance = '1', method = 'GET'): InsightEvent {
  return buildApiEvent({ resourceId: rid(instance), operationName: 'Op.X', method, status: 200, time, path: `/p/${i}` });
}

/** A container as a map of blob name → content; lists one folder at a time like the services, and records every listed folder. */
class MemoryArchive implements ArchiveReader {
  readonly location = 'memory';
  readonly blobs = new Map<string, string>();
  readonly listed: string[] = [];
  constructor(readonly chunkBytes = 7) {}
  add(name: string, lines: string): void {
    this.blobs.set(name, (this.blobs.get(name) ?? '') + lines);
  }
  addEvents(events: InsightEvent[], part = 0): void {
    for (const e of events) this.add(part === 0 ? blobNameFor(e) : continuationName(blobNameFor(e), part), `${JSON.stringify(e)}\n`);
  }
  async containerExists(): Promise<boolean> {
    return true;
  }
  async list(_container: string, folder: string): Promise<ArchiveListing> {
    this.listed.push(folder);
    const folders = new Set<string>();
    const files = [];
    for (const [name, body] of this.blobs) {
      if (!name.startsWith(folder)) continue;
      const rest = name.slice(folder.length);
      const slash = rest.indexOf('/');
      if (slash >= 0) folders.add(folder + rest.slice(0, slash + 1));
      else files.push({ name, size: Buffer.byteLength(body) });
    }
    return { folders: [...folders], files };
  }
  async listFiles(_container: string, folder: string): Promise<{ name: string; size: number }[]> {
    this.listed.push(`flat:${folder}`);
    return [...this.blobs].filter(([name]) => name.startsWith(folder)).map(([name, body]) => ({ name, size: Buffer.byteLength(body) }));
  }
  async *read(_container: string, name: string, length: number): AsyncIterable<Buffer> {
    // Small chunks: lines and multi-byte characters cut across chunk boundaries.
    const bytes = Buffer.from(this.blobs.get(name) ?? '').subarray(0, length);
    for (let i = 0; i < bytes.length; i += this.chunkBytes) yield bytes.subarray(i, i + this.chunkBytes);
  }
}

async function search(archive: ArchiveReader, since: string, until: string, filterTexts: string[] = [], extra: Partial<SearchOptions> = {}) {
  const filters = parseFilters(filterTexts);
  const out: InsightEvent[] = [];
  const warnings: string[] = [];
  const stats = await runSearch({
    reader: archive, containers: [{ container: 'c' }], sinceMs: Date.parse(since), untilMs: Date.parse(until), filters,
    resourceScope: resourceScopeOf(filters), categories: ['audit', 'operational'], write: (e) => out.push(e), warn: (w) => warnings.push(w), ...extra,
  });
  return { out, warnings, stats };
}

describe('runSearch', () => {
  test('matches come hour by hour, each hour sorted by time across resources; time bounds apply inside the hour', async () => {
    const archive = new MemoryArchive();
    // Written out of order within the hour, as a late retry would.
    archive.addEvents([event(1, '2026-03-01T10:40:00Z'), event(2, '2026-03-01T10:10:00Z'), event(3, '2026-03-01T11:05:00Z'), event(4, '2026-03-01T09:59:59Z'), event(5, '2026-03-01T10:20:00Z', '2')]);
    const { out, stats } = await search(archive, '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z');
    assert.deepEqual(out.map((e) => e.time), ['2026-03-01T10:10:00Z', '2026-03-01T10:20:00Z', '2026-03-01T10:40:00Z']);
    assert.equal(stats.hoursPlanned, 2, 'one hour × two resources');
    assert.ok(!archive.listed.some((f) => f.includes('h=09') || f.includes('h=11')), `listed only the hour in range: ${archive.listed.join(', ')}`);
  });

  test('continuation blobs are read after PT1H.json, and tail\'s filters apply', async () => {
    const archive = new MemoryArchive();
    archive.addEvents([event(1, '2026-03-01T10:01:00Z', '1', 'DELETE')]);
    archive.addEvents([event(2, '2026-03-01T10:02:00Z', '1', 'DELETE'), event(3, '2026-03-01T10:03:00Z', '1', 'GET')], 1);
    archive.addEvents([event(4, '2026-03-01T10:04:00Z', '1', 'DELETE')], 2);
    const { out, stats } = await search(archive, '2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z', ['method=DELETE']);
    assert.deepEqual(out.map((e) => (e.properties as { path: string }).path), ['/p/1', '/p/2', '/p/4']);
    assert.equal(stats.blobs, 3);
    assert.equal(stats.lines, 4);
  });

  test('an exact resourceId lists no resourceId= folder; a glob lists only branches that can match', async () => {
    const archive = new MemoryArchive();
    archive.addEvents([event(1, '2026-03-01T10:00:00Z', '1'), event(2, '2026-03-01T10:00:00Z', '2'), event(3, '2026-03-01T10:00:00Z', '30')]);
    const exact = await search(archive, '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z', [`resourceId=${rid('2')}`]);
    assert.deepEqual(exact.out.map((e) => e.resourceId), [rid('2')]);
    assert.deepEqual(archive.listed, [`resourceId=${rid('2')}/y=2026/m=03/d=01/h=10/m=00/`]);

    archive.listed.length = 0;
    const glob = await search(archive, '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z', [`resourceId=${rid('?')}`]);
    assert.deepEqual(glob.out.map((e) => e.resourceId).sort(), [rid('1'), rid('2')], 'I30 has two characters after I');
    assert.ok(!archive.listed.includes(`resourceId=${rid('30')}/`), 'the I30 folder is not listed');
  });

  test('a day wholly in range is listed once, flat; the hours of a partial day one by one', async () => {
    const archive = new MemoryArchive();
    archive.addEvents([event(1, '2026-03-01T23:30:00Z'), event(2, '2026-03-02T05:00:00Z'), event(3, '2026-03-03T00:10:00Z'), event(4, '2026-03-03T01:10:00Z')]);
    const { out } = await search(archive, '2026-03-01T23:00:00Z', '2026-03-03T01:00:00Z');
    assert.deepEqual(out.map((e) => e.time), ['2026-03-01T23:30:00Z', '2026-03-02T05:00:00Z', '2026-03-03T00:10:00Z']);
    const day = `resourceId=${rid('1')}/y=2026/m=03/d=`;
    const calls = archive.listed.filter((f) => f.includes('y=2026'));
    assert.deepEqual(calls.sort(), [`${day}01/h=23/m=00/`, `${day}03/h=00/m=00/`, `flat:${day}02/`].sort());
  });

  test('malformed lines are counted and warned about with blob and line; an unterminated last line is counted, not warned', async () => {
    const archive = new MemoryArchive();
    const good = event(1, '2026-03-01T10:00:00Z');
    const name = blobNameFor(good);
    archive.add(name, `${JSON.stringify(good)}\nnot json\n[1,2]\n{"time":"yesterday"}\n\n${JSON.stringify(event(2, '2026-03-01T10:00:01Z'))}\n{"time":"2026-03-01T10:0`);
    const { out, warnings, stats } = await search(archive, '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z');
    assert.equal(out.length, 2);
    assert.equal(stats.malformed, 3);
    assert.equal(stats.partialLines, 1);
    assert.equal(warnings.length, 3);
    assert.match(warnings[0]!, new RegExp(`^c/${name.replace(/[.()]/g, '\\$&')}:2: not JSON`));
    assert.match(warnings[2]!, /:4: no valid "time"/);
  });

  test('a JSON object that is not a log record is malformed, not printed (the formats rely on the schema\'s skeleton)', async () => {
    const archive = new MemoryArchive();
    const good = event(1, '2026-03-01T10:00:00Z');
    archive.add(blobNameFor(good), `${JSON.stringify({ time: '2026-03-01T10:00:00Z' })}\n${JSON.stringify({ ...good, properties: 'x' })}\n${JSON.stringify(good)}\n`);
    const { out, warnings, stats } = await search(archive, '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z');
    assert.equal(out.length, 1);
    assert.equal(stats.malformed, 2);
    assert.match(warnings[0]!, /:1: not a log record \("resourceId" is not a string\)/);
    assert.match(warnings[1]!, /:2: not a log record \("properties" is not an object\)/);
  });

  test('a whole record without the final newline is read', async () => {
    const archive = new MemoryArchive();
    const e = event(1, '2026-03-01T10:00:00Z');
    archive.add(blobNameFor(e), JSON.stringify(e));
    const { out, stats } = await search(archive, '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z');
    assert.equal(out.length, 1);
    assert.equal(stats.partialLines, 0);
  });

  test('--max stops the search after n matches, in output order', async () => {
    const archive = new MemoryArchive();
    const events = Array.from({ length: 50 }, (_, i) => event(i, new Date(Date.parse('2026-03-01T00:00:00Z') + i * 600_000).toISOString(), String(i % 3)));
    archive.addEvents(events);
    const { out, stats } = await search(archive, '2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z', [], { max: 5, concurrency: 3 });
    assert.equal(out.length, 5);
    assert.equal(stats.matches, 5);
    assert.deepEqual(out.map((e) => e.time), [...out.map((e) => e.time)].sort(), 'hours come in order');
  });

  test('a full buffer in a later hour waits its turn: the output keeps hour order and every match', async () => {
    const archive = new MemoryArchive(4096);
    const events: InsightEvent[] = [];
    for (let h = 0; h < 6; h++) for (let i = 0; i < 40; i++) events.push(event(h * 100 + i, `2026-03-01T0${h}:${String(59 - i).padStart(2, '0')}:00Z`));
    archive.addEvents(events);
    const { out } = await search(archive, '2026-03-01T00:00:00Z', '2026-03-01T06:00:00Z', [], { concurrency: 4, maxBufferedBytes: 2000 });
    assert.equal(out.length, 240);
    const hours = out.map((e) => e.time.slice(11, 13));
    assert.deepEqual(hours, [...hours].sort(), 'no hour overtakes an earlier one');
    for (let h = 0; h < 6; h++) assert.equal(hours.filter((x) => x === `0${h}`).length, 40, `hour ${h} complete`);
  });

  test('the caller\'s abort stops the search without an error', async () => {
    const archive = new MemoryArchive();
    archive.addEvents(Array.from({ length: 20 }, (_, i) => event(i, `2026-03-01T${String(i).padStart(2, '0')}:00:00Z`)));
    const abort = new AbortController();
    const stats = newSearchStats();
    const out: InsightEvent[] = [];
    await runSearch({
      reader: archive, containers: [{ container: 'c' }], sinceMs: Date.parse('2026-03-01T00:00:00Z'), untilMs: Date.parse('2026-03-02T00:00:00Z'), filters: [],
      resourceScope: { kind: 'all' }, categories: ['audit', 'operational'], stats, concurrency: 1,
      write: (e) => { out.push(e); if (out.length === 3) abort.abort(); }, warn: () => undefined, abortSignal: abort.signal,
    });
    assert.equal(out.length, 3, 'nothing is printed after the abort');
  });
});
