/**
 * HTTP endpoint for operators: `/metrics` (Prometheus text), `/healthz` (alive, no crashed
 * pipeline) and `/readyz` (destinations loaded, every pipeline joined its group).
 * Binds 127.0.0.1 unless told otherwise: metrics name destinations and are not for the world.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  healthy: boolean;
  ready: boolean;
  /** Per destination state, shown in the bodies of /healthz and /readyz. */
  detail: Record<string, unknown>;
}

export interface MetricsServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: {
  port: number;
  host?: string;
  /** Where the text comes from: a registry, or the cluster aggregation of the workers' registries. */
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  health: () => HealthReport | Promise<HealthReport>;
}): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`),
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      Promise.resolve(options.health()).then((report) => {
        const ok = path === '/healthz' ? report.healthy : report.ready && report.healthy;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...report }) + '\n');
      }, (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`health failed: ${(err as Error).message}\n`));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    host,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
