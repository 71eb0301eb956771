/**
 * The `eventhubs` destination: each category goes to its hub as events whose bodies are
 * `{"records":[…]}`, packed up to the hub's maximum event size, one partition key (the
 * resourceId) per batch so a resource's records stay ordered on one partition.
 */
import { InsightLogsError, describeError } from '../../errors.js';
import { scrubSecrets, type Logger } from '../../logging.js';
import type { CategoryName } from '../../events/routing.js';
import { categoryOfBatch, type HealthResult, type RejectedRecord, type SendOptions, type SendOutcome, type Sink, type SinkContext, type SinkRecord, type SinkType } from '../sink.js';
import { mapInWorkerPool } from '../worker-pool.js';
import { classifyEventHubsError, lastAttemptError } from './classify.js';
import { CONNECTION_STRING_ENV_FLAG, azureCredentials } from '../azure-auth.js';
import { EVENTHUBS_AAD_AUDIENCE, EVENTHUBS_AUTH, parseEventHubsSettings, type EventHubsSinkSettings } from './config.js';
import { eventOverheadBytes, groupByPartitionKey, packBodies, singleRecordBodyBytes, type EventBody } from './request-builder.js';
import { createHubProducer, type EventBatch, type HubCredentials, type HubProducer } from './service.js';

export type HubProducerFactory = (credentials: HubCredentials, hub: string) => HubProducer;

/** Partition-key groups sent at the same time; each group stays in order. */
const GROUP_CONCURRENCY = 4;
const HEALTHCHECK_TIMEOUT_MS = 5_000;
/** After the service refuses a body as too large, bodies shrink by half, down to 1/16 of the batch size. */
const MIN_BODY_SCALE = 1 / 16;

/** Where the namespace is, for messages: a host name only, never the key. */
function endpointFor(credentials: HubCredentials): string {
  if (credentials.kind === 'azureAd') return credentials.fullyQualifiedNamespace;
  const endpoint = /(?:^|;)\s*Endpoint\s*=\s*([^;]+)/i.exec(credentials.connectionString)?.[1];
  try {
    return endpoint ? new URL(endpoint.trim()).host : 'the namespace';
  } catch {
    return 'the namespace';
  }
}

/** What an operator must do when the service refuses the credentials or does not know the hub. */
function operatorFix(operator: 'credentials' | 'entity', hub: string, settings: EventHubsSinkSettings): string {
  if (operator === 'entity') return `create event hub '${hub}' in the namespace, or point the destination's hubs at an existing hub`;
  if (settings.auth.kind === 'connectionString') {
    return `check the connection string in environment variable ${settings.auth.connectionStringEnv}: SharedAccessKeyName and SharedAccessKey of a policy with the Send claim on this hub or its namespace (or a SharedAccessSignature that is current and issued for this hub)`;
  }
  return `check the Azure AD sign-in (DefaultAzureCredential: AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET, workload or managed identity): the token must be current, for audience ${EVENTHUBS_AAD_AUDIENCE}, and its identity needs the Azure Event Hubs Data Sender role on this hub or namespace`;
}

export class EventHubsSink implements Sink {
  readonly type = 'eventhubs';
  private readonly producers = new Map<string, HubProducer>();
  private readonly bodyScale = new Map<string, number>();
  private readonly logger: Logger;
  private readonly endpoint: string;
  private closed = false;

  constructor(
    private readonly settings: EventHubsSinkSettings,
    private readonly context: SinkContext,
    private readonly credentials: HubCredentials,
    private readonly factory: HubProducerFactory = createHubProducer,
  ) {
    this.logger = context.logger.child({ component: 'eventhubs-sink', destination: context.name });
    this.endpoint = endpointFor(credentials);
  }

  private producerFor(hub: string): HubProducer {
    let producer = this.producers.get(hub);
    if (!producer) {
      producer = this.factory(this.credentials, hub);
      this.producers.set(hub, producer);
    }
    return producer;
  }

  /**
   * Drops a hub's client after a connection-level error; the next send creates a fresh one.
   * Only the client that failed: with sends from several partitions at once, another send may
   * already have replaced it, and closing the replacement would fail sends that are fine.
   */
  private async resetProducer(hub: string, failed: HubProducer): Promise<void> {
    if (this.producers.get(hub) === failed) this.producers.delete(hub);
    await failed.close().catch(() => undefined);
  }

