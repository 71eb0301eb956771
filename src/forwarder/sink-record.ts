/**
 * Turns a decoded event into what sinks receive: the category recomputed by the routing
 * rule (never trusted from the message) and the JSON line serialised once.
 */
import { categoryFor } from '../events/routing.js';
import { kindOf, type InsightEvent } from '../events/types.js';
import type { SinkRecord } from '../sinks/sink.js';

export function toSinkRecord(event: InsightEvent, source: { topic: string; partition: number; offset: string }): SinkRecord {
  const kind = kindOf(event);
  const method = kind === 'APIEvent' ? (event as { properties: { method: string } }).properties.method : undefined;
  const withCategory = { ...event, category: categoryFor(kind, method) } as InsightEvent;
  return { kind, event: withCategory, json: JSON.stringify(withCategory), ...source };
}
