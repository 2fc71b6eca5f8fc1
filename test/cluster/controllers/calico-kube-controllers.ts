// calico-kube-controllers' IPAM garbage collector (kube-controllers
// pkg/controllers/node/ipam.go), running while its pod runs: an address
// whose pod is gone is a leak candidate, released once it has been one for
// longer than `leakGracePeriod` (KubeControllersConfiguration `default`,
// which calico-kube-controllers creates with 15m when it finds none — the
// operator does not); the addresses of a node that no longer exists go at
// once, then its block affinities (and the emptied blocks); an empty block
// of a node with others goes after the grace period. It syncs when blocks,
// nodes or pools change and every leakGracePeriod/2 (5m without one), on
// the cluster's clock. Where it simulates: instead of re-reading every
// allocation on every sync, it re-examines those whose pod or node changed
// since (and the candidates), which decides the same.
import { createHash } from 'node:crypto';
import type { Timer } from '../clock.ts';
import { jsonEqual } from '../store.ts';
import type { KubeObject } from '../types.ts';
import { families, goTime, POD_NETWORK } from './cni.ts';
import { autoAssign, blockAddress, hostOf, isEmpty, pools, releaseBlockAffinity, releaseHostAffinities, releaseIPs, releaseOfImage, selectsNode, ATTRIBUTE_NAMESPACE, ATTRIBUTE_NODE, ATTRIBUTE_POD, ATTRIBUTE_TIMESTAMP, ATTRIBUTE_TYPE, BLOCKS, POOLS, type BlockSpec, type IpamClient } from './ipam.ts';
import type { Runtime } from './runtime.ts';
import { TUNNEL_TYPES } from './tunnel-addresses.ts';

const KCC = 'kubecontrollersconfigurations.crd.projectcalico.org';
const MANAGER = 'kube-controllers';
const DEFAULT_PERIOD = 5 * 60_000;

interface Allocation {
  ip: string;
  handle: string;
  attrs: Record<string, string>;
  sequenceNumber: number;
  block: string;
  /** When it was first found to be a leak candidate. */
  leakedAt?: number;
  confirmed: boolean;
}

const id = (a: Allocation) => `${a.handle}/${a.ip}`;
const isTunnel = (a: Allocation) => TUNNEL_TYPES.some((t) => t.attribute === a.attrs[ATTRIBUTE_TYPE]);
const isPodIP = (a: Allocation) => Boolean(a.attrs[ATTRIBUTE_NAMESPACE] && a.attrs[ATTRIBUTE_POD]);

function add<K, V>(map: Map<K, Map<string, V>>, key: K, name: string, value: V): void {
  let inner = map.get(key);
  if (!inner) map.set(key, (inner = new Map()));
  inner.set(name, value);
}

function drop<K, V>(map: Map<K, Map<string, V>>, key: K, name: string): void {
  const inner = map.get(key);
  inner?.delete(name);
  if (inner?.size === 0) map.delete(key);
}

export function startCalicoKubeControllers(rt: Runtime): void {
  const controller = new IpamController(rt);
  const follow = () => rt.enqueue('calico-kube-controllers', 0, () => controller.setRunning(podRunning(rt) && !rt.ipamFaults.gcStopped));
  rt.ipamFaults.onGcStoppedChange(follow);
  rt.watch(['pods', 'nodes', BLOCKS, POOLS, KCC], (event) => {
    if (event.key === 'pods' && event.object.metadata.namespace === 'calico-system' && event.object.metadata.labels?.['k8s-app'] === 'calico-kube-controllers') follow();
    controller.observe(event.key, event.type, event.object);
  });
}

function podRunning(rt: Runtime): boolean {
  return rt.api.store.list('pods', 'calico-system').some((p) => p.metadata.labels?.['k8s-app'] === 'calico-kube-controllers' && !p.metadata.deletionTimestamp && (p.status as { phase?: string } | undefined)?.phase === 'Running');
}

