/**
 * What `search --from` names, turned into an archive reader and the containers to search:
 * - a configured destination of type `blob` or `dir` (its containers, categories and
 *   credentials as the forwarder uses them);
 * - a blob account or container URL (`https://acct.blob.core.windows.net[/container]`,
 *   `http://127.0.0.1:10000/devstoreaccount1[/container]`), with the connection string from an
 *   environment variable (default AZURE_STORAGE_CONNECTION_STRING, as the blob sink takes it)
 *   or, when that is unset, Azure AD;
 * - a local folder: a dir destination's folder (holding `insight-logs-audit/` …), or one
 *   container's folder (holding `resourceId=/…`, e.g. a copy made with `az storage blob download-batch`).
 * A bare word (`archive`) is a destination name; a folder of that name is written `./archive`.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DESTINATION_NAME, type DestinationConfig } from '../config/destinations.js';
import { InsightLogsError } from '../errors.js';
import { CATEGORY_NAMES, topicFor, type CategoryName } from '../events/routing.js';
import { urlForLogs } from '../logging.js';
import { azureCredentials } from '../sinks/azure-auth.js';
import { BLOB_AUTH, type BlobSinkSettings } from '../sinks/blob/config.js';
import { blobEndpointOf, createBlobArchiveReader, type BlobCredentials } from '../sinks/blob/service.js';
import type { DirSinkSettings } from '../sinks/dir/config.js';
import { createDirArchiveReader } from '../sinks/dir/service.js';
import type { ArchiveReader } from '../sinks/layout/archive.js';
import { RESOURCE_ID_FOLDER } from '../sinks/layout/path.js';

/** Containers by category, or one container whose category is unknown (`single`). */
export type ArchiveContainers =
  | { kind: 'byCategory'; containers: Partial<Record<CategoryName, string>> }
  | { kind: 'single'; container: string };

export interface SearchSource {
  reader: ArchiveReader;
  containers: ArchiveContainers;
  /** What was resolved, for the summary line: `destination archive (blob, http://…)`. */
  description: string;
}

export interface ResolveSourceOptions {
  env: NodeJS.ProcessEnv;
  /** Name of the environment variable holding a connection string for a URL (`--connection-string-env`). */
  connectionStringEnv: string;
  /** The configured destinations (read from the destinations topic only when a name is given). */
  destinations(): Promise<readonly DestinationConfig[]>;
}

const DEFAULT_CONTAINERS = (): Partial<Record<CategoryName, string>> => Object.fromEntries(CATEGORY_NAMES.map((c) => [c, topicFor(c)]));

function fromDestination(destination: DestinationConfig, env: NodeJS.ProcessEnv): SearchSource {
  const where = `destination "${destination.name}"`;
  if (destination.type === 'blob') {
    const settings = destination.sinkSettings as BlobSinkSettings;
    const reader = createBlobArchiveReader(azureCredentials(settings.auth, env, where, BLOB_AUTH));
    const containers = Object.fromEntries(destination.categories.map((c) => [c, settings.containers[c]]));
    return { reader, containers: { kind: 'byCategory', containers }, description: `${where} (blob, ${reader.location})` };
  }
  if (destination.type === 'dir') {
    const settings = destination.sinkSettings as DirSinkSettings;
    const reader = createDirArchiveReader(settings.path);
    const containers = Object.fromEntries(destination.categories.map((c) => [c, topicFor(c)]));
    return { reader, containers: { kind: 'byCategory', containers }, description: `${where} (dir, ${reader.location})` };
  }
  throw new InsightLogsError('CONFIG_INVALID', `--from: ${where} is of type ${destination.type}; search reads the archives of blob and dir destinations`);
}

