// Which nodes a command looks at, picked as kubectl picks objects: by name
// (--nodes a,b) or by a label selector (-l/--selector) that the API server
// evaluates, so its grammar and errors are kubectl's own. Shared by the
// commands that work node by node (node status, connectivity).
import { CliError, UsageError } from '../cli/errors.ts';
import { ApiError } from '../kube/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { listTable } from '../kube/tables.ts';

export interface NodePick {
  /** Named on the command line, in the order given, without repeats. */
  names?: string[];
  /** A Kubernetes label selector. */
  selector?: string;
}

/** A node name as Kubernetes allows it: a DNS subdomain (RFC 1123), at most 253 characters. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Reads --nodes and -l/--selector; both at once is refused, as kubectl refuses names with a selector. */
export function parseNodePick(nodes: string | undefined, selector: string | undefined): NodePick {
  if (nodes !== undefined && selector !== undefined) throw new UsageError('--nodes and --selector cannot be used together: name the nodes, or select them by label');
  if (selector !== undefined) {
    if (selector.trim() === '') throw new UsageError('--selector is empty: expected a label selector such as node-role.kubernetes.io/control-plane or zone=a');
    return { selector: selector.trim() };
  }
  if (nodes === undefined) return {};
  const names = nodes.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) throw new UsageError(`invalid --nodes "${nodes}": expected node names, comma-separated`);
  const bad = names.find((n) => n.length > 253 || !NODE_NAME.test(n));
  if (bad !== undefined) throw new UsageError(`invalid --nodes "${nodes}": "${bad}" is not a valid node name`);
  return { names: [...new Set(names)] };
}

/** Whether the user narrowed the nodes (they then see every row about them). */
export function picked(pick: NodePick): boolean {
  return pick.names !== undefined || pick.selector !== undefined;
}

/**
 * The names of the picked nodes among `known` (every node of the cluster, which the caller has listed): all of
 * them when nothing was picked, those named (a name the cluster does not have is an error, as with kubectl get),
 * or those the API server selects by label (a selector it cannot parse is a command-line error).
 */
export async function pickNodeNames(kube: KubeClient, pick: NodePick, known: readonly string[]): Promise<string[]> {
  if (pick.names) {
    const have = new Set(known);
    const missing = pick.names.filter((n) => !have.has(n));
    if (missing.length) throw new CliError(`${missing.length === 1 ? 'node' : 'nodes'} ${missing.map((n) => `"${n}"`).join(', ')} not found`);
    return pick.names;
  }
  if (pick.selector === undefined) return [...known];
  let table;
  try {
    table = await listTable(kube, '/api/v1/nodes', { labelSelector: pick.selector, includeObject: 'None' });
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 400) throw new UsageError(`invalid --selector "${pick.selector}": ${error.status.message ?? error.message}`);
    throw error;
  }
  const names = table.rows.map((row) => String(row.cells[0]));
  if (names.length === 0) throw new CliError(`no node matches the selector "${pick.selector}"`);
  return names;
}
