/**
 * Every destination type, one line each: its SinkType (registry.ts registers every SinkType
 * exported here), its Sink class and its settings type (src/index.ts re-exports this file).
 * Adding a destination type is a folder under src/sinks/ and one line here.
 *
 * `memory` is not listed: it is for tests only, and registry.ts adds it when
 * INSIGHT_LOGS_TEST_SINKS=1.
 */
export { blobSinkType, BlobSink, type BlobSinkSettings } from './blob/sink.js';
export { dirSinkType, DirSink, type DirSinkSettings } from './dir/sink.js';
export { eventHubsSinkType, EventHubsSink, type EventHubsSinkSettings } from './eventhubs/sink.js';
export { kafkaSinkType, KafkaSink, type KafkaSinkSettings } from './kafka/sink.js';
export { logAnalyticsSinkType, LogAnalyticsSink, type LogAnalyticsSinkSettings } from './loganalytics/sink.js';
