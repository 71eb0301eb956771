import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReplayForAnother, REPLAY_HEADERS } from './dead-letter.js';

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
