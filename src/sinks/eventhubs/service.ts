/**
 * The only file that imports @azure/event-hubs: one producer client per hub, with the SDK's
 * own retries kept short because the forwarder retries whole batches with backoff.
 */
import { EventHubProducerClient, type EventDataBatch } from '@azure/event-hubs';
import { azureAdCredential } from '../azure-credential.js';

export type HubCredentials =
  /** The connection string itself (looked up from its environment variable by the sink). */
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'azureAd'; fullyQualifiedNamespace: string };

/** The part of an EventDataBatch the sink uses. */
export interface EventBatch {
  readonly maxSizeInBytes: number;
  readonly count: number;
  tryAdd(body: Buffer): boolean;
}

export interface HubProperties {
  name: string;
  partitionIds: string[];
}

export interface HubProducer {
  readonly hub: string;
  createBatch(partitionKey: string, abortSignal?: AbortSignal): Promise<EventBatch>;
  sendBatch(batch: EventBatch, abortSignal?: AbortSignal): Promise<void>;
  getProperties(abortSignal?: AbortSignal): Promise<HubProperties>;
  close(): Promise<void>;
}

/** SDK retry: one quick retry inside a call, a 10 s cap per attempt; the forwarder does the rest. */
export const SDK_RETRY_OPTIONS = { maxRetries: 1, timeoutInMs: 10_000, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 } as const;

/**
 * The hub comes from settings, not from the connection string: an `EntityPath` there would
 * pin every client to one hub (the SDK refuses a different name), so it is dropped.
 */
export function withoutEntityPath(connectionString: string): string {
  return connectionString
    .split(';')
    .filter((part) => part.trim() !== '' && !/^\s*EntityPath\s*=/i.test(part))
    .join(';');
}

class SdkBatch implements EventBatch {
  constructor(readonly inner: EventDataBatch) {}
  get maxSizeInBytes(): number {
    return this.inner.maxSizeInBytes;
  }
  get count(): number {
    return this.inner.count;
  }
  tryAdd(body: Buffer): boolean {
    return this.inner.tryAdd({ body });
  }
}

export function createHubProducer(credentials: HubCredentials, hub: string): HubProducer {
  const options = { retryOptions: { ...SDK_RETRY_OPTIONS } };
  const client =
    credentials.kind === 'connectionString'
      ? new EventHubProducerClient(withoutEntityPath(credentials.connectionString), hub, options)
      : new EventHubProducerClient(credentials.fullyQualifiedNamespace, hub, azureAdCredential(), options);
  return {
    hub,
    async createBatch(partitionKey, abortSignal) {
      return new SdkBatch(await client.createBatch({ partitionKey, ...(abortSignal ? { abortSignal } : {}) }));
    },
    async sendBatch(batch, abortSignal) {
      if (!(batch instanceof SdkBatch)) throw new TypeError('sendBatch takes a batch made by createBatch');
      await client.sendBatch(batch.inner, abortSignal ? { abortSignal } : {});
    },
    async getProperties(abortSignal) {
      const p = await client.getEventHubProperties(abortSignal ? { abortSignal } : {});
      return { name: p.name, partitionIds: p.partitionIds };
    },
    close: () => client.close(),
  };
}
