/**
 * TEST DOUBLE state (not an emulator): the hubs, partitions and stored events of the
 * Event Hubs test double, plus the pure rules it shares with the service — partition choice
 * by a stable hash of the partition key, and the selector filter receivers attach with.
 */

export interface StoredEvent {
  sequenceNumber: number;
  /** The service's offsets are opaque strings; here they are the sequence number, as text. */
  offset: string;
  enqueuedTime: Date;
  partitionKey: string | undefined;
  /** The event as the publisher encoded it (one data section of the batch), decoded. */
  message: Record<string, unknown>;
}

export interface Partition {
  id: string;
  events: StoredEvent[];
  /** Called after events are appended, so open receivers can deliver them. */
  listeners: Set<() => void>;
}

export interface Hub {
  name: string;
  createdAt: Date;
  partitions: Partition[];
}

/** FNV-1a: stable across runs, so one key always lands on one partition (ordering per resource). */
export function partitionIndexFor(key: string, partitionCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitionCount;
}

export class HubStore {
  private readonly hubs = new Map<string, Hub>();
  private roundRobin = 0;

  constructor(
    private readonly partitionCount: number,
    private readonly autoCreate: boolean,
    initialHubs: readonly string[],
  ) {
    for (const name of initialHubs) this.create(name);
  }

  /** Creates the hub (provisioning); an existing hub is returned as it is. */
  create(name: string): Hub {
    const existing = this.hubs.get(name);
    if (existing) return existing;
    const hub: Hub = {
      name,
      createdAt: new Date(),
      partitions: Array.from({ length: this.partitionCount }, (_, i) => ({ id: String(i), events: [], listeners: new Set() })),
    };
    this.hubs.set(name, hub);
    return hub;
  }

  /** The hub, created on first use when auto-create is on; undefined means `amqp:not-found`. */
  get(name: string): Hub | undefined {
    return this.hubs.get(name) ?? (this.autoCreate && isValidHubName(name) ? this.create(name) : undefined);
  }

  /** Appends one publication (a batch is stored atomically, on one partition, like the service). */
  append(hub: Hub, messages: Record<string, unknown>[], partitionKey: string | undefined, partitionId?: string): void {
    const partition =
      partitionId !== undefined
        ? hub.partitions.find((p) => p.id === partitionId)
        : hub.partitions[partitionKey !== undefined ? partitionIndexFor(partitionKey, hub.partitions.length) : this.roundRobin++ % hub.partitions.length];
    if (!partition) throw new Error(`partition ${partitionId} does not exist in ${hub.name}`);
    const enqueuedTime = new Date();
    for (const message of messages) {
      const sequenceNumber = partition.events.length;
      partition.events.push({ sequenceNumber, offset: String(sequenceNumber), enqueuedTime, partitionKey, message });
    }
    for (const listener of partition.listeners) listener();
  }

  summary(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const hub of this.hubs.values()) out[hub.name] = Object.fromEntries(hub.partitions.map((p) => [p.id, p.events.length]));
    return out;
  }
}

/** Event Hubs names: letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit, ≤ 256. */
export function isValidHubName(name: string): boolean {
  return /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/.test(name);
}

/**
 * Index of the first event a receiver should get, from its selector filter such as
 * `amqp.annotation.x-opt-offset > '-1'` (the SDK's "earliest"), `… >= '12'`,
 * `amqp.annotation.x-opt-sequence-number > '4'` or `amqp.annotation.x-opt-enqueued-time > '1700000000000'`.
 * No filter starts at the end, as the service does for a receiver without a position.
 */
export function startIndex(filter: string | undefined, events: readonly StoredEvent[]): number {
  if (!filter) return events.length;
  const m = /amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*'([^']*)'/.exec(filter);
  if (!m) throw new Error(`unsupported selector filter: ${filter}`);
  const [, field, op, raw] = m as unknown as [string, string, string, string];
  if (raw === '@latest') return events.length;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`selector filter value is not a number: ${raw}`);
  const keyOf = (e: StoredEvent): number =>
    field === 'x-opt-enqueued-time' ? e.enqueuedTime.getTime() : field === 'x-opt-offset' ? Number(e.offset) : e.sequenceNumber;
  const index = events.findIndex((e) => (op === '>=' ? keyOf(e) >= value : keyOf(e) > value));
  return index === -1 ? events.length : index;
}
