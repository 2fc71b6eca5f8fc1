// The BGP sessions each node's BIRD has, as confd configures them and BIRD
// runs them (projectcalico/calico confd/pkg/backends/calico/client.go
// updatePeersV1, confd/etc/calico/confd/templates/bird.cfg.template;
// projectcalico/bird proto/bgp/bgp.c):
//
// - Who peers with whom: the node-to-node mesh (BGPConfiguration `default`,
//   `nodeToNodeMeshEnabled`, default true) between nodes with a BGP address
//   (the Calico Node's `spec.bgp.ipv4Address`, which the Kubernetes datastore
//   keeps in the node annotation `projectcalico.org/IPv4Address`), leaving out
//   route reflectors (annotation `projectcalico.org/RouteReflectorClusterID`);
//   and BGPPeers: global ones, node-specific ones (`node`, `nodeSelector`),
//   peers by `peerIP` or by `peerSelector`, plus the reverse peerings confd
//   adds. A mesh peering is one-way: the node with the lower address (as
//   strings, like the template's `gt`) is `passive` and waits.
// - The state of each session, computed on demand from what it depends on:
//   when each end's BIRD started or stopped (the calico-node container), and
//   the history of the network's `bgp` drops. Nothing is stored per session,
//   so a 2,000-node mesh costs nothing until a node's sessions are asked for.
//
// What BIRD shows for a session that is not up (bgp.c bgp_state_dsc,
// bgp_get_status, bgp_last_errmsg):
// - the peer's host is up but its BIRD is not (calico-node not running): the
//   connecting side gets RSTs, `Active  Socket: Connection refused`; a
//   passive side shows `Passive` (with `Socket: Connection closed` if the
//   session was up when the peer's BIRD went away);
// - a firewall drops TCP 179: the connecting side's attempts are abandoned
//   after `connect retry time 5` (the template), long before the kernel's
//   SYN timeout, so it shows `Connect` with no error; the passive side
//   `Passive`. A session that was Established when the drop began stays
//   Established until the hold timer expires (240 s, BIRD's default: the
//   template sets none), then both sides show `BGP Error: Hold timer expired`;
// - the peer's BIRD runs but has no protocol for this address: it closes the
//   connection, `Active  Socket: Connection closed`;
// - an address no modelled BIRD answers (a router outside the cluster):
//   `Connect`, as with a firewall.
// The error stays shown until the session is Established again.
//
// BIRD and BIRD6 (IPv4 and IPv6, confd's bird.cfg and bird6.cfg) are two
// daemons of one calico-node run: BIRD6's mesh is between the nodes with an
// IPv6 BGP address (`spec.bgp.ipv6Address`, the annotation
// `projectcalico.org/IPv6Address`, written on a dual-stack node), its
// protocol names the address with ':' as '_' (`Mesh_fd00_192_168_56__c`),
// and BGPPeers go to the daemon of their peerIP's family (a peerSelector's
// nodes by their address of that family). A `bgp` drop (TCP 179) cuts the
// sessions of both families.
//
// Simulation limits: AS numbers are not checked between the ends; start-up is instant
// (no connect delay: a session is up as soon as both BIRDs run); a change of
// BGPPeers or the mesh setting takes effect from each BIRD's start.
import { evaluate, parseSelector } from './calico-selector.ts';
import type { Runtime } from '../controllers/runtime.ts';
import type { KubeObject } from '../types.ts';
import { dropped, type Drop } from './faults.ts';

/** BIRD's default hold time (proto/bgp/config.Y): how long an Established session survives a black hole. */
export const HOLD_TIME_MS = 240_000;

const DEFAULT_AS = '64512';

/** Which daemon: BIRD (IPv4) or BIRD6 (IPv6). */
export type Family = 4 | 6;

const ADDRESS_ANNOTATION = { 4: 'projectcalico.org/IPv4Address', 6: 'projectcalico.org/IPv6Address' } as const;

/** An address as BIRD's protocol names carry it: 10_0_0_2, fd00_192_168_56__c. */
function protocolId(ip: string): string {
  return ip.replaceAll('.', '_').replaceAll(':', '_');
}

