// Whether a probe from a pod or a host reaches an address and port, decided
// by a model of Calico's data plane — no packet is ever sent. It answers as
// the probe would see it: delivered (to what listens there), refused (the
// destination answers that nothing listens, or kube-proxy rejects a Service
// without endpoints), or timeout (dropped somewhere, silently).
//
// The rules, in the order a packet meets them:
// 1. A Service ClusterIP:port is DNATed by kube-proxy (iptables mode) on the
//    sending node to one of the Service's ready endpoints, chosen at random
//    per connection as kube-proxy's `statistic --mode random` rules do; no
//    ready endpoint: REJECT (refused); a port the Service lacks: no rule, the
//    packet follows the default route and is lost (timeout).
// 2. Felix must be ready on every node whose Calico routes or workload
//    interfaces the flow uses (calico-node.ts's felixReady): the nodes of
//    its pod ends, a host sending to a remote pod, a host answering a pod
//    that is not masqueraded. Host-to-host traffic never involves Calico
//    (host endpoints are not modelled).
// 3. Between two nodes, traffic to a pod IP follows its pool's encapsulation
//    against the nodes' subnets (Felix's CrossSubnet test: the peer's address
//    inside the local interface's network): VXLAN routes are Felix's and
//    need UDP 4789; IPIP needs IP protocol 4 and routes from BGP (an
//    Established session); unencapsulated traffic needs BGP routes — except
//    a VXLANCrossSubnet pool's same-subnet routes, which Felix programs — and
//    an underlay that accepts pod addresses (no source/destination check).
//    Replies to a pod cross back under its own pool's rules.
// 4. A pod's traffic to an address outside every pool is masqueraded to its
//    node's address when its pool has natOutgoing; otherwise it leaves with
//    the pod's address (dropped by a source/destination check, and never
//    answered from outside the cluster).
// 5. Policy (policy.ts's policyVerdict) judges every flow after DNAT; a
//    denial drops silently, as Calico's default action does.
// 6. At the destination, what listens decides (programs/servers.ts): nothing
//    on the port is refused (a TCP RST, or ICMP port unreachable for UDP).
//
// Outside the cluster exists only what `setOutside` lists (a closed test
// network): an unlisted address never answers; a listed one refuses the
// ports it does not list.
//
// IPv6 follows the same rules within its own family: a flow to an IPv6
// address leaves from the source's IPv6 address (its pod's, or its node's
// IPv6 InternalIP), meets kube-proxy's ip6tables rules for a Service's IPv6
// ClusterIP (the Service's IPv6 EndpointSlices), the IPv6 pools'
// encapsulation against the nodes' IPv6 networks, and BIRD6's routes (an
// Established IPv6 BGP session) for an unencapsulated IPv6 pool; the
// source/destination check drops unencapsulated pod addresses of either
// family. Simulated: a source without an address of the destination's
// family (a single-stack pod asked for an IPv6 address) is not modelled.
import type { Runtime } from '../controllers/runtime.ts';
import { Index } from '../controllers/runtime.ts';
import { nodeInternalIPOf, parseAddress, parseCidr } from '../controllers/ipam.ts';
import { HOST_LISTENERS, podListeners, type Listener, type Protocol } from '../programs/servers.ts';
import { NotSimulated } from '../programs/program.ts';
import type { KubeObject } from '../types.ts';
import { bgpRouteLearned, felixReady } from './calico-node.ts';
import { dropped } from './faults.ts';
import { policyVerdict, type Endpoint } from './policy.ts';
import { podIPOf } from './routes.ts';

type Family = 4 | 6;

const familyOf = (ip: string): Family => (ip.includes(':') ? 6 : 4);

/** Where a probe starts: a pod (a hostNetwork pod is its node's host), or a node's host itself. */
export type Source = { pod: KubeObject } | { node: string };

export type Reach =
  | {
    outcome: 'delivered';
    /** The endpoint that answers: after DNAT for a Service. */
    to: Endpoint;
    port: number;
    listener: Listener;
    /** The Service the flow went through. */
    service?: KubeObject;
    /** The source as the destination sees it (after masquerading). */
    from: Endpoint;
  }
  | { outcome: 'refused' | 'timeout'; why: string };

