/**
 * ─── TEST DOUBLE — NOT AN EMULATOR ───────────────────────────────────────────────────────
 * An AMQP 1.0 endpoint (built with rhea) that answers the real `@azure/event-hubs` 6 client
 * the way Event Hubs does, just enough for the project's tests: SASL ANONYMOUS over plain
 * TCP (the emulator's way) and, with a certificate, AMQP over TLS on its own port (the
 * service's way: production-style connection strings), `$cbs` put-token, `$management` READ
 * of hub and partition properties, senders to `<hub>` / `<hub>/Partitions/<id>` with a
 * negotiated `max_message_size`, batched publications (format 0x80013700), receivers on
 * `<hub>/ConsumerGroups/<cg>/Partitions/<id>` honouring the selector filter. Events live in
 * memory only. For the real thing locally use the official emulator (docs/sinks/eventhubs.md).
 *
 * It refuses what the service refuses, so it is never more lenient than Event Hubs:
 *   - put-token verifies SAS tokens (signature with the named policy's key, expiry, audience)
 *     and Azure AD JWTs (audience https://eventhubs.azure.net/, expiry, signature when
 *     --jwt-public-key is given), 401 with the service's descriptions (./auth.ts);
 *   - links attach only to entities a valid token on the connection covers
 *     (amqp:unauthorized-access), `$management` requests need a valid `security_token`;
 *   - unknown hubs are amqp:not-found (hubs exist when declared with --hubs or created through
 *     the control channel, as they are provisioned on the service), unless --auto-create;
 *   - partition keys over 128 characters, transfers over the tier's maximum message size
 *     (--tier basic: 256 KB, standard: 1 MB, or --max-message-size) are rejected.
 *
 *   node dist/testkit/eventhubs-double/server.js --port 0 [--control-port 0]
 *        [--hubs insight-logs-audit,insight-logs-operational] [--partitions 2]
 *        [--tier basic|standard | --max-message-size 1048576] [--auto-create]
 *        [--policy name=key]… [--jwt-public-key authority.pem]
 *        [--tls-port 0 --tls-cert server.pem --tls-key server.key]
 *
 * Without --policy the one policy is `test` with key `not-a-secret` (test values).
 * Prints one JSON line on stdout once listening: {"event":"listening","port":…,"tlsPort":…,"controlUrl":…}.
 * Control channel (HTTP): POST /hubs?name=a,b (create hubs), POST /drop-connections,
 * POST /busy?count=N, POST /pause, POST /resume, GET /state.
 */
import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { createRequire } from 'node:module';
import rhea from 'rhea';
import type { Connection, EventContext, Message, Receiver, Sender } from 'rhea';
import { HubStore, isValidHubName, startIndex, type Hub, type Partition, type StoredEvent } from './store.js';
import { checkPutToken, covers, resourcePath, type AuthOptions } from './auth.js';

const BATCH_FORMAT = 0x80013700;
/** Event Hubs' limit on a partition key's length. */
const MAX_PARTITION_KEY_LENGTH = 128;
/** Maximum event (publication) size per tier: Basic 256 KB, Standard (and the emulator) 1 MB. */
const TIER_MAX_MESSAGE_SIZE: Record<string, number> = { basic: 256 * 1024, standard: 1024 * 1024 };