export interface BgpPeer {
  /** BIRD's protocol name: `Mesh_10_0_0_2`, `Node_10_0_0_2`, `Global_10_0_0_2_port_1790`. */
  protocol: string;
  ip: string;
  /** The node whose BGP address this is; undefined for a router outside the cluster. */
  node: string | undefined;
  /** `passive on`: this end waits for the peer to connect. */
  passive: boolean;
}

export interface Session {
  established: boolean;
  /** BIRD's protocol state: `up` when Established, else `start`. */
  state: 'up' | 'start';
  /** The BGP state as BIRD words it: Established, Active, Connect, Passive. */
  bgpState: string;
  /** BIRD's last error, e.g. `Socket: Connection refused`; '' if none. */
  error: string;
  /** When the protocol last changed state (cluster ms). */
  since: number;
}

/** One run of the calico-node container on a node: when it started, when it stopped, whether it runs BIRD. */
export interface BirdRun {
  pod: string;
  started: number;
  stopped: number | undefined;
  /** CALICO_NETWORKING_BACKEND is bird (rc.local starts BIRD, BIRD6 and confd); vxlan or none: no BIRD. */
  bird: boolean;
}

interface NodeIdentity {
  name: string;
  ip: string;
  /** The address as BIRD's protocol names carry it: 10_0_0_2. */
  id: string;
  routeReflectorClusterID: string;
  asNumber: string | undefined;
  labels: Record<string, string>;
}

interface BgpPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  peerSelector?: string;
  asNumber?: number | string;
}

interface Model {
  /** The daemon this model is of; `runs` and `history` are shared by both families' models. */
  family: Family;
  /** The calico-node container's latest run on each node. */
  runs: Map<string, BirdRun>;
  /** Nodes with a BGP address: by name, by address, and in name order (confd's lsdir); `version` moves when any changes. */
  nodes: Map<string, NodeIdentity>;
  byIP: Map<string, NodeIdentity>;
  sorted: NodeIdentity[];
  identities: Map<string, string>;
  version: number;
  /** When confd last had something new to render (BIRD's "Last reconfiguration"). */
  changedAt: number;
  /** The network's `bgp` drops as first seen and at every change since, oldest first. */
  history: { at: number; drops: Drop[]; text: string }[];
  /** Compiled selectors, and the nodes each picks as of `selectedVersion`. */
  matchers: Map<string, (labels: Record<string, string>) => boolean>;
  selected: Map<string, NodeIdentity[]>;
  selectedVersion: number;
}

const models = new WeakMap<Runtime, Record<Family, Model>>();

/** The model of `rt` for one family, following the store from its first use (calico-node.ts starts it with the cluster). */
export function bgpModel(rt: Runtime, family: Family = 4): Model {
  const existing = models.get(rt);
  if (existing) return existing[family];
  const runs = new Map<string, BirdRun>();
  const shared: Model['history'] = [];
  const make = (f: Family): Model => ({
    family: f, runs, nodes: new Map(), byIP: new Map(), sorted: [], identities: new Map(), version: 0, changedAt: rt.clock.now().getTime(), history: shared,
    matchers: new Map(), selected: new Map(), selectedVersion: 0,
  });
  const both = { 4: make(4), 6: make(6) };
  models.set(rt, both);
  const follow = both[4];
  const each = [both[4], both[6]];
  for (const node of rt.api.store.list('nodes')) for (const m of each) noteNode(m, node, false, m.changedAt);
  for (const pod of rt.api.store.list('pods', 'calico-system')) notePod(rt, follow, pod, false);
  rt.api.store.subscribe((event) => {
    if (event.key === 'nodes') for (const m of each) noteNode(m, event.object, event.type === 'DELETED', rt.clock.now().getTime());
    else if (event.key === 'pods') notePod(rt, follow, event.object, event.type === 'DELETED');
    else if (event.key === 'bgppeers.crd.projectcalico.org' || event.key === 'bgpconfigurations.crd.projectcalico.org') for (const m of each) touch(m, rt.clock.now().getTime());
  });
  // The knobs are plain data a test changes at will: look at them every second, as a session's timers would notice.
  const look = () => {
    history(rt, follow);
    rt.clock.after(1000, look);
  };
  rt.clock.after(1000, look);
  return both[family];
}

