/**
 * The only file that imports @azure/storage-blob: a narrow service the sink drives, so the
 * sink's logic (packing, positions, roll-over) is testable with a fake, and a spy can
 * observe every append.
 *
 * The SDK's own retry policy is kept short (2 tries, short timeouts): the forwarder retries
 * whole batches with backoff, and the append-position checks make those retries safe.
 */
import { BlobServiceClient, StorageRetryPolicyType, type StoragePipelineOptions } from '@azure/storage-blob';
import { azureAdCredential } from '../azure-credential.js';
import { urlForLogs } from '../../logging.js';
import type { ArchiveReader } from '../layout/archive.js';

export interface AppendBlobState {
  /** Current length in bytes: the next append position. */
  length: number;
  committedBlocks: number;
}

export interface BlobService {
  /** The account endpoint for messages (no query string, never a key). */
  readonly endpoint: string;
  createContainerIfMissing(container: string, abortSignal?: AbortSignal): Promise<void>;
  /** Creates an empty append blob unless one exists; true when created here. */
  createAppendBlobIfMissing(container: string, blobName: string, abortSignal?: AbortSignal): Promise<boolean>;
  getAppendBlobState(container: string, blobName: string, abortSignal?: AbortSignal): Promise<AppendBlobState>;
  /** Appends only when the blob is exactly `appendPosition` bytes long (412 AppendPositionConditionNotMet otherwise). */
  appendBlock(container: string, blobName: string, body: Buffer, appendPosition: number, abortSignal?: AbortSignal): Promise<AppendBlobState>;
  readRange(container: string, blobName: string, offset: number, count: number, abortSignal?: AbortSignal): Promise<Buffer>;
  /** A cheap call that proves the account answers and the credentials work. */
  containerExists(container: string, abortSignal?: AbortSignal): Promise<boolean>;
}

export type BlobCredentials =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'azureAd'; accountUrl: string };

export interface SdkRetryOptions {
  maxTries?: number;
  tryTimeoutMs?: number;
}

function createServiceClient(credentials: BlobCredentials, retry: SdkRetryOptions): BlobServiceClient {
  const options: StoragePipelineOptions = {
    retryOptions: {
      retryPolicyType: StorageRetryPolicyType.EXPONENTIAL,
      maxTries: retry.maxTries ?? 2,
      // Long enough for a 4 MiB block on a slow link; a dead endpoint fails fast with ECONNREFUSED anyway.
      tryTimeoutInMs: retry.tryTimeoutMs ?? 30_000,
      retryDelayInMs: 200,
      maxRetryDelayInMs: 1_000,
    },
  };
  return credentials.kind === 'connectionString'
    ? BlobServiceClient.fromConnectionString(credentials.connectionString, options)
    : new BlobServiceClient(credentials.accountUrl, azureAdCredential(), options);
}

export function createBlobService(credentials: BlobCredentials, retry: SdkRetryOptions = {}): BlobService {
  const client = createServiceClient(credentials, retry);
  const appendBlob = (container: string, blobName: string) => client.getContainerClient(container).getAppendBlobClient(blobName);

  return {
    endpoint: urlForLogs(client.url).replace(/\/$/, ''),
    async createContainerIfMissing(container, abortSignal) {
      await client.getContainerClient(container).createIfNotExists({ abortSignal });
    },
    async createAppendBlobIfMissing(container, blobName, abortSignal) {
      const response = await appendBlob(container, blobName).createIfNotExists({
        abortSignal,
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
      return response.succeeded;
    },
    async getAppendBlobState(container, blobName, abortSignal) {
      const properties = await appendBlob(container, blobName).getProperties({ abortSignal });
      return { length: properties.contentLength ?? 0, committedBlocks: properties.blobCommittedBlockCount ?? 0 };
    },
    async appendBlock(container, blobName, body, appendPosition, abortSignal) {
      const response = await appendBlob(container, blobName).appendBlock(body, body.length, { abortSignal, conditions: { appendPosition } });
      const offset = Number(response.blobAppendOffset ?? appendPosition);
      return { length: offset + body.length, committedBlocks: response.blobCommittedBlockCount ?? 0 };
    },
    async readRange(container, blobName, offset, count, abortSignal) {
      return appendBlob(container, blobName).downloadToBuffer(offset, count, { abortSignal });
    },
    async containerExists(container, abortSignal) {
      return client.getContainerClient(container).exists({ abortSignal });
    },
  };
}

/** The account endpoint a connection string or account URL leads to, for messages and checks (no query string, never a key). */
export function blobEndpointOf(credentials: BlobCredentials): string {
  return urlForLogs(createServiceClient(credentials, {}).url).replace(/\/$/, '');
}

/**
 * Reads a container in the blob layout (`insight-logs search`). Listing goes one folder at a
 * time (`/` as delimiter), so a search lists only the prefixes it plans; a read downloads one
 * range as a stream (the SDK's chunks, never the whole blob in memory) and resumes a broken
 * download by itself. More tries than the sink's: a search has no batch-level retry around it.
 */
export function createBlobArchiveReader(credentials: BlobCredentials, retry: SdkRetryOptions = { maxTries: 4 }): ArchiveReader {
  const client = createServiceClient(credentials, retry);
  return {
    location: urlForLogs(client.url).replace(/\/$/, ''),
    async containerExists(container, abortSignal) {
      return client.getContainerClient(container).exists({ abortSignal });
    },
    async list(container, folder, abortSignal) {
      const folders: string[] = [];
      const files: { name: string; size: number }[] = [];
      const pages = client.getContainerClient(container).listBlobsByHierarchy('/', { prefix: folder, abortSignal }).byPage({ maxPageSize: 5000 });
      for await (const page of pages) {
        for (const p of page.segment.blobPrefixes ?? []) folders.push(p.name);
        for (const b of page.segment.blobItems) files.push({ name: b.name, size: b.properties.contentLength ?? 0 });
      }
      return { folders, files };
    },
    async listFiles(container, folder, abortSignal) {
      const files: { name: string; size: number }[] = [];
      for await (const page of client.getContainerClient(container).listBlobsFlat({ prefix: folder, abortSignal }).byPage({ maxPageSize: 5000 })) {
        for (const b of page.segment.blobItems) files.push({ name: b.name, size: b.properties.contentLength ?? 0 });
      }
      return files;
    },
    async *read(container, name, length, abortSignal) {
      if (length <= 0) return;
      const response = await client.getContainerClient(container).getBlobClient(name).download(0, length, { abortSignal, maxRetryRequests: 5 });
      const body = response.readableStreamBody;
      if (!body) return;
      for await (const chunk of body) yield chunk as Buffer;
    },
  };
}
