/** Public API of insight-logs: what services import. */
export { InsightLogsError, ERROR_CODES, type ErrorCode } from './errors.js';
export * from './events/types.js';
export { OPERATION_TYPES, type OperationType, workflowOperationName, parseWorkflowOperationName } from './events/operation-types.js';
export { categoryFor, topicFor, AUDIT_TOPIC, OPERATIONAL_TOPIC, DEADLETTER_TOPIC, DESTINATIONS_TOPIC } from './events/routing.js';
/** Builders always set `correlationId` (a new UUID unless given); workflow events take Informational, Warning or Error. */
export { buildApiEvent, buildWorkflowEvent, newCorrelationId, normalizeAdditionalInfo, WORKFLOW_LEVELS, type ApiEventInput, type WorkflowEventInput } from './events/builders.js';
export { findProblems, assertValidEvent, type Problem } from './events/validate.js';
export { SchemaRegistry, defaultSchemaRegistry } from './codec/schema-registry.js';
export type { Sink, SinkRecord, SendOutcome, SinkType, SinkFlag, SinkContext, HealthResult } from './sinks/sink.js';
export type { RetryOptions } from './sinks/retry.js';
export { createLogger, type Logger } from './logging.js';
/** Producer SDK: publish events to Kafka, one APIEvent per HTTP request, workflow runs and their tasks. */
export { EventProducer, type EventProducerOptions, type ProducerStats } from './producer/event-producer.js';
/** The middleware's events carry the request's correlation id (`correlationIdFromHeaders`: traceparent, x-ms-correlation-request-id, x-request-id). */
export { apiEventMiddleware, correlationIdFromHeaders, type ApiEventMiddlewareOptions, type EventSink } from './producer/http-middleware.js';
export { WorkflowTracker, WorkflowRun, WorkflowTask, startWorkflow, type StartWorkflowOptions, type TaskOptions, type EventPublisher } from './producer/workflow-tracker.js';
export type { PersonalDataPolicy } from './producer/pseudonymize.js';
/** Forwarder: one pipeline (consumer group `insight-logs-forwarder.<name>`) per destination, at-least-once, dead-letter topic. */
export { Forwarder, type ForwarderOptions } from './forwarder/forwarder.js';
export type { PipelineStats } from './forwarder/pipeline.js';
export { DEADLETTER_HEADERS } from './forwarder/dead-letter.js';
/** Destinations: validated config (files, CLI) and the compacted topic every forwarder watches. */
export { DestinationStore, type DestinationStoreOptions } from './destinations/store.js';
export { parseDestination, parseDestinationsText, loadDestinationsFile, type DestinationConfig } from './config/destinations.js';
/**
 * Destination types: the registry (`new SinkRegistry([...SINK_TYPES, myType])` adds one) and,
 * for every type, its SinkType, Sink class and settings type: blob (Azure Storage append blobs),
 * dir (a local folder), eventhubs, kafka (idempotent or exactly-once) and loganalytics (Logs
 * Ingestion API). The test-only `memory` type is not part of the public API.
 */
export { SinkRegistry, defaultSinkRegistry, createSink, SINK_TYPES, type AnySinkType } from './sinks/registry.js';
export * from './sinks/destination-types.js';
/**
 * Log Analytics rows: the row of an event and back, with the official CIEvents columns, for
 * tools reading the custom tables CIEventsAudit_CL / CIEventsOperational_CL (the built-in
 * CIEventsAudit / CIEventsOperational cannot be written through the Logs Ingestion API); the
 * column list itself; and the ARM templates of `insight-logs azure template`.
 */
export { toRow as logAnalyticsRowFor, rowToEvent as eventFromLogAnalyticsRow, type LogAnalyticsRow } from './sinks/loganalytics/request-builder.js';
export { COLUMNS as LOG_ANALYTICS_COLUMNS, TABLE_FOR_CATEGORY as LOG_ANALYTICS_TABLES, type Column as LogAnalyticsColumn } from './sinks/loganalytics/columns.js';
export { armTemplate, TEMPLATE_KINDS, ROLE_DEFINITION_IDS, type TemplateKind } from './azure/templates.js';
/** Blob/dir layout: the blob name of a record and the resourceId path check. */
export { blobNameFor, resourceIdPathProblem } from './sinks/layout/path.js';
/** Ops: status report, dead-letter list/replay (replay bookkeeping in group insight-logs-deadletter-replay), the demo. */
export { collectStatus, formatStatus, type StatusReport } from './ops/status.js';
export { listDeadLetters, replayDeadLetters, REPLAY_GROUP, REPLAYED_FROM_HEADER, type DeadLetterEntry, type ReplayResult } from './ops/deadletter.js';
export { runDemo, type DemoOptions } from './demo/run.js';