class IpamController {
  readonly rt: Runtime;
  running = false;
  /** The node controller's leakGracePeriod in ms; undefined when unset (leaks on live nodes are then never collected). */
  leakGracePeriod: number | undefined;
  timer: Timer | undefined;
  /** The configuration it runs with, and whether it is writing it (its own writes are no change). */
  configSpec: unknown;
  loadingConfig = false;
  readonly allocationsByBlock = new Map<string, Map<string, Allocation>>();
  readonly allocationsByNode = new Map<string, Map<string, Allocation>>();
  readonly allocationsByHandle = new Map<string, Map<string, Allocation>>();
  readonly allocationsByPod = new Map<string, Map<string, Allocation>>();
  readonly nodesByBlock = new Map<string, string>();
  readonly blocksByNode = new Map<string, Set<string>>();
  readonly emptyBlocks = new Map<string, string>();
  /** blockReleaseTracker: since when an empty block has been seen empty. */
  readonly emptySince = new Map<string, number>();
  readonly confirmedLeaks = new Map<string, Allocation>();
  /** Allocations whose pod or node changed since the last sync. */
  readonly dirty = new Set<Allocation>();
  /** Leak candidates on nodes that still exist. */
  readonly suspects = new Set<Allocation>();
  /** Nodes with affine blocks or allocations that have no Kubernetes Node. */
  readonly goneNodes = new Set<string>();

  constructor(rt: Runtime) {
    this.rt = rt;
  }

  client(): IpamClient {
    const pod = this.rt.api.store.list('pods', 'calico-system').find((p) => p.metadata.labels?.['k8s-app'] === 'calico-kube-controllers');
    return { rt: this.rt, manager: MANAGER, release: releaseOfImage((pod?.spec as { containers: { image: string }[] } | undefined)?.containers[0]?.image) };
  }

