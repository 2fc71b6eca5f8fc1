// Which nodes a command looks at, picked as kubectl picks objects: by name
// (--nodes a,b) and by a label selector (-l/--selector, parsed here so that a
// malformed one is a usage error before anything is sent, then evaluated by
// the API server). Both together pick the named nodes among those the
// selector matches. Shared by the commands that work node by node (node
// status, connectivity), with the same words.
import { CliError, UsageError } from '../cli/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { listAll } from '../kube/list.ts';
import { formatLabelSelector, parseLabelSelector, type Requirement } from '../kube/selectors.ts';
import { listTable } from '../kube/tables.ts';

export interface NodePick {
  /** Named on the command line, in the order given, without repeats. */
  names?: string[];
  /** -l; empty: every node. */
  selector: Requirement[];
}

export function parseNodePick(nodes: string | undefined, selector: string | undefined): NodePick {
  const names = nodes === undefined ? undefined : nodes.split(',').map((n) => n.trim());
  if (names?.some((n) => n === '')) throw new UsageError(`invalid --nodes "${nodes}": expected node names separated by commas`);
  return { ...(names ? { names: [...new Set(names)] } : {}), selector: parseLabelSelector(selector ?? '', '--selector') };
}

/** Whether the user narrowed the nodes (they then see every row about them). */
export function picked(pick: NodePick): boolean {
  return pick.names !== undefined || pick.selector.length > 0;
}

/**
 * The names of the picked nodes among `known` (every node of the cluster, in its order, which the caller has
 * listed): all of them when nothing was picked; those the selector matches (asked of the API server); those named,
 * each of which must be among them (as with kubectl get, a name the cluster does not have is an error).
 */
export async function pickNodeNames(kube: KubeClient, pick: NodePick, known: readonly string[]): Promise<string[]> {
  const labelSelector = selectorText(pick);
  const matching = labelSelector ? new Set((await listTable(kube, '/api/v1/nodes', { labelSelector, includeObject: 'None' })).rows.map((row) => String(row.cells[0]))) : undefined;
  return choose(pick, matching ? known.filter((n) => matching.has(n)) : known, labelSelector);
}

/**
 * The picked nodes as objects, for a command that reads their labels, taints or addresses: the nodes the selector
 * matches listed (the API server evaluates it; 500 a page), the named ones among them, in the order named.
 */
export async function pickNodes<N extends { metadata: { name: string } }>(kube: KubeClient, pick: NodePick, signal?: AbortSignal): Promise<N[]> {
  const labelSelector = selectorText(pick);
  const objects = await listAll<N>(kube, '/api/v1/nodes', { query: { labelSelector }, signal });
  const byName = new Map(objects.map((n) => [n.metadata.name, n]));
  return choose(pick, objects.map((n) => n.metadata.name), labelSelector).map((name) => byName.get(name)!);
}

function selectorText(pick: NodePick): string | undefined {
  return pick.selector.length ? formatLabelSelector(pick.selector) : undefined;
}

/** The picked names among `matching` (the nodes the selector matched, or every node): the same words for every command. */
function choose(pick: NodePick, matching: readonly string[], labelSelector: string | undefined): string[] {
  if (pick.names) {
    const present = new Set(matching);
    const unknown = pick.names.filter((n) => !present.has(n));
    if (unknown.length) throw new CliError(`--nodes: ${unknown.length === 1 ? 'node' : 'nodes'} ${unknown.map((n) => `"${n}"`).join(', ')} not found${labelSelector ? ` among the nodes matching -l ${labelSelector}` : ''}`);
    return pick.names;
  }
  if (matching.length === 0) throw new CliError(labelSelector ? `no node matches -l ${labelSelector}` : 'the cluster has no nodes');
  return [...matching];
}
