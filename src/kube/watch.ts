// Lists a resource and keeps the copy current from a watch, like a client-go
// informer: a dropped watch resumes from the last resourceVersion it saw
// (bookmarks included), an expired one (410) lists again. Changes are
// reported as they arrive — nothing polls. `watchUntil` is the one way every
// command waits on the cluster: informers over some lists until a condition
// on what they saw holds.
import type { ServerTable } from '../print/table.ts';
import type { KubeClient, Query } from './client.ts';
import { ApiError, ConnectionError } from './errors.ts';
import { TABLE_ACCEPT } from './tables.ts';

export interface KubeObjectLike {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

export type Change<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T };

/**
 * An object as a row of the server's table, what `kubectl get -w` streams: its metadata (labels, owners,
 * timestamps; no spec, no status) and its cells by column name (`Status`, `Ready`, `Node` …).
 */
export interface TableRow extends KubeObjectLike {
  cells: Record<string, unknown>;
}

interface ListBody<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

interface Informer<T> {
  /** The current objects, keyed `namespace/name`. */
  readonly items: Map<string, T>;
  /** Resolves once the first list is in (an absent list counts as an empty one). */
  readonly synced: Promise<void>;
  /** Rejects when the watch fails for good; resolves when it is stopped. */
  readonly done: Promise<void>;
}

/** Lists `target` and follows it until `signal` is aborted, reporting every change. */
function inform<T extends KubeObjectLike>(client: KubeClient, target: WatchTarget, onChange: (change: Change<T>) => void, signal: AbortSignal, received: { events: number; bytes: number }): Informer<T> {
  const items = new Map<string, T>();
  const query = target.query ?? {};
  let markSynced: () => void = () => {};
  let failSync: (error: unknown) => void = () => {};
  const synced = new Promise<void>((resolve, reject) => {
    markSynced = resolve;
    failSync = reject;
  });
  const key = (o: T) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const emit = (change: Change<T>) => {
    if (change.type === 'DELETED') items.delete(key(change.object));
    else items.set(key(change.object), change.object);
    onChange(change);
  };
  // The items are replaced by a fresh list: what is not in it any more is reported deleted.
  const replace = (fresh: Map<string, T>) => {
    for (const [k, old] of items) if (!fresh.has(k)) emit({ type: 'DELETED', object: old });
    for (const [k, item] of fresh) emit({ type: items.has(k) ? 'MODIFIED' : 'ADDED', object: item });
  };
  // Tables name their columns once, in a list and in a watch's first event; rows are read by those names.
  let columns: string[] = [];
  const rowsOf = (table: ServerTable): T[] => {
    if (table.columnDefinitions?.length) columns = table.columnDefinitions.map((c) => c.name);
    return table.rows.map((row) => ({ metadata: row.object?.metadata ?? { name: String(row.cells[0]) }, cells: Object.fromEntries(columns.map((name, i) => [name, row.cells[i]])) }) as unknown as T);
  };
  const wire = target.table ? { accept: TABLE_ACCEPT, query: { ...query, includeObject: 'Metadata' } } : { query };
  const relist = async (): Promise<string> => {
    const fresh = new Map<string, T>();
    let resourceVersion = '';
    let token: string | undefined;
    do {
      const page = await client.json<ListBody<T> & ServerTable>(target.path, { ...wire, query: { ...wire.query, limit: 500, continue: token }, signal });
      for (const item of target.table ? rowsOf(page) : page.items) fresh.set(key(item), item);
      resourceVersion = page.metadata?.resourceVersion ?? '';
      token = page.metadata?.continue || undefined;
    } while (token);
    replace(fresh);
    return resourceVersion;
  };
  const absent = (error: unknown) => target.absentIsEmpty === true && error instanceof ApiError && error.statusCode === 404;

  const done = (async () => {
    // undefined: list (again) before watching.
    let resourceVersion: string | undefined;
    let failures = 0;
    let listed = false;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await relist();
          if (!listed) markSynced();
          listed = true;
          failures = 0;
        }
        await client.stream(target.path, { ...wire, query: { ...wire.query, watch: 'true', resourceVersion, allowWatchBookmarks: 'true' }, signal, timeoutMs: 0 }, (line) => {
          received.events++;
          received.bytes += line.length;
          const event = JSON.parse(line) as { type: string; object: T & ServerTable & { code?: number } };
          if (event.type === 'ERROR') throw new ApiError(event.object.code ?? 500, event.object as never);
          if (event.object.metadata?.resourceVersion) resourceVersion = event.object.metadata.resourceVersion;
          if (event.type !== 'BOOKMARK') {
            for (const object of target.table ? rowsOf(event.object) : [event.object]) emit({ type: event.type as Change<T>['type'], object });
          }
          failures = 0;
        });
      } catch (error) {
        if (signal.aborted) break;
        if (absent(error)) {
          // The resource is not served (its CRD is not there, or went): nothing is in it; look again later, as it may come.
          replace(new Map());
          if (!listed) markSynced();
          listed = true;
          resourceVersion = undefined;
          failures = Math.min(failures + 1, 5);
          await delay(Math.round(Math.min(5000, 250 * 2 ** failures) * (0.5 + Math.random() / 2)), signal);
          continue;
        }
        if (!listed) {
          failSync(error);
          return;
        }
        if (error instanceof ApiError && (error.statusCode === 410 || error.reason === 'Expired' || error.reason === 'Gone')) {
          resourceVersion = await relist().catch(() => resourceVersion);
          continue;
        }
        // A cut connection, a garbled line, 429 or 5xx: watch again from the last resourceVersion, backing off with jitter.
        const transient = error instanceof ConnectionError || error instanceof SyntaxError || (error instanceof ApiError && (error.statusCode >= 500 || error.statusCode === 429));
        if (!transient) throw error;
        failures++;
        await delay(Math.round(Math.min(5000, 100 * 2 ** failures) * (0.5 + Math.random() / 2)), signal);
      }
    }
  })();
  return { items, synced, done };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

