/**
 * An Event Hubs endpoint for integration tests and the bench:
 *   - by default the project's TEST DOUBLE (testkit/eventhubs-double/server.ts), run
 *     as a child process, with fault injection (drop connections, busy, pause/resume);
 *   - `startEventHubs()` with a reachable Docker engine (and EVENTHUBS_EMULATOR not 0): the official Event Hubs emulator
 *     (plus its Azurite companion) through testcontainers. That branch cannot run on machines
 *     without Docker and is kept small; fault injection is not available there.
 * `readAll` always reads through the real EventHubConsumerClient, never the double's memory.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { EventHubConsumerClient, earliestEventPosition, type ReceivedEventData } from '@azure/event-hubs';
import { startDoubleProcess } from './double-process.js';
import { dockerAvailable } from './services.js';
import type { TestCertificates } from './test-ca.js';

export interface ReadEvent {
  partitionId: string;
  partitionKey: string | null | undefined;
  sequenceNumber: number;
  /** The body as JSON (the SDK parses JSON bodies; Buffers are parsed here). */
  body: unknown;
}

export interface EventHubsEndpoint {
  kind: 'double' | 'emulator';
  /** Emulator-style connection string (plain TCP), optionally with EntityPath. */
  connectionString(hub?: string): string;
  /**
   * Double started with `tls`: a production-style connection string (AMQP over TLS on the TLS
   * port, no UseDevelopmentEmulator); the client must trust the test CA (NODE_EXTRA_CA_CERTS).
   */
  tlsConnectionString(hub?: string, options?: { key?: string; keyName?: string }): string;
  /** Double started with `tls`: `localhost:<tls port>`, a `fullyQualifiedNamespace` for Azure AD sign-in. */
  tlsNamespace: string | undefined;
  /** The SAS policy the connection strings use. */
  policy: { name: string; key: string };
  /** Creates hubs (the double refuses unknown hubs, as the service does); the emulator has them from its config. */
  createHubs(names: readonly string[]): Promise<void>;
  /** The negotiated maximum event size. */
  maxMessageSize: number;
  controlUrl: string | undefined;
  /** Resolves with how many connections were cut. */
  dropConnections(): Promise<number>;
  busy(count: number): Promise<void>;
  /** Refuse new connections and cut existing ones; stored events are kept. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Every event of every partition of `hub`, from the earliest, read with EventHubConsumerClient. */
  readAll(hub: string, options?: { timeoutMs?: number; minEvents?: number }): Promise<ReadEvent[]>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Hubs that must exist (the double also creates any other name on first use). */
  hubs?: string[];
  partitions?: number;
  maxMessageSize?: number;
  /** Double only: the tier's maximum event size (basic 256 KB, standard 1 MB); maxMessageSize wins. */
  tier?: 'basic' | 'standard';
  /** Double only: true creates unknown hubs on first use; by default they are `amqp:not-found`, as on the service. */
  autoCreate?: boolean;
  /** Double only: also listen for AMQP over TLS with this certificate. */
  tls?: TestCertificates;
  /** Double only: the SAS policy (default: a fresh random key per double). */
  policy?: { name: string; key: string };
  /** Double only: verify Azure AD token signatures with this PEM public key (the local token authority's). */
  jwtPublicKeyPath?: string;
}

function connectionStringFor(host: string, port: number, keyName: string, key: string): (hub?: string) => string {
  return (hub) => `Endpoint=sb://${host}:${port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};${hub ? `EntityPath=${hub};` : ''}UseDevelopmentEmulator=true`;
}

const NO_TLS = (): never => {
  throw new Error('start the Event Hubs double with `tls` for a TLS connection string');
};

