// Server-side tables: what `kubectl get` asks for, so that our tables are
// the server's columns and cells, laid out by src/print/table.ts.
import type { ServerTable } from '../print/table.ts';
import type { KubeClient, Query } from './client.ts';

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

/** Lists `path` as one Table, following continue tokens as kubectl does; a missing resource is an empty table. */
export async function listTable(client: KubeClient, path: string, query: Query = {}): Promise<ServerTable> {
  let table: ServerTable | undefined;
  let token: string | undefined;
  do {
    const page = await client.optional<ServerTable>(path, { accept: TABLE_ACCEPT, query: { ...query, limit: 500, continue: token } });
    if (!page) return { columnDefinitions: [], rows: [] };
    if (table) table.rows.push(...page.rows);
    else table = page;
    token = page.metadata?.continue || undefined;
  } while (token);
  return table;
}
