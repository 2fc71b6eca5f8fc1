// A node's host network as calico-node (hostNetwork) sees it: its
// interfaces, the kernel's routes and BIRD's routing table, following who
// programs what (calico-facts "Who programs the routes"):
// - VXLAN pools: Felix programs every route to other nodes' blocks from the
//   datastore (felix/dataplane/linux/vxlan_mgr.go): same-subnet ones for
//   VXLANCrossSubnet straight over the host interface, `proto 80 onlink`; the
//   others `via <remote VTEP> dev vxlan.calico onlink` (no route while the
//   remote VTEP is unknown), and its own blocks `blackhole … proto 80`. BIRD's
//   kernel filter refuses these pools, so BGP changes nothing here.
// - IPIP and unencapsulated pools: BIRD programs them (`proto bird`): its
//   own blocks as blackholes, and a route to each block it learned over an
//   Established session (`dev tunl0 onlink` for IPIP, the host interface
//   otherwise; IPIPCrossSubnet goes direct within the subnet). A node whose
//   routes BIRD has not learned has no route.
// - Felix routes each local workload to its veth (`cali` + 11 hex of
//   sha1("<namespace>.<pod>"), libcalico-go VethNameForWorkload), proto boot.
// Which block is whose comes from the BlockAffinity objects in the API
// (blockaffinities.crd.projectcalico.org, written by IPAM).
//
// The host, as the scenarios build it: one interface `eth0` on the node's
// network (rt.hostAddress), the network's first address as the default
// gateway (`proto static`). A node without a scenario address has its
// InternalIP as a /32 and no default route.
//
// IPv6 (`family` 6) follows the same rules with the IPv6 pools, blocks and
// addresses: a dual-stack node's eth0 also has its ULA address
// (rt.hostAddress6, a /64 with no IPv6 router: no default route), BIRD6
// programs the routes of unencapsulated and (never for IPv6) IPIP pools,
// Felix those of VXLAN pools over `vxlan-v6.calico` to the peer's
// IPv6VXLANTunnelAddr. Simulated: BIRD6's FIB order uses BIRD 1.6's
// ipv6_hash like the IPv4 one, not the real table's bucket walk.
import { createHash } from 'node:crypto';
import type { Runtime } from '../controllers/runtime.ts';
import { formatAddress, formatV4, nodeInternalIP, nodeInternalIPOf, parseAddress, parseCidr, parseV4 } from '../controllers/ipam.ts';
import type { KubeObject } from '../types.ts';
import { learnedRoutes, type BgpPeer, type Family } from './bgp.ts';

export const HOST_INTERFACE = 'eth0';

export interface Host {
  address: string;
  prefixLength: number;
  /** The host network, `192.168.56.0/24`. */
  network: string;
  gateway: string | undefined;
}

export interface Pool {
  name: string;
  cidr: string;
  ipipMode: string;
  vxlanMode: string;
}

export interface Workload {
  pod: KubeObject;
  ip: string;
  /** The host side of its veth. */
  iface: string;
}

/** A route as `ip route` prints it. */
export interface KernelRoute {
  type?: 'blackhole' | 'local' | 'broadcast';
  dst: string;
  via?: string;
  dev?: string;
  table?: string;
  proto?: string;
  scope?: string;
  src?: string;
  onlink?: boolean;
}

/** A route in BIRD's master table, as `show route` prints it. */
export interface BirdRoute {
  dst: string;
  /** `via 10.0.0.2 on eth0`, `dev eth0`, `blackhole`. */
  via: string;
  protocol: string;
  since: number;
  /** The reflector a route came through (`from` in `show route`). */
  from?: string;
  primary: boolean;
  /** ` (10)` for kernel routes, ` (100/0) [i]` for BGP ones. */
  info: string;
}

