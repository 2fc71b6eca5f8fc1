// What the diagnosis reads from the cluster besides the probes: the IP pools
// (how traffic between two nodes travels), each node's address and subnet as
// calico-node sees them, calico-node's readiness and what its readiness probe
// last said (the BGP sessions it lacks), and CoreDNS. All read-only, a few
// lists; a list the server does not have (no Calico CRDs) is empty. When the
// probes fail across nodes or a calico-node is not Ready, BIRD itself is
// asked on those nodes (node status's reading): a readiness event says
// nothing once one peer is Established again, and events expire.
import { parseCidr, parseNetwork, type Cidr } from '../cidr.ts';
import { CliError } from '../../cli/errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import { listAll } from '../../kube/list.ts';
import { readNodeStatus } from '../bgp/node-status.ts';
import { podDetail, podReady, type Pod } from '../pods.ts';
import type { ProbeResult } from './probe.ts';

export interface Pool {
  name: string;
  cidr: Cidr;
  vxlanMode: string;
  ipipMode: string;
  natOutgoing: boolean;
}

export interface NodeNetwork {
  name: string;
  internalIP: string | undefined;
  /** The node's network (projectcalico.org/IPv4Address, e.g. 192.168.56.0/24), when calico-node has annotated it. */
  subnet: string | undefined;
  /** Its IPv6 address and network (projectcalico.org/IPv6Address), on dual-stack and IPv6-only nodes. */
  ipv6?: string;
  subnet6?: string;
}

/** The network a node is in: its IPv4 one, else its IPv6 one (an IPv6-only node). */
export function nodeSubnet(node: NodeNetwork): string | undefined {
  return node.subnet ?? node.subnet6;
}

export interface CalicoNode {
  pod: string;
  ready: boolean;
  /** Why it is not ready: the readiness probe's last output (`calico/node is not ready: BIRD is not ready: …`), else the pod's state. */
  message: string;
}

export interface DataplaneFacts {
  pools: Pool[];
  nodes: Map<string, NodeNetwork>;
  calicoNodes: Map<string, CalicoNode>;
  /** For each node, the peers its BIRD last reported not Established (node names where the address is a node's). */
  bgpDown: Map<string, Set<string>>;
  /** CoreDNS's pods: how many are ready, what the others say, and the nodes they run on. */
  coreDNS: { ready: number; total: number; problems: string[]; nodes: string[] };
}

export interface NodeObject {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
  status?: { addresses?: { type: string; address: string }[] };
}

interface IPPoolObject {
  metadata: { name: string };
  spec?: { cidr?: string; vxlanMode?: string; ipipMode?: string; natOutgoing?: boolean; disabled?: boolean };
}

interface EventObject {
  involvedObject?: { name?: string };
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
  metadata: { creationTimestamp?: string };
}

/** The node networks, from the node list the command already read. */
export function nodeNetworks(nodes: NodeObject[]): Map<string, NodeNetwork> {
  return new Map(nodes.map((n) => {
    const annotated = n.metadata.annotations?.['projectcalico.org/IPv4Address'];
    const annotated6 = n.metadata.annotations?.['projectcalico.org/IPv6Address'];
    const subnet6 = annotated6 ? parseNetwork(annotated6)?.text : undefined;
    return [n.metadata.name, {
      name: n.metadata.name,
      internalIP: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? (annotated ?? annotated6)?.split('/')[0],
      subnet: annotated ? parseNetwork(annotated)?.text : undefined,
      ...(annotated6 ? { ipv6: annotated6.split('/')[0]! } : {}),
      ...(subnet6 ? { subnet6 } : {}),
    }];
  }));
}

export async function readFacts(kube: KubeClient, nodes: Map<string, NodeNetwork>, signal: AbortSignal): Promise<DataplaneFacts> {
  const [pools, calicoPods, events, dnsPods] = await Promise.all([
    listAll<IPPoolObject>(kube, '/apis/crd.projectcalico.org/v1/ippools', { signal, optional: true }),
    listAll<Pod>(kube, '/api/v1/namespaces/calico-system/pods', { query: { labelSelector: 'k8s-app=calico-node' }, signal, optional: true }),
    listAll<EventObject>(kube, '/api/v1/namespaces/calico-system/events', { query: { fieldSelector: 'reason=Unhealthy' }, signal, optional: true }),
    listAll<Pod>(kube, '/api/v1/namespaces/kube-system/pods', { query: { labelSelector: 'k8s-app=kube-dns' }, signal, optional: true }),
  ]);
  const lastProbe = new Map<string, { at: number; message: string }>();
  for (const event of events) {
    const pod = event.involvedObject?.name;
    const at = Date.parse(event.lastTimestamp ?? event.eventTime ?? event.metadata.creationTimestamp ?? '') || 0;
    if (pod && event.message && at >= (lastProbe.get(pod)?.at ?? -1)) lastProbe.set(pod, { at, message: event.message.replace(/^Readiness probe (failed|errored): /, '').trim() });
  }
  // BIRD names its peers by address, BIRD6 by their IPv6 address.
  const byIP = new Map([...nodes.values()].flatMap((n) => [n.internalIP, n.ipv6].filter((ip): ip is string => ip !== undefined).map((ip) => [ip, n.name] as const)));
  const calicoNodes = new Map<string, CalicoNode>();
  const bgpDown = new Map<string, Set<string>>();
  for (const pod of calicoPods) {
    const node = pod.spec?.nodeName;
    if (!node || pod.metadata.deletionTimestamp) continue;
    const ready = podReady(pod);
    const probe = lastProbe.get(pod.metadata.name)?.message;
    const detail = podDetail(pod);
    calicoNodes.set(node, { pod: pod.metadata.name, ready, message: ready ? '' : (probe ?? `${detail.reason}: ${detail.message}`) });
    // What BIRD last said of its peers, even if calico-node is Ready again: after its first 30 s one Established peer is enough.
    const peers = /BGP not established with ([0-9a-fA-F.:,\s]+)/i.exec(probe ?? '')?.[1];
    if (peers) bgpDown.set(node, new Set(peers.split(',').map((p) => p.trim()).filter(Boolean).map((ip) => byIP.get(ip) ?? ip)));
  }
  const poolList = pools.flatMap((p): Pool[] => {
    if (!p.spec?.cidr || p.spec.disabled) return [];
    try {
      return [{ name: p.metadata.name, cidr: parseCidr(p.spec.cidr, 'ippool'), vxlanMode: p.spec.vxlanMode ?? 'Never', ipipMode: p.spec.ipipMode ?? 'Never', natOutgoing: p.spec.natOutgoing === true }];
    } catch {
      return [];
    }
  });
  const live = dnsPods.filter((p) => !p.metadata.deletionTimestamp);
  const coreDNS = {
    ready: live.filter(podReady).length,
    total: live.length,
    problems: live.filter((p) => !podReady(p)).map((p) => `${p.metadata.name}: ${podDetail(p).reason}: ${podDetail(p).message}`),
    nodes: [...new Set(live.flatMap((p) => (p.spec?.nodeName ? [p.spec.nodeName] : [])))],
  };
  return { pools: poolList, nodes, calicoNodes, bgpDown, coreDNS };
}