function touch(model: Model, now: number): void {
  model.version++;
  model.changedAt = now;
}

/** Where `name` is, or would go, in the name-ordered list. */
function position(sorted: NodeIdentity[], name: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]!.name < name) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A node's BGP identity, kept only when it changes: nodes are written often (status), their BGP settings rarely. */
function noteNode(model: Model, node: KubeObject, deleted: boolean, now: number): void {
  const name = node.metadata.name;
  const annotations = node.metadata.annotations ?? {};
  const address = annotations[ADDRESS_ANNOTATION[model.family]];
  const identity: NodeIdentity | undefined = deleted || !address ? undefined : {
    name,
    ip: address.split('/')[0]!,
    id: protocolId(address.split('/')[0]!),
    routeReflectorClusterID: annotations['projectcalico.org/RouteReflectorClusterID'] ?? '',
    asNumber: annotations['projectcalico.org/ASNumber'],
    labels: node.metadata.labels ?? {},
  };
  const text = identity ? JSON.stringify(identity) : undefined;
  if (text === model.identities.get(name)) return;
  const old = model.nodes.get(name);
  if (old) {
    model.nodes.delete(name);
    model.identities.delete(name);
    if (model.byIP.get(old.ip) === old) model.byIP.delete(old.ip);
    model.sorted.splice(position(model.sorted, name), 1);
  }
  if (identity) {
    model.nodes.set(name, identity);
    model.identities.set(name, text!);
    model.byIP.set(identity.ip, identity);
    model.sorted.splice(position(model.sorted, name), 0, identity);
  }
  touch(model, now);
}

/** The calico-node container's runs, as the kubelet reports them. */
function notePod(rt: Runtime, model: Model, pod: KubeObject, deleted: boolean): void {
  if (pod.metadata.namespace !== 'calico-system' || pod.metadata.labels?.['k8s-app'] !== 'calico-node') return;
  const node = (pod.spec as { nodeName?: string }).nodeName;
  if (!node) return;
  const now = rt.clock.now().getTime();
  const status = (pod.status as { containerStatuses?: { name: string; state: { running?: object } }[] } | undefined)?.containerStatuses;
  const running = !deleted && Boolean(status?.find((s) => s.name === 'calico-node')?.state.running);
  const run = model.runs.get(node);
  const current = run && run.pod === pod.metadata.uid && run.stopped === undefined;
  if (running && !current) {
    const container = (pod.spec as { containers: { name: string; env?: { name: string; value?: string }[] }[] }).containers.find((c) => c.name === 'calico-node');
    const backend = container?.env?.find((e) => e.name === 'CALICO_NETWORKING_BACKEND')?.value ?? 'bird';
    model.runs.set(node, { pod: pod.metadata.uid, started: now, stopped: undefined, bird: backend !== 'none' && backend !== 'vxlan' });
  } else if (!running && current) {
    run.stopped = now;
  }
}

/** The calico-node container running on `node` now, if any. */
export function calicoNodeRun(rt: Runtime, node: string): BirdRun | undefined {
  const run = bgpModel(rt).runs.get(node);
  return run && run.stopped === undefined ? run : undefined;
}

/** BIRD (and BIRD6) run on `node` now: its calico-node runs with the bird backend. */
export function birdRunning(rt: Runtime, node: string): boolean {
  return calicoNodeRun(rt, node)?.bird ?? false;
}

/** The node's BGP address of a family (the Calico Node's `spec.bgp.ipv4Address` or `ipv6Address`, without its prefix length). */
export function bgpAddress(rt: Runtime, node: string, family: Family = 4): string | undefined {
  return bgpModel(rt, family).nodes.get(node)?.ip;
}

/** When confd last rendered a new configuration for BIRD (or BIRD6): its "Last reconfiguration". */
export function lastReconfiguration(rt: Runtime, node: string, family: Family = 4): number {
  const run = calicoNodeRun(rt, node);
  return Math.max(run?.started ?? 0, bgpModel(rt, family).changedAt);
}

