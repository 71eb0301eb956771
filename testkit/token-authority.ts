/**
 * ─── TEST TOKEN AUTHORITY — NOT AZURE AD ─────────────────────────────────────────────────
 * A local OAuth 2.0 authority for tests: an HTTPS server (certificate from the throwaway test
 * CA, testkit/test-ca.ts) answering what @azure/identity's EnvironmentCredential (inside
 * DefaultAzureCredential, through MSAL) asks when AZURE_AUTHORITY_HOST points at it:
 *
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration   the tenant's OpenID metadata (MSAL
 *        checks that `issuer` is on the authority's host)
 *   POST /{tenant}/oauth2/v2.0/token   client-credentials grant (client_id, client_secret,
 *        scope `<resource>/.default`) → {token_type, expires_in, access_token}
 *   GET  /{tenant}/discovery/v2.0/keys the signing key as a JWKS
 *
 * Instance discovery (MSAL asking login.microsoftonline.com about an unknown authority) is not
 * answered here: the client runs with INSIGHT_LOGS_AZURE_DISABLE_INSTANCE_DISCOVERY=true.
 *
 * Access tokens are RS256 JWTs shaped like Azure AD v1 access tokens: `aud` the resource of the
 * scope (the scope without `/.default`: `https://eventhubs.azure.net/`, `https://storage.azure.com/`,
 * `https://monitor.azure.com`), `iss` `https://sts.windows.net/<tenant>/` (Azurite checks this
 * prefix), `iat`/`nbf`/`exp`, `appid`, `tid`, `oid`. `setMode('expired' | 'wrong-audience')`
 * makes the next tokens fail the way a misconfigured credential does.
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TestCertificates } from './test-ca.js';

export type TokenMode = 'valid' | 'expired' | 'wrong-audience';

export interface TokenRequestLog {
  method: string;
  path: string;
  /** For token requests: the scope asked for and the audience given. */
  scope?: string;
  audience?: string;
  status: number;
}

export interface TokenAuthority {
  /** `https://localhost:<port>`: AZURE_AUTHORITY_HOST. */
  url: string;
  tenantId: string;
  clientId: string;
  /** A random test value, not a secret of anything real. */
  clientSecret: string;
  /** PEM of the public key tokens are signed with (written to `publicKeyPath` too). */
  publicKeyPem: string;
  publicKeyPath: string;
  /** The environment that makes DefaultAzureCredential sign in here (plus NODE_EXTRA_CA_CERTS). */
  env(): Record<string, string>;
  setMode(mode: TokenMode): void;
  requests(): TokenRequestLog[];
  /** A token as the token endpoint would mint it now, for tests that present one directly. */
  mint(audience: string, mode?: TokenMode): string;
  stop(): Promise<void>;
}

/** What the resource's tokens carry as `aud`: the scope without `/.default`. */
export function audienceForScope(scope: string): string {
  return scope.replace(/\/\.default$/, '');
}

const WRONG_AUDIENCE = 'https://management.azure.com/';
const LIFETIME_S = 3600;

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function jwt(privateKey: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const signingInput = `${base64url({ typ: 'JWT', alg: 'RS256', kid })}.${base64url(claims)}`;
  return `${signingInput}.${sign('RSA-SHA256', Buffer.from(signingInput), privateKey).toString('base64url')}`;
}

export async function startTokenAuthority(certs: TestCertificates, options: { port?: number } = {}): Promise<TokenAuthority> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const kid = randomUUID();
  const publicKeyPath = path.join(certs.dir, `token-authority-${kid}.pem`);
  writeFileSync(publicKeyPath, publicKeyPem);
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString('base64url');
  const objectId = randomUUID();
  let mode: TokenMode = 'valid';
  const log: TokenRequestLog[] = [];

  const mint = (audience: string, asMode: TokenMode = mode): string => {
    const now = Math.floor(Date.now() / 1000);
    const exp = asMode === 'expired' ? now - 600 : now + LIFETIME_S;
    return jwt(privateKey, kid, {
      aud: asMode === 'wrong-audience' ? WRONG_AUDIENCE : audience,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now - (asMode === 'expired' ? 4200 : 0),
      nbf: now - (asMode === 'expired' ? 4200 : 300),
      exp,
      appid: clientId,
      appidacr: '1',
      idtyp: 'app',
      oid: objectId,
      sub: objectId,
      tid: tenantId,
      ver: '1.0',
    });
  };

  let base = '';
  const server = https.createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://authority');
    const entry: TokenRequestLog = { method: req.method ?? 'GET', path: url.pathname, status: 200 };
    log.push(entry);
    const send = (status: number, body: unknown): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const parts = url.pathname.split('/').filter(Boolean);
      const tenant = parts[0];
      if (tenant !== tenantId && tenant !== 'organizations' && tenant !== 'common') {
        return send(400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenant ?? ''}' not found.` });
      }
      const rest = parts.slice(1).join('/');
      if (req.method === 'GET' && (rest === 'v2.0/.well-known/openid-configuration' || rest === '.well-known/openid-configuration')) {
        const root = `${base}/${tenantId}`;
        return send(200, {
          issuer: `${root}/v2.0`,
          authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
          token_endpoint: `${root}/oauth2/v2.0/token`,
          end_session_endpoint: `${root}/oauth2/v2.0/logout`,
          jwks_uri: `${root}/discovery/v2.0/keys`,
          response_types_supported: ['code', 'id_token', 'token'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          tenant_region_scope: null,
          cloud_instance_name: 'localhost',
        });
      }
      if (req.method === 'GET' && rest === 'discovery/v2.0/keys') {
        return send(200, { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] });
      }
      if (req.method === 'POST' && rest === 'oauth2/v2.0/token') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const scope = (form.get('scope') ?? '').split(' ').find((s) => s.endsWith('/.default'));
        entry.scope = scope;
        if (form.get('grant_type') !== 'client_credentials') return send(400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: only client_credentials here' });
        if (form.get('client_id') !== clientId) return send(400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory.` });
        if (form.get('client_secret') !== clientSecret) return send(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
        if (!scope) return send(400, { error: 'invalid_scope', error_description: 'AADSTS1002012: a scope ending in /.default is required for the client credentials flow' });
        entry.audience = audienceForScope(scope);
        return send(200, { token_type: 'Bearer', expires_in: LIFETIME_S, ext_expires_in: LIFETIME_S, access_token: mint(entry.audience) });
      }
      return send(404, { error: 'not_found', error_description: `the test token authority does not answer ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  base = `https://localhost:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    tenantId,
    clientId,
    clientSecret,
    publicKeyPem,
    publicKeyPath,
    env: () => ({
      AZURE_AUTHORITY_HOST: base,
      AZURE_TENANT_ID: tenantId,
      AZURE_CLIENT_ID: clientId,
      AZURE_CLIENT_SECRET: clientSecret,
      INSIGHT_LOGS_AZURE_DISABLE_INSTANCE_DISCOVERY: 'true',
      NODE_EXTRA_CA_CERTS: certs.caPath,
    }),
    setMode: (next) => void (mode = next),
    requests: () => log.map((e) => ({ ...e })),
    mint,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
