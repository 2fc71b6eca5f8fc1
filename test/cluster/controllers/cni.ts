// A pod's network, as containerd sets it up for a pod sandbox: CNI ADD when
// the sandbox is created, CNI DEL when it is stopped. With Calico (an IP
// pool exists) the plugins are `calico` and `calico-ipam`, as the operator's
// CNI config names them: addresses from Calico IPAM under the handle
// `k8s-pod-network.<sandbox id>`, the pod's WorkloadEndpoint written as its
// `cni.projectcalico.org/*` annotations, failures worded as the kubelet
// reports them. Before Calico, an address of the node's podCIDR, as
// host-local IPAM behind another CNI would hand out.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../types.ts';
import { autoAssign, partialFulfillmentError, releaseByHandle, releaseIPs, releaseOfImage, parseV4, formatV4, ATTRIBUTE_NAMESPACE, ATTRIBUTE_NODE, ATTRIBUTE_POD, ATTRIBUTE_TIMESTAMP, type IpamClient } from './ipam.ts';
import { calicoNodePod } from '../dataplane/calico-node.ts';
import type { Runtime } from './runtime.ts';

/** The network name of the operator's CNI config (`"name": "k8s-pod-network"`), the prefix of every pod's IPAM handle. */
export const POD_NETWORK = 'k8s-pod-network';
const POD_IP = 'cni.projectcalico.org/podIP';
const POD_IPS = 'cni.projectcalico.org/podIPs';
const CONTAINER_ID = 'cni.projectcalico.org/containerID';

interface Sandbox {
  id: string;
  /** Set up by Calico's CNI (else by the podCIDR fallback, which keeps nothing to release). */
  calico: boolean;
}

interface RuntimeSandboxes {
  /** The running sandbox of each pod, by pod uid. */
  running: Map<string, Sandbox>;
  /** Sandboxes created so far per pod: each attempt gets a new id, as containerd's do. */
  attempts: Map<string, number>;
  /** Addresses handed out per node by the podCIDR fallback. */
  podCIDRCounters: Map<string, number>;
}

const state = new WeakMap<Runtime, RuntimeSandboxes>();

function sandboxes(rt: Runtime): RuntimeSandboxes {
  let s = state.get(rt);
  if (!s) state.set(rt, (s = { running: new Map(), attempts: new Map(), podCIDRCounters: new Map() }));
  return s;
}

/**
 * RunPodSandbox's network step for a pod that is not hostNetwork: its
 * addresses, or the error the kubelet reports after `Failed to create pod
 * sandbox: `.
 */
export function setUpPodNetwork(rt: Runtime, pod: KubeObject): { ips: string[] } | { error: string } {
  const s = sandboxes(rt);
  const uid = pod.metadata.uid;
  const attempt = (s.attempts.get(uid) ?? 0) + 1;
  s.attempts.set(uid, attempt);
  const id = createHash('sha256').update(`${uid}/sandbox/${attempt}`).digest('hex');
  const node = (pod.spec as { nodeName: string }).nodeName;
  if (rt.api.store.count('ippools.crd.projectcalico.org') === 0) {
    s.running.set(uid, { id, calico: false });
    return { ips: [podCIDRAddress(rt, node)] };
  }
  const result = calicoAdd(rt, pod, node, id);
  if ('error' in result) return { error: `rpc error: code = Unknown desc = failed to setup network for sandbox "${id}": plugin type="calico" failed (add): ${result.error}` };
  s.attempts.delete(uid);
  s.running.set(uid, { id, calico: true });
  return result;
}

/** StopPodSandbox's network step: CNI DEL, unless the pod's DEL is made to fail (its addresses then leak). */
export function tearDownPodNetwork(rt: Runtime, pod: KubeObject): void {
  const s = sandboxes(rt);
  const sandbox = s.running.get(pod.metadata.uid);
  s.attempts.delete(pod.metadata.uid);
  if (!sandbox) return;
  s.running.delete(pod.metadata.uid);
  if (!sandbox.calico || rt.ipamFaults.leaks(pod.metadata.namespace!, pod.metadata.name)) return;
  calicoDel(rt, pod, sandbox.id);
}

function client(rt: Runtime, node: string, manager: string): IpamClient {
  const cni = (calicoNodePod(rt, node)?.spec as { initContainers?: { name: string; image: string }[] } | undefined)?.initContainers?.find((c) => c.name === 'install-cni');
  return { rt, manager, release: releaseOfImage(cni?.image) };
}

