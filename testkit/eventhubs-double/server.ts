/**
 * ─── TEST DOUBLE — NOT AN EMULATOR ───────────────────────────────────────────────────────
 * An AMQP 1.0 endpoint (built with rhea) that answers the real `@azure/event-hubs` 6 client
 * the way Event Hubs does, just enough for the project's tests: SASL ANONYMOUS over plain
 * TCP, `$cbs` put-token, `$management` READ of hub and partition properties, senders to
 * `<hub>` / `<hub>/Partitions/<id>` with a negotiated `max_message_size`, batched
 * publications (format 0x80013700), receivers on `<hub>/ConsumerGroups/<cg>/Partitions/<id>`
 * honouring the selector filter. It rejects what the service rejects (oversize transfers,
 * unknown hubs) so it is never more lenient than Event Hubs. Events live in memory only.
 * For the real thing locally use the official emulator (docs/sinks/eventhubs.md).
 *
 *   node dist/testkit/eventhubs-double/server.js --port 0 [--control-port 0]
 *        [--hubs insight-logs-audit,insight-logs-operational] [--partitions 2]
 *        [--max-message-size 1048576] [--no-auto-create]
 *
 * Prints one JSON line on stdout once listening: {"event":"listening","port":…,"controlUrl":…}.
 * Control channel (HTTP, for fault injection): POST /drop-connections, POST /busy?count=N,
 * POST /pause, POST /resume, GET /state.
 */
import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import rhea from 'rhea';
import type { Connection, EventContext, Message, Receiver, Sender } from 'rhea';
import { HubStore, startIndex, type Hub, type Partition, type StoredEvent } from './store.js';

const BATCH_FORMAT = 0x80013700;

interface Options {
  port: number;
  controlPort: number;
  hubs: string[];
  partitions: number;
  maxMessageSize: number;
  autoCreate: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    port: 0,
    controlPort: 0,
    hubs: ['insight-logs-audit', 'insight-logs-operational'],
    partitions: 2,
    maxMessageSize: 1024 * 1024,
    autoCreate: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
      return n;
    };
    if (flag === '--port') options.port = int();
    else if (flag === '--control-port') options.controlPort = int();
    else if (flag === '--hubs') options.hubs = value().split(',').map((h) => h.trim()).filter(Boolean);
    else if (flag === '--partitions') options.partitions = Math.max(1, int());
    else if (flag === '--max-message-size') options.maxMessageSize = Math.max(1024, int());
    else if (flag === '--no-auto-create') options.autoCreate = false;
    else throw new Error(`unknown flag ${flag}`);
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const store = new HubStore(options.partitions, options.autoCreate, options.hubs);
const connections = new Set<Connection>();
let busyRemaining = 0;
let paused = false;

const container = rhea.create_container({ id: 'eventhubs-test-double', autoaccept: false } as never);

/** What a link address points at, or why not. */
type Target =
  | { kind: 'cbs' | 'management' }
  | { kind: 'publish'; hub: Hub; partitionId?: string }
  | { kind: 'consume'; hub: Hub; partition: Partition };

function resolveAddress(address: string | undefined): Target | { kind: 'error'; condition: string; description: string } {
  if (address === '$cbs') return { kind: 'cbs' };
  if (address === '$management') return { kind: 'management' };
  if (!address) return { kind: 'error', condition: 'amqp:invalid-field', description: 'link without an address' };
  const m = /^([^/]+)(?:\/ConsumerGroups\/([^/]+)\/Partitions\/([^/]+)|\/Partitions\/([^/]+))?$/.exec(address);
  const hub = m ? store.get(m[1]!) : undefined;
  if (!m || !hub) return { kind: 'error', condition: 'amqp:not-found', description: `The messaging entity '${address}' could not be found.` };
  const partitionId = m[3] ?? m[4];
  if (partitionId !== undefined && !hub.partitions.some((p) => p.id === partitionId)) {
    return { kind: 'error', condition: 'amqp:not-found', description: `Partition '${partitionId}' of '${hub.name}' does not exist.` };
  }
  if (m[3] !== undefined) return { kind: 'consume', hub, partition: hub.partitions.find((p) => p.id === partitionId)! };
  return partitionId !== undefined ? { kind: 'publish', hub, partitionId } : { kind: 'publish', hub };
}

const receiverTargets = new WeakMap<Receiver, Target>();

// The client's sender links (publishers, $cbs and $management requests) are our receivers.
container.on('receiver_open', (context: EventContext) => {
  const receiver = context.receiver!;
  const address = (receiver as any).remote.attach.target?.address as string | undefined;
  const target = resolveAddress(address);
  if (target.kind === 'error' || target.kind === 'consume') {
    receiver.close(target.kind === 'error' ? { condition: target.condition, description: target.description } : { condition: 'amqp:not-allowed', description: 'cannot publish to a consumer group' });
    return;
  }
  receiverTargets.set(receiver, target);
  (receiver as any).set_target({ address });
  // The attach we answer with is what `createBatch` sizes itself from.
  (receiver as any).local.attach.max_message_size = options.maxMessageSize;
});

