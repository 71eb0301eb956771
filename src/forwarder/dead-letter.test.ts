import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEADLETTER_WRITE_RETRY, isReplayForAnother, REPLAY_HEADERS } from './dead-letter.js';
import { DEFAULT_GROUP_SESSION } from './group-session.js';

test('a dead-letter replay is skipped by every destination but the one that failed it', () => {
  const headers = { [REPLAY_HEADERS.forDestination]: Buffer.from('archive'), [REPLAY_HEADERS.from]: Buffer.from('insight-logs-deadletter/0/7') };
  assert.equal(isReplayForAnother(headers, 'archive'), false);
  assert.equal(isReplayForAnother(headers, 'hub'), true);
  assert.equal(isReplayForAnother({ [REPLAY_HEADERS.forDestination]: 'archive' }, 'hub'), true);
});

test('ordinary records (no replay header, or a replay with no destination) go to every destination', () => {
  assert.equal(isReplayForAnother(undefined, 'hub'), false);
  assert.equal(isReplayForAnother({ kind: Buffer.from('APIEvent') }, 'hub'), false);
  assert.equal(isReplayForAnother({ [REPLAY_HEADERS.from]: Buffer.from('x/0/1') }, 'hub'), false);
});

test('a dead-letter write gives up well within a consumer session (no heartbeat is sent while it runs)', () => {
  // kafkajs' retrier (src/retry): the first wait is initialRetryTime ±factor, each next one the
  // last ±factor times the multiplier, capped at maxRetryTime; worst case: always +factor.
  const { retries, initialRetryTime, maxRetryTime } = DEADLETTER_WRITE_RETRY;
  const factor = 0.2;
  let wait = initialRetryTime * (1 + factor);
  let total = 0;
  for (let i = 0; i < retries; i++) {
    total += wait;
    wait = Math.min(wait * (1 + factor) * 2, maxRetryTime);
  }
  assert.ok(total <= DEFAULT_GROUP_SESSION.sessionTimeoutMs / 2, `a failing write waits up to ${Math.round(total)} ms inside kafkajs`);
  assert.ok(Number.isFinite(retries) && retries >= 1, 'bounded, and a lost connection is still retried inside one write');
});
