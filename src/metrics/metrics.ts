/**
 * The forwarder's Prometheus metrics, on a registry of its own (never prom-client's global
 * one, so two forwarders in one process or a host application never collide). Names, types,
 * labels and help texts come from names.ts, the one place they are defined.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FORWARDER_METRICS as M, PROCESS_METRICS_PREFIX, type MetricDefinition } from './names.js';

/** Pipeline states as the `state` label of `insight_logs_pipelines` shows them ('broken': could not start). */
export const PIPELINE_STATES = ['starting', 'running', 'stopping', 'stopped', 'crashed', 'broken'] as const;
export type PipelineStateLabel = (typeof PIPELINE_STATES)[number];

const meta = <L extends string>(def: MetricDefinition) => ({ name: def.name, help: def.help, labelNames: def.labels as L[] });

export class ForwarderMetrics {
  readonly registry = new Registry();
  readonly recordsIn: Counter<'destination' | 'topic'>;
  readonly recordsOut: Counter<'destination'>;
  readonly bytesOut: Counter<'destination'>;
  readonly chunksOut: Counter<'destination'>;
  readonly retries: Counter<'destination'>;
  readonly deadLettered: Counter<'destination' | 'code'>;
  readonly truncatedValues: Counter<'destination'>;
  readonly consumerLag: Gauge<'destination' | 'topic' | 'partition'>;
  readonly lastSuccess: Gauge<'destination'>;
  readonly lastError: Gauge<'destination'>;
  readonly pipelineCrashes: Counter<'destination'>;
  readonly pipelines: Gauge<'destination' | 'state'>;
  private pipelineStates: () => Iterable<readonly [string, PipelineStateLabel]> = () => [];

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.recordsIn = new Counter({ ...meta(M.recordsIn), registers });
    this.recordsOut = new Counter({ ...meta(M.recordsOut), registers });
    this.bytesOut = new Counter({ ...meta(M.bytesOut), registers });
    this.chunksOut = new Counter({ ...meta(M.chunksOut), registers });
    this.retries = new Counter({ ...meta(M.retries), registers });
    this.deadLettered = new Counter({ ...meta(M.deadLettered), registers });
    this.truncatedValues = new Counter({ ...meta(M.truncatedValues), registers });
    this.consumerLag = new Gauge({ ...meta(M.consumerLag), registers,
      // With `forward --workers N` every worker refreshes the lag of all partitions and the one
      // that owns a partition updates it after each commit: the lowest is the freshest.
      aggregator: 'min' });
    this.lastSuccess = new Gauge({ ...meta(M.lastSuccess), registers, aggregator: 'max' });
    this.lastError = new Gauge({ ...meta(M.lastError), registers, aggregator: 'max' });
    this.pipelineCrashes = new Counter({ ...meta(M.pipelineCrashes), registers });
    const states = (): Iterable<readonly [string, PipelineStateLabel]> => this.pipelineStates();
    // Read at scrape time from the forwarder's pipelines; summed over workers (one pipeline each).
    this.pipelines = new Gauge({ ...meta<'destination' | 'state'>(M.pipelines), registers, aggregator: 'sum',
      collect(this: Gauge<'destination' | 'state'>) {
        this.reset();
        const counts = new Map<string, Map<PipelineStateLabel, number>>();
        for (const [destination, state] of states()) {
          const byState = counts.get(destination) ?? new Map(PIPELINE_STATES.map((s) => [s, 0] as const));
          byState.set(state, byState.get(state)! + 1);
          counts.set(destination, byState);
        }
        for (const [destination, byState] of counts) for (const [state, n] of byState) this.set({ destination, state }, n);
      } });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: PROCESS_METRICS_PREFIX });
  }

  /** Where `insight_logs_pipelines` reads the state of each destination's pipeline at scrape time. */
  observePipelines(states: () => Iterable<readonly [string, PipelineStateLabel]>): void {
    this.pipelineStates = states;
  }

  /**
   * Creates a destination's series at 0 when its pipeline starts, so `rate()` and `increase()`
   * see the first records (a series born at 1 has no increase) and dashboards show 0, not nothing.
   */
  initDestination(destination: string, topics: readonly string[]): void {
    for (const topic of topics) this.recordsIn.inc({ destination, topic }, 0);
    for (const counter of [this.recordsOut, this.bytesOut, this.chunksOut, this.retries, this.truncatedValues, this.pipelineCrashes]) counter.inc({ destination }, 0);
  }

  /**
   * Drops the series of a removed destination so dashboards don't show it frozen. Every series
   * whose `destination` label matches: prom-client's remove() takes exact label sets only.
   */
  async forget(destination: string): Promise<void> {
    for (const metric of [this.recordsIn, this.recordsOut, this.bytesOut, this.chunksOut, this.retries, this.deadLettered, this.truncatedValues, this.consumerLag, this.lastSuccess, this.lastError, this.pipelineCrashes] as Counter<string>[]) {
      const { values } = await metric.get();
      for (const v of values) if (v.labels.destination === destination) metric.remove(v.labels as Record<string, string>);
    }
  }
}