/** An address outside the cluster that answers, on the listed ports. */
export interface OutsideHost {
  ip: string;
  listeners: Listener[];
}

interface ByFamily {
  podsByIP: Index;
  nodesByIP: Index;
  servicesByIP: Index;
}

interface Indexes extends Record<Family, ByFamily> {
  slicesByService: Index;
}

const indexes = new WeakMap<Runtime, Indexes>();
const outsideWorld = new WeakMap<Runtime, OutsideHost[]>();

/** What exists outside the cluster (a closed test network: nothing unless listed). */
export function setOutside(rt: Runtime, hosts: OutsideHost[]): void {
  outsideWorld.set(rt, hosts);
}

/** `203.0.113.10:443` or `203.0.113.10:53/udp` — the form of the test cluster's `--outside` flag. */
export function parseOutside(texts: string[]): OutsideHost[] {
  const hosts = new Map<string, OutsideHost>();
  for (const text of texts) {
    const match = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+)(?:\/(tcp|udp))?)?$/i.exec(text);
    if (!match) throw new Error(`--outside: "${text}" is not IP[:PORT[/tcp|udp]]`);
    const [, ip = '', port, protocol = 'tcp'] = match;
    const host = hosts.get(ip) ?? { ip, listeners: [] };
    if (port) host.listeners.push({ port: Number(port), protocol: protocol.toUpperCase() as Protocol, server: 'other' });
    hosts.set(ip, host);
  }
  return [...hosts.values()];
}

