/**
 * The `loganalytics` destination: each category's records become rows of its DCR stream
 * (`Custom-CIEventsAudit_CL` / `Custom-CIEventsOperational_CL`, routed by the DCR to the custom tables
 * `CIEventsAudit_CL` / `CIEventsOperational_CL`, columns from `columns.ts`), uploaded in chunks of ≤ 1 MB of JSON.
 * A chunk the service refuses (400) is narrowed down by halving so that good rows still land
 * and only the refused ones are dead-lettered with the service's message.
 */
import { InsightLogsError, describeError, type ErrorCode } from '../../errors.js';
import { scrubSecrets, urlForLogs, type Logger } from '../../logging.js';
import type { CategoryName } from '../../events/routing.js';
import { categoryOfBatch, type HealthResult, type RejectedRecord, type SendOptions, type SendOutcome, type Sink, type SinkContext, type SinkRecord, type SinkType } from '../sink.js';
import { mapInWorkerPool } from '../worker-pool.js';
import { classifyUploadError, type UploadFailure } from './classify.js';
import { parseLogAnalyticsSettings, type LogAnalyticsSinkSettings } from './config.js';
import { MAX_CHUNK_BYTES, MAX_FIELD_BYTES, halves, planChunks, type UploadChunk } from './request-builder.js';
import { createIngestionService, defaultCredential, tokenFromEnvironment, type IngestionService, type TokenCredential } from './service.js';

/** Chunks of one batch in flight at once: enough to hide latency, few enough not to be throttled. */
const CHUNK_CONCURRENCY = 2;
const HEALTHCHECK_TIMEOUT_MS = 10_000;

/** A retryable failure carried out of the chunk workers. */
class RetryableUpload extends Error {
  constructor(readonly failure: Extract<UploadFailure, { kind: 'retryable' }>, readonly stream: string, options: { cause: unknown }) {
    super(failure.reason, options);
  }
}

type Attempt = { kind: 'ok' } | Extract<UploadFailure, { kind: 'refused' | 'too-large' }>;

export class LogAnalyticsSink implements Sink {
  readonly type = 'loganalytics';
  private readonly logger: Logger;
  private readonly where: string;
  private closed = false;

  constructor(
    private readonly settings: LogAnalyticsSinkSettings,
    private readonly context: SinkContext,
    private readonly service: IngestionService,
  ) {
    this.logger = context.logger.child({ component: 'loganalytics-sink', destination: context.name });
    this.where = `${urlForLogs(settings.endpoint)} (rule ${settings.ruleId})`;
  }

