/**
 * `apiEventMiddleware`: one APIEvent per HTTP request for `node:http`-style handlers
 * (Express middleware as is; Fastify through an `onRequest` hook on the raw req/res).
 * The event is built when the response finishes (or the connection closes first) and handed
 * to `producer.emit`, so the request never waits for Kafka; an event that cannot be built
 * (e.g. a bad resourceId) goes to `onError` and never breaks the request.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { InsightLogsError, describeError } from '../errors.js';
import { buildApiEvent, newCorrelationId } from '../events/builders.js';
import { MAX_CORRELATION_ID_LENGTH } from '../events/validate.js';
import type { Identity, InsightEvent } from '../events/types.js';
import { scrubSecrets } from '../logging.js';
import { applyPolicy, assertPolicy, type PersonalDataPolicy } from './pseudonymize.js';

/** What the middleware needs from a producer; EventProducer satisfies it. */
export interface EventSink {
  emit(event: InsightEvent): void;
}

/** Status recorded when the client went away before the response was complete (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499;

export interface ApiEventMiddlewareOptions {
  producer: EventSink;
  /** The instance the request concerns: a fixed resourceId or one per request. */
  resourceId: string | ((req: IncomingMessage) => string);
  /** Default `${METHOD} ${route}`: Express' `baseUrl + route.path` when known, else the path. */
  operationName?: (req: IncomingMessage) => string;
  identity?: (req: IncomingMessage) => Identity | undefined;
  /** Extra properties: tenant, caller object id, instance id. */
  properties?: (req: IncomingMessage) => { tenantId?: string; tenantName?: string; callerObjectId?: string; instanceId?: string } | undefined;
  /** Take the caller IP, protocol and host from X-Forwarded-* (only behind a proxy you run). Default false. */
  trustProxy?: boolean;
  /** callerIpAddress: keep, HMAC-hash or drop. Default keep. */
  ipAddress?: PersonalDataPolicy;
  /** Values of identity.Claims: keep, HMAC-hash or drop. Default keep. */
  claims?: PersonalDataPolicy;
  /** HMAC key for `hash`; required when either policy is `hash`. */
  salt?: string | Buffer;
  /** An event that could not be built; default: a process warning. Never thrown into the request. */
  onError?: (error: InsightLogsError, req: IncomingMessage) => void;
}

type Next = (err?: unknown) => void;

interface ExpressRequestExtras { originalUrl?: string; baseUrl?: string; route?: { path?: unknown } }

function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === '' ? undefined : v;
}

function firstHop(value: string | string[] | undefined): string | undefined {
  return firstHeader(value)?.split(',')[0]?.trim() || undefined;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`: the IPv4 address a dual-stack socket reports. */
function normaliseIp(ip: string | undefined): string | undefined {
  return ip?.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function requestTarget(req: IncomingMessage): string {
  return (req as IncomingMessage & ExpressRequestExtras).originalUrl ?? req.url ?? '/';
}

function pathOf(target: string): string {
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

function defaultOperationName(req: IncomingMessage): string {
  const extras = req as IncomingMessage & ExpressRequestExtras;
  const route = typeof extras.route?.path === 'string' ? `${extras.baseUrl ?? ''}${extras.route.path}` : pathOf(requestTarget(req));
  return `${(req.method ?? 'GET').toUpperCase()} ${route}`;
}

function absoluteUri(req: IncomingMessage, trustProxy: boolean): string {
  const encrypted = (req.socket as { encrypted?: boolean } | null)?.encrypted === true;
  const proto = (trustProxy ? firstHop(req.headers['x-forwarded-proto']) : undefined) ?? (encrypted ? 'https' : 'http');
  const host = (trustProxy ? firstHop(req.headers['x-forwarded-host']) : undefined) ?? req.headers.host ?? 'localhost';
  // Query strings sometimes carry tokens (SAS signatures, bearer tokens): those values are scrubbed.
  return scrubSecrets(`${proto}://${host}${requestTarget(req)}`);
}

function callerIp(req: IncomingMessage, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? firstHop(req.headers['x-forwarded-for']) : undefined;
  return normaliseIp(forwarded ?? req.socket?.remoteAddress);
}

