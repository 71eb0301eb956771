/**
 * Topic names the forwarder and the destinations commands use: the names in docs/design.md unless
 * INSIGHT_LOGS_AUDIT_TOPIC, INSIGHT_LOGS_OPERATIONAL_TOPIC, INSIGHT_LOGS_DEADLETTER_TOPIC or
 * INSIGHT_LOGS_DESTINATIONS_TOPIC say otherwise (several environments on one cluster, tests).
 */
import { InsightLogsError } from '../errors.js';
import { AUDIT_TOPIC, DEADLETTER_TOPIC, DESTINATIONS_TOPIC, OPERATIONAL_TOPIC } from '../events/routing.js';

export interface TopicNames {
  audit: string;
  operational: string;
  deadLetter: string;
  destinations: string;
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

function topic(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const value = env[variable]?.trim();
  if (!value) return fallback;
  if (!TOPIC.test(value)) throw new InsightLogsError('CONFIG_INVALID', `${variable}: "${value}" is not a Kafka topic name (letters, digits, . _ -)`);
  return value;
}

export function topicNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TopicNames {
  return {
    audit: topic(env, 'INSIGHT_LOGS_AUDIT_TOPIC', AUDIT_TOPIC),
    operational: topic(env, 'INSIGHT_LOGS_OPERATIONAL_TOPIC', OPERATIONAL_TOPIC),
    deadLetter: topic(env, 'INSIGHT_LOGS_DEADLETTER_TOPIC', DEADLETTER_TOPIC),
    destinations: topic(env, 'INSIGHT_LOGS_DESTINATIONS_TOPIC', DESTINATIONS_TOPIC),
  };
}
