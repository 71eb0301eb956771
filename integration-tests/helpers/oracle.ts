/**
 * The delivery oracle of the fault suite. Every event a scenario publishes carries a unique id
 * (records.ts) and is noted here with a publish sequence number; after the run the oracle reads
 * what each destination really holds — through the destination's own API: files, blobs, Kafka
 * with read_committed (kcat), Event Hubs through EventHubConsumerClient — and reports
 *
 *   { published, delivered, missing, duplicated, outOfOrder, unexpected }
 *
 * `outOfOrder` counts, per resourceId and within one ordered stream (a partition, a hub
 * partition, a blob), first deliveries whose publish sequence is lower than one already seen:
 * the promise "one resource's records stay in order" broken. Redeliveries (duplicates) are not
 * counted again. Records without an id of this run (other tests, bad input) are `unexpected`.
 *
 * Where and what: `misplaced` counts records read from a stream outside their category's
 * container / topic / table (`placement`: the allowed stream-name prefixes per category), or
 * under another resource's `resourceId=` folder; `altered` counts records whose content is not
 * the JSON of the event as published (delivery may not change a field).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import type { InsightEvent } from '../../src/events/types.js';
import type { EventHubsEndpoint } from '../../testkit/eventhubs.js';
import { readCommittedWithKcat } from '../../testkit/kafka.js';
import { idOf } from './records.js';


export type Category = 'audit' | 'operational';

export interface PublishedRecord {
  id: string;
  /** Publish order across the whole scenario (0, 1, 2 …). */
  seq: number;
  resourceId: string;
  category: Category;
  /** The event as published, as JSON text with its keys sorted (what every destination must hold). */
  content: string;
}

/** Allowed stream-name prefixes per category, e.g. `{ audit: ['insight-logs-audit'] }` (matched as `<prefix>/…`). */
export type Placement = Record<Category, readonly string[]>;

/** Placement from a destination's per-category names (containers, topics, hubs, tables). */
export function placementOf(names: Record<Category, string>): Placement {
  return { audit: [names.audit], operational: [names.operational] };
}

/** The containers (dir and blob) or topics (Kafka) of the design, per category. */
export const DEFAULT_PLACEMENT: Placement = { audit: ['insight-logs-audit'], operational: ['insight-logs-operational'] };

/** JSON with keys sorted at every level, absent and undefined the same: two equal records give the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** Records in the order one reader sees them: one Kafka partition, one hub partition, one blob. */
export interface DeliveredStream {
  name: string;
  records: Record<string, unknown>[];
}

export interface OracleReport {
  scenario: string;
  destination: string;
  /** Records this destination should hold (published in its categories). */
  published: number;
  /** Records of this run read back, duplicates included. */
  delivered: number;
  missing: number;
  duplicated: number;
  outOfOrder: number;
  /** Records read back that this run did not publish (or published without an id). */
  unexpected: number;
  /** Records of this run read from outside their category's place or resource folder (see `Placement`). */
  misplaced: number;
  /** Records of this run whose content differs from the event as published. */
  altered: number;
  misplacedSample: string[];
  alteredSample: string[];
  /** Up to 10 missing ids, for the failure message. */
  missingSample: string[];
  /** Up to 5 unexpected records (JSON, cut to 300 characters), for the failure message. */
  unexpectedSample: string[];
}

export class Oracle {
  private readonly published = new Map<string, PublishedRecord>();
  /** Published with an outcome we do not know (the send failed): neither missing nor unexpected. */
  private readonly uncertain = new Set<string>();
  private nextSeq = 0;

  constructor(readonly scenario: string) {}

  /**
   * Notes an event as published once Kafka acknowledged it: in publish order, or with the
   * `seq` it was given when it was handed to the producer (acknowledgements of concurrent
   * publishers arrive in any order).
   */
  note(event: InsightEvent, seq?: number): PublishedRecord {
    const id = idOf(event);
    if (!id) throw new Error('oracle: event carries no test id (use apiEventWithId / workflowEventWithId)');
    if (seq !== undefined) this.nextSeq = Math.max(this.nextSeq, seq + 1);
    const record: PublishedRecord = { id, seq: seq ?? this.nextSeq++, resourceId: event.resourceId, category: event.category === 'Audit' ? 'audit' : 'operational', content: canonicalJson(event) };
    this.published.set(id, record);
    this.uncertain.delete(id);
    return record;
  }

  /** An event whose send failed: Kafka may or may not hold it. */
  noteUncertain(event: InsightEvent): void {
    const id = idOf(event);
    if (id && !this.published.has(id)) this.uncertain.add(id);
  }

  get publishedCount(): number {
    return this.published.size;
  }

  ids(): string[] {
    return [...this.published.keys()];
  }

