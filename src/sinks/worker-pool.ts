/**
 * The bounded worker pool sinks use to do the independent parts of one batch side by side
 * (blobs, files, partition-key groups, upload chunks) without opening a connection per part.
 *
 * After the first failure no further item is started: the whole batch will be sent again, so
 * more work would only be repeated. The pool settles only once every started item has settled,
 * so nothing is still writing when the sink decides the batch's outcome.
 */
export async function mapInWorkerPool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`worker pool: concurrency must be a whole number ≥ 1, got ${concurrency}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await work(items[index]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
