import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, scrubSecrets, urlForLogs } from './logging.js';

const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const CONNECTION_STRING = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;
const SAS_URL = 'https://acct.blob.core.windows.net/c/b?sv=2024-01-01&se=2030-01-01&sp=rw&sig=SECRETSIGNATURE123%3D';
const EH = 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=TOPSECRETKEYVALUE=';

test('scrubSecrets removes account keys, shared access keys and SAS signatures', () => {
  for (const secret of [CONNECTION_STRING, SAS_URL, EH, 'Authorization: Bearer eyJhbGciOi.abc.def']) {
    const out = scrubSecrets(`failed with ${secret} while sending`);
    for (const fragment of [ACCOUNT_KEY, 'SECRETSIGNATURE123', 'TOPSECRETKEYVALUE', 'eyJhbGciOi']) assert.ok(!out.includes(fragment), out);
    assert.match(out, /REDACTED/);
  }
});

test('urlForLogs drops the query string', () => {
  assert.equal(urlForLogs(SAS_URL), 'https://acct.blob.core.windows.net/c/b');
  assert.equal(urlForLogs('not a url'), '[unparseable url]');
});

test('the root logger redacts secret keys and scrubs secrets inside messages and errors', () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const logger = createLogger({ level: 'debug', destination: sink });
  logger.info({ connectionString: CONNECTION_STRING, nested: { password: 'hunter2-password' } }, 'configured');
  logger.warn(`cannot reach ${SAS_URL}`);
  logger.error({ err: new Error(`bad ${EH}`) }, 'send failed');
  const text = lines.join('');
  assert.equal(lines.length, 3);
  for (const fragment of [ACCOUNT_KEY, 'hunter2-password', 'SECRETSIGNATURE123', 'TOPSECRETKEYVALUE']) assert.ok(!text.includes(fragment), `leaked ${fragment}: ${text}`);
  assert.match(text, /configured/);
  assert.match(text, /send failed/);
});

test('LOG_LEVEL is checked: known names in any case, a clear error otherwise', async () => {
  const { logLevelFrom } = await import('./logging.js');
  assert.equal(logLevelFrom(undefined), 'info');
  assert.equal(logLevelFrom(''), 'info');
  assert.equal(logLevelFrom('DEBUG'), 'debug');
  assert.throws(() => logLevelFrom('verbose'), /LOG_LEVEL: "verbose" is not one of fatal, error/);
});