export function host(rt: Runtime, node: string, family: Family = 4): Host {
  if (family === 6) {
    const [address6 = '', bits6 = '128'] = (rt.hostAddress6(node) ?? `${nodeInternalIPOf(rt, node, 6) ?? '::'}/128`).split('/');
    const cidr = parseCidr(`${address6}/${bits6}`);
    return { address: address6, prefixLength: cidr.prefix, network: `${formatAddress(6, cidr.base)}/${cidr.prefix}`, gateway: undefined };
  }
  const [address, bits] = (rt.hostAddress(node) ?? `${nodeInternalIP(rt, node)}/32`).split('/');
  const prefixLength = Number(bits);
  const [value] = parseV4(address!);
  const size = 2 ** (32 - prefixLength);
  const base = Math.floor(value / size) * size;
  return { address: address!, prefixLength, network: `${formatV4(base)}/${prefixLength}`, gateway: prefixLength < 31 ? formatV4(base + 1) : undefined };
}

export function pools(rt: Runtime, family: Family = 4): Pool[] {
  return rt.api.store.list('ippools.crd.projectcalico.org')
    .map((p) => ({ name: p.metadata.name, ...(p.spec as { cidr: string; ipipMode?: string; vxlanMode?: string; disabled?: boolean }) }))
    .filter((p) => p.cidr.includes(':') === (family === 6))
    .map((p) => ({ name: p.name, cidr: p.cidr, ipipMode: p.ipipMode ?? 'Never', vxlanMode: p.vxlanMode ?? 'Never' }));
}

/** Whether `ip` is inside `cidr` (either family; never across families). */
export function inCidr(ip: string, cidr: string): boolean {
  const net = parseCidr(cidr);
  const { family, value } = parseAddress(ip);
  if (family !== net.family) return false;
  return value >= net.base && value < net.base + (1n << BigInt((family === 4 ? 32 : 128) - net.prefix));
}

/** The blocks of a family affine to each node (confirmed BlockAffinities), by node. */
export function blocksByNode(rt: Runtime, family: Family = 4): Map<string, string[]> {
  const byNode = new Map<string, string[]>();
  for (const affinity of rt.api.store.list('blockaffinities.crd.projectcalico.org')) {
    const spec = affinity.spec as { node?: string; cidr?: string; state?: string; deleted?: string | boolean };
    if (!spec.node || !spec.cidr || spec.cidr.includes(':') !== (family === 6) || spec.state !== 'confirmed' || String(spec.deleted) === 'true') continue;
    byNode.set(spec.node, [...(byNode.get(spec.node) ?? []), spec.cidr]);
  }
  return byNode;
}

export function vethName(namespace: string, pod: string): string {
  return `cali${createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11)}`;
}

/** A pod's address of one family (status.podIPs), if it has one. */
export function podIPOf(pod: KubeObject, family: Family): string | undefined {
  const status = pod.status as { podIP?: string; podIPs?: { ip: string }[] } | undefined;
  const ips = status?.podIPs?.map((p) => p.ip) ?? (status?.podIP ? [status.podIP] : []);
  return ips.find((ip) => ip.includes(':') === (family === 6));
}

/** Pods on `node` with their own network namespace and an address of the family. */
export function workloads(rt: Runtime, node: string, family: Family = 4): Workload[] {
  return rt.podsByNode.get(node)
    .filter((p) => !(p.spec as { hostNetwork?: boolean }).hostNetwork && podIPOf(p, family))
    .map((pod) => ({ pod, ip: podIPOf(pod, family)!, iface: vethName(pod.metadata.namespace!, pod.metadata.name) }));
}

export type TunnelDevice = 'tunl0' | 'vxlan.calico' | 'vxlan-v6.calico';

