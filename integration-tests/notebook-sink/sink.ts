/**
 * A destination type that lives in the tests only, written the way docs/destinations.md says a
 * new type is written: this folder (config.ts, sink.ts) and nothing else in the product. The
 * records of a batch are appended to a named in-process notebook.
 */
import { categoryOfBatch, type HealthResult, type SendOutcome, type Sink, type SinkContext, type SinkRecord, type SinkType } from '../../src/sinks/sink.js';
import { parseNotebookSettings, type NotebookSinkSettings } from './config.js';

/** Every notebook's records, by notebook name, in delivery order. */
export const notebooks = new Map<string, SinkRecord[]>();

export class NotebookSink implements Sink {
  readonly type = 'notebook';
  private closed = false;

  constructor(private readonly settings: NotebookSinkSettings, private readonly context: Pick<SinkContext, 'name'>) {}

  async send(batch: readonly SinkRecord[]): Promise<SendOutcome> {
    if (this.closed) throw new Error('notebook sink: send after close');
    categoryOfBatch(batch); // the precondition of send: one category per batch
    const pages = notebooks.get(this.settings.notebook) ?? [];
    pages.push(...batch);
    notebooks.set(this.settings.notebook, pages);
    return { status: 'delivered' };
  }

  async healthcheck(): Promise<HealthResult> {
    return this.closed ? { ok: false, problem: 'the sink is closed' } : { ok: true, detail: `notebook ${this.settings.notebook} of ${this.context.name} is open` };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export const notebookSinkType: SinkType<NotebookSinkSettings> = {
  type: 'notebook',
  title: 'a notebook',
  description: 'records appended to an in-process notebook (this test only)',
  addFlags: [{ flag: '--notebook <name>', key: 'notebook', help: 'the notebook records are written into' }],
  parseSettings: parseNotebookSettings,
  create: (settings, context) => new NotebookSink(settings, context),
};