interface Options {
  port: number;
  controlPort: number;
  hubs: string[];
  partitions: number;
  maxMessageSize: number;
  autoCreate: boolean;
  policies: Map<string, string>;
  jwtPublicKey?: KeyObject;
  tls?: { port: number; cert: string; key: string };
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    port: 0,
    controlPort: 0,
    hubs: ['insight-logs-audit', 'insight-logs-operational'],
    partitions: 2,
    maxMessageSize: TIER_MAX_MESSAGE_SIZE.standard!,
    autoCreate: false,
    policies: new Map(),
  };
  let tlsPort: number | undefined;
  let tlsCert: string | undefined;
  let tlsKey: string | undefined;
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
    else if (flag === '--tier') {
      const tier = value();
      const size = TIER_MAX_MESSAGE_SIZE[tier];
      if (size === undefined) throw new Error(`--tier is basic or standard, not ${tier}`);
      options.maxMessageSize = size;
    } else if (flag === '--auto-create') options.autoCreate = true;
    else if (flag === '--policy') {
      const [name, ...key] = value().split('=');
      if (!name || key.length === 0) throw new Error('--policy needs name=key');
      options.policies.set(name, key.join('='));
    } else if (flag === '--jwt-public-key') options.jwtPublicKey = createPublicKey(readFileSync(value(), 'utf8'));
    else if (flag === '--tls-port') tlsPort = int();
    else if (flag === '--tls-cert') tlsCert = readFileSync(value(), 'utf8');
    else if (flag === '--tls-key') tlsKey = readFileSync(value(), 'utf8');
    else throw new Error(`unknown flag ${flag}`);
  }
  if (options.policies.size === 0) options.policies.set('test', 'not-a-secret');
  if (tlsPort !== undefined || tlsCert || tlsKey) {
    if (tlsPort === undefined || !tlsCert || !tlsKey) throw new Error('TLS needs --tls-port, --tls-cert and --tls-key together');
    options.tls = { port: tlsPort, cert: tlsCert, key: tlsKey };
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const store = new HubStore(options.partitions, options.autoCreate, options.hubs);
const connections = new Set<Connection>();
let busyRemaining = 0;
let paused = false;
const authOptions: AuthOptions = { policies: options.policies, ...(options.jwtPublicKey ? { jwtPublicKey: options.jwtPublicKey } : {}) };
/** What each connection's put-tokens granted: resource paths (`hub`, `hub/partitions/0` …) until an expiry. */
const claims = new WeakMap<Connection, { path: string; expiresAtMs: number }[]>();

/** Undefined when a valid token on the connection covers the address; otherwise the refusal. */
function unauthorized(connection: Connection, address: string, claim: 'Send' | 'Listen'): { condition: string; description: string } | undefined {
  const wanted = resourcePath(/^[a-z]+:\/\//i.test(address) ? address : `sb://double/${address}`);
  const now = Date.now();
  if ((claims.get(connection) ?? []).some((c) => c.expiresAtMs > now && covers(c.path, wanted))) return undefined;
  return { condition: 'amqp:unauthorized-access', description: `Unauthorized access. '${claim}' claim(s) are required to perform this operation. Resource: '${address}'.` };
}

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
  // Python's azure-eventhub addresses links with the full URI (amqps://<namespace>/<hub>/…).
  address = address.replace(/^amqps?:\/\/[^/]+\//i, '');
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
  if (target.kind === 'publish') {
    const refusal = unauthorized(context.connection, address!, 'Send');
    if (refusal) return void receiver.close(refusal);
  }
  receiverTargets.set(receiver, target);
  (receiver as any).set_target({ address });
  // The attach we answer with is what `createBatch` sizes itself from.
  (receiver as any).local.attach.max_message_size = options.maxMessageSize;
  announceLikeTheService(receiver);
});

/**
 * The service's attach carries source, target and properties (a tracking id), its begin a
 * handle-max; rhea
 * leaves unset trailing fields out of a frame, and Python's azure-eventhub reads them by
 * position, so they are set here as the service sets them.
 */
function announceLikeTheService(link: Receiver | Sender): void {
  const attach = (link as any).local.attach as Record<string, unknown>;
  const remote = (link as any).remote.attach as { source?: unknown; target?: unknown };
  // Both terminus echoed, as the service does (clients treat an attach without both as a refusal).
  attach.source ??= remote.source;
  attach.target ??= remote.target;
  attach.properties = { 'com.microsoft:tracking-id': randomUUID() };
}
// Transfer frames with every field present, as the service encodes them: rhea leaves unset
// trailing fields out, and Python's azure-eventhub finds the payload at the position after the
// eleventh field.
// rhea's own frame module: the same instance its sessions build frames with.
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as { transfer: (fields: Record<string, unknown>) => unknown };
const transferFrame = frames.transfer;
frames.transfer = (fields: Record<string, unknown>) => transferFrame({ ...fields, batchable: false });
container.on('session_open', (context: EventContext) => {
  (context.session as any).local.begin.handle_max = 255;
});

container.on('message', (context: EventContext) => {
  const receiver = context.receiver!;
  const target = receiverTargets.get(receiver);
  const delivery = context.delivery!;
  // Nothing is stored while paused or on a connection being dropped: the client never hears "accepted".
  if (paused || !connections.has(context.connection)) return;
  if (!target) return delivery.reject({ condition: 'amqp:not-found', description: 'unknown link' });
  if (target.kind === 'cbs') return answerPutToken(context, context.message!);
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
  const refusal = unauthorized(context.connection, target.partitionId !== undefined ? `${target.hub.name}/Partitions/${target.partitionId}` : target.hub.name, 'Send');
  if (refusal) return delivery.reject(refusal);
  const partitionKey = envelope.message_annotations?.['x-opt-partition-key'] as string | undefined;
  if (partitionKey !== undefined && String(partitionKey).length > MAX_PARTITION_KEY_LENGTH) {
    return delivery.reject({
      condition: 'com.microsoft:argument-out-of-range',
      description: `The partition key is ${String(partitionKey).length} characters long; the maximum is ${MAX_PARTITION_KEY_LENGTH}.`,
    });
  }
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

/**
 * Replies go out on our sender to the request's reply_to: the JS SDK names its reply link
 * after reply_to; Python's azure-eventhub sends no reply_to and reads replies on its one
 * receiver link from the same node (`$cbs`, `$management`) in the same session.
 */
function reply(context: EventContext, request: Message, status: number, description: string, body: unknown): void {
  context.delivery!.accept();
  const replyTo = request.reply_to;
  const node = (context.receiver as any).remote?.attach?.target?.address as string | undefined;
  const sender = ((context.connection as any).find_sender((s: Sender) =>
    replyTo !== undefined && replyTo !== null
      ? s.name === replyTo || (s as any).remote?.attach?.target?.address === replyTo
      : s.session === context.session && (s as any).remote?.attach?.source?.address === node) as Sender | undefined);
  if (!sender) return;
  sender.send({
    correlation_id: request.message_id,
    application_properties: { 'status-code': status, 'status-description': description },
    body,
  } as Message);
}

/** `$cbs` put-token: the token is checked as the service checks it; a valid one is remembered for the connection. */
function answerPutToken(context: EventContext, request: Message): void {
  const props = (request.application_properties ?? {}) as Record<string, unknown>;
  if (props.operation !== 'put-token') return reply(context, request, 400, `unsupported $cbs operation ${String(props.operation)}`, undefined);
  const check = checkPutToken(props.type, request.body, props.name, authOptions);
  if (!check.ok) return reply(context, request, check.status, check.description, undefined);
  const granted = claims.get(context.connection) ?? [];
  granted.push({ path: resourcePath(String(props.name)), expiresAtMs: check.expiresAtMs });
  claims.set(context.connection, granted);
  return reply(context, request, 202, 'Accepted', undefined);
}

function answerManagement(context: EventContext, request: Message): void {
  const props = (request.application_properties ?? {}) as Record<string, unknown>;
  // Authorised by the request's security_token (the JS SDK sends the token itself) or, failing
  // that, by a valid put-token on this connection that covers the hub or its $management node
  // (Python's azure-eventhub sends the token's expiry there instead of the token).
  const name = String(props.name);
  const token = props.security_token;
  if (typeof token === 'string' && token !== '') {
    const check = checkPutToken('jwt', token, `sb://double/${name}`, authOptions);
    if (!check.ok) return reply(context, request, check.status, check.description, undefined);
  } else if (unauthorized(context.connection, name, 'Listen') && unauthorized(context.connection, `${name}/$management`, 'Listen')) {
    return reply(context, request, 401, `Unauthorized access. 'Listen' claim(s) are required to perform this operation. Resource: '${name}'.`, undefined);
  }
  const hub = typeof props.name === 'string' ? store.get(props.name) : undefined;
  if (props.operation !== 'READ') return reply(context, request, 400, `unsupported operation ${String(props.operation)}`, undefined);
  if (!hub) return reply(context, request, 404, `The messaging entity '${String(props.name)}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`, undefined);
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
  if (target.kind === 'consume') {
    const refusal = unauthorized(context.connection, source!.address!, 'Listen');
    if (refusal) return void sender.close(refusal);
  }
  (sender as any).set_source({ address: source?.address });
  (sender as any).local.attach.max_message_size = options.maxMessageSize;
  announceLikeTheService(sender);
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
let tlsServer: Server | undefined;
let tlsPort = options.tls?.port;

function listenOn(listenOptions: Record<string, unknown>): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = container.listen(listenOptions as never) as unknown as Server;
    server.once('error', reject);
    server.once('listening', () => resolve(server));
  });
}

/**
 * What the service announces in its open frame: maximum frame size, channel maximum and idle
 * time-out (clients such as Python's azure-eventhub read these fields unconditionally; half
 * the idle time-out is their keep-alive interval).
 */
const CONNECTION_OPTIONS = { max_frame_size: 65_536, channel_max: 4_999, idle_time_out: 120_000 };

/** The plain listener, and the TLS one when a certificate was given. */
async function listenAmqp(): Promise<void> {
  amqpServer = await listenOn({ port: amqpPort, host: '127.0.0.1', ...CONNECTION_OPTIONS });
  amqpPort = (amqpServer.address() as AddressInfo).port;
  if (options.tls) {
    tlsServer = await listenOn({ port: tlsPort, host: '127.0.0.1', transport: 'tls', cert: options.tls.cert, key: options.tls.key, ...CONNECTION_OPTIONS });
    tlsPort = (tlsServer.address() as AddressInfo).port;
  }
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
    if (url.pathname === '/hubs') {
      // Provisioning, as an ARM template or the portal does on the service.
      const names = (url.searchParams.get('name') ?? '').split(',').map((n) => n.trim()).filter(Boolean);
      const invalid = names.find((n) => !isValidHubName(n));
      if (names.length === 0 || invalid !== undefined) return send(400, { error: `invalid hub name ${JSON.stringify(invalid ?? '')}` });
      for (const name of names) store.create(name);
      return send(200, { hubs: names });
    }
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
        tlsServer?.close();
        dropConnections(true);
      }
      return send(200, { paused });
    }
    if (url.pathname === '/resume') {
      if (paused) {
        await listenAmqp();
        paused = false;
      }
      return send(200, { paused });
    }
    return send(404, { error: `unknown control ${url.pathname}` });
  })().catch((err: Error) => send(500, { error: err.message }));
});

await listenAmqp();
await new Promise<void>((resolve) => control.listen(options.controlPort, '127.0.0.1', resolve));
const controlPort = (control.address() as AddressInfo).port;
process.stdout.write(`${JSON.stringify({ event: 'listening', port: amqpPort, tlsPort, controlUrl: `http://127.0.0.1:${controlPort}`, maxMessageSize: options.maxMessageSize })}\n`);

const shutdown = (): void => {
  dropConnections();
  control.close();
  amqpServer.close();
  tlsServer?.close();
  setTimeout(() => process.exit(0), 100).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