  /**
   * Compares what `destination` holds (`streams`) with what was published in `categories`;
   * `placement` says where each category belongs (default: the design's container / topic
   * names; `null` to skip that check, for a destination whose streams carry no category).
   */
  check(destination: string, streams: readonly DeliveredStream[], categories: readonly Category[] = ['audit', 'operational'], placement: Placement | null = DEFAULT_PLACEMENT): OracleReport {
    const expected = new Map([...this.published].filter(([, r]) => categories.includes(r.category)));
    const seen = new Map<string, number>();
    let delivered = 0;
    let unexpected = 0;
    const unexpectedSample: string[] = [];
    let outOfOrder = 0;
    let misplaced = 0;
    let altered = 0;
    const misplacedSample: string[] = [];
    const alteredSample: string[] = [];
    for (const stream of streams) {
      const highest = new Map<string, number>();
      for (const record of stream.records) {
        const id = idOf(record);
        const known = id ? expected.get(id) : undefined;
        if (!id || !known) {
          if (!id || !this.uncertain.has(id)) {
            unexpected++;
            if (unexpectedSample.length < 5) unexpectedSample.push(`${stream.name}: ${JSON.stringify(record).slice(0, 300)}`);
          }
          continue;
        }
        delivered++;
        const folder = /(?:^|\/)resourceId=([^/]+)\//.exec(stream.name)?.[1];
        if ((placement && !placement[known.category].some((prefix) => stream.name === prefix || stream.name.startsWith(`${prefix}/`))) || (folder !== undefined && folder !== known.resourceId.toUpperCase())) {
          misplaced++;
          if (misplacedSample.length < 5) misplacedSample.push(`${id} (${known.category}, ${known.resourceId}) in ${stream.name}`);
        }
        if (canonicalJson(record) !== known.content) {
          altered++;
          if (alteredSample.length < 3) alteredSample.push(`${stream.name}: ${canonicalJson(record).slice(0, 400)}\n  published: ${known.content.slice(0, 400)}`);
        }
        const times = (seen.get(id) ?? 0) + 1;
        seen.set(id, times);
        if (times > 1) continue;
        const top = highest.get(known.resourceId) ?? -1;
        if (known.seq < top) outOfOrder++;
        else highest.set(known.resourceId, known.seq);
      }
    }
    const missingIds = [...expected.keys()].filter((id) => !seen.has(id));
    const duplicated = [...seen.values()].reduce((n, times) => n + times - 1, 0);
    return {
      scenario: this.scenario,
      destination,
      published: expected.size,
      delivered,
      missing: missingIds.length,
      duplicated,
      outOfOrder,
      unexpected,
      misplaced,
      altered,
      missingSample: missingIds.slice(0, 10),
      unexpectedSample,
      misplacedSample,
      alteredSample,
    };
  }
}

/** One line per report, greppable: `[oracle] kill9/eventhubs published=… delivered=… …`. */
export function printReport(report: OracleReport): void {
  const { scenario, destination, published, delivered, missing, duplicated, outOfOrder, unexpected, misplaced, altered } = report;
  console.log(`[oracle] ${scenario}/${destination} published=${published} delivered=${delivered} missing=${missing} duplicated=${duplicated} outOfOrder=${outOfOrder} unexpected=${unexpected} misplaced=${misplaced} altered=${altered}`);
}

// ---------------------------------------------------------------- readers

/**
 * Every message of `topics` with read_committed, one stream per partition in offset order,
 * read with kcat (it stops at the end of each partition, control records and aborted
 * transactions included, which kafkajs consumers cannot tell apart from "more to come").
 */
export async function readKafkaStreams(brokers: string[], topics: readonly string[]): Promise<DeliveredStream[]> {
  const streams: DeliveredStream[] = [];
  for (const topic of topics) {
    const byPartition = new Map<number, Record<string, unknown>[]>();
    await readCommittedWithKcat(brokers, topic, (partition, value) => {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(value) as Record<string, unknown>;
      } catch {
        record = {};
      }
      const list = byPartition.get(partition) ?? [];
      list.push(record);
      byPartition.set(partition, list);
    }, 120_000);
    for (const [partition, records] of byPartition) streams.push({ name: `${topic}/${partition}`, records });
  }
  return streams;
}

/** Every record in `hubs`, one stream per hub partition in sequence order (EventHubConsumerClient). */
export async function readEventHubsStreams(eh: EventHubsEndpoint, hubs: readonly string[]): Promise<DeliveredStream[]> {
  const streams: DeliveredStream[] = [];
  for (const hub of hubs) {
    const events = await eh.readAll(hub, { timeoutMs: 90_000 });
    const byPartition = new Map<string, typeof events>();
    for (const e of events) {
      const list = byPartition.get(e.partitionId) ?? [];
      list.push(e);
      byPartition.set(e.partitionId, list);
    }
    for (const [partition, list] of byPartition) {
      list.sort((a, b) => a.sequenceNumber - b.sequenceNumber);
      const records = list.flatMap((e) => ((e.body as { records?: Record<string, unknown>[] })?.records ?? [{}]));
      streams.push({ name: `${hub}/${partition}`, records });
    }
  }
  return streams;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return {};
    }
  });
}

/** Every JSON line of every blob of `containers`, one stream per blob (missing containers read as empty). */
export async function readBlobStreams(connectionString: string, containers: readonly string[]): Promise<DeliveredStream[]> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const streams: DeliveredStream[] = [];
  for (const name of containers) {
    const container = service.getContainerClient(name);
    if (!(await container.exists())) continue;
    for await (const blob of container.listBlobsFlat()) {
      const body = await container.getBlobClient(blob.name).downloadToBuffer();
      streams.push({ name: `${name}/${blob.name}`, records: jsonLines(body.toString('utf8')) });
    }
  }
  return streams;
}

/** Every JSON line of every file under `root` (the dir destination's blob-like layout), one stream per file. */
export async function readDirStreams(root: string): Promise<DeliveredStream[]> {
  const streams: DeliveredStream[] = [];
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch {
    return streams;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    streams.push({ name: path.relative(root, file), records: jsonLines(await readFile(file, 'utf8')) });
  }
  return streams;
}
