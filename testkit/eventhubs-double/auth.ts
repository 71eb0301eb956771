/**
 * What the Event Hubs TEST DOUBLE checks on `$cbs` put-token and on `$management` requests,
 * as the service does (pure functions, no AMQP here):
 *
 *   - SAS tokens `SharedAccessSignature sr=<url-encoded resource URI>&sig=<url-encoded base64
 *     HMAC-SHA256>&se=<expiry, s>&skn=<policy>`: the signature is HMAC-SHA256 over
 *     `<sr as sent>\n<se>` keyed with the policy's key (the key string's bytes, as the SDKs
 *     sign); the token must not be expired and its resource URI must cover the audience asked
 *     for (a namespace token covers every hub below it).
 *   - Azure AD JWTs (`type: jwt`): audience `https://eventhubs.azure.net/`, not expired, not
 *     before `nbf`; RS256 signature checked when the double is given the authority's public key.
 *
 * Refusals carry the service's status code (401) and descriptions (see docs/sinks/eventhubs.md,
 * "How the test double checks credentials", for the sources).
 */
import { createHmac, createVerify, timingSafeEqual, type KeyObject } from 'node:crypto';

/** The audience Azure AD tokens for Event Hubs carry (the SDK asks for `https://eventhubs.azure.net//.default`). */
export const EVENTHUBS_AAD_AUDIENCE = 'https://eventhubs.azure.net/';

export type TokenCheck =
  | { ok: true; expiresAtMs: number }
  | { ok: false; status: number; description: string };

export interface AuthOptions {
  /** SharedAccessKeyName → key. */
  policies: ReadonlyMap<string, string>;
  /** When set, JWT signatures must verify with this key (the local token authority's). */
  jwtPublicKey?: KeyObject;
  now?: () => number;
}

function refuse(description: string): TokenCheck {
  return { ok: false, status: 401, description };
}

/** `2026-01-02 03:04:05Z`, the way the service writes an expiration time. */
function serviceTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `sb://host:port/hub/…` → `hub/…` in lower case (host and port differ between the plain and TLS listeners). */
export function resourcePath(uri: string): string {
  const withoutScheme = uri.replace(/^[a-z]+:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  return (slash === -1 ? '' : withoutScheme.slice(slash + 1)).replace(/\/+$/, '').toLowerCase();
}

/** A token for `granted` covers `wanted` when it names the same entity or one of its parents. */
export function covers(granted: string, wanted: string): boolean {
  return granted === '' || wanted === granted || wanted.startsWith(`${granted}/`);
}

export function checkSasToken(token: string, audience: string, options: AuthOptions): TokenCheck {
  const now = options.now?.() ?? Date.now();
  if (!token.startsWith('SharedAccessSignature ')) return refuse('InvalidSignature: The token has an invalid signature.');
  const fields = new Map<string, string>();
  for (const part of token.slice('SharedAccessSignature '.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (!sr || !sig || !se || !skn || !/^\d+$/.test(se)) return refuse('InvalidSignature: The token has an invalid signature.');
  const key = options.policies.get(decodeURIComponent(skn));
  if (key === undefined) return refuse('InvalidSignature: The token has an invalid signature.');
  const expected = createHmac('sha256', key).update(`${sr}\n${se}`).digest();
  const given = Buffer.from(decodeURIComponent(sig), 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse('InvalidSignature: The token has an invalid signature.');
  const expiresAtMs = Number(se) * 1000;
  if (expiresAtMs <= now) return refuse(`ExpiredToken: The token is expired. Expiration time: '${serviceTime(expiresAtMs)}'`);
  if (!covers(resourcePath(decodeURIComponent(sr)), resourcePath(audience))) {
    return refuse('InvalidAudience: The authorization header contains a token with a wrong audience.');
  }
  return { ok: true, expiresAtMs };
}

/** A SAS token as the SDKs make it (for tests that talk to the double without the SDK, or need a bad token). */
export function signSasToken(resourceUri: string, keyName: string, key: string, expiresAtSeconds: number): string {
  const sr = encodeURIComponent(resourceUri);
  const sig = encodeURIComponent(createHmac('sha256', key).update(`${sr}\n${expiresAtSeconds}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${expiresAtSeconds}&skn=${encodeURIComponent(keyName)}`;
}

function base64urlJson(part: string | undefined): Record<string, unknown> | undefined {
  if (!part) return undefined;
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function checkJwt(token: string, options: AuthOptions): TokenCheck {
  const now = options.now?.() ?? Date.now();
  const parts = token.split('.');
  const header = base64urlJson(parts[0]);
  const claims = base64urlJson(parts[1]);
  if (parts.length !== 3 || !header || !claims) return refuse('InvalidToken: The token is not a valid JSON Web Token.');
  if (options.jwtPublicKey) {
    const verifier = createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`);
    if (header.alg !== 'RS256' || !verifier.verify(options.jwtPublicKey, Buffer.from(parts[2]!, 'base64url'))) {
      return refuse('InvalidSignature: The token has an invalid signature.');
    }
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(EVENTHUBS_AAD_AUDIENCE)) return refuse('InvalidAudience: Invalid authorization token audience.');
  if (typeof claims.exp !== 'number') return refuse('InvalidToken: The token has no expiration time.');
  const expiresAtMs = claims.exp * 1000;
  if (expiresAtMs <= now) return refuse(`ExpiredToken: The token is expired. Expiration time: '${serviceTime(expiresAtMs)}'`);
  if (typeof claims.nbf === 'number' && claims.nbf * 1000 > now + 300_000) return refuse('InvalidToken: The token is not valid yet.');
  return { ok: true, expiresAtMs };
}

/**
 * A put-token request: `type` is `servicebus.windows.net:sastoken` or `jwt`. The token's own
 * shape decides how it is checked: Python's azure-eventhub declares `jwt` for SAS tokens too,
 * and the service accepts that.
 */
export function checkPutToken(type: unknown, token: unknown, audience: unknown, options: AuthOptions): TokenCheck {
  if (typeof token !== 'string' || typeof audience !== 'string') return { ok: false, status: 400, description: 'put-token needs a token body and a name (the audience)' };
  if (type !== 'jwt' && type !== 'servicebus.windows.net:sastoken') return { ok: false, status: 400, description: `unsupported token type ${String(type)}` };
  return token.startsWith('SharedAccessSignature ') ? checkSasToken(token, audience, options) : checkJwt(token, options);
}
