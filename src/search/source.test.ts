import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDestination } from '../config/destinations.js';
import { resolveSource, splitBlobUrl } from './source.js';

const AZURITE_CS = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;';
const options = (env: NodeJS.ProcessEnv = {}, destinations = [] as ReturnType<typeof parseDestination>[]) => ({
  env, connectionStringEnv: 'AZURE_STORAGE_CONNECTION_STRING', destinations: async () => destinations,
});

describe('splitBlobUrl', () => {
  test('account and container, with the account in the path for emulators', () => {
    assert.deepEqual(splitBlobUrl('https://acct.blob.core.windows.net'), { accountUrl: 'https://acct.blob.core.windows.net' });
    assert.deepEqual(splitBlobUrl('https://acct.blob.core.windows.net/logs-a/'), { accountUrl: 'https://acct.blob.core.windows.net', container: 'logs-a' });
    assert.deepEqual(splitBlobUrl('http://127.0.0.1:10000/devstoreaccount1/logs-a'), { accountUrl: 'http://127.0.0.1:10000/devstoreaccount1', container: 'logs-a' });
    assert.throws(() => splitBlobUrl('https://acct.blob.core.windows.net/a/b'), /not an account or container URL/);
    assert.throws(() => splitBlobUrl('http://127.0.0.1:10000'), /not an account or container URL/);
    assert.throws(() => splitBlobUrl('https://acct.blob.core.windows.net/c?sv=1&sig=abc'), (e: Error) => /query string/.test(e.message) && !e.message.includes('abc'));
  });
});

describe('resolveSource', () => {
  test('folders: a dir destination\'s folder, one container\'s folder, a missing folder', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'search-source-'));
    try {
      await mkdir(path.join(root, 'insight-logs-audit', 'resourceId='), { recursive: true });
      const whole = await resolveSource(root, options());
      assert.deepEqual(whole.containers, { kind: 'byCategory', containers: { audit: 'insight-logs-audit', operational: 'insight-logs-operational' } });
      const one = await resolveSource(path.join(root, 'insight-logs-audit'), options());
      assert.deepEqual(one.containers, { kind: 'single', container: 'insight-logs-audit' });
      assert.equal(one.reader.location, root);
      await assert.rejects(resolveSource(path.join(root, 'nope'), options()), /--from: folder .*nope does not exist/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('destinations: blob with its containers and categories, dir, other types refused, unknown names listed', async () => {
    const blob = parseDestination({ name: 'arch', type: 'blob', categories: ['audit'], connectionStringEnv: 'ARCH_CS', containers: { audit: 'my-audit' } }, 'd');
    const dir = parseDestination({ name: 'local', type: 'dir', path: './out' }, 'd');
    const kafka = parseDestination({ name: 'mirror', type: 'kafka', brokers: ['127.0.0.1:9092'] }, 'd');
    const all = [blob, dir, kafka];
    const b = await resolveSource('arch', options({ ARCH_CS: AZURITE_CS }, all));
    assert.deepEqual(b.containers, { kind: 'byCategory', containers: { audit: 'my-audit' } });
    assert.match(b.description, /destination "arch" \(blob, http:\/\/127\.0\.0\.1:10000\/devstoreaccount1\)/);
    assert.ok(!b.description.includes('AccountKey'));
    await assert.rejects(resolveSource('arch', options({}, all)), /SECRET_MISSING|ARCH_CS is not set/);
    const d = await resolveSource('local', options({}, all));
    assert.equal(d.reader.location, path.resolve('./out'));
    await assert.rejects(resolveSource('mirror', options({}, all)), /destination "mirror" is of type kafka; search reads the archives of blob and dir destinations/);
    await assert.rejects(resolveSource('nope', options({}, all)), /no destination named "nope" \(known: arch, local, mirror\); for a local folder of that name write \.\/nope/);
  });

  test('a URL with a connection string for another account is refused before anything is sent', async () => {
    await assert.rejects(
      resolveSource('https://other.blob.core.windows.net', options({ AZURE_STORAGE_CONNECTION_STRING: AZURITE_CS })),
      (e: Error) => /is for http:\/\/127\.0\.0\.1:10000\/devstoreaccount1, not https:\/\/other\.blob\.core\.windows\.net/.test(e.message) && !e.message.includes('AccountKey'),
    );
    const ok = await resolveSource('http://127.0.0.1:10000/devstoreaccount1/logs-a', options({ AZURE_STORAGE_CONNECTION_STRING: AZURITE_CS }));
    assert.deepEqual(ok.containers, { kind: 'single', container: 'logs-a' });
  });
});
