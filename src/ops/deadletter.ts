/**
 * The dead-letter topic for operators: read what is there (reason, code, where it came from,
 * a decoded summary) and replay selected records to their source topic so a fixed forwarder
 * delivers them.
 *
 * Replay bookkeeping lives in the consumer group `insight-logs-deadletter-replay` on the
 * dead-letter topic: per partition the committed offset is a watermark below which every
 * record was replayed, and the commit's metadata lists the replayed offsets above it (a
 * filtered replay leaves gaps). A second replay therefore never re-publishes a record; a
 * replay interrupted between publishing and committing may publish some again (at least once).
 */
import { type IHeaders, type Kafka, type KafkaMessage, type Message } from 'kafkajs';
import { cachedKeyPartitioner } from '../kafka/partitioner.js';
import type { SchemaRegistry } from '../codec/schema-registry.js';
import { ERROR_CODES, InsightLogsError } from '../errors.js';
import { DEADLETTER_HEADERS, REPLAY_HEADERS } from '../forwarder/dead-letter.js';
import { instanceOf } from '../tail/format.js';
import { topicOffsets } from './offsets.js';
import { readRange } from './read-range.js';
import { withTimeout } from '../util/time.js';

export const REPLAY_GROUP = 'insight-logs-deadletter-replay';
export const REPLAYED_FROM_HEADER = REPLAY_HEADERS.from;
export const REPLAYED_FOR_HEADER = REPLAY_HEADERS.forDestination;
/** Kafka's default offset.metadata.max.bytes is 4096; stay well below. */
const MAX_METADATA_LENGTH = 3500;

export interface DeadLetterEntry {
  /** Where it sits in the dead-letter topic. */
  partition: number;
  offset: string;
  reason: string;
  code: string;
  source: { topic: string; partition: number; offset: string } | undefined;
  destination: string;
  /** When it was dead-lettered (ISO 8601), from the header or the message timestamp. */
  time: string;
  /** Value size in bytes. */
  size: number;
  key: Buffer | null;
  value: Buffer | null;
  /** One line about the record: kind, operation, result, instance, or why it could not be decoded. */
  summary: string;
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/** A readable one-liner for the dead-lettered bytes (pure). */
export function summarize(value: Buffer | null, registry: SchemaRegistry): string {
  if (!value || value.length === 0) return 'empty value';
  try {
    const { kind, event } = registry.decode(value);
    return `${kind} ${event.operationName} ${event.resultType} ${event.time} [${instanceOf(event.resourceId)}]`;
  } catch (err) {
    const text = value.subarray(0, 60).toString('utf8').replace(/[^\x20-\x7e]/g, '.');
    return `not decodable (${err instanceof Error ? err.message.slice(0, 80) : 'unknown'}): "${text}${value.length > 60 ? '…' : ''}"`;
  }
}

export function parseDeadLetter(partition: number, message: KafkaMessage, registry: SchemaRegistry): DeadLetterEntry {
  const h = message.headers;
  const sourceTopic = header(h, DEADLETTER_HEADERS.sourceTopic);
  const sourcePartition = Number(header(h, DEADLETTER_HEADERS.sourcePartition));
  const sourceOffset = header(h, DEADLETTER_HEADERS.sourceOffset);
  return {
    partition,
    offset: message.offset,
    reason: header(h, DEADLETTER_HEADERS.reason) ?? '(no reason recorded)',
    code: header(h, DEADLETTER_HEADERS.code) ?? 'UNKNOWN',
    source: sourceTopic && Number.isInteger(sourcePartition) && sourceOffset ? { topic: sourceTopic, partition: sourcePartition, offset: sourceOffset } : undefined,
    destination: header(h, DEADLETTER_HEADERS.destination) ?? '',
    time: header(h, DEADLETTER_HEADERS.time) ?? new Date(Number(message.timestamp)).toISOString(),
    size: message.value?.length ?? 0,
    key: message.key,
    value: message.value,
    summary: summarize(message.value, registry),
  };
}

/** What a replay may pick: records of one destination and/or one error code. */
export interface ReplaySelection {
  destination?: string;
  reasonCode?: string;
}

export function validateReasonCode(code: string): string {
  if (!(code in ERROR_CODES)) {
    throw new InsightLogsError('CONFIG_INVALID', `--reason-code: "${code}" is not an error code (known: ${Object.keys(ERROR_CODES).join(', ')})`);
  }
  return code;
}

export function selects(selection: ReplaySelection, entry: DeadLetterEntry): boolean {
  if (selection.destination !== undefined && entry.destination !== selection.destination) return false;
  if (selection.reasonCode !== undefined && entry.code !== selection.reasonCode) return false;
  return true;
}

/** Per partition: every offset below `watermark` is replayed, and so is every offset in `above`. */
export interface PartitionReplayState {
  watermark: bigint;
  above: Set<bigint>;
}

/** `"5,7-9"` → {5,7,8,9} (pure). */
export function decodeReplayed(metadata: string | null | undefined): Set<bigint> {
  const out = new Set<bigint>();
  if (!metadata?.startsWith('r1:')) return out;
  for (const part of metadata.slice(3).split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const from = BigInt(m[1]!);
    const to = m[2] === undefined ? from : BigInt(m[2]);
    for (let o = from; o <= to && o - from < 1_000_000n; o++) out.add(o);
  }
  return out;
}

/** The state after replaying `offsets` (pure): advance the watermark over the replayed run, list the rest as ranges. */
export function advanceReplayState(state: PartitionReplayState, offsets: Iterable<bigint>): { watermark: bigint; metadata: string } {
  const above = new Set(state.above);
  for (const o of offsets) if (o >= state.watermark) above.add(o);
  let watermark = state.watermark;
  while (above.has(watermark)) above.delete(watermark++);
  const sorted = [...above].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1n) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return { watermark, metadata: `r1:${ranges.join(',')}` };
}