/** Each of the few commands run in calico-node for the BGP reading (readiness, birdcl). */
const BGP_EXEC_TIMEOUT_MS = 10_000;
/** BIRD is asked on this many nodes at most: on 2,000 nodes whose pairs all fail, asking each would outlast any --timeout. */
export const BGP_NODES = 50;
/** After its budget the reading has this long to hand back what it has before it is left behind. */
const BGP_GRACE_MS = 2_000;

/**
 * The nodes whose BGP sessions can explain what failed, `limit` at most: both ends of failed cross-node probes to a
 * pod, pair by pair (so that asked nodes make whole pairs), then those whose calico-node is not Ready; and how many
 * nodes that would have been without the limit.
 */
export function nodesToAskBgp(results: ProbeResult[], facts: DataplaneFacts, limit = BGP_NODES): { nodes: string[]; wanted: number } {
  const wanted = new Set<string>();
  for (const r of results) {
    if (r.result === 'FAIL' && r.to.kind === 'pod' && r.to.node && r.to.node !== r.from.node && facts.nodes.has(r.from.node) && facts.nodes.has(r.to.node)) wanted.add(r.from.node).add(r.to.node);
  }
  for (const [node, calicoNode] of facts.calicoNodes) if (!calicoNode.ready && facts.nodes.has(node)) wanted.add(node);
  // In the order added: a failed pair's two ends are next to each other.
  const nodes = [...wanted].slice(0, limit);
  return { nodes: nodes.sort(), wanted: wanted.size };
}

/**
 * Asks BIRD on `nodes` (birdcl show protocols in calico-node, as node status does) which peers are not Established,
 * and puts that in place of what the readiness events said, node by node. A node BIRD could not be asked on keeps
 * the events' word; so does every node when the reading fails as a whole (no Installation, a refused read). The
 * reading stops after `budgetMs` (what has been read by then counts) so that the probes' report is not lost to the
 * run's --timeout; returns how many nodes were not asked for want of time.
 */
export async function readBgpSessions(kube: KubeClient, facts: DataplaneFacts, nodes: string[], signal: AbortSignal, budgetMs: number): Promise<{ unanswered: number }> {
  if (!nodes.length) return { unanswered: 0 };
  const step = AbortSignal.any([signal, AbortSignal.timeout(budgetMs)]);
  const reading = readNodeStatus(kube, { pick: { names: nodes, selector: [] }, concurrency: 32, execTimeoutMs: Math.min(BGP_EXEC_TIMEOUT_MS, budgetMs), signal: step });
  reading.catch(() => {});
  // The execs stop at the budget; the lists before them do not listen, so the reading is left behind a little later.
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, budgetMs + BGP_GRACE_MS, 'late');
    onAbort = () => resolve('late');
    signal.addEventListener('abort', onAbort, { once: true });
  });
  let snapshot: Awaited<typeof reading> | 'late';
  try {
    snapshot = await Promise.race([reading, late]);
  } catch (error) {
    if (signal.aborted || !(error instanceof CliError)) throw signal.aborted ? signal.reason : error;
    return { unanswered: 0 };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort!);
  }
  if (signal.aborted) throw signal.reason;
  if (snapshot === 'late') return { unanswered: nodes.length };
  if (!snapshot.bgp.enabled) return { unanswered: 0 };
  let unanswered = 0;
  for (const node of snapshot.nodes) {
    if (node.problem?.kind === 'not-asked') unanswered++;
    if (node.problem || node.birdErrors.length) continue;
    const down = [
      ...node.peers.filter((p) => p.bgpState !== 'Established').map((p) => p.peerNode ?? p.address),
      ...node.missing.map((p) => p.node ?? p.address),
    ];
    if (down.length) facts.bgpDown.set(node.name, new Set(down));
    else facts.bgpDown.delete(node.name);
  }
  return { unanswered };
}