/** A tunnel device's address (allocated by calico-node's allocate-tunnel-addrs), from the node's annotations. */
export function tunnelAddress(rt: Runtime, node: string, device: TunnelDevice): string | undefined {
  const annotation = device === 'tunl0' ? 'projectcalico.org/IPv4IPIPTunnelAddr' : device === 'vxlan.calico' ? 'projectcalico.org/IPv4VXLANTunnelAddr' : 'projectcalico.org/IPv6VXLANTunnelAddr';
  return rt.api.store.get('nodes', undefined, node)?.metadata.annotations?.[annotation] || undefined;
}

function poolOf(pools: Pool[], cidr: string): Pool | undefined {
  return pools.find((p) => inCidr(cidr.split('/')[0]!, p.cidr));
}

function vxlan(pool: Pool): boolean {
  return pool.vxlanMode !== 'Never';
}

function sameSubnet(a: Host, b: Host): boolean {
  return inCidr(b.address, a.network);
}

/** The main table, in the kernel's order (by destination, shorter prefixes first). */
export function kernelRoutes(rt: Runtime, node: string, family: Family = 4): KernelRoute[] {
  const me = host(rt, node, family);
  const allPools = pools(rt, family);
  const blocks = blocksByNode(rt, family);
  const vxlanDevice = family === 4 ? 'vxlan.calico' : 'vxlan-v6.calico';
  const routes: KernelRoute[] = [];
  if (me.gateway) routes.push({ dst: 'default', via: me.gateway, dev: HOST_INTERFACE, proto: 'static' });
  routes.push({ dst: me.network, dev: HOST_INTERFACE, proto: 'kernel', scope: 'link', src: me.address });
  for (const cidr of blocks.get(node) ?? []) {
    const pool = poolOf(allPools, cidr);
    if (pool) routes.push({ type: 'blackhole', dst: cidr, proto: vxlan(pool) ? '80' : 'bird' });
  }
  for (const w of workloads(rt, node, family)) routes.push({ dst: w.ip, dev: w.iface, scope: 'link' });
  const learned = learnedRoutes(rt, node, family);
  for (const [other, cidrs] of blocks) {
    if (other === node) continue;
    const them = host(rt, other, family);
    for (const cidr of cidrs) {
      const pool = poolOf(allPools, cidr);
      if (!pool) continue;
      if (vxlan(pool)) {
        if (pool.vxlanMode === 'CrossSubnet' && sameSubnet(me, them)) routes.push({ dst: cidr, via: them.address, dev: HOST_INTERFACE, proto: '80', onlink: true });
        else {
          const vtep = tunnelAddress(rt, other, vxlanDevice);
          if (vtep) routes.push({ dst: cidr, via: vtep, dev: vxlanDevice, onlink: true });
        }
      } else if (learned.has(other)) {
        const tunnel = pool.ipipMode === 'Always' || (pool.ipipMode === 'CrossSubnet' && !sameSubnet(me, them));
        routes.push({ dst: cidr, via: them.address, dev: tunnel ? 'tunl0' : HOST_INTERFACE, proto: 'bird', ...(tunnel ? { onlink: true } : {}) });
      }
    }
  }
  return routes.sort(byDestination);
}

function byDestination(a: { dst: string }, b: { dst: string }): number {
  const key = (r: { dst: string }): [bigint, number] => (r.dst === 'default' ? [-1n, 0] : [parseAddress(r.dst.split('/')[0]!).value, Number(r.dst.split('/')[1] ?? 128)]);
  const [x, y] = [key(a), key(b)];
  return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1];
}

/**
 * BIRD's master table: what the kernel protocol learns (alien routes: the
 * default route, Felix's routes), the direct protocol's interface prefixes,
 * the static protocol's blackholes for its own blocks (bird_aggr.cfg), and
 * the BGP routes from its Established sessions. In the order `show route`
 * walks its FIB: by BIRD's hash of the prefix (lib/ip.h ip4_hash), best route
 * of a prefix first.
 */
