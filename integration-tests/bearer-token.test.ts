/** testkit/bearer-token.ts: the token check the test doubles share (pure; here because testkit/ has no unit run). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOCK_SKEW_SECONDS, checkBearerToken, decodeJwtClaims, mintTestJwt } from '../testkit/bearer-token.js';

const AUD = 'https://monitor.azure.com';
const now = Date.UTC(2026, 0, 1);

test('a token for the audience, unexpired, passes; a trailing slash or an array of audiences is the same audience', () => {
  for (const aud of [AUD, `${AUD}/`]) {
    const check = checkBearerToken(`Bearer ${mintTestJwt({ aud }, { nowMs: now })}`, AUD, now);
    assert.ok(check.ok, JSON.stringify(check));
  }
  const many = mintTestJwt({ aud: 'x' }, { nowMs: now }).split('.');
  many[1] = Buffer.from(JSON.stringify({ ...decodeJwtClaims(many.join('.')), aud: ['https://storage.azure.com/', AUD] })).toString('base64url');
  assert.ok(checkBearerToken(`Bearer ${many.join('.')}`, AUD, now).ok);
});

test('wrong audience, expired, not yet valid, no exp, malformed, missing: 401 with a reason and never the token', () => {
  const cases: [string | undefined, string, RegExp][] = [
    [`Bearer ${mintTestJwt({ aud: 'https://eventhubs.azure.net/' }, { nowMs: now })}`, 'InvalidAuthenticationTokenAudience', /audience/],
    [`Bearer ${mintTestJwt({ aud: AUD }, { nowMs: now - 3_600_000 - (CLOCK_SKEW_SECONDS + 1) * 1000 })}`, 'ExpiredAuthenticationToken', /expired/],
    [`Bearer ${mintTestJwt({ aud: AUD, nbf: now / 1000 + CLOCK_SKEW_SECONDS + 60 }, { nowMs: now })}`, 'InvalidAuthenticationToken', /not valid before/],
    [`Bearer ${mintTestJwt({ aud: AUD, exp: undefined as unknown as number }, { nowMs: now })}`, 'InvalidAuthenticationToken', /no expiry/],
    ['Bearer not-a-jwt', 'InvalidAuthenticationToken', /malformed/],
    [undefined, 'InvalidAuthenticationToken', /missing/],
    ['Basic dXNlcjpwYXNz', 'InvalidAuthenticationToken', /missing/],
  ];
  for (const [header, code, reason] of cases) {
    const check = checkBearerToken(header, AUD, now);
    assert.ok(!check.ok, String(header));
    assert.equal(check.status, 401);
    assert.equal(check.code, code, String(header));
    assert.match(check.message, reason);
    if (header) assert.ok(!check.message.includes(header.slice(7)), 'the token is not echoed');
  }
  // Within the skew an expired token still passes, as Azure AD validators allow.
  assert.ok(checkBearerToken(`Bearer ${mintTestJwt({ aud: AUD }, { nowMs: now - 3_600_000 - 60_000 })}`, AUD, now).ok);
});