  setRunning(running: boolean): void {
    if (running === this.running) return;
    this.running = running;
    this.clear();
    if (!running) return;
    // A start: the configuration read (or created), every block loaded, then a sync once in sync.
    this.loadConfig();
    for (const block of this.rt.api.store.list(BLOCKS)) this.onBlockUpdated(block.spec as BlockSpec);
    this.kick();
  }

  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (const map of [this.allocationsByBlock, this.allocationsByNode, this.allocationsByHandle, this.allocationsByPod, this.nodesByBlock, this.blocksByNode, this.emptyBlocks, this.emptySince, this.confirmedLeaks]) map.clear();
    this.dirty.clear();
    this.suspects.clear();
    this.goneNodes.clear();
  }

  /** The running configuration from KubeControllersConfiguration `default` (created with the defaults if missing), and the periodic sync it implies. */
  loadConfig(): void {
    const type = this.rt.api.registry.byKey(KCC);
    if (!type) return;
    this.loadingConfig = true;
    try {
      if (!this.rt.api.find(type, undefined, 'default')) {
        this.rt.api.create(type, undefined, { apiVersion: 'crd.projectcalico.org/v1', kind: 'KubeControllersConfiguration', metadata: { name: 'default' }, spec: DEFAULT_SPEC }, { fieldManager: MANAGER });
      }
      const spec = this.rt.api.get(type, undefined, 'default').spec as KccSpec;
      this.configSpec = spec;
      const grace = spec.controllers?.node?.leakGracePeriod;
      this.leakGracePeriod = grace === undefined ? undefined : parseGoDuration(grace);
      this.rt.api.mutate(type, undefined, 'default', (o) => void (o.status = runningStatus(spec)), { fieldManager: MANAGER });
    } finally {
      this.loadingConfig = false;
    }
    const period = this.leakGracePeriod ? this.leakGracePeriod / 2 : DEFAULT_PERIOD;
    const tick = () => {
      this.timer = this.rt.clock.after(period, tick);
      this.sync();
    };
    this.timer = this.rt.clock.after(period, tick);
  }

  kick(): void {
    this.rt.enqueue('calico-kube-controllers/ipam-sync', 0, () => this.sync());
  }

  observe(key: string, type: string, object: KubeObject): void {
    if (!this.running) return;
    if (key === BLOCKS) {
      if (type === 'DELETED') this.onBlockDeleted((object.spec as BlockSpec).cidr);
      else this.onBlockUpdated(object.spec as BlockSpec);
      this.kick();
    } else if (key === 'pods') {
      for (const a of this.allocationsByPod.get(`${object.metadata.namespace}/${object.metadata.name}`)?.values() ?? []) this.dirty.add(a);
    } else if (key === 'nodes') {
      if (type !== 'MODIFIED') for (const a of this.allocationsByNode.get(object.metadata.name)?.values() ?? []) this.dirty.add(a);
      if (type === 'ADDED') this.goneNodes.delete(object.metadata.name);
      if (type === 'DELETED') this.noteNode(object.metadata.name);
      this.kick();
    } else if (key === POOLS) {
      this.kick();
    } else if (object.metadata.name === 'default' && type !== 'DELETED' && !this.loadingConfig && !jsonEqual(object.spec, this.configSpec)) {
      // A changed configuration: the real controller restarts with it.
      this.rt.enqueue('calico-kube-controllers/restart', 0, () => {
        this.setRunning(false);
        this.setRunning(podRunning(this.rt) && !this.rt.ipamFaults.gcStopped);
      });
    }
  }

  onBlockUpdated(block: BlockSpec): void {
    const cidr = block.cidr;
    const host = hostOf(block);
    const previous = this.nodesByBlock.get(cidr);
    if (previous !== undefined && previous !== host) this.blocksByNode.get(previous)?.delete(cidr);
    if (host) {
      this.nodesByBlock.set(cidr, host);
      if (!this.blocksByNode.has(host)) this.blocksByNode.set(host, new Set());
      this.blocksByNode.get(host)!.add(cidr);
      this.noteNode(host);
    } else this.nodesByBlock.delete(cidr);
    const current = new Set<string>();
    block.allocations.forEach((index, ordinal) => {
      if (index === null) return;
      const attribute = block.attributes[index];
      if (!attribute?.handle_id) return;
      const a: Allocation = { ip: blockAddress(block, ordinal), handle: attribute.handle_id, attrs: attribute.secondary ?? {}, sequenceNumber: block.sequenceNumberForAllocation[String(ordinal)] ?? 0, block: cidr, confirmed: false };
      current.add(id(a));
      if (this.allocationsByBlock.get(cidr)?.has(id(a))) return;
      this.index(a);
    });
    this.emptyBlocks.delete(cidr);
    if (host && isEmpty(block)) this.emptyBlocks.set(cidr, host);
    else if (host) this.emptySince.delete(cidr);
    for (const a of [...(this.allocationsByBlock.get(cidr)?.values() ?? [])]) if (!current.has(id(a))) this.unindex(a);
  }

  onBlockDeleted(cidr: string): void {
    for (const a of [...(this.allocationsByBlock.get(cidr)?.values() ?? [])]) this.unindex(a);
    const host = this.nodesByBlock.get(cidr);
    if (host) this.blocksByNode.get(host)?.delete(cidr);
    this.nodesByBlock.delete(cidr);
    this.emptyBlocks.delete(cidr);
    this.emptySince.delete(cidr);
  }

  index(a: Allocation): void {
    add(this.allocationsByBlock, a.block, id(a), a);
    if (a.attrs[ATTRIBUTE_NODE]) {
      add(this.allocationsByNode, a.attrs[ATTRIBUTE_NODE], id(a), a);
      this.noteNode(a.attrs[ATTRIBUTE_NODE]);
    }
    add(this.allocationsByHandle, a.handle, id(a), a);
    if (isPodIP(a)) add(this.allocationsByPod, `${a.attrs[ATTRIBUTE_NAMESPACE]}/${a.attrs[ATTRIBUTE_POD]}`, id(a), a);
    this.dirty.add(a);
  }

  unindex(a: Allocation): void {
    drop(this.allocationsByBlock, a.block, id(a));
    if (a.attrs[ATTRIBUTE_NODE]) drop(this.allocationsByNode, a.attrs[ATTRIBUTE_NODE], id(a));
    drop(this.allocationsByHandle, a.handle, id(a));
    if (isPodIP(a)) drop(this.allocationsByPod, `${a.attrs[ATTRIBUTE_NAMESPACE]}/${a.attrs[ATTRIBUTE_POD]}`, id(a));
    this.confirmedLeaks.delete(id(a));
    this.dirty.delete(a);
    this.suspects.delete(a);
  }

  noteNode(node: string): void {
    if (!this.nodeExists(node)) this.goneNodes.add(node);
  }

  nodeExists(node: string): boolean {
    return this.rt.api.store.get('nodes', undefined, node) !== undefined;
  }

  /** syncIPAM. */
  sync(): void {
    if (!this.running) return;
    const nodesToRelease = this.checkAllocations();
    this.garbageCollectIPs();
    this.checkEmptyBlocks();
    for (const node of nodesToRelease) releaseHostAffinities(this.client(), node, true);
  }

  /** checkAllocations: leak candidates and confirmed leaks; the nodes whose affinities can go. */
  checkAllocations(): string[] {
    const now = this.rt.clock.now().getTime();
    const nodesToRelease: string[] = [];
    for (const node of [...this.goneNodes]) {
      if (this.nodeExists(node) || (!this.blocksByNode.get(node)?.size && !this.allocationsByNode.has(node))) {
        this.goneNodes.delete(node);
        continue;
      }
      let canDelete = true;
      const tunnels: Allocation[] = [];
      for (const a of this.allocationsByNode.get(node)?.values() ?? []) {
        this.dirty.delete(a);
        this.suspects.delete(a);
        if (!isPodIP(a) && !isTunnel(a)) canDelete = false;
        else if (isTunnel(a)) tunnels.push(a);
        else if (this.isValid(a, '')) {
          canDelete = false;
          this.markValid(a);
        } else this.confirm(a);
      }
      if (!canDelete) continue;
      for (const a of tunnels) this.confirm(a);
      nodesToRelease.push(node);
    }
    for (const a of new Set([...this.dirty, ...this.suspects])) {
      const node = a.attrs[ATTRIBUTE_NODE] ?? '';
      if (!isPodIP(a) || isTunnel(a) || !this.nodeExists(node)) continue;
      if (this.isValid(a, node)) {
        this.suspects.delete(a);
        this.markValid(a);
        continue;
      }
      this.suspects.add(a);
      if (this.leakGracePeriod === undefined) continue;
      a.leakedAt ??= now;
      // A grace period of 0 turns collection off: candidates are never confirmed.
      if (now - a.leakedAt > this.leakGracePeriod && this.leakGracePeriod > 0) this.confirm(a);
    }
    this.dirty.clear();
    return nodesToRelease;
  }

  confirm(a: Allocation): void {
    a.confirmed = true;
    this.confirmedLeaks.set(id(a), a);
  }

  markValid(a: Allocation): void {
    a.leakedAt = undefined;
    a.confirmed = false;
    this.confirmedLeaks.delete(id(a));
  }

  /** allocationIsValid: the pod exists on that node and (once it has addresses) has this one. */
  isValid(a: Allocation, knode: string): boolean {
    if (isTunnel(a)) return knode !== '';
    if (!isPodIP(a)) return true;
    const pod = this.rt.api.store.get('pods', a.attrs[ATTRIBUTE_NAMESPACE], a.attrs[ATTRIBUTE_POD]!);
    if (!pod) return false;
    const nodeName = (pod.spec as { nodeName?: string }).nodeName;
    if (nodeName && knode && nodeName !== knode) return false;
    const status = pod.status as { podIP?: string; podIPs?: { ip: string }[]; phase?: string; reason?: string } | undefined;
    if (!status?.podIP || !status.podIPs?.length) return true;
    if (status.phase === 'Failed' && status.reason === 'Evicted') return false;
    return workloadIPs(pod).includes(a.ip);
  }

  /** garbageCollectIPs: each confirmed leak released, once every address of its handle is one. */
  garbageCollectIPs(): void {
    for (const a of [...this.confirmedLeaks.values()]) {
      if (this.isValid(a, this.nodeExists(a.attrs[ATTRIBUTE_NODE] ?? '') ? a.attrs[ATTRIBUTE_NODE]! : '')) {
        this.markValid(a);
        continue;
      }
      if (![...(this.allocationsByHandle.get(a.handle)?.values() ?? [])].every((x) => x.confirmed)) continue;
      const released = releaseIPs(this.client(), [{ address: a.ip, handle: a.handle, sequenceNumber: a.sequenceNumber }]);
      if ('error' in released) return;
      this.unindex(a);
    }
  }

  /** checkEmptyBlocks: an empty block of a node with other blocks gives up its affinity after the grace period. */
  checkEmptyBlocks(): void {
    const now = this.rt.clock.now().getTime();
    for (const [cidr, node] of [...this.emptyBlocks]) {
      if ((this.blocksByNode.get(node)?.size ?? 0) <= 1) continue;
      if (!this.leakGracePeriod || this.leakGracePeriod <= 0) continue;
      const since = this.emptySince.get(cidr);
      if (since === undefined) {
        this.emptySince.set(cidr, now);
        continue;
      }
      if (now - since <= this.leakGracePeriod) continue;
      if (releaseBlockAffinity(this.client(), node, cidr, true) === 'released') this.onBlockDeleted(cidr);
    }
  }
}

