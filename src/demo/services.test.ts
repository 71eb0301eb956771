import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { parseServicesEnv, servicesCommand } from './services.js';

test('services.sh env: quoted and bare values, other lines ignored', () => {
  const text = [
    'Services are up. Use:',
    'export KAFKA_BROKERS=127.0.0.1:19092',
    "export AZURE_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=a;BlobEndpoint=http://127.0.0.1:20000/a;'",
  ].join('\n');
  assert.deepEqual(parseServicesEnv(text), {
    KAFKA_BROKERS: '127.0.0.1:19092',
    AZURE_STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=http;AccountName=a;BlobEndpoint=http://127.0.0.1:20000/a;',
  });
  assert.deepEqual(parseServicesEnv('nothing here\n'), {});
});

test('servicesCommand: relative inside the package, absolute from elsewhere', () => {
  const root = packageRoot();
  assert.equal(servicesCommand(['down'], root), 'bash scripts/services.sh down');
  assert.equal(servicesCommand(['env'], path.dirname(root)), `bash ${path.basename(root)}/scripts/services.sh env`);
  assert.equal(servicesCommand(['up'], path.join(path.dirname(root), 'someone-else')), `bash ${path.join(root, 'scripts', 'services.sh')} up`);
});