  async send(batch: readonly SinkRecord[], options: SendOptions = {}): Promise<SendOutcome> {
    if (this.closed) throw new Error('loganalytics sink: send after close');
    const category = categoryOfBatch(batch);
    if (category === undefined) return { status: 'delivered' };
    const rejected: RejectedRecord[] = [];
    const refused: RejectedRecord[] = [];
    let truncatedValues = 0;
    try {
      const stream = this.settings.streams[category];
      const plan = planChunks(batch);
      truncatedValues = plan.truncatedValues;
      if (truncatedValues > 0) {
        this.logger.warn({ stream, values: truncatedValues, columns: [...plan.truncatedColumns] }, `values over ${MAX_FIELD_BYTES} bytes cut with a "…[truncated by insight-logs: N bytes]" marker (the service would cut them silently); the full records stay in the topic`);
      }
      for (const { record, bytes } of plan.tooLarge) {
        rejected.push({ record, code: 'RECORD_TOO_LARGE', reason: `the record makes a ${bytes}-byte row; the Logs Ingestion API accepts at most ${MAX_CHUNK_BYTES} bytes per call` });
      }
      const results = await this.uploadAll(stream, plan.chunks, options.abortSignal);
      for (const r of results) (r.code === 'RECORD_TOO_LARGE' ? rejected : refused).push(r);
    } catch (error) {
      if (!(error instanceof RetryableUpload)) throw error;
      const { failure, stream } = error;
      const message = `log analytics stream '${stream}' at ${this.where}: ${scrubSecrets(failure.reason)}`;
      if (failure.needsOperator) this.logger.error({ stream, status: failure.status }, `${message} — records are kept and retried until this is fixed`);
      else this.logger.warn({ stream, status: failure.status }, message);
      const retryAfterMs = failure.retryAfterMs;
      const wrapped = new InsightLogsError('SINK_UNAVAILABLE', message, { cause: error.cause, retryable: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      return retryAfterMs !== undefined ? { status: 'retryable', error: wrapped, retryAfterMs } : { status: 'retryable', error: wrapped };
    }
    if (refused.length > 0) {
      this.logger.warn({ refused: refused.length, reason: refused[0]!.reason }, 'log analytics refused rows; they go to the dead-letter topic');
      // Nothing of the batch landed and the service refused it all: the batch as a whole failed.
      if (refused.length === batch.length) {
        return { status: 'failed', code: 'DESTINATION_REFUSED', error: new InsightLogsError('DESTINATION_REFUSED', refused[0]!.reason) };
      }
    }
    const all = [...rejected, ...refused];
    return { status: 'delivered', ...(all.length > 0 ? { rejected: all } : {}), ...(truncatedValues > 0 ? { truncatedValues } : {}) };
  }

  /** Uploads chunks a few at a time; resolves with the records refused for good, throws RetryableUpload. */
  private async uploadAll(stream: string, chunks: UploadChunk[], abortSignal?: AbortSignal): Promise<RejectedRecord[]> {
    const rejected = await mapInWorkerPool(chunks, CHUNK_CONCURRENCY, (chunk) => this.deliverChunk(stream, chunk, abortSignal));
    return rejected.flat();
  }

  private async attempt(stream: string, chunk: UploadChunk, abortSignal?: AbortSignal): Promise<Attempt> {
    try {
      await this.service.upload(stream, chunk.rows, abortSignal);
      return { kind: 'ok' };
    } catch (error) {
      const failure = classifyUploadError(error);
      if (failure.kind === 'retryable') throw new RetryableUpload(failure, stream, { cause: error });
      return failure;
    }
  }

  private async deliverChunk(stream: string, chunk: UploadChunk, abortSignal?: AbortSignal): Promise<RejectedRecord[]> {
    const result = await this.attempt(stream, chunk, abortSignal);
    return result.kind === 'ok' ? [] : this.narrowDown(stream, chunk, result, abortSignal);
  }

  /**
   * A chunk was refused: try its halves. If both halves are refused too, the service most
   * likely refuses every row (wrong stream schema, a failing transformation): reject them all
   * rather than spend a request per row. Otherwise keep halving the refused half.
   */
  private async narrowDown(stream: string, chunk: UploadChunk, failure: Exclude<Attempt, { kind: 'ok' }>, abortSignal?: AbortSignal): Promise<RejectedRecord[]> {
    if (chunk.records.length === 1) return this.rejectAll(chunk, failure);
    const parts = halves(chunk);
    const results = [await this.attempt(stream, parts[0], abortSignal), await this.attempt(stream, parts[1], abortSignal)];
    const bothRefused = results.every((r) => r.kind === 'refused');
    if (failure.kind === 'refused' && bothRefused) return this.rejectAll(chunk, failure);
    const rejected: RejectedRecord[] = [];
    for (const [i, r] of results.entries()) {
      if (r.kind !== 'ok') rejected.push(...(await this.narrowDown(stream, parts[i]!, r, abortSignal)));
    }
    return rejected;
  }

  private rejectAll(chunk: UploadChunk, failure: Exclude<Attempt, { kind: 'ok' }>): RejectedRecord[] {
    const code: ErrorCode = failure.kind === 'too-large' ? 'RECORD_TOO_LARGE' : 'DESTINATION_REFUSED';
    const reason = scrubSecrets(failure.reason);
    return chunk.records.map((record) => ({ record, code, reason }));
  }

  async healthcheck(options: SendOptions = {}): Promise<HealthResult> {
    if (this.closed) return { ok: false, problem: 'the sink is closed' };
    const streams = this.context.categories.map((c: CategoryName) => this.settings.streams[c]);
    const problems: string[] = [];
    for (const stream of streams) {
      const signals = [AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS), ...(options.abortSignal ? [options.abortSignal] : [])];
      try {
        const { status, message } = await this.service.probe(stream, AbortSignal.any(signals));
        if (status >= 200 && status < 300) continue;
        // Authentication (401/403) and the rule/stream lookup (404) come before the body is
        // looked at, so a 400 to the empty probe still proves the path is usable.
        if (status === 400) continue;
        const failure = classifyUploadError({ statusCode: status, message });
        problems.push(`stream '${stream}' at ${this.where}: ${failure.reason}`);
      } catch (error) {
        const timedOut = signals[0]!.aborted;
        const what = timedOut ? `no answer within ${HEALTHCHECK_TIMEOUT_MS} ms` : classifyUploadError(error).reason;
        problems.push(`stream '${stream}' at ${this.where}: ${scrubSecrets(what)}${error instanceof InsightLogsError ? '' : ` (${scrubSecrets(describeError(error))})`}`);
      }
    }
    return problems.length === 0 ? { ok: true, detail: `streams ${streams.join(', ')} at ${this.where} accept uploads` } : { ok: false, problem: problems.join('; ') };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.service.close();
  }
}

/** The credential for the settings: a token from its environment variable, or DefaultAzureCredential. */
export function credentialFor(settings: LogAnalyticsSinkSettings, env: NodeJS.ProcessEnv, path: string): TokenCredential {
  return settings.auth.kind === 'token' ? tokenFromEnvironment(env, settings.auth.tokenEnv, path) : defaultCredential();
}

export type { LogAnalyticsSinkSettings } from './config.js';

export const logAnalyticsSinkType: SinkType<LogAnalyticsSinkSettings> = {
  type: 'loganalytics',
  title: 'Log Analytics',
  description: 'Azure Monitor Logs Ingestion API; --set endpoint=… --set ruleId=…',
  parseSettings: parseLogAnalyticsSettings,
  create(settings, context) {
    const credential = credentialFor(settings, context.env, `destinations[${context.name}]`);
    const service = createIngestionService({
      endpoint: settings.endpoint,
      ruleId: settings.ruleId,
      credential,
      allowInsecure: settings.allowInsecure,
      ...(settings.audience ? { audience: settings.audience } : {}),
    });
    return new LogAnalyticsSink(settings, context, service);
  },
};