function bgpConfiguration(rt: Runtime): { mesh: boolean; asNumber: string } {
  const object = rt.api.store.get('bgpconfigurations.crd.projectcalico.org', undefined, 'default');
  // Asked once per peer of every session a readiness probe replays (2,000 on a large mesh): read again only when
  // the stored object is another one (stored objects are never changed in place).
  const known = configurations.get(rt);
  if (known && known.object === object) return known.value;
  const spec = (object?.spec ?? {}) as { nodeToNodeMeshEnabled?: boolean; asNumber?: number | string };
  const value = { mesh: spec.nodeToNodeMeshEnabled ?? true, asNumber: String(spec.asNumber ?? DEFAULT_AS) };
  configurations.set(rt, { object, value });
  return value;
}

const configurations = new WeakMap<Runtime, { object: KubeObject | undefined; value: { mesh: boolean; asNumber: string } }>();

function bgpPeerSpecs(rt: Runtime): BgpPeerSpec[] {
  return rt.api.store.list('bgppeers.crd.projectcalico.org').map((p) => (p.spec ?? {}) as BgpPeerSpec);
}

function matcher(model: Model, selector: string): (labels: Record<string, string>) => boolean {
  let compiled = model.matchers.get(selector);
  if (!compiled) {
    const parsed = parseSelector(selector);
    model.matchers.set(selector, (compiled = (labels) => evaluate(parsed, (key) => (Object.hasOwn(labels, key) ? labels[key] : undefined))));
  }
  return compiled;
}

/** The nodes a Calico selector picks, in name order (confd's nodeLabelManager.nodesMatching). */
function nodesMatching(model: Model, selector: string): NodeIdentity[] {
  if (model.selectedVersion !== model.version) {
    model.selected.clear();
    model.selectedVersion = model.version;
  }
  let nodes = model.selected.get(selector);
  if (!nodes) {
    const matches = matcher(model, selector);
    model.selected.set(selector, (nodes = model.sorted.filter((n) => matches(n.labels))));
  }
  return nodes;
}

/**
 * The BGP peers BIRD on `node` has, in the order BIRD lists its protocols:
 * the mesh (nodes by name, as confd's lsdir gives them), then global peers,
 * then node-specific ones (each by address, as confd's gets sorts keys).
 */
export function birdPeers(rt: Runtime, node: string, family: Family = 4): BgpPeer[] {
  const model = bgpModel(rt, family);
  const self = model.nodes.get(node);
  if (!self) return [];
  const config = bgpConfiguration(rt);
  const peers: BgpPeer[] = [];
  if (config.mesh && !self.routeReflectorClusterID) {
    for (const other of model.sorted) {
      if (other.ip === self.ip || other.routeReflectorClusterID) continue;
      peers.push({ protocol: `Mesh_${other.id}`, ip: other.ip, node: other.name, passive: other.ip > self.ip });
    }
  }
  const { global, local } = peeringsOf(rt, model, self);
  for (const [prefix, ips] of [['Global', global], ['Node', local]] as const) {
    for (const ip of [...ips].sort()) {
      if (ip === self.ip) continue;
      const other = model.byIP.get(ip);
      // Only the template's global peers are made one-way between Calico nodes; node-specific ones connect from both ends.
      peers.push({ protocol: `${prefix}_${protocolId(ip)}`, ip, node: other?.name, passive: prefix === 'Global' && other !== undefined && ip > self.ip });
    }
  }
  return peers;
}

/** A BGPPeer applies to `node` as its local end (the global pass takes the ones without node or nodeSelector). */
function localEnd(model: Model, spec: BgpPeerSpec, node: NodeIdentity): boolean {
  return spec.nodeSelector ? matcher(model, spec.nodeSelector)(node.labels) : spec.node === node.name;
}

/** `node` is what a BGPPeer peers with (its peerSelector picks it, or its peerIP and AS are the node's): the reverse peering's local end. */
function remoteEnd(rt: Runtime, model: Model, spec: BgpPeerSpec, node: NodeIdentity): boolean {
  if (spec.peerSelector) return matcher(model, spec.peerSelector)(node.labels);
  return spec.peerIP === node.ip && String(spec.asNumber ?? '') === (node.asNumber ?? bgpConfiguration(rt).asNumber);
}

/**
 * The addresses of `node`'s global and node-specific peerings from the
 * BGPPeers (confd's updatePeersV1): the global pass, the node-specific pass
 * (skipping addresses a global peering covers), then the reverse peerings.
 */
