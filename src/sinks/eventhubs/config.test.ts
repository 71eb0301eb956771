import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventHubsSettings } from './config.js';

test('defaults: connection string by env name, hubs named after the categories', () => {
  const s = parseEventHubsSettings({ connectionStringEnv: 'EVENTHUBS_CONNECTION_STRING' }, 'destinations[0]');
  assert.deepEqual(s.auth, { kind: 'connectionString', connectionStringEnv: 'EVENTHUBS_CONNECTION_STRING' });
  assert.deepEqual(s.hubs, { audit: 'insight-logs-audit', operational: 'insight-logs-operational' });
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.hubs));
});

test('Azure AD by namespace, custom hubs', () => {
  const s = parseEventHubsSettings({ fullyQualifiedNamespace: 'ns1.servicebus.windows.net', hubs: { audit: 'a-hub' } }, 'd[1]');
  assert.deepEqual(s.auth, { kind: 'azureAd', fullyQualifiedNamespace: 'ns1.servicebus.windows.net' });
  assert.equal(s.hubs.audit, 'a-hub');
  assert.equal(s.hubs.operational, 'insight-logs-operational');
});

test('a namespace may carry a port (proxies, private endpoints, the test double over TLS)', () => {
  for (const host of ['localhost:5671', 'ns1.servicebus.windows.net:443', '127.0.0.1:12101']) {
    assert.deepEqual(parseEventHubsSettings({ fullyQualifiedNamespace: host }, 'd').auth, { kind: 'azureAd', fullyQualifiedNamespace: host });
  }
  for (const bad of ['localhost:0', 'localhost:65536', 'ns:5671', 'ns1.servicebus.windows.net:', 'ns1.servicebus.windows.net:80/x']) {
    assert.throws(() => parseEventHubsSettings({ fullyQualifiedNamespace: bad }, 'd'), /d\.fullyQualifiedNamespace: expected a host name/, bad);
  }
});

test('errors name the path and never echo a pasted secret', () => {
  const secret = 'Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=SUPERSECRET';
  assert.throws(() => parseEventHubsSettings({ connectionStringEnv: secret }, 'destinations[2]'), (e: Error) => {
    assert.match(e.message, /^destinations\[2\]\.connectionStringEnv: /);
    assert.doesNotMatch(e.message, /SUPERSECRET/);
    return true;
  });
  assert.throws(() => parseEventHubsSettings({}, 'destinations[0]'), /destinations\[0\]: set connectionStringEnv/);
  assert.throws(() => parseEventHubsSettings({ connectionStringEnv: 'A', fullyQualifiedNamespace: 'n.servicebus.windows.net' }, 'd'), /not both/);
  assert.throws(() => parseEventHubsSettings({ fullyQualifiedNamespace: 'sb://n.servicebus.windows.net/' }, 'd'), /d\.fullyQualifiedNamespace: /);
  assert.throws(() => parseEventHubsSettings({ connectionStringEnv: 'A', hubs: { audit: 'x', operational: 'x' } }, 'd'), /d\.hubs: .*different/);
  assert.throws(() => parseEventHubsSettings({ connectionStringEnv: 'A', hubs: { audit: '../bad' } }, 'd'), /d\.hubs\.audit: /);
  assert.throws(() => parseEventHubsSettings({ connectionStringEnv: 'A', hubs: { security: 'x' } }, 'd'), /d\.hubs\.security: unknown category/);
  assert.throws(() => parseEventHubsSettings({ connectionStringEnv: 'A', connectionString: 'x' }, 'd'), /d\.connectionString: unknown key/);
});