container.on('message', (context: EventContext) => {
  const receiver = context.receiver!;
  const target = receiverTargets.get(receiver);
  const delivery = context.delivery!;
  // Nothing is stored while paused or on a connection being dropped: the client never hears "accepted".
  if (paused || !connections.has(context.connection)) return;
  if (!target) return delivery.reject({ condition: 'amqp:not-found', description: 'unknown link' });
  if (target.kind === 'cbs') return reply(context, context.message!, 200, 'OK', undefined);
  if (target.kind === 'management') return answerManagement(context, context.message!);
  if (target.kind !== 'publish') return;

  const format = (context as unknown as { format?: number }).format ?? 0;
  const raw = Buffer.isBuffer(context.message) ? (context.message as Buffer) : undefined;
  const size = raw ? raw.length : rhea.message.encode(context.message!).length;
  if (size > options.maxMessageSize) {
    return delivery.reject({
      condition: 'amqp:link:message-size-exceeded',
      description: `The received message (delivery-id:${delivery.id}, size:${size} bytes) exceeds the limit (${options.maxMessageSize} bytes) currently allowed on the link.`,
    });
  }
  if (busyRemaining > 0) {
    busyRemaining--;
    return delivery.reject({ condition: 'com.microsoft:server-busy', description: 'The request was terminated because the entity is being throttled. (test double: busy injected)' });
  }
  let envelope: Message;
  let events: Record<string, unknown>[];
  try {
    envelope = (raw ? rhea.message.decode(raw) : context.message!) as Message;
    events = format === BATCH_FORMAT ? dataSections(envelope).map((b) => rhea.message.decode(b) as unknown as Record<string, unknown>) : [envelope as unknown as Record<string, unknown>];
  } catch (err) {
    return delivery.reject({ condition: 'amqp:decode-error', description: `cannot decode the publication: ${(err as Error).message}` });
  }
  const partitionKey = envelope.message_annotations?.['x-opt-partition-key'] as string | undefined;
  if (target.partitionId !== undefined && partitionKey !== undefined) {
    return delivery.reject({ condition: 'amqp:not-allowed', description: 'a partition key cannot be used with a partition-bound sender' });
  }
  store.append(target.hub, events, partitionKey, target.partitionId);
  delivery.accept();
});

function dataSections(envelope: Message): Buffer[] {
  const body = envelope.body as { typecode?: number; multiple?: boolean; content?: unknown } | undefined;
  if (!body || body.typecode !== 0x75) throw new Error('a batch must carry data sections');
  const content = body.multiple ? (body.content as Buffer[]) : [body.content as Buffer];
  return content;
}

/** Replies go out on our sender whose link name is the request's reply_to (the client's receiver). */
function reply(context: EventContext, request: Message, status: number, description: string, body: unknown): void {
  context.delivery!.accept();
  const replyTo = request.reply_to;
  const connection = context.connection;
  const sender = findSender(connection, replyTo);
  if (!sender) return;
  sender.send({
    correlation_id: request.message_id,
    application_properties: { 'status-code': status, 'status-description': description },
    body,
  } as Message);
}

function findSender(connection: Connection, name: string | undefined): Sender | undefined {
  return (connection as any).find_sender((s: Sender) => s.name === name) as Sender | undefined;
}

function answerManagement(context: EventContext, request: Message): void {
  const props = (request.application_properties ?? {}) as Record<string, unknown>;
  const hub = typeof props.name === 'string' ? store.get(props.name) : undefined;
  if (props.operation !== 'READ') return reply(context, request, 400, `unsupported operation ${String(props.operation)}`, undefined);
  if (!hub) return reply(context, request, 404, `The messaging entity '${String(props.name)}' could not be found.`, undefined);
  if (props.type === 'com.microsoft:eventhub') {
    return reply(context, request, 200, 'OK', {
      name: hub.name,
      type: 'com.microsoft:eventhub',
      created_at: hub.createdAt,
      partition_count: hub.partitions.length,
      partition_ids: hub.partitions.map((p) => p.id),
    });
  }
  if (props.type === 'com.microsoft:partition') {
    const partition = hub.partitions.find((p) => p.id === String(props.partition));
    if (!partition) return reply(context, request, 404, `Partition '${String(props.partition)}' does not exist.`, undefined);
    const last = partition.events[partition.events.length - 1];
    return reply(context, request, 200, 'OK', {
      name: hub.name,
      type: 'com.microsoft:partition',
      partition: partition.id,
      begin_sequence_number: rhea.types.wrap_long(partition.events[0]?.sequenceNumber ?? 0),
      last_enqueued_sequence_number: rhea.types.wrap_long(last?.sequenceNumber ?? -1),
      last_enqueued_offset: last?.offset ?? '-1',
      last_enqueued_time_utc: last?.enqueuedTime ?? new Date(0),
      is_partition_empty: partition.events.length === 0,
    });
  }
  return reply(context, request, 400, `unsupported type ${String(props.type)}`, undefined);
}