function protectClaims(identity: Identity | undefined, policy: PersonalDataPolicy, salt: string | Buffer | undefined): Identity | undefined {
  if (!identity || policy === 'keep') return identity;
  const claims: Record<string, string> = {};
  if (policy === 'hash') for (const [k, v] of Object.entries(identity.Claims ?? {})) claims[k] = applyPolicy('hash', v, salt)!;
  return { ...identity, Claims: claims };
}

/** W3C Trace Context `traceparent`: version-traceid-parentid-flags; an all-zero trace id is invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const HEADER_ID = new RegExp(`^[\\x21-\\x7e]{1,${MAX_CORRELATION_ID_LENGTH}}$`);

/**
 * The correlation id of a request: the trace id of a valid W3C `traceparent`, else
 * `x-ms-correlation-request-id` (Azure Resource Manager's), else `x-request-id`, else a new
 * random UUID. A header value that is not a plausible id (spaces, control characters, over
 * 128 characters, version ff or an all-zero trace id) is skipped, never copied into an event.
 */
export function correlationIdFromHeaders(headers: IncomingHttpHeaders): string {
  const traceparent = firstHeader(headers.traceparent)?.trim().toLowerCase();
  const trace = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (trace && trace[1] !== 'ff' && !/^0+$/.test(trace[2]!) && !/^0+$/.test(trace[3]!)) return trace[2]!;
  for (const name of ['x-ms-correlation-request-id', 'x-request-id']) {
    const value = firstHeader(headers[name])?.trim();
    if (value && HEADER_ID.test(value)) return value;
  }
  return newCorrelationId();
}

export function apiEventMiddleware(options: ApiEventMiddlewareOptions): (req: IncomingMessage, res: ServerResponse, next?: Next) => void {
  const ipPolicy = options.ipAddress ?? 'keep';
  const claimsPolicy = options.claims ?? 'keep';
  assertPolicy('ipAddress', ipPolicy);
  assertPolicy('claims', claimsPolicy);
  if ((ipPolicy === 'hash' || claimsPolicy === 'hash') && (options.salt === undefined || options.salt.length === 0)) {
    throw new InsightLogsError('CONFIG_INVALID', 'salt: required when ipAddress or claims is "hash" (keep it secret, e.g. from an environment variable)');
  }
  if (typeof options.producer?.emit !== 'function') throw new InsightLogsError('CONFIG_INVALID', 'producer: an object with an emit(event) method, e.g. an EventProducer');
  const trustProxy = options.trustProxy ?? false;
  const onError = options.onError ?? ((error: InsightLogsError) => {
    process.emitWarning(`insight-logs: API event not emitted: ${error.message}`, { code: error.code });
  });

  return function insightLogsApiEvent(req, res, next) {
    const started = process.hrtime.bigint();
    // Read when the request arrives: a handler may rewrite headers before the response ends.
    const correlationId = correlationIdFromHeaders(req.headers);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      try {
        const identity = protectClaims(options.identity?.(req), claimsPolicy, options.salt);
        const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_REQUEST;
        const event = buildApiEvent({
          resourceId: typeof options.resourceId === 'function' ? options.resourceId(req) : options.resourceId,
          operationName: (options.operationName ?? defaultOperationName)(req),
          method: req.method ?? 'GET',
          status,
          durationMs,
          path: pathOf(requestTarget(req)),
          uri: absoluteUri(req, trustProxy),
          callerIpAddress: applyPolicy(ipPolicy, callerIp(req, trustProxy), options.salt),
          userAgent: firstHeader(req.headers['user-agent']),
          origin: firstHeader(req.headers.origin),
          identity,
          ...options.properties?.(req),
          correlationId,
        });
        options.producer.emit(event);
      } catch (err) {
        const error = err instanceof InsightLogsError ? err : new InsightLogsError('EVENT_INVALID', describeError(err), { cause: err });
        try {
          onError(error, req);
        } catch {
          // A broken error hook must not break the response either.
        }
      }
    };
    res.once('finish', finish);
    res.once('close', finish);
    next?.();
  };
}