async function readAllWith(connectionString: string, hub: string, options: { timeoutMs?: number; minEvents?: number } = {}): Promise<ReadEvent[]> {
  const client = new EventHubConsumerClient('$Default', connectionString, hub, { retryOptions: { maxRetries: 2, timeoutInMs: 10_000, retryDelayInMs: 200 } });
  try {
    const partitionIds = await client.getPartitionIds();
    // Read up to what each partition holds now (and at least minEvents): deterministic, no idle guess.
    const last = new Map<string, number>();
    for (const id of partitionIds) {
      const p = await client.getPartitionProperties(id);
      last.set(id, p.isEmpty ? -1 : p.lastEnqueuedSequenceNumber);
    }
    const seen = new Map<string, number>();
    const events: ReadEvent[] = [];
    const caughtUp = (): boolean =>
      events.length >= (options.minEvents ?? 0) && partitionIds.every((id) => (seen.get(id) ?? -1) >= last.get(id)!);
    if (caughtUp()) return events;
    return await new Promise<ReadEvent[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        void subscription.close().finally(() => reject(new Error(`readAll(${hub}): timed out with ${events.length} events read`)));
      }, options.timeoutMs ?? 30_000);
      const subscription = client.subscribe(
        {
          processEvents: async (received: ReceivedEventData[], context) => {
            for (const e of received) {
              const body = Buffer.isBuffer(e.body) ? JSON.parse(e.body.toString('utf8')) : e.body;
              events.push({ partitionId: context.partitionId, partitionKey: e.partitionKey, sequenceNumber: e.sequenceNumber, body });
              seen.set(context.partitionId, Math.max(seen.get(context.partitionId) ?? -1, e.sequenceNumber));
            }
            if (caughtUp()) {
              clearTimeout(timer);
              void subscription.close().then(() => resolve(events), reject);
            }
          },
          processError: async () => undefined,
        },
        { startPosition: earliestEventPosition, maxBatchSize: 500, maxWaitTimeInSeconds: 0.5 },
      );
    });
  } finally {
    await client.close();
  }
}

/** The project's test double as a child process; resolves once it listens. */
export async function startEventHubsDouble(options: StartOptions = {}): Promise<EventHubsEndpoint> {
  const server = fileURLToPath(new URL('./eventhubs-double/server.js', import.meta.url));
  // A fresh key per double: a test that signs with anything else is refused, as on the service.
  const policy = options.policy ?? { name: 'insight-logs-test', key: randomBytes(32).toString('base64') };
  const args = [server, '--port', '0', '--partitions', String(options.partitions ?? 2), '--policy', `${policy.name}=${policy.key}`];
  if (options.hubs?.length) args.push('--hubs', options.hubs.join(','));
  if (options.tier) args.push('--tier', options.tier);
  if (options.maxMessageSize) args.push('--max-message-size', String(options.maxMessageSize));
  if (options.autoCreate) args.push('--auto-create');
  if (options.tls) args.push('--tls-port', '0', '--tls-cert', options.tls.certPath, '--tls-key', options.tls.keyPath);
  if (options.jwtPublicKeyPath) args.push('--jwt-public-key', options.jwtPublicKeyPath);
  const double = await startDoubleProcess<{ port: number; tlsPort?: number; controlUrl: string; maxMessageSize: number }>('eventhubs double', server, args.slice(1));
  const started = double.started;
  const control = async (path: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`${started.controlUrl}${path}`, { method: 'POST' });
    if (!res.ok) throw new Error(`eventhubs double ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const connectionString = connectionStringFor('127.0.0.1', started.port, policy.name, policy.key);
  const tlsNamespace = started.tlsPort !== undefined ? `localhost:${started.tlsPort}` : undefined;
  return {
    kind: 'double',
    connectionString,
    tlsConnectionString: tlsNamespace
      ? (hub, sas = {}) => `Endpoint=sb://${tlsNamespace}/;SharedAccessKeyName=${sas.keyName ?? policy.name};SharedAccessKey=${sas.key ?? policy.key}${hub ? `;EntityPath=${hub}` : ''}`
      : NO_TLS,
    tlsNamespace,
    policy,
    createHubs: async (names) => void (await control(`/hubs?name=${encodeURIComponent(names.join(','))}`)),
    maxMessageSize: started.maxMessageSize,
    controlUrl: started.controlUrl,
    dropConnections: async () => Number((await control('/drop-connections')).dropped),
    busy: async (count) => void (await control(`/busy?count=${count}`)),
    pause: async () => void (await control('/pause')),
    resume: async () => void (await control('/resume')),
    readAll: (hub, readOptions) => readAllWith(connectionString(), hub, readOptions),
    stop: () => double.stop(),
  };
}

