/**
 * The one place that knows every destination type: destination-types.ts lists them (one
 * line each), this file registers them. The forwarder, the config parser and the CLI
 * (`destinations add` flags and help, the program description) only see the registry.
 */
import { InsightLogsError } from '../errors.js';
import type { DestinationConfig } from '../config/destinations.js';
import type { Sink, SinkContext, SinkType } from './sink.js';
import * as destinationTypes from './destination-types.js';
import { memorySinkType } from './memory/sink.js';

export type AnySinkType = SinkType<any>;

function isSinkType(value: unknown): value is AnySinkType {
  const t = value as Partial<AnySinkType> | null;
  return typeof t === 'object' && t !== null && typeof t.type === 'string' && typeof t.parseSettings === 'function' && typeof t.create === 'function';
}

/** Every real destination type: each SinkType that destination-types.ts exports. */
export const SINK_TYPES: readonly AnySinkType[] = Object.values(destinationTypes).filter(isSinkType);

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

  /** Every registered type, by name. */
  all(): AnySinkType[] {
    return this.names().map((name) => this.types.get(name)!);
  }

  /** The types' titles as words, for descriptions: `Azure Blob, Event Hubs and Kafka`. */
  titlesInWords(): string {
    const titles = this.all().map((t) => t.title);
    return titles.length <= 1 ? titles.join('') : `${titles.slice(0, -1).join(', ')} and ${titles[titles.length - 1]}`;
  }

  /** A registry with extra (or replaced) types, e.g. a test double. */
  with(...extra: AnySinkType[]): SinkRegistry {
    const merged = new Map(this.types);
    for (const t of extra) merged.set(t.type, t);
    return new SinkRegistry([...merged.values()]);
  }
}

/**
 * The sink of a destination, as the forwarder and `destinations test` create it: the type
 * from `registry`, the settings already parsed by `parseDestination` (with the same registry).
 */
export function createSink(registry: SinkRegistry, config: DestinationConfig, context: Omit<SinkContext, 'name' | 'categories'>): Sink {
  return registry.get(config.type).create(config.sinkSettings, { ...context, name: config.name, categories: config.categories });
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
