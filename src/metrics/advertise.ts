/**
 * How `insight-logs top` finds running forwarders without being told: a forwarder's pipeline
 * consumers use a Kafka client id that carries its metrics port (`<client id>.metrics-9464`),
 * and Kafka shows every group member's client id and host (DescribeGroups). So the consumer
 * groups of the destinations say where each member's /metrics is, read with admin requests only.
 */

/** Set by `forward --workers N`'s primary in each worker's environment: the port it serves /metrics on. */
export const ADVERTISED_METRICS_PORT_ENV = 'INSIGHT_LOGS_ADVERTISED_METRICS_PORT';

const SUFFIX = /\.metrics-(\d{1,5})$/;

export function clientIdWithMetricsPort(clientId: string, port: number): string {
  return `${clientId.replace(SUFFIX, '')}.metrics-${port}`;
}

/** The metrics port a client id advertises, or undefined. */
export function metricsPortOfClientId(clientId: string): number | undefined {
  const m = SUFFIX.exec(clientId);
  const port = m ? Number(m[1]) : NaN;
  return port > 0 && port <= 65535 ? port : undefined;
}

/**
 * The /metrics URL of a group member from its client id and host as Kafka reports it
 * (`/10.0.0.5`, `/127.0.0.1`, or an IPv6 address); undefined when it advertises no port.
 */
export function metricsUrlOfMember(member: { clientId: string; clientHost: string }): string | undefined {
  const port = metricsPortOfClientId(member.clientId);
  if (port === undefined) return undefined;
  const host = member.clientHost.replace(/^\//, '') || '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
}