async function replayStates(kafka: Kafka, topic: string, group: string): Promise<{ states: Map<number, PartitionReplayState>; ends: Map<number, { low: bigint; high: bigint }> }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    if (!existing.has(topic)) throw new InsightLogsError('CONFIG_INVALID', `topic ${topic} does not exist; create the topics with: insight-logs topics ensure`);
    const offsets = await topicOffsets(admin, topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const states = new Map<number, PartitionReplayState>();
    const ends = new Map<number, { low: bigint; high: bigint }>();
    for (const p of offsets.partitions) {
      ends.set(p.partition, { low: p.low, high: p.high });
      const c = committed?.partitions.find((x) => x.partition === p.partition);
      const w = c && BigInt(c.offset) >= 0n ? BigInt(c.offset) : 0n;
      states.set(p.partition, { watermark: w, above: decodeReplayed(c?.metadata) });
    }
    return { states, ends };
  } finally {
    await admin.disconnect();
  }
}

export interface ListOptions {
  kafka: Kafka;
  topic: string;
  registry: SchemaRegistry;
  /** The most recent `max` records (by dead-letter time). */
  max: number;
  replayGroup?: string;
}

export interface ListResult {
  /** Records retained in the topic. */
  total: bigint;
  entries: (DeadLetterEntry & { replayed: boolean })[];
}

