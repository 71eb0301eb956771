/**
 * The forwarder's Prometheus metrics, on a registry of its own (never prom-client's global
 * one, so two forwarders in one process or a host application never collide).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class ForwarderMetrics {
  readonly registry = new Registry();
  readonly recordsIn: Counter<'destination' | 'topic'>;
  readonly recordsOut: Counter<'destination'>;
  readonly bytesOut: Counter<'destination'>;
  readonly batches: Counter<'destination'>;
  readonly retries: Counter<'destination'>;
  readonly deadLettered: Counter<'destination' | 'code'>;
  readonly truncatedValues: Counter<'destination'>;
  readonly consumerLag: Gauge<'destination' | 'topic' | 'partition'>;
  readonly lastSuccess: Gauge<'destination'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.recordsIn = new Counter({ name: 'insight_logs_records_in_total', help: 'Records read from Kafka, per destination pipeline', labelNames: ['destination', 'topic'], registers });
    this.recordsOut = new Counter({ name: 'insight_logs_records_out_total', help: 'Records durably accepted by the destination', labelNames: ['destination'], registers });
    this.bytesOut = new Counter({ name: 'insight_logs_bytes_out_total', help: 'JSON bytes of the records accepted by the destination', labelNames: ['destination'], registers });
    this.batches = new Counter({ name: 'insight_logs_batches_total', help: 'Chunks delivered to the destination', labelNames: ['destination'], registers });
    this.retries = new Counter({ name: 'insight_logs_retries_total', help: 'Sends answered retryable (or that threw) and tried again', labelNames: ['destination'], registers });
    this.deadLettered = new Counter({ name: 'insight_logs_deadlettered_total', help: 'Records written to the dead-letter topic, by error code', labelNames: ['destination', 'code'], registers });
    this.truncatedValues = new Counter({ name: 'insight_logs_truncated_values_total', help: 'Field values cut to the destination\'s limit with a visible marker (Log Analytics: 64 KB per value)', labelNames: ['destination'], registers });
    this.consumerLag = new Gauge({ name: 'insight_logs_consumer_lag', help: 'Records the destination still has to read: end offset minus committed offset (minus log start offset where the group never committed)', labelNames: ['destination', 'topic', 'partition'], registers,
      // With `forward --workers N` every worker refreshes the lag of all partitions and the one
      // that owns a partition updates it after each commit: the lowest is the freshest.
      aggregator: 'min' });
    this.lastSuccess = new Gauge({ name: 'insight_logs_last_success_timestamp_seconds', help: 'Unix time of the last delivered chunk', labelNames: ['destination'], registers, aggregator: 'max' });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'insight_logs_' });
  }

  /** Drops the series of a removed destination so dashboards don't show it frozen. */
  forget(destination: string): void {
    for (const metric of [this.recordsIn, this.recordsOut, this.bytesOut, this.batches, this.retries, this.deadLettered, this.truncatedValues, this.consumerLag, this.lastSuccess]) {
      (metric as Counter<string>).remove({ destination });
    }
  }
}
