// calico-node's tunnel addresses (node/pkg/allocateip): once calico-node
// runs on a node, and whenever the IP pools change, it makes sure the node
// has an address for each encapsulation its pools use — IPIP (IPv4), VXLAN
// (IPv4 and IPv6) — from Calico IPAM under the handle
// `<type>-tunnel-addr-<node>`, recorded as the node's annotation; it gives
// one back when no pool uses that encapsulation any more. (WireGuard's
// addresses need WireGuard running, which the test cluster does not model.)
import { calicoNodePod } from '../dataplane/calico-node.ts';
import { assignmentAttributes, autoAssign, inCidrs, partialFulfillmentError, pools, releaseByHandle, releaseIPs, releaseOfImage, selectsNode, ATTRIBUTE_NODE, ATTRIBUTE_TYPE, type IpamClient } from './ipam.ts';
import type { Runtime } from './runtime.ts';

interface TunnelType {
  /** The allocation's `type` attribute. */
  attribute: string;
  handle: (node: string) => string;
  annotation: string;
  family: 4 | 6;
  /** The pool modes that need it. */
  uses: (pool: { ipipMode?: string; vxlanMode?: string }) => boolean;
}

const encapsulated = (mode: string | undefined) => mode === 'Always' || mode === 'CrossSubnet';

/** In the order reconcileTunnelAddrs handles them. */
export const TUNNEL_TYPES: TunnelType[] = [
  { attribute: 'ipipTunnelAddress', handle: (n) => `ipip-tunnel-addr-${n}`, annotation: 'projectcalico.org/IPv4IPIPTunnelAddr', family: 4, uses: (p) => encapsulated(p.ipipMode) },
  { attribute: 'vxlanTunnelAddress', handle: (n) => `vxlan-tunnel-addr-${n}`, annotation: 'projectcalico.org/IPv4VXLANTunnelAddr', family: 4, uses: (p) => encapsulated(p.vxlanMode) },
  { attribute: 'vxlanV6TunnelAddress', handle: (n) => `vxlan-v6-tunnel-addr-${n}`, annotation: 'projectcalico.org/IPv6VXLANTunnelAddr', family: 6, uses: (p) => encapsulated(p.vxlanMode) },
];

export function startTunnelAddressAllocator(rt: Runtime): void {
  const reconcileSoon = (node: string) => rt.enqueue(`tunnel-addresses/${node}`, 0, () => reconcileTunnelAddresses(rt, node));
  // The calico-node pods that have started (uid → node): each reconciles when it starts, then when its node or the pools change.
  const started = new Map<string, string>();
  const startedOn = new Map<string, number>();
  const nodeStates = new Map<string, string>();
  const forget = (uid: string) => {
    const node = started.get(uid);
    if (node === undefined) return;
    started.delete(uid);
    if ((startedOn.get(node) ?? 0) <= 1) startedOn.delete(node);
    else startedOn.set(node, startedOn.get(node)! - 1);
  };
  rt.watch(['pods', 'nodes', 'ippools.crd.projectcalico.org'], (event) => {
    const { object } = event;
    if (event.key === 'pods') {
      if (object.metadata.namespace !== 'calico-system' || object.metadata.labels?.['k8s-app'] !== 'calico-node') return;
      const node = (object.spec as { nodeName?: string }).nodeName;
      const running = event.type !== 'DELETED' && (object.status as { phase?: string } | undefined)?.phase === 'Running' && !object.metadata.deletionTimestamp;
      if (!running || !node) forget(object.metadata.uid);
      else if (!started.has(object.metadata.uid)) {
        started.set(object.metadata.uid, node);
        startedOn.set(node, (startedOn.get(node) ?? 0) + 1);
        reconcileSoon(node);
      }
    } else if (event.key === 'nodes') {
      // What allocateip reads of its node: labels (pool selectors) and the tunnel addresses.
      const seen = JSON.stringify([object.metadata.labels, TUNNEL_TYPES.map((t) => object.metadata.annotations?.[t.annotation])]);
      if (event.type === 'DELETED') nodeStates.delete(object.metadata.name);
      else if (nodeStates.get(object.metadata.name) !== seen) {
        nodeStates.set(object.metadata.name, seen);
        if (startedOn.has(object.metadata.name)) reconcileSoon(object.metadata.name);
      }
    } else {
      for (const node of startedOn.keys()) reconcileSoon(node);
    }
  });
}