function indexesOf(rt: Runtime): Indexes {
  let found = indexes.get(rt);
  if (!found) {
    const store = rt.api.store;
    // An object's address of each family: a pod's podIPs, a node's InternalIPs, a Service's clusterIPs.
    const byFamily = (family: Family): ByFamily => ({
      podsByIP: new Index(store, 'pods', (pod) => ((pod.spec as { hostNetwork?: boolean }).hostNetwork ? undefined : podIPOf(pod, family))),
      nodesByIP: new Index(store, 'nodes', (node) => ((node.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).find((a) => a.type === 'InternalIP' && familyOf(a.address) === family)?.address),
      servicesByIP: new Index(store, 'services', (svc) => {
        const spec = svc.spec as { clusterIP?: string; clusterIPs?: string[] } | undefined;
        return (spec?.clusterIPs ?? (spec?.clusterIP ? [spec.clusterIP] : [])).find((ip) => ip !== 'None' && familyOf(ip) === family);
      }),
    });
    found = {
      4: byFamily(4),
      6: byFamily(6),
      slicesByService: new Index(store, 'endpointslices.discovery.k8s.io', (slice) => {
        const service = slice.metadata.labels?.['kubernetes.io/service-name'];
        return service ? `${slice.metadata.namespace}/${service}` : undefined;
      }),
    };
    indexes.set(rt, found);
  }
  return found;
}

/** A node's InternalIP of the family (its first InternalIP for IPv4, as before dual-stack). */
function internalIP(rt: Runtime, node: string, family: Family = 4): string | undefined {
  return nodeInternalIPOf(rt, node, family);
}

/** One end of a flow as policy sees it: its address of `family` (a pod's podIPs, a host's InternalIPs). */
export function endpointOf(rt: Runtime, source: Source, family: Family = 4): Endpoint {
  if ('node' in source) return { ip: internalIP(rt, source.node, family) ?? '', node: source.node, pod: undefined };
  const spec = source.pod.spec as { nodeName?: string; hostNetwork?: boolean };
  const podIP = podIPOf(source.pod, family) ?? '';
  if (spec.hostNetwork) return { ip: podIP, node: spec.nodeName, pod: undefined };
  return { ip: podIP, node: spec.nodeName, pod: source.pod };
}

export function reach(rt: Runtime, from: Source, address: string, port: number, protocol: Protocol): Reach {
  const family = familyOf(address);
  const src = endpointOf(rt, from, family);
  const { podsByIP, nodesByIP, servicesByIP } = indexesOf(rt)[family];
  if (/^127\./.test(address) || address === '::1' || address === src.ip) throw new NotSimulated(`a probe of the pod's own address or loopback (${address}) is not simulated`);
  if (!src.ip) throw new NotSimulated(`a probe of ${address} from a source without an IPv${family} address (connect: network is unreachable) is not simulated`);
  const service = servicesByIP.get(address)[0];
  if (service) {
    const backend = serviceBackend(rt, service, port, protocol, family);
    if ('outcome' in backend) return backend;
    const result = reachEndpoint(rt, src, backend.ip, backend.port, protocol);
    return result.outcome === 'delivered' ? { ...result, service } : result;
  }
  if (podsByIP.count(address) > 0 || nodesByIP.count(address) > 0) return reachEndpoint(rt, src, address, port, protocol);
  return reachOutside(rt, src, address, port, protocol);
}

/** kube-proxy's choice among a Service's endpoints for `port` (from its slices of the ClusterIP's family): ready ones, else serving terminating ones. */
function serviceBackend(rt: Runtime, service: KubeObject, port: number, protocol: Protocol, family: Family): { ip: string; port: number } | Reach {
  const id = `${service.metadata.namespace}/${service.metadata.name}`;
  const servicePort = ((service.spec as { ports?: { name?: string; port: number; protocol?: string }[] }).ports ?? []).find((p) => p.port === port && (p.protocol ?? 'TCP') === protocol);
  if (!servicePort) return { outcome: 'timeout', why: `Service ${id} has no port ${port}/${protocol}: no kube-proxy rule matches, the packet follows the default route` };
  const candidates: { ip: string; port: number; ready: boolean; serving: boolean }[] = [];
  for (const slice of indexesOf(rt).slicesByService.get(id)) {
    // kube-proxy's ip6tables (or iptables) proxier reads only the slices of its own family.
    if ((slice.addressType ?? 'IPv4') !== `IPv${family}`) continue;
    const slicePort = ((slice.ports as { name?: string; port?: number; protocol?: string }[] | undefined) ?? []).find((p) => (p.name ?? '') === (servicePort.name ?? '') && (p.protocol ?? 'TCP') === protocol);
    if (slicePort?.port === undefined) continue;
    for (const endpoint of (slice.endpoints as { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean } }[] | undefined) ?? []) {
      const ready = endpoint.conditions?.ready !== false;
      candidates.push({ ip: endpoint.addresses[0]!, port: slicePort.port, ready, serving: endpoint.conditions?.serving ?? ready });
    }
  }
  const ready = candidates.filter((c) => c.ready);
  const usable = ready.length > 0 ? ready : candidates.filter((c) => c.serving);
  if (usable.length === 0) return { outcome: 'refused', why: `Service ${id} has no endpoints: kube-proxy rejects (icmp-port-unreachable)` };
  return usable[Math.floor(Math.random() * usable.length)]!;
}

/** The endpoint at a pod's or a node's address, and whether the path there and back holds. */
function reachEndpoint(rt: Runtime, src: Endpoint, address: string, port: number, protocol: Protocol): Reach {
  const { podsByIP, nodesByIP } = indexesOf(rt)[familyOf(address)];
  const pod = podsByIP.get(address).find((p) => !p.metadata.deletionTimestamp) ?? podsByIP.get(address)[0];
  const node = pod ? (pod.spec as { nodeName: string }).nodeName : nodesByIP.get(address)[0]?.metadata.name;
  if (!node) return { outcome: 'timeout', why: `no pod or node has address ${address}` };
  const dst: Endpoint = { ip: address, node, pod };
  const drop = pathDrop(rt, src, dst);
  if (drop) return { outcome: 'timeout', why: drop };
  const seen = sourceSeenBy(rt, src, dst);
  const verdict = policyVerdict(rt, { src, dst, protocol, port });
  if ('unjudgeable' in verdict) throw new NotSimulated(`policy: ${verdict.unjudgeable}`);
  if (!verdict.allowed) return { outcome: 'timeout', why: `denied by ${verdict.by}` };
  const listeners = pod ? (running(pod) ? podListeners(pod) : []) : hostListeners(rt, node);
  const listener = listeners.find((l) => l.port === port && l.protocol === protocol);
  if (!listener) return { outcome: 'refused', why: `nothing listens on ${address}:${port}/${protocol}${pod && !running(pod) ? ` (pod ${pod.metadata.name} is not running)` : ''}` };
  return { outcome: 'delivered', to: dst, port, listener, from: seen };
}

