/**
 * The only file importing `@azure/monitor-ingestion`: a LogsIngestionClient for one data
 * collection rule, with the SDK's own retries off (the forwarder's one retry policy waits,
 * honouring retry-after, until delivered or dead-lettered; the SDK would sleep through any Retry-After in-line).
 */
import { azureAdCredential } from '../azure-credential.js';
import { LogsIngestionClient, isAggregateLogsUploadError } from '@azure/monitor-ingestion';
import { InsightLogsError } from '../../errors.js';

/** The SDK's credential type, taken from its constructor (so no undeclared dependency on @azure/core-auth). */
export type TokenCredential = ConstructorParameters<typeof LogsIngestionClient>[1];
type AccessToken = NonNullable<Awaited<ReturnType<TokenCredential['getToken']>>>;

export interface IngestionTarget {
  endpoint: string;
  ruleId: string;
  credential: TokenCredential;
  /** e.g. https://monitor.azure.us; default the public cloud. */
  audience?: string;
  /** http:// endpoints (test double). */
  allowInsecure: boolean;
}

export interface IngestionService {
  /** One HTTP request for the rows (callers keep chunks ≤ 1 MB); throws the SDK's RestError or a transport error. */
  upload(stream: string, rows: Record<string, unknown>[], abortSignal?: AbortSignal): Promise<void>;
  /**
   * The API has no ping and `upload([])` sends nothing (the SDK skips empty chunks), so a
   * probe gets a token and POSTs an empty array itself: the service authenticates the
   * caller and resolves the rule and stream, and stores nothing. Resolves with the status.
   */
  probe(stream: string, abortSignal?: AbortSignal): Promise<{ status: number; message: string }>;
  close(): Promise<void>;
}

const API_VERSION = '2023-01-01';
const PUBLIC_AUDIENCE = 'https://monitor.azure.com';

function scopeFor(audience: string | undefined): string {
  return `${audience ?? PUBLIC_AUDIENCE}/.default`;
}

/** A TokenCredential over a bearer token in an environment variable, read at each request (never kept). */
export function tokenFromEnvironment(env: NodeJS.ProcessEnv, name: string, path: string): TokenCredential {
  if (!env[name]?.trim()) {
    throw new InsightLogsError('SECRET_MISSING', `${path}.tokenEnv: environment variable ${name} is not set; put a bearer token for the Logs Ingestion API there`);
  }
  return {
    async getToken(): Promise<AccessToken | null> {
      const token = env[name]?.trim();
      if (!token) throw new InsightLogsError('SECRET_MISSING', `environment variable ${name} (the Logs Ingestion token) is no longer set`);
      // A static token has no known expiry; an hour keeps the SDK's cache from asking too often.
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

export function defaultCredential(): TokenCredential {
  return azureAdCredential();
}

export function createIngestionService(target: IngestionTarget): IngestionService {
  const client = new LogsIngestionClient(target.endpoint, target.credential, {
    ...(target.audience ? { audience: target.audience } : {}),
    allowInsecureConnection: target.allowInsecure,
    retryOptions: { maxRetries: 0 },
    userAgentOptions: { userAgentPrefix: 'insight-logs' },
  });
  const scope = scopeFor(target.audience);
  if (target.endpoint.startsWith('http://')) {
    // core-rest-pipeline's bearer policy refuses non-TLS URLs outright; the test double is plain
    // http (allowed only with allowInsecure, checked in config), so set the header ourselves.
    client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
    client.pipeline.addPolicy({
      name: 'insightLogsInsecureBearer',
      async sendRequest(request, next) {
        const token = await target.credential.getToken(scope, { abortSignal: request.abortSignal });
        if (token) request.headers.set('Authorization', `Bearer ${token.token}`);
        return next(request);
      },
    });
  }
  const streamUrl = (stream: string): string =>
    `${target.endpoint}/dataCollectionRules/${encodeURIComponent(target.ruleId)}/streams/${encodeURIComponent(stream)}?api-version=${API_VERSION}`;

  return {
    async upload(stream, rows, abortSignal) {
      try {
        await client.upload(target.ruleId, stream, rows, { maxConcurrency: 1, ...(abortSignal ? { abortSignal } : {}) });
      } catch (error) {
        // One chunk per call, so the aggregate holds exactly one cause: surface it.
        if (isAggregateLogsUploadError(error) && error.errors.length > 0) throw error.errors[0]!.cause;
        throw error;
      }
    },
    async probe(stream, abortSignal) {
      const token = await target.credential.getToken(scope, abortSignal ? { abortSignal } : {});
      if (!token) throw new InsightLogsError('SINK_UNAVAILABLE', 'the credential returned no token');
      const response = await fetch(streamUrl(stream), {
        method: 'POST',
        headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: '[]',
        ...(abortSignal ? { signal: abortSignal } : {}),
      });
      const text = await response.text();
      let message = text.slice(0, 300);
      try {
        const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
        if (body.error) message = `${body.error.code ?? ''}: ${body.error.message ?? ''}`;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, message };
    },
    async close() {
      // LogsIngestionClient holds no sockets of its own beyond Node's keep-alive agent.
    },
  };
}
