// Lists a resource and keeps the copy current from a watch, like a client-go
// informer: a dropped watch resumes from the last resourceVersion it saw
// (bookmarks included), an expired one (410) lists again. Changes are
// reported as they arrive — nothing polls.
import type { KubeClient, Query } from './client.ts';
import { ApiError, ConnectionError } from './errors.ts';

export interface KubeObjectLike {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

export type Change<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T };

interface ListBody<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface Informer<T> {
  /** The current objects, keyed `namespace/name`. */
  readonly items: Map<string, T>;
  /** Resolves once the first list is in. */
  readonly synced: Promise<void>;
  /** Ends the watch; `run` then resolves. */
  stop(): void;
}

export function inform<T extends KubeObjectLike>(client: KubeClient, path: string, query: Query, onChange: (change: Change<T>) => void, signal?: AbortSignal): Informer<T> & { done: Promise<void> } {
  const items = new Map<string, T>();
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(), { once: true });
  let markSynced: () => void = () => {};
  let failSync: (error: unknown) => void = () => {};
  const synced = new Promise<void>((resolve, reject) => {
    markSynced = resolve;
    failSync = reject;
  });
  const key = (o: T) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

  const relist = async (): Promise<string> => {
    const fresh = new Map<string, T>();
    let resourceVersion = '';
    let token: string | undefined;
    do {
      const page = await client.json<ListBody<T>>(path, { query: { ...query, limit: 500, continue: token }, signal: controller.signal });
      for (const item of page.items) fresh.set(key(item), item);
      resourceVersion = page.metadata.resourceVersion ?? '';
      token = page.metadata.continue || undefined;
    } while (token);
    for (const [k, old] of items) if (!fresh.has(k)) emit({ type: 'DELETED', object: old });
    for (const [k, item] of fresh) emit({ type: items.has(k) ? 'MODIFIED' : 'ADDED', object: item });
    return resourceVersion;
  };
  const emit = (change: Change<T>) => {
    if (change.type === 'DELETED') items.delete(key(change.object));
    else items.set(key(change.object), change.object);
    onChange(change);
  };

  const done = (async () => {
    let resourceVersion: string;
    try {
      resourceVersion = await relist();
      markSynced();
    } catch (error) {
      failSync(error);
      return;
    }
    let failures = 0;
    while (!controller.signal.aborted) {
      try {
        await client.stream(path, { query: { ...query, watch: 'true', resourceVersion, allowWatchBookmarks: 'true' }, signal: controller.signal, timeoutMs: 0 }, (line) => {
          const event = JSON.parse(line) as { type: string; object: T & { code?: number } };
          if (event.type === 'ERROR') throw new ApiError(event.object.code ?? 500, event.object as never);
          if (event.object.metadata?.resourceVersion) resourceVersion = event.object.metadata.resourceVersion;
          if (event.type !== 'BOOKMARK') emit({ type: event.type as Change<T>['type'], object: event.object });
          failures = 0;
        });
      } catch (error) {
        if (controller.signal.aborted) break;
        if (error instanceof ApiError && (error.statusCode === 410 || error.reason === 'Expired' || error.reason === 'Gone')) {
          resourceVersion = await relist().catch(() => resourceVersion);
          continue;
        }
        // A cut connection, a garbled line, 429 or 5xx: watch again from the last resourceVersion, backing off with jitter.
        const transient = error instanceof ConnectionError || error instanceof SyntaxError || (error instanceof ApiError && (error.statusCode >= 500 || error.statusCode === 429));
        if (!transient) throw error;
        failures++;
        await delay(Math.round(Math.min(5000, 100 * 2 ** failures) * (0.5 + Math.random() / 2)), controller.signal);
      }
    }
  })();
  // A watch that fails for good rejects `done`; users that do not wait on it must not crash the process for it.
  done.catch(() => {});
  return { items, synced, done, stop: () => controller.abort() };
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
