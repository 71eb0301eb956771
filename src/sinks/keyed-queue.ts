/**
 * Runs tasks one at a time per key, in the order they were queued; different keys run in
 * parallel. Sinks that keep per-file state (the blob sink's append position, the dir sink's
 * torn-line check) use it so that concurrent sends from different source partitions can
 * never interleave their work on the same blob or file.
 */
export class KeyedQueue {
  /** The last task queued per key; a key is forgotten once its last task has settled. */
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    // A failed earlier task must not stop the next one: each caller gets its own outcome.
    const result = previous ? previous.then(task, task) : task();
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task queued or running (for tests). */
  get activeKeys(): number {
    return this.tails.size;
  }
}