/** The pod's addresses as its WorkloadEndpoint has them: the CNI's annotations, else the pod status. */
function workloadIPs(pod: KubeObject): string[] {
  const annotations = pod.metadata.annotations ?? {};
  const networks = annotations['cni.projectcalico.org/podIPs'] || annotations['cni.projectcalico.org/podIP'];
  if (networks) return networks.split(',').map((n) => n.split('/')[0]!);
  return ((pod.status as { podIPs?: { ip: string }[] }).podIPs ?? []).map((p) => p.ip);
}

interface KccSpec {
  controllers?: { node?: { leakGracePeriod?: string } };
  logSeverityScreen?: string;
  healthChecks?: string;
  etcdV3CompactionPeriod?: string;
}

/** runconfig.go's DefaultKCC, as calico-kube-controllers creates it. */
const DEFAULT_SPEC = {
  controllers: {
    namespace: { reconcilerPeriod: '5m0s' },
    node: { leakGracePeriod: '15m0s', reconcilerPeriod: '5m0s', syncLabels: 'Enabled' },
    policy: { reconcilerPeriod: '5m0s' },
    serviceAccount: { reconcilerPeriod: '5m0s' },
    workloadEndpoint: { reconcilerPeriod: '5m0s' },
  },
  etcdV3CompactionPeriod: '10m0s',
  healthChecks: 'Enabled',
  logSeverityScreen: 'Info',
};

