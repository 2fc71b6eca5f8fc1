// Lists read page by page (limit/continue, as kubectl reads them), so that a
// list of thousands of objects is neither one answer of tens of megabytes the
// API server must build at once nor one the client must hold before it can
// start on it.
import type { KubeClient, Query } from './client.ts';

/** Objects per page: kubectl's chunk size. */
const PAGE_SIZE = 500;

export interface ListOptions {
  query?: Query;
  signal?: AbortSignal;
  /** A 404 ends the list (a resource the server does not serve has no items) instead of throwing. */
  optional?: boolean;
}

/**
 * Hands each page's items to `onPage` as it arrives, following continue tokens until the list ends. A non-2xx
 * answer throws ApiError (a 404 too, unless `optional`: then the caller asked for a resource the server serves).
 */
export async function listPages<T>(kube: KubeClient, path: string, options: ListOptions, onPage: (items: T[]) => void | Promise<void>): Promise<void> {
  let token: string | undefined;
  do {
    const request = { query: { ...options.query, limit: PAGE_SIZE, continue: token }, signal: options.signal };
    const page = options.optional ? await kube.optional<Page<T>>(path, request) : await kube.json<Page<T>>(path, request);
    if (!page) return;
    await onPage(page.items ?? []);
    token = page.metadata?.continue || undefined;
  } while (token);
}

interface Page<T> {
  items: T[] | null;
  metadata?: { continue?: string };
}

/** Every item of a list, read page by page. */
export async function listAll<T>(kube: KubeClient, path: string, options: ListOptions = {}): Promise<T[]> {
  const items: T[] = [];
  await listPages<T>(kube, path, options, (page) => {
    items.push(...page);
  });
  return items;
}
