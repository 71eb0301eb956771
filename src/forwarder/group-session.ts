/**
 * How quickly a consumer group notices a member that died: the session timeout (a member
 * silent that long is dropped and its partitions move to the others) and the heartbeat
 * interval. kafkajs defaults to 30 s, which makes every kill -9 cost 30 s of no progress on
 * the dead member's partitions; the forwarder uses 10 s (heartbeat 3 s) unless
 * INSIGHT_LOGS_SESSION_TIMEOUT_MS says otherwise.
 */
import { InsightLogsError } from '../errors.js';

export interface GroupSession {
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

export const SESSION_TIMEOUT_ENV = 'INSIGHT_LOGS_SESSION_TIMEOUT_MS';
export const DEFAULT_GROUP_SESSION: GroupSession = Object.freeze({ sessionTimeoutMs: 10_000, heartbeatIntervalMs: 3_000 });
/** The broker's own bounds (group.min/max.session.timeout.ms defaults): outside them JoinGroup is refused. */
export const MIN_SESSION_TIMEOUT_MS = 6_000;
export const MAX_SESSION_TIMEOUT_MS = 1_800_000;

/** The heartbeat at most a third of the session (Kafka's advice), and no more often than needed. */
export function groupSessionFor(sessionTimeoutMs: number): GroupSession {
  return Object.freeze({ sessionTimeoutMs, heartbeatIntervalMs: Math.min(3_000, Math.floor(sessionTimeoutMs / 3)) });
}

export function groupSessionFromEnv(env: NodeJS.ProcessEnv = process.env): GroupSession {
  const raw = env[SESSION_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_GROUP_SESSION;
  const n = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || n < MIN_SESSION_TIMEOUT_MS || n > MAX_SESSION_TIMEOUT_MS) {
    throw new InsightLogsError('CONFIG_INVALID',
      `${SESSION_TIMEOUT_ENV}: "${raw}" is not a session timeout; expected milliseconds from ${MIN_SESSION_TIMEOUT_MS} to ${MAX_SESSION_TIMEOUT_MS} (the broker refuses others)`);
  }
  return groupSessionFor(n);
}
