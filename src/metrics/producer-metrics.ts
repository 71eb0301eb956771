/**
 * The producer SDK's Prometheus metrics: what a service needs to alert on events it could not
 * publish (`PUBLISH_FAILED` above zero). A registry of its own by default; pass one
 * `ProducerMetrics` to several producers to count them together, and expose `registry` on the
 * service's own /metrics (prom-client's `Registry.merge`, or `registry.metrics()`).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { PRODUCER_METRICS as M } from './names.js';

/** Failure codes created at 0 up front, so `increase()` sees the first failure (a series born at 1 has no increase). */
const KNOWN_FAILURES = ['PUBLISH_FAILED', 'QUEUE_FULL', 'EVENT_INVALID'] as const;

export class ProducerMetrics {
  readonly registry: Registry;
  readonly published: Counter<'topic'>;
  readonly failed: Counter<'code'>;
  readonly pending: Gauge;
  private readonly sources = new Set<() => number>();

  constructor(options: { registry?: Registry } = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    this.published = new Counter({ name: M.published.name, help: M.published.help, labelNames: ['topic'], registers });
    this.failed = new Counter({ name: M.failed.name, help: M.failed.help, labelNames: ['code'], registers });
    for (const code of KNOWN_FAILURES) this.failed.inc({ code }, 0);
    const sources = this.sources;
    this.pending = new Gauge({ name: M.pending.name, help: M.pending.help, registers,
      collect(this: Gauge) {
        let n = 0;
        for (const pending of sources) n += pending();
        this.set(n);
      } });
  }

  /** Counts a producer's pending events in `insight_logs_producer_pending_events`; returns the undo. */
  track(pending: () => number): () => void {
    this.sources.add(pending);
    return () => { this.sources.delete(pending); };
  }
}