/** reconcileTunnelAddrs, for the calico-node running on `node`. */
function reconcileTunnelAddresses(rt: Runtime, node: string): void {
  const pod = calicoNodePod(rt, node);
  const object = rt.api.store.get('nodes', undefined, node);
  if (!pod || !object) return;
  const image = (pod.spec as { containers: { image: string }[] }).containers[0]?.image;
  const client: IpamClient = { rt, manager: 'calico-node', release: releaseOfImage(image) };
  for (const type of TUNNEL_TYPES) {
    const cidrs = pools(rt)
      .filter((p) => p.cidr.family === type.family && !p.spec.disabled && (p.spec.allowedUses?.length ? p.spec.allowedUses.includes('Tunnel') : true) && selectsNode(p, object.metadata.labels ?? {}) && type.uses(p.spec))
      .map((p) => p.spec.cidr);
    if (cidrs.length > 0) ensureTunnelAddress(client, node, cidrs, type);
    else removeTunnelAddress(client, node, type);
  }
}

/** ensureHostTunnelAddress: keep the node's address if it is still its own in a pool of this encapsulation, else assign another. */
function ensureTunnelAddress(client: IpamClient, node: string, cidrs: string[], type: TunnelType): void {
  const { rt } = client;
  const current = rt.api.store.get('nodes', undefined, node)?.metadata.annotations?.[type.annotation];
  let release = true;
  if (current) {
    const assigned = assignmentAttributes(rt, current);
    if (assigned?.attrs[ATTRIBUTE_TYPE] === type.attribute && assigned.attrs[ATTRIBUTE_NODE] === node) {
      if (inCidrs(current, cidrs)) return;
    } else if (assigned) {
      // Someone else's address: leave it be, and get another.
      release = false;
    }
  }
  if (release) releaseByHandle(client, type.handle(node));
  assignTunnelAddress(client, node, cidrs, type);
}

/** assignHostTunnelAddr; on failure calico-node's allocator exits and is restarted, so it tries again a little later. */
function assignTunnelAddress(client: IpamClient, node: string, cidrs: string[], type: TunnelType): void {
  const { rt } = client;
  const v4 = type.family === 4;
  const result = autoAssign(client, {
    num4: v4 ? 1 : 0, num6: v4 ? 0 : 1, handleID: type.handle(node), attrs: { [ATTRIBUTE_NODE]: node, [ATTRIBUTE_TYPE]: type.attribute }, host: node,
    ...(v4 ? { ipv4Pools: cidrs } : { ipv6Pools: cidrs }), use: 'Tunnel',
  });
  const assignments = v4 ? result.v4 : result.v6;
  if (result.error || !assignments || partialFulfillmentError(assignments)) {
    rt.enqueue(`tunnel-addresses/${node}`, rt.timings.backOff, () => reconcileTunnelAddresses(rt, node));
    return;
  }
  setAnnotation(rt, node, type.annotation, assignments.ips[0]!);
}

/** removeHostTunnelAddr: the handle released (or the bare address, if it has no handle and is not someone else's), the annotation removed. */
function removeTunnelAddress(client: IpamClient, node: string, type: TunnelType): void {
  const { rt } = client;
  const current = rt.api.store.get('nodes', undefined, node)?.metadata.annotations?.[type.annotation];
  if (!releaseByHandle(client, type.handle(node)) && current) {
    const assigned = assignmentAttributes(rt, current);
    if (assigned && (assigned.handle === type.handle(node) || (!assigned.handle && Object.keys(assigned.attrs).length === 0))) {
      releaseIPs(client, [{ address: current, ...(assigned.handle ? { handle: assigned.handle } : {}) }]);
    }
  }
  if (current !== undefined) setAnnotation(rt, node, type.annotation, undefined);
}

/** What calico-node's update of its Node writes: the Calico Node's tunnel address is this annotation of the Kubernetes node. */
function setAnnotation(rt: Runtime, node: string, annotation: string, value: string | undefined): void {
  rt.api.mutate(rt.type('nodes'), undefined, node, (n) => {
    const annotations = { ...n.metadata.annotations };
    if (value === undefined) delete annotations[annotation];
    else annotations[annotation] = value;
    n.metadata.annotations = annotations;
  }, { fieldManager: 'calico-node' });
}
