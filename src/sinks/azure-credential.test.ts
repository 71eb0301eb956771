import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISABLE_INSTANCE_DISCOVERY_ENV, azureAdCredential, instanceDiscoveryDisabled } from './azure-credential.js';

test('instance discovery is on unless the variable says true', () => {
  assert.equal(instanceDiscoveryDisabled({}), false);
  assert.equal(instanceDiscoveryDisabled({ [DISABLE_INSTANCE_DISCOVERY_ENV]: 'false' }), false);
  assert.equal(instanceDiscoveryDisabled({ [DISABLE_INSTANCE_DISCOVERY_ENV]: ' TRUE ' }), true);
  assert.equal(instanceDiscoveryDisabled({ [DISABLE_INSTANCE_DISCOVERY_ENV]: '1' }), true);
  assert.throws(() => instanceDiscoveryDisabled({ [DISABLE_INSTANCE_DISCOVERY_ENV]: 'yes please' }), new RegExp(`${DISABLE_INSTANCE_DISCOVERY_ENV}: expected true or false`));
});

test('one credential per process, shared by every sink (a token per audience, not per sink)', () => {
  const env = { [DISABLE_INSTANCE_DISCOVERY_ENV]: 'true' };
  assert.equal(azureAdCredential(env), azureAdCredential(env));
});