function peeringsOf(rt: Runtime, model: Model, node: NodeIdentity): { global: Set<string>; local: Set<string> } {
  const global = new Set<string>();
  const local = new Set<string>();
  // A peerIP goes to the daemon of its family; a peerSelector's nodes are peered at their address of this family.
  const remotes = (spec: BgpPeerSpec) => (spec.peerSelector ? nodesMatching(model, spec.peerSelector).map((n) => n.ip) : spec.peerIP && spec.peerIP.includes(':') === (model.family === 6) ? [spec.peerIP] : []);
  const specs = bgpPeerSpecs(rt);
  for (const spec of specs) if (!spec.node && !spec.nodeSelector) for (const ip of remotes(spec)) global.add(ip);
  for (const spec of specs) {
    if ((spec.node || spec.nodeSelector) && localEnd(model, spec, node)) for (const ip of remotes(spec)) if (!global.has(ip)) local.add(ip);
  }
  for (const spec of specs) {
    if (!remoteEnd(rt, model, spec, node)) continue;
    const locals = spec.nodeSelector ? nodesMatching(model, spec.nodeSelector) : spec.node ? [model.nodes.get(spec.node)].filter((n) => n !== undefined) : model.sorted;
    for (const other of locals) if (!global.has(other.ip)) local.add(other.ip);
  }
  return { global, local };
}

/** What a session depends on at one moment. */
interface Conditions {
  /** The peer's BIRD runs. */
  running: boolean;
  /** A firewall drops TCP 179 between the two. */
  dropped: boolean;
  /** The peer's BIRD has a protocol for this node (else it closes the connection). */
  answers: boolean;
}

/** Whether BIRD on `node` has a protocol for the node at `ip` (it accepts that peer's connections): peeringsOf, asked of one address. */
function configuredFor(rt: Runtime, model: Model, node: string, ip: string): boolean {
  const self = model.nodes.get(node);
  const other = model.byIP.get(ip);
  if (!self || !other || self.ip === ip) return false;
  if (bgpConfiguration(rt).mesh && !self.routeReflectorClusterID && !other.routeReflectorClusterID) return true;
  const picks = (spec: BgpPeerSpec) => (spec.peerSelector ? matcher(model, spec.peerSelector)(other.labels) : spec.peerIP === ip);
  return bgpPeerSpecs(rt).some((spec) =>
    (picks(spec) && (!(spec.node || spec.nodeSelector) || localEnd(model, spec, self)))
    || (remoteEnd(rt, model, spec, self) && (spec.nodeSelector ? matcher(model, spec.nodeSelector)(other.labels) : spec.node ? spec.node === other.name : true)));
}

/** The `bgp` drops as a history of changes, noted when first seen (within a second: see bgpModel). */
function history(rt: Runtime, model: Model): Model['history'] {
  const drops = rt.network.drops.filter((d) => d.traffic === 'bgp');
  const text = JSON.stringify(drops);
  const last = model.history.at(-1);
  // The network as first seen has been so from before anything started.
  if (!last) model.history.push({ at: -Infinity, drops: structuredClone(drops), text });
  else if (last.text !== text) model.history.push({ at: rt.clock.now().getTime(), drops: structuredClone(drops), text });
  return model.history;
}

/** The sessions of BIRD on `node` (which must be running), in `show protocols` order. */
export function sessions(rt: Runtime, node: string, family: Family = 4): { peer: BgpPeer; session: Session }[] {
  const model = bgpModel(rt, family);
  const changes = history(rt, model);
  const now = rt.clock.now().getTime();
  const ip = model.nodes.get(node)?.ip ?? '';
  return birdPeers(rt, node, family).map((peer) => ({ peer, session: replay(rt, model, changes, now, node, ip, peer) }));
}

/**
 * One session now, replayed from the local BIRD's start through every change
 * of what it depends on (the peer's BIRD starting or stopping, `bgp` drops
 * coming and going), as BIRD's state machine would have gone through them.
 */
