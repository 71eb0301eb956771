import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../errors.js';
import { azureCredentials, parseAzureAuth } from './azure-auth.js';
import { BLOB_AUTH } from './blob/config.js';
import { EVENTHUBS_AUTH } from './eventhubs/config.js';

test('connectionStringEnv or the Azure AD target, never both, never neither; the rule names the target key', () => {
  assert.deepEqual(parseAzureAuth({ connectionStringEnv: 'CS' }, 'd', BLOB_AUTH), { kind: 'connectionString', connectionStringEnv: 'CS' });
  assert.deepEqual(parseAzureAuth({ accountUrl: 'https://a.blob.core.windows.net/' }, 'd', BLOB_AUTH), { kind: 'azureAd', accountUrl: 'https://a.blob.core.windows.net' });
  assert.deepEqual(parseAzureAuth({ fullyQualifiedNamespace: 'n.servicebus.windows.net' }, 'd', EVENTHUBS_AUTH), { kind: 'azureAd', fullyQualifiedNamespace: 'n.servicebus.windows.net' });
  assert.throws(() => parseAzureAuth({ connectionStringEnv: 'CS', fullyQualifiedNamespace: 'n.x.net' }, 'd', EVENTHUBS_AUTH), /^.*d: set either connectionStringEnv or fullyQualifiedNamespace, not both/);
  assert.throws(() => parseAzureAuth({}, 'd[0]', BLOB_AUTH), /d\[0\]: set connectionStringEnv \(name of an environment variable holding the storage connection string\) or accountUrl \(Azure AD\)/);
  assert.throws(() => parseAzureAuth({ connectionStringEnv: 'has space' }, 'd', EVENTHUBS_AUTH), /d\.connectionStringEnv: .*EVENTHUBS_CONNECTION_STRING/);
});

test('credentials: the connection string is read from its variable and must be the service\'s', () => {
  const auth = parseAzureAuth({ connectionStringEnv: 'CS' }, 'd', EVENTHUBS_AUTH);
  assert.deepEqual(azureCredentials(auth, { CS: ' Endpoint=sb://n/;SharedAccessKeyName=k;SharedAccessKey=v ' }, 'destinations[x]', EVENTHUBS_AUTH),
    { kind: 'connectionString', connectionString: 'Endpoint=sb://n/;SharedAccessKeyName=k;SharedAccessKey=v' });
  assert.throws(() => azureCredentials(auth, {}, 'destinations[x]', EVENTHUBS_AUTH), (err: unknown) =>
    hasCode(err, 'SECRET_MISSING') && /destinations\[x\]\.connectionStringEnv: environment variable CS is not set; put the Event Hubs connection string there/.test(err.message));
  assert.throws(() => azureCredentials(auth, { CS: 'AccountName=a;AccountKey=SECRET' }, 'p', EVENTHUBS_AUTH), (err: unknown) =>
    hasCode(err, 'CONFIG_INVALID') && /does not hold an Event Hubs connection string \(no Endpoint=\)/.test(err.message) && !err.message.includes('SECRET'));
  const ad = parseAzureAuth({ accountUrl: 'https://a.blob.core.windows.net' }, 'd', BLOB_AUTH);
  assert.deepEqual(azureCredentials(ad, {}, 'p', BLOB_AUTH), { kind: 'azureAd', accountUrl: 'https://a.blob.core.windows.net' });
});
