/**
 * The seam between the forwarder and every destination type. The forwarder sees only this
 * interface; each sink folder implements it; `registry.ts` maps a type to its factory.
 *
 * Outcomes are data: `send` resolves with an outcome and throws only on programmer error.
 */
import type { ErrorCode } from '../errors.js';
import { categoryName, type CategoryName } from '../events/routing.js';
import type { EventKind, InsightEvent } from '../events/types.js';
import type { Logger } from '../logging.js';

/** One decoded, validated record on its way to a destination. */
export interface SinkRecord {
  kind: EventKind;
  /** Plain common-schema object, `category` recomputed by the routing rule. */
  event: InsightEvent;
  /** `event` serialised once as one line of JSON (no trailing newline): what destinations store. */
  json: string;
  /** Where it came from, for dead-letter headers and exactly-once offsets. */
  topic: string;
  partition: number;
  offset: string;
}

/** A record the sink will never be able to deliver (bad path part, too large): it goes to the dead-letter topic. */
export interface RejectedRecord {
  record: SinkRecord;
  code: ErrorCode;
  reason: string;
}

export type SendOutcome =
  /** Every record of the batch is durably stored, except `rejected` ones (dead-lettered by the forwarder). */
  | {
    status: 'delivered';
    rejected?: RejectedRecord[];
    /** Field values the sink cut to the destination's limit (with a marker) instead of losing the record: Log Analytics' 64 KB. */
    truncatedValues?: number;
  }
  /** Transient trouble: nothing may be committed; the forwarder resends the same batch later. */
  | { status: 'retryable'; error: Error; retryAfterMs?: number }
  /** The batch can never be delivered (not a transient fault): every record is dead-lettered with `error`. */
  | { status: 'failed'; error: Error; code: ErrorCode };

export type HealthResult = { ok: true; detail?: string } | { ok: false; problem: string };

/** Offsets to commit together with a batch, for sinks that commit inside their own transaction. */
export interface OffsetCommit {
  groupId: string;
  topic: string;
  partition: number;
  /** The next offset to consume (last delivered + 1), as Kafka expects. */
  offset: string;
}

export interface SendOptions {
  abortSignal?: AbortSignal;
}

export interface Sink {
  readonly type: string;
  /**
   * Delivers a batch. Idempotent on retry where the remote allows it.
   *
   * Precondition: every record of `batch` has the same category (the forwarder's chunking,
   * `src/forwarder/chunking.ts`, never mixes them), so a sink picks its container, hub, topic
   * or stream once per batch (`categoryOfBatch`) and never regroups by category.
   */
  send(batch: readonly SinkRecord[], options?: SendOptions): Promise<SendOutcome>;
  /**
   * Exactly-once sinks (Kafka transactions) deliver the batch and commit the consumer
   * offsets atomically; when present, the forwarder calls this instead of `send` and does
   * not commit those offsets itself.
   */
  sendAndCommit?(batch: readonly SinkRecord[], offsets: readonly OffsetCommit[], options?: SendOptions): Promise<SendOutcome>;
  /** Checks that the destination is reachable and usable; says what is wrong in words. */
  healthcheck(options?: SendOptions): Promise<HealthResult>;
  /** Releases connections; safe to call twice. */
  close(): Promise<void>;
}

/** What every sink factory receives besides its own validated settings. */
export interface SinkContext {
  /** Destination name, for logs and metrics. */
  name: string;
  categories: readonly CategoryName[];
  logger: Logger;
  /** Where credentials referenced by environment variable name are looked up. */
  env: NodeJS.ProcessEnv;
}

/** A `destinations add` flag that sets one setting of a type; every other setting goes through `--set key=value`. */
export interface SinkFlag {
  /** Commander syntax, e.g. `--path <dir>`. Types that offer the same flag must map it to the same key. */
  readonly flag: string;
  /** The setting the flag sets, e.g. `path`. */
  readonly key: string;
  /** Help text without the type name (the CLI prefixes the types that take the flag). */
  readonly help: string;
}

/**
 * One destination type: validates its own settings (pure; errors name the path such as
 * `destinations[2].connectionStringEnv`), creates sinks from validated settings, and says
 * what the CLI shows for it. Registered by one line in `destination-types.ts`.
 */
export interface SinkType<Settings> {
  /** The `type` of a destination, e.g. `blob`; also the name of the type's folder under src/sinks/. */
  readonly type: string;
  /** Short name for lists such as the program description, e.g. `Azure Blob`. */
  readonly title: string;
  /** One line for `destinations add --help`: where records go and in what form. */
  readonly description: string;
  /** `destinations add` flags for the settings most destinations of this type set. */
  readonly addFlags?: readonly SinkFlag[];
  /** Keys this type accepts besides name/type/categories; anything else is an error. */
  parseSettings(raw: Record<string, unknown>, path: string): Settings;
  create(settings: Settings, context: SinkContext): Sink;
}

/**
 * The one category of a batch (see the precondition of `Sink.send`); undefined for an empty
 * batch. A batch mixing categories is a programmer error and throws.
 */
export function categoryOfBatch(batch: readonly SinkRecord[]): CategoryName | undefined {
  const first = batch[0]?.event.category;
  if (first === undefined) return undefined;
  for (const record of batch) {
    if (record.event.category !== first) throw new Error(`sink batch mixes categories (${first}, ${record.event.category}): chunking must send one category per batch`);
  }
  return categoryName(first);
}
