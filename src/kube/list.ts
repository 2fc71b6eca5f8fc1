// Lists read page by page (limit/continue, as kubectl reads them), so that a
// list of thousands of objects is neither one answer of tens of megabytes the
// API server must build at once nor one the client must hold before it can
// start on it.
import type { KubeClient, Query } from './client.ts';

/** Objects per page: kubectl's chunk size. */
const PAGE_SIZE = 500;

/**
 * Hands each page's items to `onPage` as it arrives, following continue tokens until the list ends. A non-2xx
 * answer throws ApiError (a 404 too: the caller asked for a resource the server serves).
 */
export async function listPages<T>(kube: KubeClient, path: string, options: { query?: Query; signal?: AbortSignal }, onPage: (items: T[]) => void | Promise<void>): Promise<void> {
  let token: string | undefined;
  do {
    const page = await kube.json<{ items: T[] | null; metadata?: { continue?: string } }>(path, { query: { ...options.query, limit: PAGE_SIZE, continue: token }, signal: options.signal });
    await onPage(page.items ?? []);
    token = page.metadata?.continue || undefined;
  } while (token);
}

/** Every item of a list, read page by page. */
export async function listAll<T>(kube: KubeClient, path: string, options: { query?: Query; signal?: AbortSignal } = {}): Promise<T[]> {
  const items: T[] = [];
  await listPages<T>(kube, path, options, (page) => {
    items.push(...page);
  });
  return items;
}
