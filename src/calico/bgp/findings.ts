// What node status concludes, as data: each problem with the nodes it
// concerns, what it usually means, what it breaks, and the fix. A session
// that is down is one finding per pair of nodes, told from both ends; a node
// whose calico-node does not run is one finding, not one per peer that
// misses it; a node with no session up at all is one finding too.
import { infoColumn, peerAddress, PEER_TYPES } from './bird.ts';
import type { NodeResult, NodeStatusSnapshot, PeerRow, ProblemKind, Routing } from './node-status.ts';
import type { ExpectedPeer } from './topology.ts';

export interface Finding {
  /** Stable for machines: see FINDING_KINDS. */
  kind: FindingKind;
  nodes: string[];
  message: string;
  /** What it usually means. */
  cause?: string;
  /** What it breaks. */
  impact?: string;
  fix?: string;
}

export const FINDING_KINDS = [
  'exec-forbidden', 'no-calico-node', 'calico-node-not-running', 'kubelet-unreachable', 'exec-failed', 'not-asked',
  'felix-not-ready', 'bird-not-ready', 'birdcl-failed', 'node-isolated', 'session-down', 'session-missing', 'session-unexpected', 'external-peer-down',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Kinds of problem after which calico-node itself is known not to run (its peers' failing sessions follow from it). */
const NOT_RUNNING: ProblemKind[] = ['no-pod', 'pod-not-running'];

export function nodeStatusFindings(snapshot: NodeStatusSnapshot): Finding[] {
  const { nodes } = snapshot;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const out: Finding[] = [];
  const down = downSessions(snapshot, byName);
  out.push(...problemFindings(nodes, down.missedBy));
  for (const [message, group] of groupBy(nodes.filter((n) => n.felix && !n.felix.ready), (n) => n.felix!.message)) {
    out.push({ kind: 'felix-not-ready', nodes: names(group), message: `Felix is not ready on ${list(names(group))}: ${message}`, ...felixAdvice(message, group[0]!) });
  }
  for (const [message, group] of groupBy(nodes.filter((n) => [n.bird, n.bird6].some((r) => r && !r.ready && !/BGP not established/i.test(r.message))), (n) => [n.bird, n.bird6].find((r) => r && !r.ready)!.message)) {
    out.push({ kind: 'bird-not-ready', nodes: names(group), message: `BIRD is not ready on ${list(names(group))}: ${message}`, cause: 'BIRD or confd is not running in calico-node', fix: `kubectl logs -n calico-system ${group[0]!.pod} -c calico-node` });
  }
  for (const [message, group] of groupBy(nodes.filter((n) => n.birdErrors.length), (n) => n.birdErrors.join('; '))) {
    out.push({ kind: 'birdcl-failed', nodes: names(group), message: `BIRD could not be asked for its peers on ${list(names(group))}: ${message}`, cause: 'BIRD is not running, or its output is not what calicoctl reads', fix: `kubectl logs -n calico-system ${group[0]!.pod} -c calico-node` });
  }
  out.push(...down.findings);
  return out;
}

/** Findings about nodes whose calico-node could not be asked, grouped by why. */
function problemFindings(nodes: NodeResult[], missedBy: Map<string, Set<string>>): Finding[] {
  const out: Finding[] = [];
  const withProblem = nodes.filter((n) => n.problem);
  // A refusal of pods/exec holds for the whole namespace: one finding, whatever the pod.
  const forbidden = withProblem.filter((n) => n.problem!.kind === 'forbidden');
  if (forbidden.length) {
    const reason = /forbidden: (.*)$/.exec(forbidden[0]!.problem!.message)?.[1] ?? forbidden[0]!.problem!.message;
    out.push({ kind: 'exec-forbidden', nodes: names(forbidden), message: `calico-node could not be asked on ${count(forbidden.length, 'node')}: forbidden: ${reason}`, fix: 'Grant "get" and "create" on pods/exec in calico-system (README: RBAC), or run as a user who has them' });
  }
  const rest = withProblem.filter((n) => n.problem!.kind !== 'forbidden');
  for (const [, group] of groupBy(rest, (n) => `${n.problem!.kind}\n${n.problem!.kind === 'pod-not-running' ? n.problem!.message.replace(/^calico-node pod \S+ is /, '') : n.problem!.kind === 'not-asked' ? n.problem!.message : ''}`)) {
    const { kind, message } = group[0]!.problem!;
    const who = list(names(group));
    const missed = NOT_RUNNING.includes(kind) ? new Set(group.flatMap((n) => [...(missedBy.get(n.name) ?? [])])) : new Set<string>();
    const echo = missed.size ? `; ${count(missed.size, 'node')} ${missed.size === 1 ? 'sees its' : 'see their'} session with ${group.length === 1 ? 'it' : 'them'} down` : '';
    if (kind === 'no-pod') out.push({ kind: 'no-calico-node', nodes: names(group), message: `no calico-node pod on ${who}${echo}`, cause: 'the calico-node DaemonSet does not place a pod there (a taint, a node selector) or the pod was deleted', fix: 'kubectl calico status; kubectl describe daemonset -n calico-system calico-node' });
    else if (kind === 'pod-not-running') out.push({ kind: 'calico-node-not-running', nodes: names(group), message: `calico-node is not running on ${who}: ${group.length === 1 ? message : message.replace(/^calico-node pod \S+ is /, 'its pod is ')}${echo}`, fix: `kubectl describe pod -n calico-system ${group[0]!.pod}` });
    else if (kind === 'kubelet-unreachable') out.push({ kind: 'kubelet-unreachable', nodes: names(group), message: `the API server cannot reach the kubelet of ${who}, so calico-node there could not be asked (${serverWords(message)})`, cause: 'the node is down, or the control plane cannot reach its kubelet on TCP 10250', fix: `kubectl get node ${group[0]!.name} -o wide; check the node and TCP 10250 from the control plane` });
    else if (kind === 'not-asked') out.push({ kind: 'not-asked', nodes: names(group), message: `calico-node on ${who} was not asked: ${message.replace(/^not asked: /, '')}` });
    else out.push({ kind: 'exec-failed', nodes: names(group), message: `calico-node could not be asked on ${who}: ${message.replace(/^running \S+ in \S+ \(container [^)]*\): /, '')}`, fix: `kubectl exec -n calico-system ${group[0]!.pod} -c calico-node -- calico-node -felix-ready` });
  }
  return out;
}

interface View {
  node: NodeResult;
  /** BIRD's row, or the expected session BIRD does not have. */
  row?: PeerRow;
  missing?: ExpectedPeer;
}

/** Sessions that are down, by pair of nodes (or node and outside peer); `missedBy`: who sees a session with a node whose calico-node does not run. */
function downSessions(snapshot: NodeStatusSnapshot, byName: Map<string, NodeResult>): { findings: Finding[]; missedBy: Map<string, Set<string>> } {
  const { bgp } = snapshot;
  const missedBy = new Map<string, Set<string>>();
  const pairs = new Map<string, View[]>();
  const external: View[] = [];
  const unexpected: View[] = [];
  for (const node of snapshot.nodes) {
    if (node.problem) continue;
    const views: View[] = [
      ...node.peers.filter((p) => p.expected && p.bgpState !== 'Established').map((row) => ({ node, row })),
      ...node.missing.map((missing) => ({ node, missing })),
    ];
    unexpected.push(...node.peers.filter((p) => !p.expected).map((row) => ({ node, row })));
    for (const view of views) {
      const other = view.row?.peerNode ?? view.missing?.node;
      if (!other) {
        external.push(view);
        continue;
      }
      const otherResult = byName.get(other);
      if (otherResult?.problem && NOT_RUNNING.includes(otherResult.problem.kind)) {
        if (!missedBy.has(other)) missedBy.set(other, new Set());
        missedBy.get(other)!.add(node.name);
        continue;
      }
      const pair = [node.name, other].sort().join('\n');
      if (!pairs.has(pair)) pairs.set(pair, []);
      pairs.get(pair)!.push(view);
    }
  }
  const findings: Finding[] = [];
  // A node with no session up at all is one finding, not one per peer.
  const isolated = snapshot.nodes.filter((n) => !n.problem && n.sessions.total >= 2 && n.sessions.established === 0 && n.birdErrors.length === 0);
  const isolatedNames = new Set(isolated.map((n) => n.name));
  for (const node of isolated) {
    const ip = node.addresses.ipv4 ?? node.addresses.ipv6 ?? 'its address';
    findings.push({
      kind: 'node-isolated', nodes: [node.name],
      message: `${node.name} (${ip}) has no Established BGP session with any of its ${node.sessions.total} peers`,
      cause: `usually TCP 179 is blocked to and from ${ip}, or BIRD on ${node.name} is not running`,
      impact: impact(bgp.routing.ipv4 ?? bgp.routing.ipv6, node.name, 'any other node', true),
      fix: `allow TCP 179 between ${ip} and the other nodes, both ways; kubectl logs -n calico-system ${node.pod} -c calico-node`,
    });
  }
  for (const [pair, views] of pairs) {
    const [a, b] = pair.split('\n') as [string, string];
    if (isolatedNames.has(a) || isolatedNames.has(b)) continue;
    findings.push(sessionFinding(snapshot, byName, a, b, views));
  }
  for (const view of external) {
    const peer = view.row ?? view.missing!;
    const text = view.row ? `is ${view.row.bgpState}${view.row.info ? ` (${view.row.info})` : ''}` : 'is not configured in BIRD';
    findings.push({
      kind: view.row ? 'external-peer-down' : 'session-missing', nodes: [view.node.name],
      message: `${view.node.name}'s BGP session with ${peerAddress(peer)} (${typeOf(peer)}, outside the cluster) ${text}`,
      cause: view.row?.info.includes('refused') ? `${peerAddress(peer)} refuses BGP connections from ${view.node.addresses.ipv4 ?? view.node.name}` : `TCP 179 blocked between ${view.node.name} and ${peer.address}, or the router is not configured to peer with ${view.node.addresses.ipv4 ?? view.node.name}`,
      fix: `check the router at ${peerAddress(peer)} (its neighbour configuration, AS ${bgp.asNumber ?? 'number'}) and TCP 179 from ${view.node.addresses.ipv4 ?? view.node.name}`,
    });
  }
  for (const [, group] of groupBy(unexpected, (v) => peerAddress(v.row!))) {
    const row = group[0]!.row!;
    findings.push({
      kind: 'session-unexpected', nodes: group.map((v) => v.node.name),
      message: `BIRD on ${list(group.map((v) => v.node.name))} has a ${row.kind === 'Mesh' ? 'mesh ' : ''}session with ${peerAddress(row)}, which ${row.peerNode ? `the BGP configuration does not ask for` : 'is no node of the cluster and no BGPPeer names'} (${row.bgpState})`,
      cause: row.peerNode ? 'confd has not caught up with a change of the BGP configuration' : 'a deleted node\'s address is still in the configuration, or confd has not caught up',
      fix: `kubectl get nodes -o wide; kubectl get bgppeers.crd.projectcalico.org; kubectl logs -n calico-system ${group[0]!.node.pod} -c calico-node`,
    });
  }
  return { findings, missedBy };
}

/** One pair's down session, told from both ends. */
function sessionFinding(snapshot: NodeStatusSnapshot, byName: Map<string, NodeResult>, a: string, b: string, views: View[]): Finding {
  const ip = (name: string) => snapshot.nodeAddresses[name]?.ipv4 ?? snapshot.nodeAddresses[name]?.ipv6 ?? name;
  const sideOf = (self: string, other: string): string => {
    const view = views.find((v) => v.node.name === self);
    if (view?.row) return `${self} sees ${infoColumn(view.row)}`;
    if (view?.missing) return `${self}'s BIRD has no session with ${other}`;
    const result = byName.get(self);
    if (!result) return `${self} was not asked (not picked)`;
    if (result.problem) return `${self} could not be asked (${result.problem.kind})`;
    const row = result.peers.find((p) => p.peerNode === other);
    return row ? `${self} sees ${infoColumn(row)}` : `${self}'s BIRD has no session with ${other}`;
  };
  const rows = views.map((v) => v.row).filter((r): r is PeerRow => r !== undefined);
  const missingOnly = rows.length === 0;
  const mesh = views.some((v) => (v.row ?? v.missing)!.kind === 'Mesh');
  let cause = `usually TCP 179 is blocked between ${ip(a)} and ${ip(b)} (a firewall, a security group, a network ACL)`;
  if (missingOnly) cause = 'confd has not configured this session (a node without a BGP address, or a configuration change not yet picked up)';
  else if (rows.some((r) => /refused/i.test(r.info))) cause = `BIRD on one end refuses the connection (calico-node restarting there, or BGP listening on another port); else TCP 179 is blocked between ${ip(a)} and ${ip(b)}`;
  return {
    kind: missingOnly ? 'session-missing' : 'session-down', nodes: [a, b],
    message: `BGP session between ${a} (${ip(a)}) and ${b} (${ip(b)}) is not Established: ${sideOf(a, b)}; ${sideOf(b, a)}`,
    cause,
    impact: impact(views.some((v) => (v.row ?? v.missing)!.family === 4) ? snapshot.bgp.routing.ipv4 : snapshot.bgp.routing.ipv6, a, b, mesh),
    fix: missingOnly ? `kubectl logs -n calico-system ${byName.get(a)?.pod ?? 'calico-node-…'} -c calico-node` : `allow TCP 179 between ${ip(a)} and ${ip(b)}, both ways; then kubectl calico node status --nodes ${a},${b}`,
  };
}

function impact(routing: Routing | undefined, a: string, b: string, direct: boolean): string {
  if (routing !== 'bgp') return 'only BIRD\'s readiness: with VXLAN pools Felix programs the pod routes itself, so pod traffic still flows';
  return direct
    ? `pod traffic between ${a} and ${b}: with IPIP or unencapsulated pools the routes come from BGP`
    : `the routes ${a} learns through ${b}: with IPIP or unencapsulated pools they come from BGP`;
}

function felixAdvice(message: string, node: NodeResult): Pick<Finding, 'cause' | 'fix'> {
  if (/503/.test(message)) return { cause: 'Felix has not got its data: it usually cannot reach Typha (TCP 5473 between nodes)', fix: `allow TCP 5473 from this node to the calico-typha pods' nodes; kubectl logs -n calico-system ${node.pod} -c calico-node` };
  if (/connection refused|9099/.test(message)) return { cause: 'Felix is not running in calico-node', fix: `kubectl logs -n calico-system ${node.pod} -c calico-node` };
  return { fix: `kubectl logs -n calico-system ${node.pod} -c calico-node` };
}

function typeOf(peer: { kind: keyof typeof PEER_TYPES }): string {
  return `${PEER_TYPES[peer.kind]} peer`;
}

/** The API server's own words inside an exec error. */
function serverWords(message: string): string {
  return /(dial tcp [^"]*)$/.exec(message)?.[1] ?? message.replace(/^running \S+ in \S+ \(container [^)]*\): /, '');
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(item);
  }
  return groups;
}

function names(nodes: NodeResult[]): string[] {
  return nodes.map((n) => n.name);
}

/** `a, b and c`, or the first five and how many more. */
export function list(items: string[]): string {
  const shown = items.length > 5 ? [...items.slice(0, 5), `${items.length - 5} more`] : items;
  return shown.length <= 1 ? (shown[0] ?? '') : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