export function birdRoutes(rt: Runtime, node: string, started: number, family: Family = 4): BirdRoute[] {
  const me = host(rt, node, family);
  const allPools = pools(rt, family);
  const blocks = blocksByNode(rt, family);
  const kernel = (dst: string, via: string): BirdRoute => ({ dst, via, protocol: 'kernel1', since: started, primary: true, info: ' (10)' });
  const routes: BirdRoute[] = [];
  const hostBits = family === 4 ? 32 : 128;
  for (const r of kernelRoutes(rt, node, family)) {
    if (r.proto === 'kernel' || r.proto === 'bird') continue;
    const dst = r.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : r.dst.includes('/') ? r.dst : `${r.dst}/${hostBits}`;
    routes.push(kernel(dst, r.type === 'blackhole' ? 'blackhole' : r.via ? `via ${r.via} on ${r.dev}` : `dev ${r.dev}`));
  }
  routes.push({ dst: me.network, via: `dev ${HOST_INTERFACE}`, protocol: 'direct1', since: started, primary: true, info: ' (240)' });
  for (const device of family === 4 ? (['tunl0', 'vxlan.calico'] as const) : (['vxlan-v6.calico'] as const)) {
    const address = tunnelAddress(rt, node, device);
    if (address) routes.push({ dst: `${address}/${hostBits}`, via: `dev ${device}`, protocol: 'direct1', since: started, primary: true, info: ' (240)' });
  }
  for (const cidr of blocks.get(node) ?? []) if (poolOf(allPools, cidr)) routes.push({ dst: cidr, via: 'blackhole', protocol: 'static1', since: started, primary: true, info: ' (200)' });
  for (const [other, peers] of learnedRoutes(rt, node, family)) {
    const them = host(rt, other, family);
    for (const cidr of blocks.get(other) ?? []) {
      if (!poolOf(allPools, cidr)) continue;
      for (const peer of peers) routes.push(bgpRoute(cidr, them.address, peer, started));
    }
  }
  return orderFib(routes);
}

function bgpRoute(dst: string, nextHop: string, peer: BgpPeer, since: number): BirdRoute {
  return { dst, via: `via ${nextHop} on ${HOST_INTERFACE}`, protocol: peer.protocol, since, ...(peer.ip === nextHop ? {} : { from: peer.ip }), primary: true, info: ' (100/0) [i]' };
}

/** BIRD's FIB order, and per prefix the preferred route first (higher preference; the first peer among equals). */
function orderFib(routes: BirdRoute[]): BirdRoute[] {
  const preference = (r: BirdRoute) => Number(/\((\d+)/.exec(r.info)![1]);
  const byPrefix = new Map<string, BirdRoute[]>();
  for (const r of routes) byPrefix.set(r.dst, [...(byPrefix.get(r.dst) ?? []), r]);
  const ordered: BirdRoute[] = [];
  const prefixes = [...byPrefix.keys()].sort((a, b) => ipHash(a) - ipHash(b) || Number(a.split('/')[1]) - Number(b.split('/')[1]));
  for (const prefix of prefixes) {
    const list = byPrefix.get(prefix)!.map((r, i) => ({ r, i })).sort((a, b) => preference(b.r) - preference(a.r) || a.i - b.i).map(({ r }) => r);
    list.forEach((r, i) => ordered.push({ ...r, primary: i === 0 }));
  }
  return ordered;
}

/** lib/ip.h ip4_hash, and lib/ipv6.h ipv6_hash for BIRD6: the 16-bit hash that orders BIRD's FIB walk. */
function ipHash(prefix: string): number {
  const { family, value } = parseAddress(prefix.split('/')[0]!);
  if (family === 6) {
    let x = 0;
    for (let i = 0n; i < 4n; i++) x = (x ^ Number((value >> (32n * i)) & 0xffffffffn)) >>> 0;
    return ((x ^ (x >>> 16) ^ (x >>> 8)) >>> 0) & 0xffff;
  }
  let x = parseV4(prefix)[0] >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = (x ^ (x << 10)) >>> 0;
  return x & 0xffff;
}