/** The address families the operator's CNI config asks for (`assign_ipv4`, `assign_ipv6`): those of the Installation's pools. */
export function families(rt: Runtime): { num4: number; num6: number } {
  const installation = rt.api.store.get('installations.operator.tigera.io', undefined, 'default');
  const cidrs = ((installation?.spec as { calicoNetwork?: { ipPools?: { cidr: string }[] } } | undefined)?.calicoNetwork?.ipPools ?? []).map((p) => p.cidr);
  if (cidrs.length === 0) return { num4: 1, num6: 0 };
  return { num4: cidrs.some((c) => !c.includes(':')) ? 1 : 0, num6: cidrs.some((c) => c.includes(':')) ? 1 : 0 };
}

/** calico-ipam's cmdAdd, then the calico plugin's WorkloadEndpoint (the pod's annotations). */
function calicoAdd(rt: Runtime, pod: KubeObject, node: string, id: string): { ips: string[] } | { error: string } {
  const ipam = client(rt, node, 'calico-ipam');
  const { num4, num6 } = families(rt);
  const attrs = { [ATTRIBUTE_NAMESPACE]: pod.metadata.namespace!, [ATTRIBUTE_NODE]: node, [ATTRIBUTE_POD]: pod.metadata.name, [ATTRIBUTE_TIMESTAMP]: goTime(rt.clock.now()) };
  const { v4, v6, error } = autoAssign(ipam, { num4, num6, handleID: `${POD_NETWORK}.${id}`, attrs, host: node, use: 'Workload' });
  if (error) return { error };
  // One family short: the plugin gives back what the other got.
  const short4 = num4 === 1 && v4 !== undefined && v4.ips.length < num4;
  const short6 = num6 === 1 && v6 !== undefined && v6.ips.length < num6;
  if (short4 && v6?.ips.length) releaseIPs(ipam, v6.ips.map((address) => ({ address })));
  if (short6 && v4?.ips.length) releaseIPs(ipam, v4.ips.map((address) => ({ address })));
  const failed4 = num4 === 1 && v4 ? partialFulfillmentError(v4) : undefined;
  if (failed4) return { error: `failed to request IPv4 addresses: ${failed4}` };
  const failed6 = num6 === 1 && v6 ? partialFulfillmentError(v6) : undefined;
  if (failed6) return { error: `failed to request IPv6 addresses: ${failed6}` };
  const ips = [...(v4?.ips ?? []), ...(v6?.ips ?? [])];
  const networks = ips.map((ip) => `${ip}/${ip.includes(':') ? 128 : 32}`);
  setAnnotations(rt, pod, { [CONTAINER_ID]: id, [POD_IP]: networks[0]!, [POD_IPS]: networks.join(',') });
  return { ips };
}

/** The calico plugin's cmdDel: the WorkloadEndpoint's addresses cleared (if it is this sandbox's), then calico-ipam releases the handle. */
function calicoDel(rt: Runtime, pod: KubeObject, id: string): void {
  const current = rt.api.store.get('pods', pod.metadata.namespace, pod.metadata.name);
  if (current?.metadata.uid === pod.metadata.uid && current.metadata.annotations?.[CONTAINER_ID] === id) setAnnotations(rt, current, { [POD_IP]: '', [POD_IPS]: '' });
  releaseByHandle(client(rt, (pod.spec as { nodeName: string }).nodeName, 'calico-ipam'), `${POD_NETWORK}.${id}`);
}

/** Calico patches these through pods/status (whose strategy lets annotations change); written here as a plain update. */
function setAnnotations(rt: Runtime, pod: KubeObject, annotations: Record<string, string>): void {
  rt.api.mutate(rt.type('pods'), pod.metadata.namespace, pod.metadata.name, (p) => {
    p.metadata.annotations = { ...p.metadata.annotations, ...annotations };
  }, { fieldManager: 'calico' });
}

/** Go's time.Time.String() of a UTC time, as the CNI plugin stamps an allocation: `2026-11-26 05:00:00.123 +0000 UTC`. */
export function goTime(date: Date): string {
  const iso = date.toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}

/** The node's podCIDR, handed out in turn (the test cluster's addresses before Calico). */
function podCIDRAddress(rt: Runtime, node: string): string {
  const counters = sandboxes(rt).podCIDRCounters;
  const next = (counters.get(node) ?? 0) + 1;
  counters.set(node, next);
  const podCIDR = (rt.api.store.get('nodes', undefined, node)?.spec as { podCIDR?: string } | undefined)?.podCIDR;
  const [base] = parseV4(podCIDR ?? '10.244.0.0/24');
  return formatV4(base + (next % 254) + 1);
}