export async function listDeadLetters(options: ListOptions): Promise<ListResult> {
  const { states, ends } = await replayStates(options.kafka, options.topic, options.replayGroup ?? REPLAY_GROUP);
  const max = BigInt(options.max);
  const entries: DeadLetterEntry[] = [];
  await readRange({
    kafka: options.kafka,
    topic: options.topic,
    ranges: [...ends].map(([partition, e]) => ({ partition, from: e.high - max > e.low ? e.high - max : e.low, to: e.high })),
    onMessage: (partition, message) => entries.push(parseDeadLetter(partition, message, options.registry)),
  });
  entries.sort((a, b) => a.time.localeCompare(b.time) || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  const total = [...ends.values()].reduce((n, e) => n + (e.high - e.low), 0n);
  return {
    total,
    entries: entries.slice(-options.max).map((e) => {
      const s = states.get(e.partition);
      const o = BigInt(e.offset);
      return { ...e, replayed: s !== undefined && (o < s.watermark || s.above.has(o)) };
    }),
  };
}

export interface ReplayOptions {
  kafka: Kafka;
  topic: string;
  registry: SchemaRegistry;
  selection: ReplaySelection;
  dryRun: boolean;
  replayGroup?: string;
  /** Called for every record replayed (or that would be, on a dry run). */
  onRecord?(entry: DeadLetterEntry): void;
}

export interface ReplayResult {
  /** Records replayed (or, on a dry run, that would be). */
  replayed: number;
  /** Not selected by the filters. */
  skipped: number;
  /** Replayed by an earlier run. */
  alreadyReplayed: number;
  /** Selected but without source headers: cannot be replayed. */
  unreplayable: number;
  bySourceTopic: Record<string, number>;
}

export function replayMessage(entry: DeadLetterEntry, deadLetterTopic: string): { topic: string; message: Message } {
  if (!entry.source) throw new Error('replayMessage: entry without a source');
  const headers: IHeaders = { [REPLAYED_FROM_HEADER]: `${deadLetterTopic}/${entry.partition}/${entry.offset}` };
  if (entry.destination) headers[REPLAYED_FOR_HEADER] = entry.destination;
  return { topic: entry.source.topic, message: { key: entry.key, value: entry.value, partition: entry.source.partition, headers } };
}

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const group = options.replayGroup ?? REPLAY_GROUP;
  const { states, ends } = await replayStates(options.kafka, options.topic, group);
  const result: ReplayResult = { replayed: 0, skipped: 0, alreadyReplayed: 0, unreplayable: 0, bySourceTopic: {} };
  const chosen: DeadLetterEntry[] = [];
  // Retained records below a watermark were replayed by earlier runs; they are not read again.
  for (const [partition, e] of ends) {
    const w = states.get(partition)!.watermark;
    const below = (w < e.high ? w : e.high) - e.low;
    if (below > 0n) result.alreadyReplayed += Number(below);
  }
  await readRange({
    kafka: options.kafka,
    topic: options.topic,
    ranges: [...ends].map(([partition, e]) => {
      const w = states.get(partition)!.watermark;
      return { partition, from: w > e.low ? w : e.low, to: e.high };
    }),
    onMessage: (partition, message) => {
      const state = states.get(partition)!;
      if (state.above.has(BigInt(message.offset))) { result.alreadyReplayed++; return; }
      const entry = parseDeadLetter(partition, message, options.registry);
      if (!selects(options.selection, entry)) { result.skipped++; return; }
      if (!entry.source || !entry.value) { result.unreplayable++; return; }
      chosen.push(entry);
    },
  });
  for (const e of chosen) {
    result.replayed++;
    result.bySourceTopic[e.source!.topic] = (result.bySourceTopic[e.source!.topic] ?? 0) + 1;
    options.onRecord?.(e);
  }
  if (options.dryRun || chosen.length === 0) return result;

  const commits = [...states].map(([partition, state]) => {
    const mine = chosen.filter((e) => e.partition === partition).map((e) => BigInt(e.offset));
    // Offsets below the oldest retained one are gone: count them as done so the watermark can move.
    const low = ends.get(partition)!.low;
    const start = state.watermark < low ? { watermark: low, above: new Set([...state.above].filter((o) => o >= low)) } : state;
    return { partition, changed: mine.length > 0 || start !== state, ...advanceReplayState(start, mine) };
  }).filter((c) => c.changed);
  const tooLong = commits.find((c) => c.metadata.length > MAX_METADATA_LENGTH);
  if (tooLong) {
    throw new InsightLogsError('CONFIG_INVALID', `too many scattered replays on ${options.topic} partition ${tooLong.partition} to track; replay the rest without --destination/--reason-code first`);
  }

  const producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: cachedKeyPartitioner });
  await producer.connect();
  try {
    const byTopic = new Map<string, Message[]>();
    for (const e of chosen) {
      const { topic, message } = replayMessage(e, options.topic);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
    }
    for (const [topic, messages] of byTopic) {
      for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  await commitReplayState(options.kafka, options.topic, group, commits);
  return result;
}

/** Commits watermark + metadata as the replay group (joining it briefly; it never fetches). */
async function commitReplayState(kafka: Kafka, topic: string, group: string, commits: { partition: number; watermark: bigint; metadata: string }[]): Promise<void> {
  const consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    consumer.pause([{ topic }]);
    await withTimeout(joined, 30_000, () => new InsightLogsError('DEADLINE_EXCEEDED', `joining ${group} to record the replay took longer than 30 s; records were replayed but a later replay may publish them again`));
    await consumer.commitOffsets(commits.map((c) => ({ topic, partition: c.partition, offset: c.watermark.toString(), metadata: c.metadata })));
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
