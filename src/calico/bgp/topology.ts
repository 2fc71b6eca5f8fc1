// The BGP sessions each node's BIRD should have, worked out as confd works
// them out from the datastore (projectcalico/calico confd/pkg/backends/
// calico/client.go updatePeersV1, bgp_processor.go processPeers):
// - the node-to-node mesh (BGPConfiguration `default`, nodeToNodeMeshEnabled,
//   true unless set): every other node with a BGP address, unless either end
//   is a route reflector (it has a cluster ID);
// - BGPPeers without node or nodeSelector are global peerings, emitted first;
//   with one, node-specific peerings, skipped where a global peering to the
//   same address and port exists; a BGPPeer peers with `peerIP` (`ip` or
//   `ip:port`) or with every node `peerSelector` picks (both families);
// - then the reverse peerings: the nodes a BGPPeer names as peers peer back
//   with the nodes it applies to (unless reversePeering is Manual);
// - the first peering emitted for a (node, address, port) wins; a node never
//   peers with its own address; BGPPeers of local workloads are left out
//   (calicoctl does not list them either).
// The mesh is not listed node by node (a 2,000-node mesh has four million
// sessions): expected() derives it when asked.
import { parseSelector, type Labels, type Matcher } from '../selector.ts';
import type { PeerKind } from './bird.ts';

export interface BgpNode {
  name: string;
  labels: Labels;
  /** BGP addresses without their prefix length (the Calico Node's bgp.ipv4Address, ipv6Address). */
  ipv4?: string;
  ipv6?: string;
  asNumber?: string;
  /** Set on route reflectors. */
  routeReflectorClusterID?: string;
}

export interface BgpConfiguration {
  nodeToNodeMesh: boolean;
  asNumber: string;
  /** BIRD's port when set (listenPort): peerings with Calico nodes then name it. */
  listenPort?: number;
}

export interface BgpPeerSpec {
  name: string;
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  peerSelector?: string;
  asNumber?: number | string;
  reversePeering?: string;
  localWorkloadSelector?: string;
}

export interface ExpectedPeer {
  kind: PeerKind;
  family: 4 | 6;
  address: string;
  port?: number;
  /** The cluster node with this address; undefined for a router outside the cluster. */
  node?: string;
  /** Why: `node-to-node mesh` or `BGPPeer <name>`. */
  source: string;
}

export const DEFAULT_AS = '64512';

export class BgpTopology {
  readonly config: BgpConfiguration;
  private readonly nodes: Map<string, BgpNode>;
  /** Nodes with a BGP address by that address. */
  private readonly byAddress = new Map<string, BgpNode>();
  private readonly global = new Map<string, ExpectedPeer>();
  private readonly specific = new Map<string, Map<string, ExpectedPeer>>();
  private readonly selected = new Map<string, BgpNode[]>();

  constructor(nodes: BgpNode[], config: BgpConfiguration, peers: BgpPeerSpec[]) {
    this.config = config;
    this.nodes = new Map(nodes.map((n) => [n.name, n]));
    for (const node of nodes) for (const address of [node.ipv4, node.ipv6]) if (address) this.byAddress.set(address, node);
    const usable = peers.filter((p) => !p.localWorkloadSelector);
    for (const globalPass of [true, false]) {
      for (const peer of usable) {
        if (globalPass !== (!peer.node && !peer.nodeSelector)) continue;
        const remotes = this.remotesOf(peer);
        if (globalPass) for (const remote of remotes) this.emitGlobal(remote);
        else for (const local of this.localsOf(peer)) for (const remote of remotes) this.emitSpecific(local.name, remote);
      }
    }
    for (const peer of usable) {
      if (peer.reversePeering === 'Manual') continue;
      const reversed = this.reverseOf(peer);
      if (!reversed) continue;
      const peerNodes = peer.nodeSelector ? this.matching(peer.nodeSelector) : peer.node ? [this.nodes.get(peer.node)].filter((n): n is BgpNode => n !== undefined) : [...this.nodes.values()];
      for (const local of reversed.locals) {
        for (const remote of peerNodes.flatMap((n) => this.asPeers(n, reversed.families, peer.name))) this.emitSpecific(local.name, remote);
      }
    }
  }

  /** Route reflectors (nodes with a cluster ID). */
  routeReflectors(): string[] {
    return [...this.nodes.values()].filter((n) => n.routeReflectorClusterID).map((n) => n.name);
  }

  /** The node whose BGP address `address` is. */
  nodeAt(address: string): string | undefined {
    return this.byAddress.get(address)?.name;
  }

