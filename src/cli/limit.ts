// Bounded concurrency, one way for every command: a fixed number of workers
// take the items in order. A failure or an abort stops new work from
// starting; what is in flight is let finish (a request cut off may or may not
// have taken effect, and the caller reports what was done), and only then
// does the call settle, so nothing it started is left running.

export interface LimitOptions<T, R> {
  /** Once aborted no new work starts. */
  signal?: AbortSignal;
  /**
   * The result of an item the abort left undone (not started, or failed after the abort): with it an aborted run
   * resolves with every item's result; without it, it rejects with the signal's reason.
   */
  unfinished?: (item: T) => R;
}

/**
 * `work` over `items`, at most `limit` at a time; the results in the items' order. The first failure (before any
 * abort) is thrown once the work in flight has settled; no item after it is started.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>, options: LimitOptions<T, R> = {}): Promise<R[]> {
  const { signal, unfinished } = options;
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const index = next++;
      const item = items[index]!;
      if (signal?.aborted) {
        if (!unfinished) return;
        results[index] = unfinished(item);
        done++;
        continue;
      }
      try {
        results[index] = await work(item, index);
        done++;
      } catch (error) {
        if (!signal?.aborted) failure ??= { error };
        else if (unfinished) {
          results[index] = unfinished(item);
          done++;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(items.length, Math.max(1, Math.floor(limit) || 1)) }, worker));
  if (failure) throw failure.error;
  if (done < items.length) throw signal!.reason;
  return results;
}