  async send(batch: readonly SinkRecord[], options: SendOptions = {}): Promise<SendOutcome> {
    if (this.closed) throw new Error('eventhubs sink: send after close');
    const category = categoryOfBatch(batch);
    if (category === undefined) return { status: 'delivered' };
    const hub = this.settings.hubs[category];
    const producer = this.producerFor(hub);
    let rejected: RejectedRecord[];
    try {
      rejected = await this.sendToHub(producer, batch, options.abortSignal);
    } catch (error) {
      const failure = classifyEventHubsError(error);
      if (failure.kind === 'too-large') {
        // The link's max_message_size promised more than the hub accepts: pack smaller next time.
        const scale = Math.max(MIN_BODY_SCALE, (this.bodyScale.get(hub) ?? 1) / 2);
        this.bodyScale.set(hub, scale);
        this.logger.warn({ hub, scale }, 'event hub refused an event as too large; packing smaller bodies');
      } else if (failure.resetClient) {
        await this.resetProducer(hub, producer);
      }
      const reason = failure.reason;
      const retryAfterMs = failure.kind === 'retryable' ? failure.retryAfterMs : undefined;
      const fix = failure.kind === 'retryable' && failure.operator ? `; to fix: ${operatorFix(failure.operator, hub, this.settings)}` : '';
      // Nothing is dead-lettered for these: the records wait (retried slowly) until someone fixes the cause.
      const message = `destination '${this.context.name}': event hub '${hub}' on ${this.endpoint}: ${reason}: ${scrubSecrets(describeError(lastAttemptError(error)))}${fix}`;
      this.logger.warn({ hub, category }, message);
      const wrapped = new InsightLogsError('SINK_UNAVAILABLE', message, { cause: error, retryable: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      return retryAfterMs !== undefined ? { status: 'retryable', error: wrapped, retryAfterMs } : { status: 'retryable', error: wrapped };
    }
    return rejected.length > 0 ? { status: 'delivered', rejected } : { status: 'delivered' };
  }

  private async sendToHub(producer: HubProducer, records: readonly SinkRecord[], abortSignal?: AbortSignal): Promise<RejectedRecord[]> {
    const groups = [...groupByPartitionKey(records)];
    const rejected = await mapInWorkerPool(groups, GROUP_CONCURRENCY, ([partitionKey, group]) => this.sendGroup(producer, partitionKey, group, abortSignal));
    return rejected.flat();
  }

  /** Sends one partition key's records as batches of packed bodies; returns the records that can never fit. */
  private async sendGroup(producer: HubProducer, partitionKey: string, records: readonly SinkRecord[], abortSignal?: AbortSignal): Promise<RejectedRecord[]> {
    let batch: EventBatch = await producer.createBatch(partitionKey, abortSignal);
    const maxBodyBytes = Math.floor(batch.maxSizeInBytes * (this.bodyScale.get(producer.hub) ?? 1)) - eventOverheadBytes(partitionKey);
    const { bodies, tooLarge } = packBodies(partitionKey, records, maxBodyBytes);
    const rejected: RejectedRecord[] = tooLarge.map((record) => ({
      record,
      code: 'RECORD_TOO_LARGE',
      reason: `the record alone makes a ${singleRecordBodyBytes(record)}-byte event body; event hub '${producer.hub}' accepts events up to about ${maxBodyBytes} bytes of body`,
    }));
    const queue: EventBody[] = [...bodies];
    while (queue.length > 0) {
      const body = queue.shift()!;
      if (batch.tryAdd(body.body)) continue;
      if (batch.count > 0) {
        await producer.sendBatch(batch, abortSignal);
        batch = await producer.createBatch(partitionKey, abortSignal);
        queue.unshift(body);
        continue;
      }
      // Refused by an empty batch: the overhead estimate was short. Split, or give up on a lone record.
      if (body.records.length === 1) {
        rejected.push({ record: body.records[0]!, code: 'RECORD_TOO_LARGE', reason: `the record does not fit an event of event hub '${producer.hub}' (max ${batch.maxSizeInBytes} bytes)` });
        continue;
      }
      const half = Math.ceil(body.records.length / 2);
      queue.unshift(...packBodies(partitionKey, body.records.slice(0, half), Number.MAX_SAFE_INTEGER).bodies, ...packBodies(partitionKey, body.records.slice(half), Number.MAX_SAFE_INTEGER).bodies);
    }
    if (batch.count > 0) await producer.sendBatch(batch, abortSignal);
    return rejected;
  }

  async healthcheck(options: SendOptions = {}): Promise<HealthResult> {
    if (this.closed) return { ok: false, problem: 'the sink is closed' };
    const hubs = this.context.categories.map((c: CategoryName) => this.settings.hubs[c]);
    const problems: string[] = [];
    await Promise.all(
      hubs.map(async (hub) => {
        const signals = [AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS), ...(options.abortSignal ? [options.abortSignal] : [])];
        const producer = this.producerFor(hub);
        try {
          const properties = await producer.getProperties(AbortSignal.any(signals));
          if (properties.partitionIds.length === 0) problems.push(`event hub '${hub}' on ${this.endpoint} has no partitions`);
        } catch (error) {
          const failure = classifyEventHubsError(error);
          const timedOut = signals[0]!.aborted;
          const fix = !timedOut && failure.kind === 'retryable' && failure.operator ? `; to fix: ${operatorFix(failure.operator, hub, this.settings)}` : '';
          problems.push(`event hub '${hub}' on ${this.endpoint} is not usable: ${timedOut ? `no answer within ${HEALTHCHECK_TIMEOUT_MS} ms` : failure.reason} (${scrubSecrets(describeError(lastAttemptError(error)))})${fix}`);
          if (failure.kind === 'retryable' && failure.resetClient) await this.resetProducer(hub, producer);
        }
      }),
    );
    return problems.length === 0 ? { ok: true, detail: `event hubs ${hubs.join(', ')} on ${this.endpoint} answer` } : { ok: false, problem: problems.join('; ') };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const producers = [...this.producers.values()];
    this.producers.clear();
    await Promise.allSettled(producers.map((p) => p.close()));
  }
}

/** Credentials for the settings: the connection string is read from its environment variable here, once. */
export function credentialsFor(settings: EventHubsSinkSettings, env: NodeJS.ProcessEnv, path = 'eventhubs'): HubCredentials {
  return azureCredentials(settings.auth, env, path, EVENTHUBS_AUTH);
}

export type { EventHubsSinkSettings } from './config.js';

export const eventHubsSinkType: SinkType<EventHubsSinkSettings> = {
  type: 'eventhubs',
  title: 'Event Hubs',
  description: 'Azure Event Hubs, {"records":[…]} events, a hub per category',
  addFlags: [
    CONNECTION_STRING_ENV_FLAG,
    { flag: '--fully-qualified-namespace <host>', key: 'fullyQualifiedNamespace', help: 'namespace host for Azure AD sign-in' },
  ],
  parseSettings: parseEventHubsSettings,
  create(settings, context) {
    return new EventHubsSink(settings, context, credentialsFor(settings, context.env, `destinations[${context.name}]`));
  },
};