export interface WatchTarget {
  path: string;
  query?: Query;
  /**
   * As the server's table rows (TableRow), not whole objects: a pod row is a few hundred bytes where the pod is
   * kilobytes, which is what following thousands of pods costs.
   */
  table?: boolean;
  /** A list that answers 404 (its CRD is not installed yet, or went) is empty, and is looked at again now and then, instead of failing the watch. */
  absentIsEmpty?: boolean;
}

export interface UntilOptions<T, R> {
  /** Aborting it ends the watch, rejecting with its reason (an interruption, a --timeout). */
  signal: AbortSignal;
  /** Each change as it arrives — the first lists arrive as ADDED — with the index of its target. */
  onChange?: (change: Change<T>, target: number) => void;
  /**
   * Asked once every first list is in, then once per burst of changes (the events of one read): a
   * value other than undefined ends the watch with it. Keep it cheap: state belongs in onChange.
   */
  until: () => R | undefined;
  /** Also ask `until` this often, for conditions that time alone makes true (how long something has not moved). */
  recheckMs?: number;
}

/**
 * Watches `targets` until `until` returns a value. Rejects with the signal's reason when it is aborted, or with
 * the first watch that fails for good (a refused list, its retries spent); the watches are stopped either way.
 */
export async function watchUntil<T extends KubeObjectLike, R>(client: KubeClient, targets: WatchTarget[], options: UntilOptions<T, R>): Promise<R> {
  const stop = new AbortController();
  let settle: (value: R) => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const outcome = new Promise<R>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const onAbort = () => fail(options.signal.reason);
  if (options.signal.aborted) onAbort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  let synced = false;
  let scheduled = false;
  const check = () => {
    scheduled = false;
    if (!synced || stop.signal.aborted) return;
    try {
      const value = options.until();
      if (value !== undefined) settle(value);
    } catch (error) {
      fail(error);
    }
  };
  // One check per burst: the events of one read are judged together.
  const changed = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(check);
  };
  const recheck = options.recheckMs ? setInterval(changed, options.recheckMs) : undefined;
  const received = targets.map(() => ({ events: 0, bytes: 0 }));
  const informers = targets.map((target, index) => {
    const informer = inform<T>(client, target, (change) => {
      options.onChange?.(change, index);
      changed();
    }, stop.signal, received[index]!);
    // A watch ends only when stopped; the first one to fail for good ends the wait.
    informer.done.catch(fail);
    return informer.synced;
  });
  try {
    await Promise.race([Promise.all(informers), outcome]);
    synced = true;
    check();
    return await outcome;
  } finally {
    clearInterval(recheck);
    options.signal.removeEventListener('abort', onAbort);
    stop.abort();
    targets.forEach((target, i) => client.logger.log(4, 'watch.go', `watched ${target.path}${target.table ? ' (table rows)' : ''}: ${received[i]!.events} events, ${received[i]!.bytes} bytes`));
  }
}