/** A pod's containers serve only while they run (a CrashLoopBackOff container listens on nothing). */
function running(pod: KubeObject): boolean {
  const status = pod.status as { phase?: string; containerStatuses?: { state?: { running?: object } }[] } | undefined;
  return status?.phase === 'Running' && (status.containerStatuses ?? []).some((s) => s.state?.running);
}

/** The kubelet, plus the running hostNetwork pods of the node. */
function hostListeners(rt: Runtime, node: string): Listener[] {
  const pods = rt.podsByNode.get(node).filter((p) => (p.spec as { hostNetwork?: boolean }).hostNetwork && running(p));
  return [...HOST_LISTENERS, ...pods.flatMap(podListeners)];
}

function reachOutside(rt: Runtime, src: Endpoint, address: string, port: number, protocol: Protocol): Reach {
  const pool = poolOf(rt, address);
  if (pool) return { outcome: 'timeout', why: `${address} is in pool ${pool.name} but no pod has it (a blackhole route)` };
  if (src.pod) {
    if (!felixReady(rt, src.node!)) return { outcome: 'timeout', why: `Felix is not ready on ${src.node}` };
    const own = poolOf(rt, src.ip);
    if (!own?.natOutgoing) return { outcome: 'timeout', why: `pool ${own?.name ?? '(none)'} has no natOutgoing: the packet leaves with the pod's address and no answer comes back` };
  }
  const dst: Endpoint = { ip: address, node: undefined, pod: undefined };
  const verdict = policyVerdict(rt, { src, dst, protocol, port });
  if ('unjudgeable' in verdict) throw new NotSimulated(`policy: ${verdict.unjudgeable}`);
  if (!verdict.allowed) return { outcome: 'timeout', why: `denied by ${verdict.by}` };
  const host = (outsideWorld.get(rt) ?? []).find((h) => h.ip === address);
  if (!host) return { outcome: 'timeout', why: `nothing outside the cluster answers at ${address}` };
  const listener = host.listeners.find((l) => l.port === port && l.protocol === protocol);
  if (!listener) return { outcome: 'refused', why: `${address} does not listen on ${port}/${protocol}` };
  const from = src.pod ? { ip: internalIP(rt, src.node!, familyOf(address)) ?? '', node: src.node, pod: undefined } : src;
  return { outcome: 'delivered', to: dst, port, listener, from };
}

/** Felix's nat-outgoing masquerades a pod's traffic to addresses outside every pool (node addresses too). */
function sourceSeenBy(rt: Runtime, src: Endpoint, dst: Endpoint): Endpoint {
  if (!src.pod || dst.pod || src.node === dst.node || !poolOf(rt, src.ip)?.natOutgoing) return src;
  return { ip: internalIP(rt, src.node!, familyOf(src.ip)) ?? src.ip, node: src.node, pod: undefined };
}

/** Why the path from `src` to `dst` and back drops the flow, or undefined when it holds. */
function pathDrop(rt: Runtime, src: Endpoint, dst: Endpoint): string | undefined {
  const a = src.node!;
  const b = dst.node!;
  const remote = a !== b;
  // Felix wires each pod's interface and programs the routes to remote pods.
  const felixNodes = new Set<string>();
  if (src.pod) felixNodes.add(a);
  if (dst.pod) felixNodes.add(b);
  if (dst.pod && !src.pod && remote) felixNodes.add(a);
  for (const node of felixNodes) if (!felixReady(rt, node)) return `Felix is not ready on ${node}`;
  if (!remote || (!src.pod && !dst.pod)) return undefined;
  if (src.pod && !dst.pod) {
    // To another node's address: masqueraded (host to host), or the pod's address on the underlay.
    const pool = poolOf(rt, src.ip);
    if (pool?.natOutgoing) return undefined;
    if (rt.network.sourceDestCheck) return `the underlay drops a packet from pod address ${src.ip} (source/destination check)`;
    // The reply goes back to the pod's address: a route Felix (or BIRD) programs on the destination.
    if (!felixReady(rt, b)) return `Felix is not ready on ${b}: no route back to ${src.ip}`;
    return segmentDrop(rt, b, a, src.ip);
  }
  return segmentDrop(rt, a, b, dst.ip) ?? (src.pod ? segmentDrop(rt, b, a, src.ip) : undefined);
}

