import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../../errors.js';
import { parseLogAnalyticsSettings } from './config.js';

const RULE = 'dcr-0123456789abcdef0123456789abcdef';
const ENDPOINT = 'https://my-dce-abcd.westeurope-1.ingest.monitor.azure.com';

test('defaults: DefaultAzureCredential, the two CI streams, secure endpoint without trailing slash', () => {
  const s = parseLogAnalyticsSettings({ endpoint: `${ENDPOINT}/`, ruleId: RULE }, 'destinations[3]');
  assert.equal(s.endpoint, ENDPOINT);
  assert.deepEqual(s.auth, { kind: 'azureAd' });
  assert.deepEqual(s.streams, { audit: 'Custom-CIEventsAudit_CL', operational: 'Custom-CIEventsOperational_CL' });
  assert.equal(s.allowInsecure, false);
  assert.ok(Object.isFrozen(s));
});

test('tokenEnv, streams, audience and allowInsecure ("true" from a CLI flag) are accepted', () => {
  const s = parseLogAnalyticsSettings(
    { endpoint: 'http://127.0.0.1:8080', ruleId: RULE, tokenEnv: 'LA_TOKEN', streams: { audit: 'Custom-A' }, audience: 'https://monitor.azure.us', allowInsecure: 'true' },
    'destinations[0]',
  );
  assert.deepEqual(s.auth, { kind: 'token', tokenEnv: 'LA_TOKEN' });
  assert.equal(s.streams.audit, 'Custom-A');
  assert.equal(s.streams.operational, 'Custom-CIEventsOperational_CL');
  assert.equal(s.audience, 'https://monitor.azure.us');
  assert.equal(s.allowInsecure, true);
});

function rejects(raw: Record<string, unknown>, path: string, code: 'CONFIG_INVALID' | 'INSECURE_SETTING' = 'CONFIG_INVALID', notEchoed?: string) {
  assert.throws(() => parseLogAnalyticsSettings(raw, 'destinations[2]'), (err: unknown) => {
    assert.ok(hasCode(err, code), String(err));
    assert.ok(err.message.startsWith(`${path}:`), err.message);
    if (notEchoed) assert.ok(!err.message.includes(notEchoed), 'secret echoed back');
    return true;
  });
}

test('errors name their path and never echo secrets', () => {
  rejects({ endpoint: 'http://127.0.0.1:8080', ruleId: RULE }, 'destinations[2].endpoint', 'INSECURE_SETTING');
  rejects({ ruleId: RULE }, 'destinations[2].endpoint');
  rejects({ endpoint: 'ftp://x.example', ruleId: RULE }, 'destinations[2].endpoint');
  rejects({ endpoint: `${ENDPOINT}?sig=SECRETSIG`, ruleId: RULE }, 'destinations[2].endpoint', 'CONFIG_INVALID', 'SECRETSIG');
  rejects({ endpoint: ENDPOINT, ruleId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Insights/dataCollectionRules/my-dcr' }, 'destinations[2].ruleId');
  rejects({ endpoint: ENDPOINT, ruleId: RULE, tokenEnv: 'eyJ0eXAiOiJKV1QiLCJhbGciOi.JSUzI1NiJ9' }, 'destinations[2].tokenEnv', 'CONFIG_INVALID', 'eyJ0eXAi');
  rejects({ endpoint: ENDPOINT, ruleId: RULE, streams: { audit: 'CIEventsAudit' } }, 'destinations[2].streams.audit');
  rejects({ endpoint: ENDPOINT, ruleId: RULE, streams: { security: 'Custom-X' } }, 'destinations[2].streams.security');
  rejects({ endpoint: ENDPOINT, ruleId: RULE, allowInsecure: 'yes' }, 'destinations[2].allowInsecure');
  rejects({ endpoint: ENDPOINT, ruleId: RULE, workspaceKey: 'k' }, 'destinations[2].workspaceKey');
});

test('Microsoft-CIEvents* streams are refused, saying the built-in tables cannot be written and what to use', () => {
  for (const [category, name] of [['audit', 'Microsoft-CIEventsAudit'], ['operational', 'Microsoft-CIEventsOperational']] as const) {
    assert.throws(() => parseLogAnalyticsSettings({ endpoint: ENDPOINT, ruleId: RULE, streams: { [category]: name } }, 'destinations[1]'), (err: unknown) => {
      assert.ok(hasCode(err, 'CONFIG_INVALID'), String(err));
      assert.ok(err.message.startsWith(`destinations[1].streams.${category}:`), err.message);
      assert.match(err.message, /cannot write/);
      assert.match(err.message, /_CL/);
      assert.ok(err.message.includes(`Custom-CIEvents${category === 'audit' ? 'Audit' : 'Operational'}_CL`), err.message);
      return true;
    });
  }
});