// The client's receiver links ($cbs/$management replies, consumers) are our senders.
container.on('sender_open', (context: EventContext) => {
  const sender = context.sender!;
  const source = (sender as any).remote.attach.source as { address?: string; filter?: Record<string, unknown> } | undefined;
  const target = resolveAddress(source?.address);
  if (target.kind === 'error' || target.kind === 'publish') {
    sender.close(target.kind === 'error' ? { condition: target.condition, description: target.description } : { condition: 'amqp:not-allowed', description: 'receive through a consumer group partition' });
    return;
  }
  (sender as any).set_source({ address: source?.address });
  if (target.kind !== 'consume') return;
  const filterValue = source?.filter?.['apache.org:selector-filter:string'] as unknown;
  const filter = typeof filterValue === 'string' ? filterValue : (filterValue as { value?: string } | undefined)?.value;
  const { partition } = target;
  let cursor: number;
  try {
    cursor = startIndex(filter, partition.events);
  } catch (err) {
    sender.close({ condition: 'amqp:invalid-field', description: (err as Error).message });
    return;
  }
  const pump = (): void => {
    while (cursor < partition.events.length && sender.sendable()) sender.send(toDelivered(partition.events[cursor++]!));
  };
  partition.listeners.add(pump);
  sender.on('sendable', pump);
  const stop = (): void => void partition.listeners.delete(pump);
  sender.on('sender_close', stop);
  context.connection.on('disconnected', stop);
  setImmediate(pump);
});

function toDelivered(event: StoredEvent): Message {
  const message = { ...event.message } as unknown as Message;
  message.message_annotations = {
    ...(message.message_annotations ?? {}),
    'x-opt-sequence-number': rhea.types.wrap_long(event.sequenceNumber),
    'x-opt-offset': event.offset,
    'x-opt-enqueued-time': event.enqueuedTime,
    ...(event.partitionKey !== undefined ? { 'x-opt-partition-key': event.partitionKey } : {}),
  };
  return message;
}

container.on('connection_open', (context: EventContext) => {
  connections.add(context.connection);
});
container.on('disconnected', (context: EventContext) => {
  connections.delete(context.connection);
});
// A client going away mid-conversation is normal here; never crash the double over it.
container.on('error', (error: unknown) => process.stderr.write(`eventhubs-double: ${error instanceof Error ? error.stack : String(error)}\n`));
container.on('connection_error', () => undefined);

/**
 * Closes every connection. `abrupt` cuts the sockets at once (an outage); otherwise the
 * service's forced close is sent first and the socket cut shortly after.
 */
function dropConnections(abrupt = false): number {
  const all = [...connections];
  for (const connection of all) {
    const socket = (connection as any).socket as { destroy(): void } | undefined;
    if (abrupt) {
      socket?.destroy();
      continue;
    }
    connection.close({ condition: 'amqp:connection:forced', description: 'The connection was closed by the test double (drop-connections).' });
    // A real outage does not wait for a close handshake.
    setTimeout(() => socket?.destroy(), 50);
  }
  connections.clear();
  return all.length;
}

let amqpServer: Server;
let amqpPort = options.port;

function listenAmqp(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    amqpServer = container.listen({ port, host: '127.0.0.1' } as never) as unknown as Server;
    amqpServer.once('error', reject);
    amqpServer.once('listening', () => {
      amqpPort = (amqpServer.address() as AddressInfo).port;
      resolve();
    });
  });
}

const control = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://control');
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  void (async () => {
    if (req.method === 'GET' && url.pathname === '/state') return send(200, { paused, busyRemaining, connections: connections.size, hubs: store.summary() });
    if (req.method !== 'POST') return send(405, { error: 'use POST' });
    if (url.pathname === '/drop-connections') return send(200, { dropped: dropConnections() });
    if (url.pathname === '/busy') {
      const count = Number(url.searchParams.get('count') ?? '1');
      if (!Number.isInteger(count) || count < 0) return send(400, { error: 'count must be a non-negative integer' });
      busyRemaining = count;
      return send(200, { busyRemaining });
    }
    if (url.pathname === '/pause') {
      // Refuse new connections (closed port: ECONNREFUSED) and cut the existing ones; state is kept.
      if (!paused) {
        paused = true;
        amqpServer.close();
        dropConnections(true);
      }
      return send(200, { paused });
    }
    if (url.pathname === '/resume') {
      if (paused) {
        await listenAmqp(amqpPort);
        paused = false;
      }
      return send(200, { paused });
    }
    return send(404, { error: `unknown control ${url.pathname}` });
  })().catch((err: Error) => send(500, { error: err.message }));
});

await listenAmqp(options.port);
await new Promise<void>((resolve) => control.listen(options.controlPort, '127.0.0.1', resolve));
const controlPort = (control.address() as AddressInfo).port;
process.stdout.write(`${JSON.stringify({ event: 'listening', port: amqpPort, controlUrl: `http://127.0.0.1:${controlPort}`, maxMessageSize: options.maxMessageSize })}\n`);

const shutdown = (): void => {
  dropConnections();
  control.close();
  amqpServer.close();
  setTimeout(() => process.exit(0), 100).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
