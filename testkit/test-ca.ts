/**
 * A throwaway certificate authority for tests, made with the `openssl` command at test time
 * (nothing is committed): a CA and one server certificate for `localhost` and `127.0.0.1`.
 * Clients trust it through `NODE_EXTRA_CA_CERTS=<caPath>` (Node reads it at process start,
 * so pass it to a child process), Python's azure-eventhub through `connection_verify=<caPath>`.
 * Servers load `certPath` / `keyPath`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificates {
  dir: string;
  /** PEM of the CA certificate: what clients trust. */
  caPath: string;
  /** PEM of the server certificate (SAN: DNS localhost, IP 127.0.0.1), signed by the CA. */
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
  ca: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed (is the openssl command installed?): ${stderr.trim() || (error as Error).message}`);
  }
}

/** Creates the CA and the server certificate in a fresh temporary directory (valid one day). */
export function createTestCertificates(): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'insight-logs-test-ca-'));
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=insight-logs throwaway test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext'], dir);
  const caPath = path.join(dir, 'ca.pem');
  const certPath = path.join(dir, 'server.pem');
  const keyPath = path.join(dir, 'server.key');
  return {
    dir,
    caPath,
    certPath,
    keyPath,
    ca: readFileSync(caPath, 'utf8'),
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
