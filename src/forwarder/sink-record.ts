/**
 * Turns a decoded event into what sinks receive: the category recomputed by the routing
 * rule (never trusted from the message) and the JSON line serialised once.
 */
import { categoryFor } from '../events/routing.js';
import { kindOf, type InsightEvent } from '../events/types.js';
import type { SinkRecord } from '../sinks/sink.js';

export function toSinkRecord(
  event: InsightEvent,
  source: { topic: string; partition: number; offset: string },
  options: { owned?: boolean } = {},
): SinkRecord {
  const kind = kindOf(event);
  const method = kind === 'APIEvent' ? (event as { properties: { method: string } }).properties.method : undefined;
  const category = categoryFor(kind, method);
  let withCategory: InsightEvent;
  if (options.owned && 'category' in event) {
    // The caller's own fresh copy (just decoded): set the category in place, where the key
    // already is, instead of copying the object; the JSON is the same either way.
    (event as { category: InsightEvent['category'] }).category = category;
    withCategory = event;
  } else {
    withCategory = { ...event, category } as InsightEvent;
  }
  return { kind, event: withCategory, json: JSON.stringify(withCategory), ...source };
}