function replay(rt: Runtime, model: Model, changes: Model['history'], now: number, node: string, ip: string, peer: BgpPeer): Session {
  const start = model.runs.get(node)?.started ?? now;
  if (!peer.node) return { established: false, state: 'start', bgpState: 'Connect', error: '', since: start };
  const other = peer.node;
  const theirs = model.runs.get(other);
  const answers = configuredFor(rt, model, other, ip);
  // The common case, and the one a large mesh asks for thousands of times: no drop ever, the peer's BIRD running.
  if (changes.length === 1 && changes[0]!.drops.length === 0 && theirs?.bird && theirs.stopped === undefined && answers) {
    return { established: true, state: 'up', bgpState: 'Established', error: '', since: Math.max(start, theirs.started) };
  }
  const drops = changes.map((h) => ({ at: h.at, dropped: h.drops.length > 0 && dropped({ drops: h.drops, sourceDestCheck: false, felixStuck: [] }, 'bgp', node, other) }));
  const at = (t: number): Conditions => ({
    running: theirs !== undefined && theirs.bird && theirs.started <= t && (theirs.stopped === undefined || t < theirs.stopped),
    dropped: drops.findLast((h) => h.at <= t)?.dropped ?? false,
    answers,
  });
  const points = [start, theirs?.started, theirs?.stopped, ...drops.map((h) => h.at)]
    .filter((t): t is number => t !== undefined && t >= start && t <= now)
    .sort((a, b) => a - b);
  let up = false;
  let since = start;
  let error = '';
  let blackholedSince: number | undefined;
  for (let i = 0; i < points.length; i++) {
    const t = points[i]!;
    const c = at(t);
    if (up && c.running && c.dropped) {
      // Keepalives are lost; the session holds until the hold timer runs out (if the drop lasts that long).
      blackholedSince ??= t;
      const expiry = blackholedSince + HOLD_TIME_MS;
      if (expiry <= (points[i + 1] ?? now)) {
        up = false;
        since = expiry;
        error = 'BGP Error: Hold timer expired';
      }
      continue;
    }
    blackholedSince = undefined;
    if (up && !c.running) {
      // The peer's kernel closes the connection; the connecting side's next attempts are refused.
      up = false;
      since = t;
      error = 'Socket: Connection closed';
    }
    if (!up && c.running && c.answers && !c.dropped) {
      up = true;
      since = t;
      error = '';
    } else if (!up && !peer.passive && !c.dropped) {
      error = c.running ? 'Socket: Connection closed' : 'Socket: Connection refused';
    }
  }
  if (up) return { established: true, state: 'up', bgpState: 'Established', error: '', since };
  const bgpState = peer.passive ? 'Passive' : at(now).dropped ? 'Connect' : 'Active';
  return { established: false, state: 'start', bgpState, error, since };
}

/** BIRD on `node` has an Established session with node `other` (both run BIRD and peer with each other). */
export function sessionEstablished(rt: Runtime, node: string, other: string, family: Family = 4): boolean {
  if (!birdRunning(rt, node)) return false;
  return sessions(rt, node, family).some((s) => s.peer.node === other && s.session.established);
}

/**
 * The nodes whose routes BIRD on `node` has learned, each with the peers it
 * learned them from (in `show protocols` order): over a session with the
 * node itself, or through a route reflector that has an Established session
 * with it (a reflector passes on what its clients and the other reflectors
 * announce; one hop, as between Calico's reflectors of one cluster ID).
 */
export function learnedRoutes(rt: Runtime, node: string, family: Family = 4): Map<string, BgpPeer[]> {
  const learned = new Map<string, BgpPeer[]>();
  if (!birdRunning(rt, node)) return learned;
  const model = bgpModel(rt, family);
  const add = (owner: string, via: BgpPeer) => {
    if (owner === node) return;
    const list = learned.get(owner);
    if (list) list.push(via);
    else learned.set(owner, [via]);
  };
  for (const { peer, session } of sessions(rt, node, family)) {
    if (!peer.node || !session.established) continue;
    add(peer.node, peer);
    if (!model.nodes.get(peer.node)?.routeReflectorClusterID) continue;
    for (const reflected of sessions(rt, peer.node, family)) {
      if (reflected.peer.node && reflected.peer.node !== peer.node && reflected.session.established) add(reflected.peer.node, peer);
    }
  }
  return learned;
}

