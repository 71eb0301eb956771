/**
 * Bearer tokens as Azure services check them, for TEST DOUBLES: the JWT's claims are decoded
 * and its audience, expiry and not-before checked, the way Azure AD-protected endpoints
 * refuse a token for another service or an expired one. The signature is NOT verified (as
 * Azurite's `--oauth basic`): a double trusts whoever minted the token, tests included.
 *
 * `checkBearerToken` is the one check; the Log Analytics double uses it, and so can any other
 * double or a token-authority test (audiences per service: FACTS.md, "Azure, from the documentation").
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface JwtClaims {
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iss?: string;
  [claim: string]: unknown;
}

export type TokenCheck =
  | { ok: true; claims: JwtClaims }
  | { ok: false; status: 401; code: string; message: string };

/** Allowed clock skew, as Azure AD's own validators allow (5 minutes). */
export const CLOCK_SKEW_SECONDS = 300;

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

/** The claims of a compact JWS (`header.payload.signature`); throws on anything else. */
export function decodeJwtClaims(token: string): JwtClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) throw new Error('not a JWT (header.payload.signature, base64url)');
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('the JWT payload is not a JSON object');
  return claims as JwtClaims;
}

/** Audiences match without a trailing slash (`https://monitor.azure.com` and `https://monitor.azure.com/`). */
function sameAudience(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/**
 * Checks an `Authorization` header: `Bearer <JWT>` whose `aud` is `audience`, `exp` in the
 * future and `nbf` (if any) in the past, within CLOCK_SKEW_SECONDS. The answer names what is
 * wrong, never the token itself.
 */
export function checkBearerToken(authorization: string | undefined, audience: string, nowMs = Date.now()): TokenCheck {
  const refuse = (code: string, message: string): TokenCheck => ({ ok: false, status: 401, code, message });
  if (!authorization || !/^Bearer\s+\S+$/i.test(authorization)) return refuse('InvalidAuthenticationToken', 'missing bearer token');
  let claims: JwtClaims;
  try {
    claims = decodeJwtClaims(authorization.replace(/^Bearer\s+/i, ''));
  } catch (error) {
    return refuse('InvalidAuthenticationToken', `the bearer token is malformed: ${(error as Error).message}`);
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
  if (!audiences.some((a) => typeof a === 'string' && sameAudience(a, audience))) {
    return refuse('InvalidAuthenticationTokenAudience', `the token's audience ${JSON.stringify(claims.aud ?? null)} is not ${audience}`);
  }
  const now = nowMs / 1000;
  if (typeof claims.exp !== 'number') return refuse('InvalidAuthenticationToken', 'the token has no expiry (exp)');
  if (claims.exp + CLOCK_SKEW_SECONDS <= now) return refuse('ExpiredAuthenticationToken', `the token expired at ${new Date(claims.exp * 1000).toISOString()}`);
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_SECONDS > now) return refuse('InvalidAuthenticationToken', `the token is not valid before ${new Date(claims.nbf * 1000).toISOString()}`);
  return { ok: true, claims };
}

/** A JWT for tests (HS256 with a throw-away key: doubles do not verify signatures). */
export function mintTestJwt(claims: JwtClaims & { aud: string }, options: { expiresInSeconds?: number; nowMs?: number } = {}): string {
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const payload: JwtClaims = { iss: 'https://insight-logs.test/', iat: now, nbf: now, exp: now + (options.expiresInSeconds ?? 3600), ...claims };
  const head = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify(payload));
  const signature = createHmac('sha256', randomBytes(32)).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}
