import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, InsightLogsError, describeError } from './errors.js';
import { packageRoot } from './util/package-root.js';

test('docs/errors.md lists exactly the codes of src/errors.ts', () => {
  const doc = readFileSync(join(packageRoot(), 'docs', 'errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, Object.keys(ERROR_CODES).sort(), 'update docs/errors.md when adding or removing an error code');
});

test('errors carry code, retryable flag and cause, and describe themselves without a stack', () => {
  const cause = new Error('socket hang up');
  const err = new InsightLogsError('SINK_UNAVAILABLE', 'cannot reach the account', { cause, retryable: true, retryAfterMs: 1000 });
  assert.equal(err.code, 'SINK_UNAVAILABLE');
  assert.equal(err.retryable, true);
  assert.equal(err.retryAfterMs, 1000);
  assert.equal(err.cause, cause);
  assert.equal(describeError(err), 'SINK_UNAVAILABLE: cannot reach the account');
  assert.equal(new InsightLogsError('ABORTED', 'x').retryable, false);
});

test('describeError gives one line: first line only, bounded, Azure AD credential dumps summarised', () => {
  assert.equal(describeError(new Error('first line\n  second line\n  third')), 'first line');
  assert.equal(describeError(new Error('x'.repeat(1000))).length, 300);
  const credential = new Error('ChainedTokenCredential authentication failed.\nCredentialUnavailableError: EnvironmentCredential is unavailable…\nManagedIdentityCredential …');
  credential.name = 'AggregateAuthenticationError';
  assert.match(describeError(credential), /^no Azure AD credential is available/);
  assert.ok(!describeError(credential).includes('\n'));
});
