/**
 * The routing rule, in one place: API events with POST/PUT/PATCH/DELETE are Audit
 * (configuration changes); every other API event and every workflow event is Operational.
 * The category is always computed here, never taken from a caller or a message.
 */
import type { Category, EventKind } from './types.js';

const AUDIT_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function categoryFor(kind: EventKind, method?: string): Category {
  if (kind === 'APIEvent' && method !== undefined && AUDIT_METHODS.has(method.toUpperCase())) return 'Audit';
  return 'Operational';
}

export type CategoryName = 'audit' | 'operational';
export const CATEGORY_NAMES: readonly CategoryName[] = ['audit', 'operational'];

/** Topic (and blob container, hub) of a category: `insight-logs-audit` / `insight-logs-operational`. */
export function topicFor(category: Category | CategoryName): string {
  return `insight-logs-${category.toLowerCase()}`;
}

export function categoryName(category: Category): CategoryName {
  return category === 'Audit' ? 'audit' : 'operational';
}

export const AUDIT_TOPIC = topicFor('audit');
export const OPERATIONAL_TOPIC = topicFor('operational');
export const DEADLETTER_TOPIC = 'insight-logs-deadletter';
export const DESTINATIONS_TOPIC = 'insight-logs-destinations';