/** Splits a blob URL into the account endpoint and an optional container (emulators carry the account in the path). */
export function splitBlobUrl(value: string): { accountUrl: string; container?: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InsightLogsError('CONFIG_INVALID', `--from: "${urlForLogs(value)}" is not a URL`);
  }
  if (url.search !== '' || url.username !== '' || url.password !== '') {
    throw new InsightLogsError('CONFIG_INVALID', '--from: a URL must not carry a query string or credentials (put a SAS connection string in an environment variable, see --connection-string-env)');
  }
  const segments = url.pathname.split('/').filter(Boolean);
  const emulator = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || /^\d+\.\d+\.\d+\.\d+$/.test(url.hostname);
  const accountSegments = emulator ? 1 : 0;
  if (segments.length > accountSegments + 1 || (emulator && segments.length === 0)) {
    throw new InsightLogsError('CONFIG_INVALID', `--from: ${urlForLogs(value)} is not an account or container URL (https://<account>.blob.core.windows.net[/<container>]${emulator ? ', or http://127.0.0.1:<port>/<account>[/<container>] for an emulator' : ''})`);
  }
  const accountUrl = `${url.origin}${segments.slice(0, accountSegments).map((s) => `/${s}`).join('')}`;
  const container = segments[accountSegments];
  return container === undefined ? { accountUrl } : { accountUrl, container };
}

function fromUrl(value: string, options: ResolveSourceOptions): SearchSource {
  const { accountUrl, container } = splitBlobUrl(value);
  const connectionString = options.env[options.connectionStringEnv]?.trim();
  let credentials: BlobCredentials;
  if (connectionString) {
    // Checked as the blob sink checks it: set, and shaped like a storage connection string.
    credentials = azureCredentials({ kind: 'connectionString', connectionStringEnv: options.connectionStringEnv }, options.env, '--from', BLOB_AUTH) as BlobCredentials;
    // The key is for one account: refuse to send it to another endpoint than the one asked for.
    const endpoint = blobEndpointOf(credentials);
    if (endpoint.toLowerCase() !== accountUrl.toLowerCase()) {
      throw new InsightLogsError('CONFIG_INVALID', `--from: the connection string in ${options.connectionStringEnv} is for ${endpoint}, not ${accountUrl}; set --connection-string-env to the variable for this account, or unset it to use Azure AD`);
    }
  } else {
    credentials = { kind: 'azureAd', accountUrl };
  }
  const reader = createBlobArchiveReader(credentials);
  const auth = connectionString ? `connection string from ${options.connectionStringEnv}` : 'Azure AD';
  if (container !== undefined) {
    return { reader, containers: { kind: 'single', container }, description: `container ${container} at ${reader.location} (${auth})` };
  }
  return { reader, containers: { kind: 'byCategory', containers: DEFAULT_CONTAINERS() }, description: `account ${reader.location} (${auth})` };
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function fromFolder(value: string): Promise<SearchSource> {
  const folder = path.resolve(value);
  if (!(await isDirectory(folder))) throw new InsightLogsError('CONFIG_INVALID', `--from: folder ${folder} does not exist (or is not a folder)`);
  if (await isDirectory(path.join(folder, RESOURCE_ID_FOLDER))) {
    // One container's content: the folder is the container, its parent the root.
    const reader = createDirArchiveReader(path.dirname(folder));
    return { reader, containers: { kind: 'single', container: path.basename(folder) }, description: `folder ${folder} (one container)` };
  }
  const reader = createDirArchiveReader(folder);
  return { reader, containers: { kind: 'byCategory', containers: DEFAULT_CONTAINERS() }, description: `folder ${folder}` };
}

export async function resolveSource(from: string, options: ResolveSourceOptions): Promise<SearchSource> {
  const value = from.trim();
  if (value === '') throw new InsightLogsError('CONFIG_INVALID', '--from: give a destination name, a folder or a blob URL');
  if (/^https?:\/\//i.test(value)) return fromUrl(value, options);
  if (DESTINATION_NAME.test(value)) {
    const all = await options.destinations();
    const destination = all.find((d) => d.name === value);
    if (!destination) {
      const known = all.map((d) => d.name);
      throw new InsightLogsError('DESTINATION_UNKNOWN', `--from: no destination named "${value}"${known.length ? ` (known: ${known.join(', ')})` : ' (none configured)'}; for a local folder of that name write ./${value}`);
    }
    return fromDestination(destination, options.env);
  }
  return fromFolder(value);
}