  /** The sessions `node`'s BIRD (family 4) or BIRD6 (family 6) should have: mesh, global, then node-specific. */
  expected(node: string, family: 4 | 6): ExpectedPeer[] {
    const self = this.nodes.get(node);
    const own = family === 4 ? self?.ipv4 : self?.ipv6;
    if (!self || !own) return [];
    const out: ExpectedPeer[] = [];
    if (this.config.nodeToNodeMesh && !self.routeReflectorClusterID) {
      for (const other of this.nodes.values()) {
        const address = family === 4 ? other.ipv4 : other.ipv6;
        if (!address || address === own || other.routeReflectorClusterID) continue;
        out.push({ kind: 'Mesh', family, address, node: other.name, source: 'node-to-node mesh' });
      }
    }
    const seen = new Set(out.map(key));
    for (const peer of [...this.global.values(), ...(this.specific.get(node)?.values() ?? [])]) {
      if (peer.family !== family || peer.address === own || seen.has(key(peer))) continue;
      seen.add(key(peer));
      out.push(peer);
    }
    return out;
  }

  private matching(selector: string): BgpNode[] {
    let nodes = this.selected.get(selector);
    if (!nodes) {
      const matches: Matcher = parseSelector(selector);
      nodes = [...this.nodes.values()].filter((n) => matches(n.labels));
      this.selected.set(selector, nodes);
    }
    return nodes;
  }

  private localsOf(peer: BgpPeerSpec): BgpNode[] {
    if (peer.nodeSelector) return this.matching(peer.nodeSelector);
    const node = peer.node ? this.nodes.get(peer.node) : undefined;
    return node ? [node] : [];
  }

  /** The peers a BGPPeer names: every node its peerSelector picks, or its peerIP. */
  private remotesOf(peer: BgpPeerSpec): ExpectedPeer[] {
    if (peer.peerSelector) return this.matching(peer.peerSelector).flatMap((n) => this.asPeers(n, [4, 6], peer.name));
    if (!peer.peerIP) return [];
    const { host, port } = splitHostPort(peer.peerIP);
    const family = host.includes(':') ? 6 : 4;
    let effectivePort = port;
    if (effectivePort === undefined && this.nodesWith(host, peer.asNumber, undefined).length > 0) effectivePort = this.config.listenPort;
    return [{ kind: 'Global', family, address: host, ...(effectivePort ? { port: effectivePort } : {}), ...(this.nodeAt(host) ? { node: this.nodeAt(host)! } : {}), source: `BGPPeer ${peer.name}` }];
  }

  /** For the reverse pass: the nodes a BGPPeer peers with, which peer back, and in which families. */
  private reverseOf(peer: BgpPeerSpec): { locals: BgpNode[]; families: (4 | 6)[] } | undefined {
    if (peer.peerSelector) return { locals: this.matching(peer.peerSelector), families: [4, 6] };
    if (!peer.peerIP) return undefined;
    const { host, port } = splitHostPort(peer.peerIP);
    return { locals: this.nodesWith(host, peer.asNumber, port), families: [host.includes(':') ? 6 : 4] };
  }

  /** nodesWithIPPortAndAS: the nodes with this BGP address and AS number (and listen port, when one is given). */
  private nodesWith(address: string, asNumber: number | string | undefined, port: number | undefined): BgpNode[] {
    const wanted = asNumber === undefined || String(asNumber) === '0' ? this.config.asNumber : String(asNumber);
    return [...this.nodes.values()].filter((n) => (n.ipv4 === address || n.ipv6 === address)
      && (n.asNumber ?? this.config.asNumber) === wanted
      && (port === undefined || this.config.listenPort === undefined || this.config.listenPort === port));
  }

  /** nodeAsBGPPeers: a node as a peer, in the families asked for. */
  private asPeers(node: BgpNode, families: (4 | 6)[], source: string): ExpectedPeer[] {
    return families.flatMap((family) => {
      const address = family === 4 ? node.ipv4 : node.ipv6;
      return address ? [{ kind: 'Global' as const, family, address, ...(this.config.listenPort ? { port: this.config.listenPort } : {}), node: node.name, source: `BGPPeer ${source}` }] : [];
    });
  }

  private emitGlobal(peer: ExpectedPeer): void {
    if (!this.global.has(key(peer))) this.global.set(key(peer), peer);
  }

  private emitSpecific(node: string, peer: ExpectedPeer): void {
    if (this.global.has(key(peer))) return;
    let peers = this.specific.get(node);
    if (!peers) this.specific.set(node, (peers = new Map()));
    if (!peers.has(key(peer))) peers.set(key(peer), { ...peer, kind: 'Node' });
  }
}

/** Identifies a session on one node: its address and port (BIRD names one protocol per pair). */
export function key(peer: { address: string; port?: number }): string {
  return `${peer.address}|${peer.port ?? ''}`;
}

/** `10.0.0.1`, `10.0.0.1:1790`, `[fd00::1]:1790` (Go's net.SplitHostPort; a bare IPv6 address has no port). */
export function splitHostPort(text: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2]) };
  const v4 = /^([^:]+):(\d+)$/.exec(text);
  if (v4) return { host: v4[1]!, port: Number(v4[2]) };
  return { host: text };
}
