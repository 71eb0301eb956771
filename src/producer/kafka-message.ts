/**
 * From an event to the Kafka message the producer sends: category recomputed with the
 * routing rule (never trusted from the caller), validated, topic by category, key =
 * resourceId (one instance stays ordered on one partition), headers naming the kind and
 * the content type, value = Avro single-object encoding.
 */
import type { Message } from 'kafkajs';
import type { SchemaRegistry } from '../codec/schema-registry.js';
import { categoryFor } from '../events/routing.js';
import { kindOf, type ApiEvent, type EventKind, type InsightEvent } from '../events/types.js';
import { assertValidEvent } from '../events/validate.js';
import type { ProducerTopics } from './options.js';

export const CONTENT_TYPE = 'application/vnd.apache.avro+binary';

export interface OutgoingMessage {
  topic: string;
  kind: EventKind;
  message: Message;
}

/** The event with `category` derived from the event itself (a copy when it differs); throws EVENT_INVALID. */
export function routedEvent(event: InsightEvent): InsightEvent {
  const kind = kindOf(event);
  const method = kind === 'APIEvent' ? (event as ApiEvent).properties?.method : undefined;
  const category = categoryFor(kind, method);
  // A copy only when the caller's category is missing or wrong (the builders set it right):
  // the event is encoded at once and never changed, so the caller's object can be used as is.
  const routed = event.category === category ? event : { ...event, category } as InsightEvent;
  assertValidEvent(routed);
  return routed;
}

/** Throws EVENT_INVALID when the event breaks a rule or does not fit its Avro schema. */
export function toKafkaMessage(event: InsightEvent, registry: SchemaRegistry, topics: ProducerTopics): OutgoingMessage {
  const routed = routedEvent(event);
  const kind = kindOf(routed);
  return {
    topic: routed.category === 'Audit' ? topics.audit : topics.operational,
    kind,
    message: {
      key: routed.resourceId,
      value: registry.encode(kind, routed),
      headers: { kind, 'content-type': CONTENT_TYPE },
    },
  };
}