/** mergeConfig's status with the operator's environment (ENABLED_CONTROLLERS=node, DATASTORE_TYPE=kubernetes). */
function runningStatus(spec: KccSpec): object {
  const grace = spec.controllers?.node?.leakGracePeriod;
  return {
    environmentVars: { DATASTORE_TYPE: 'kubernetes', ENABLED_CONTROLLERS: 'node' },
    runningConfig: {
      controllers: { node: { hostEndpoint: { autoCreate: 'Disabled' }, ...(grace !== undefined ? { leakGracePeriod: grace } : {}), syncLabels: 'Disabled' } },
      etcdV3CompactionPeriod: spec.etcdV3CompactionPeriod ?? '10m0s',
      healthChecks: spec.healthChecks === 'Disabled' ? 'Disabled' : 'Enabled',
      logSeverityScreen: spec.logSeverityScreen ?? 'Info',
    },
  };
}

/** Go's time.ParseDuration for what a leakGracePeriod holds (`15m0s`, `1h`, `90s`, `500ms`, `0`). */
export function parseGoDuration(text: string): number {
  if (text === '0') return 0;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  for (let m = re.exec(text); m; m = re.exec(text)) total += Number(m[1]) * units[m[2]!]!;
  if (re.lastIndex !== 0 && re.lastIndex !== text.length) throw new Error(`time: invalid duration "${text}"`);
  return total;
}

/**
 * The knob of a node deleted from the cluster without its Calico IPAM: a
 * block affine to it holding its tunnel address (for each encapsulation its
 * pools use) and the address of the csi-node-driver pod it ran, with their
 * handles — as a node removed by `kubectl delete node` leaves them until
 * the garbage collector runs. Needs an IP pool.
 */
export function leaveDeletedNodeIpam(rt: Runtime, node: string): void {
  const version = (rt.api.store.get('installations.operator.tigera.io', undefined, 'default')?.status as { calicoVersion?: string } | undefined)?.calicoVersion;
  const release = releaseOfImage(`calico/node:${version ?? ''}`);
  const labels = { 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux' };
  for (const type of TUNNEL_TYPES) {
    const cidrs = pools(rt).filter((p) => p.cidr.family === type.family && !p.spec.disabled && selectsNode(p, labels) && type.uses(p.spec)).map((p) => p.spec.cidr);
    if (cidrs.length === 0) continue;
    const v4 = type.family === 4;
    autoAssign({ rt, manager: 'calico-node', release }, { num4: v4 ? 1 : 0, num6: v4 ? 0 : 1, handleID: type.handle(node), attrs: { [ATTRIBUTE_NODE]: node, [ATTRIBUTE_TYPE]: type.attribute }, host: node, ...(v4 ? { ipv4Pools: cidrs } : { ipv6Pools: cidrs }), use: 'Tunnel', nodeLabels: labels });
  }
  const digest = createHash('sha256').update(node).digest();
  const pod = `csi-node-driver-${[...digest.subarray(0, 5)].map((b) => 'bcdfghjklmnpqrstvwxz2456789'[b % 27]).join('')}`;
  const attrs = { [ATTRIBUTE_NAMESPACE]: 'calico-system', [ATTRIBUTE_NODE]: node, [ATTRIBUTE_POD]: pod, [ATTRIBUTE_TIMESTAMP]: goTime(rt.clock.now()) };
  const sandbox = createHash('sha256').update(`${node}/${pod}`).digest('hex');
  autoAssign({ rt, manager: 'calico-ipam', release }, { ...families(rt), handleID: `${POD_NETWORK}.${sandbox}`, attrs, host: node, use: 'Workload', nodeLabels: labels });
}