interface Pool {
  name: string;
  family: Family;
  base: bigint;
  size: bigint;
  vxlanMode: string;
  ipipMode: string;
  natOutgoing: boolean;
}

function pools(rt: Runtime): Pool[] {
  return rt.api.store.list('ippools.crd.projectcalico.org').flatMap((pool) => {
    const spec = pool.spec as { cidr?: string; vxlanMode?: string; ipipMode?: string; natOutgoing?: boolean; disabled?: boolean } | undefined;
    if (!spec?.cidr) return [];
    const { family, base, prefix } = parseCidr(spec.cidr);
    return [{ name: pool.metadata.name, family, base, size: 1n << BigInt((family === 4 ? 32 : 128) - prefix), vxlanMode: spec.vxlanMode ?? 'Never', ipipMode: spec.ipipMode ?? 'Never', natOutgoing: spec.natOutgoing === true }];
  });
}

function poolOf(rt: Runtime, ip: string): Pool | undefined {
  if (!ip) return undefined;
  const { family, value } = parseAddress(ip);
  return pools(rt).find((p) => p.family === family && value >= p.base && value < p.base + p.size);
}

/** Felix's CrossSubnet test: the peer's address (of the family) is inside the network of the local node's interface. */
export function sameSubnet(rt: Runtime, a: string, b: string, family: Family = 4): boolean {
  const local = family === 4 ? rt.hostAddress(a) : rt.hostAddress6(a);
  const peer = family === 4 ? rt.hostAddress(b) : rt.hostAddress6(b);
  if (!local || !peer) return false;
  const net = parseCidr(local);
  const { value } = parseAddress(peer.split('/')[0]!);
  return value >= net.base && value < net.base + (1n << BigInt((family === 4 ? 32 : 128) - net.prefix));
}

/** Why packets from node `a` to pod address `ip` on node `b` are lost, under that address's pool. */
function segmentDrop(rt: Runtime, a: string, b: string, ip: string): string | undefined {
  const pool = poolOf(rt, ip);
  if (!pool) return `no IP pool holds ${ip}: no route to it from ${a}`;
  const family = pool.family;
  const crossSubnet = !sameSubnet(rt, a, b, family);
  const bgp = family === 4 ? 'BGP' : 'BGP (BIRD6)';
  const encapsulates = (mode: string) => mode === 'Always' || (mode === 'CrossSubnet' && crossSubnet);
  if (encapsulates(pool.vxlanMode)) {
    return dropped(rt.network, 'vxlan', a, b) ? `VXLAN (UDP 4789) between ${a} and ${b} is dropped` : undefined;
  }
  if (encapsulates(pool.ipipMode)) {
    if (!bgpRouteLearned(rt, a, b, family)) return `${a} has no ${bgp} route to ${b}'s blocks of pool ${pool.name} (IPIP)`;
    return dropped(rt.network, 'ipip', a, b) ? `IP-in-IP (protocol 4) between ${a} and ${b} is dropped` : undefined;
  }
  // Unencapsulated: Felix's own routes for a VXLAN pool's same-subnet peers, BGP's otherwise.
  if (pool.vxlanMode === 'Never' && !bgpRouteLearned(rt, a, b, family)) return `${a} has no ${bgp} route to ${b}'s blocks of pool ${pool.name}`;
  return rt.network.sourceDestCheck ? `the underlay drops unencapsulated pod traffic between ${a} and ${b} (source/destination check)` : undefined;
}
