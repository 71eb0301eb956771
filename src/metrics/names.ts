/**
 * The one definition of every metric name the forwarder and the producer SDK export, with its
 * type, labels and help text. `metrics.ts` and `producer-metrics.ts` build the prom-client
 * objects from it; `ops/metrics-scrape.ts` (status, destinations list, top) reads by it; the
 * Grafana dashboard and Prometheus rules in deploy/observability/ and docs/operations.md are
 * checked against it by tests. Names follow Prometheus conventions: `insight_logs_` prefix,
 * base units in the name (`_seconds`, `_bytes`, `_records`), `_total` on counters only.
 */

export interface MetricDefinition {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly labels: readonly string[];
  readonly help: string;
}

const define = <T extends Record<string, MetricDefinition>>(defs: T): T => defs;

/** What `insight-logs forward` serves on /metrics (besides the Node.js process metrics). */
export const FORWARDER_METRICS = define({
  recordsIn: { name: 'insight_logs_records_in_total', type: 'counter', labels: ['destination', 'topic'], help: 'Records read from Kafka by the destination\'s pipeline.' },
  recordsOut: { name: 'insight_logs_records_out_total', type: 'counter', labels: ['destination'], help: 'Records durably accepted by the destination.' },
  bytesOut: { name: 'insight_logs_records_out_bytes_total', type: 'counter', labels: ['destination'], help: 'JSON bytes of the records accepted by the destination.' },
  chunksOut: { name: 'insight_logs_chunks_out_total', type: 'counter', labels: ['destination'], help: 'Chunks (sends) accepted by the destination.' },
  retries: { name: 'insight_logs_retries_total', type: 'counter', labels: ['destination'], help: 'Sends the destination answered retryable (throttled, 5xx, unreachable) that are sent again after a backoff.' },
  deadLettered: { name: 'insight_logs_records_dead_lettered_total', type: 'counter', labels: ['destination', 'code'], help: 'Records written to the dead-letter topic instead of the destination, by error code.' },
  truncatedValues: { name: 'insight_logs_truncated_values_total', type: 'counter', labels: ['destination'], help: 'Field values cut to the destination\'s limit with a visible marker (Log Analytics: 64 KB per value).' },
  consumerLag: { name: 'insight_logs_consumer_lag_records', type: 'gauge', labels: ['destination', 'topic', 'partition'], help: 'Records the destination\'s consumer group still has to read: end offset minus committed offset (minus log start offset where the group never committed).' },
  lastSuccess: { name: 'insight_logs_last_success_timestamp_seconds', type: 'gauge', labels: ['destination'], help: 'Unix time of the last chunk the destination accepted.' },
  lastError: { name: 'insight_logs_last_error_timestamp_seconds', type: 'gauge', labels: ['destination'], help: 'Unix time of the last send the destination answered with an error (retryable or not).' },
  pipelineCrashes: { name: 'insight_logs_pipeline_crashes_total', type: 'counter', labels: ['destination'], help: 'Consumer crashes the Kafka client did not recover from; the forwarder restarts the pipeline after a backoff.' },
  pipelines: { name: 'insight_logs_pipelines', type: 'gauge', labels: ['destination', 'state'], help: 'Pipelines of the destination in each state (starting, running, stopping, stopped, crashed, broken): one per forward worker process.' },
});

/** What an `EventProducer` exports on `producer.metrics.registry` (and `simulate --metrics-port`). */
export const PRODUCER_METRICS = define({
  published: { name: 'insight_logs_producer_events_published_total', type: 'counter', labels: ['topic'], help: 'Events Kafka acknowledged (acks=all).' },
  failed: { name: 'insight_logs_producer_events_failed_total', type: 'counter', labels: ['code'], help: 'Events not published, by error code: PUBLISH_FAILED (not acknowledged in time), QUEUE_FULL, EVENT_INVALID, PRODUCER_CLOSED.' },
  pending: { name: 'insight_logs_producer_pending_events', type: 'gauge', labels: [], help: 'Events accepted and not yet acknowledged or failed (queued and in flight).' },
});

/** Prefix of the Node.js process metrics (prom-client's default metrics) of both. */
export const PROCESS_METRICS_PREFIX = 'insight_logs_';
