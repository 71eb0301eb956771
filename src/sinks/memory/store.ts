/**
 * Named in-process stores the memory sink writes to, so a test can look at what a
 * destination received without holding a reference to the sink the forwarder created.
 */
import type { SinkRecord } from '../sink.js';

export class MemoryStore {
  readonly records: SinkRecord[] = [];
  /** Number of `send` calls, delivered or not. */
  sends = 0;
  /** While true, sends answer retryable and healthchecks fail (an outage, for tests). */
  unavailable = false;
  private waiters: { n: number; resolve: () => void }[] = [];

  add(batch: readonly SinkRecord[]): void {
    this.records.push(...batch);
    this.waiters = this.waiters.filter((w) => {
      if (this.records.length < w.n) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once at least `n` records arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 30_000): Promise<void> {
    if (this.records.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`memory store: ${this.records.length} of ${n} records after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  clear(): void {
    this.records.length = 0;
    this.sends = 0;
  }
}

const stores = new Map<string, MemoryStore>();

export function memoryStore(name: string): MemoryStore {
  let store = stores.get(name);
  if (!store) stores.set(name, (store = new MemoryStore()));
  return store;
}

export function dropMemoryStore(name: string): void {
  stores.delete(name);
}
