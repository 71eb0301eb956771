/**
 * The one file that knows every destination type. Adding a type is one import and one
 * entry in SINK_TYPES; the forwarder and the config parser only see the registry.
 */
import { InsightLogsError } from '../errors.js';
import type { SinkType } from './sink.js';
import { blobSinkType } from './blob/sink.js';
import { dirSinkType } from './dir/sink.js';
import { memorySinkType } from './memory/sink.js';
import { eventHubsSinkType } from './eventhubs/sink.js';
import { kafkaSinkType } from './kafka/sink.js';
import { logAnalyticsSinkType } from './loganalytics/sink.js';

export type AnySinkType = SinkType<any>;

export const SINK_TYPES: readonly AnySinkType[] = [
  blobSinkType,
  dirSinkType,
  eventHubsSinkType,
  kafkaSinkType,
  logAnalyticsSinkType,
];

export class SinkRegistry {
  private readonly types = new Map<string, AnySinkType>();

  constructor(types: readonly AnySinkType[]) {
    for (const t of types) {
      if (this.types.has(t.type)) throw new Error(`sink type ${t.type} registered twice`);
      this.types.set(t.type, t);
    }
  }

  has(type: string): boolean {
    return this.types.has(type);
  }

  /** The sink type, or SINK_TYPE_UNKNOWN naming `path` and the known types. */
  get(type: string, path = 'type'): AnySinkType {
    const t = this.types.get(type);
    if (!t) throw new InsightLogsError('SINK_TYPE_UNKNOWN', `${path}: unknown destination type "${type}" (known: ${this.names().join(', ')})`);
    return t;
  }

  names(): string[] {
    return [...this.types.keys()].sort();
  }

  /** A registry with extra (or replaced) types, e.g. a test double. */
  with(...extra: AnySinkType[]): SinkRegistry {
    const merged = new Map(this.types);
    for (const t of extra) merged.set(t.type, t);
    return new SinkRegistry([...merged.values()]);
  }
}

/**
 * `memory` keeps records inside one process and loses them with it: it exists for tests and is
 * registered only when INSIGHT_LOGS_TEST_SINKS=1 (the test runner sets it), so nobody can
 * commit offsets for records that went nowhere durable.
 */
export const TEST_SINKS_ENV = 'INSIGHT_LOGS_TEST_SINKS';

let defaultRegistry: SinkRegistry | undefined;
export function defaultSinkRegistry(): SinkRegistry {
  const withTestSinks = process.env[TEST_SINKS_ENV] === '1';
  return (defaultRegistry ??= new SinkRegistry(withTestSinks ? [...SINK_TYPES, memorySinkType] : SINK_TYPES));
}