export const EMULATOR_IMAGE = 'mcr.microsoft.com/azure-messaging/eventhubs-emulator:2.1.0'; // same pin as docker-compose.yml
const EMULATOR_AZURITE_IMAGE = 'mcr.microsoft.com/azure-storage/azurite:3.35.0';

/**
 * The official emulator (Docker only; UNTESTED on machines without Docker). Hubs must be
 * declared up front in its Config.json; the emulator allows 1 MiB events.
 */
async function startEmulator(options: StartOptions): Promise<EventHubsEndpoint> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const network = await new Network().start();
  const azurite = await new GenericContainer(EMULATOR_AZURITE_IMAGE)
    .withNetwork(network).withNetworkAliases('azurite')
    .withCommand(['azurite', '--blobHost', '0.0.0.0', '--queueHost', '0.0.0.0', '--tableHost', '0.0.0.0', '--skipApiVersionCheck'])
    .start();
  const hubs = options.hubs ?? ['insight-logs-audit', 'insight-logs-operational'];
  const config = {
    UserConfig: {
      NamespaceConfig: [{
        Type: 'EventHub',
        Name: 'emulatorNs1',
        Entities: hubs.map((name) => ({ Name: name, PartitionCount: String(options.partitions ?? 2), ConsumerGroups: [] })),
      }],
      LoggingConfig: { Type: 'File' },
    },
  };
  const emulator = await new GenericContainer(EMULATOR_IMAGE)
    .withNetwork(network)
    .withEnvironment({ BLOB_SERVER: 'azurite', METADATA_SERVER: 'azurite', ACCEPT_EULA: 'Y' })
    .withCopyContentToContainer([{ content: JSON.stringify(config), target: '/Eventhubs_Emulator/ConfigFiles/Config.json' }])
    .withExposedPorts(5672)
    .withWaitStrategy(Wait.forLogMessage(/Emulator Service is Successfully Up/))
    .withStartupTimeout(180_000)
    .start();
  const policy = { name: 'RootManageSharedAccessKey', key: 'SAS_KEY_VALUE' };
  const connectionString = connectionStringFor(emulator.getHost(), emulator.getMappedPort(5672), policy.name, policy.key);
  const unsupported = async (): Promise<never> => { throw new Error('fault injection needs the test double, not the emulator'); };
  return {
    kind: 'emulator',
    connectionString,
    tlsConnectionString: NO_TLS,
    tlsNamespace: undefined,
    policy,
    // Hubs come from Config.json (`hubs`); names outside it do not exist there either.
    createHubs: async () => undefined,
    maxMessageSize: 1024 * 1024,
    controlUrl: undefined,
    dropConnections: unsupported,
    busy: unsupported,
    pause: unsupported,
    resume: unsupported,
    readAll: (hub, readOptions) => readAllWith(connectionString(), hub, readOptions),
    async stop() {
      await Promise.allSettled([emulator.stop(), azurite.stop()]);
      await network.stop().catch(() => undefined);
    },
  };
}

/**
 * The official emulator when a Docker engine answers (unless EVENTHUBS_EMULATOR=0), the test
 * double otherwise. Tests that inject faults or need a small maximum size use the double.
 */
export async function startEventHubs(options: StartOptions = {}): Promise<EventHubsEndpoint> {
  if (process.env.EVENTHUBS_EMULATOR !== '0' && !options.maxMessageSize && (await dockerAvailable())) return startEmulator(options);
  return startEventHubsDouble(options);
}
