// What calico-node is doing on each node, as the rest of the data plane
// model needs to know it: whether it runs, whether Felix is ready (it needs
// Typha) and programs policy, and which BGP sessions are Established.
//
// CONTRACT between the parts of the model (the signatures stay):
// - reachability (reach.ts) asks felixReady, bgpEstablished and routes through them;
// - policy (policy.ts) asks policyProgrammed for the node that enforces a flow;
// - the calico-node programs (birdcl, calico-node -felix-ready …) and the
//   kubelet's readiness probe of calico-node answer from the same state.
//
// At start calico-node's startup (node/pkg/lifecycle/startup) autodetects
// the node's address and writes the Calico Node resource; with the
// Kubernetes datastore that resource is the Node itself, its BGP address the
// annotation `projectcalico.org/IPv4Address` (libcalico-go k8s backend,
// resources/node.go), and on a dual-stack node `projectcalico.org/IPv6Address`. confd builds BIRD's peers from those addresses, so a
// node joins the mesh when its calico-node first starts (bgp.ts).
import type { KubeObject } from '../types.ts';
import type { Runtime } from '../controllers/runtime.ts';
import { bgpModel, calicoNodeRun, learnedRoutes, sessionEstablished, type Family } from './bgp.ts';
import { dropped } from './faults.ts';

/** The calico-node pod on `node`, if one is bound there and not being deleted. */
export function calicoNodePod(rt: Runtime, node: string): KubeObject | undefined {
  return rt.podsByNode.get(node).find((p) => p.metadata.namespace === 'calico-system' && p.metadata.labels?.['k8s-app'] === 'calico-node' && !p.metadata.deletionTimestamp);
}

/** Starts what calico-node does on its own at start: the Calico Node's BGP address; and the tracking of its runs. */
export function startCalicoNodes(rt: Runtime): void {
  bgpModel(rt);
  typhaNodes(rt);
  rt.watch(['pods'], (event) => {
    const pod = event.object;
    const node = (pod.spec as { nodeName?: string }).nodeName;
    if (event.type === 'DELETED' || !node || pod.metadata.labels?.['k8s-app'] !== 'calico-node' || pod.metadata.namespace !== 'calico-system') return;
    if (calicoNodeRun(rt, node)?.pod === pod.metadata.uid) rt.enqueue(`calico-node-startup/${node}`, 0, () => writeNodeAddress(rt, node, pod));
  });
}

/**
 * Autodetection (firstFound) reads the host interface; a node no scenario
 * built has only its hostIP to go by. IPv6 is autodetected too when the
 * container's IP6 is `autodetect` (the operator sets it for an IPv6 pool):
 * the interface's global IPv6 address with its prefix length, written as
 * `projectcalico.org/IPv6Address`. (A real calico-node that finds no IPv6
 * address then exits; here the annotation is just not written.)
 */
function writeNodeAddress(rt: Runtime, node: string, pod: KubeObject): void {
  const wanted: Record<string, string> = {};
  const env = (name: string) => (pod.spec as { containers: { name: string; env?: { name: string; value?: string }[] }[] }).containers.find((c) => c.name === 'calico-node')?.env?.find((e) => e.name === name)?.value;
  if ((env('IP') ?? 'autodetect') === 'autodetect') wanted['projectcalico.org/IPv4Address'] = rt.hostAddress(node) ?? `${(pod.status as { hostIP?: string }).hostIP ?? ''}/32`;
  const v6 = rt.hostAddress6(node);
  if (env('IP6') === 'autodetect' && v6) wanted['projectcalico.org/IPv6Address'] = v6;
  const annotations = rt.api.store.get('nodes', undefined, node)?.metadata.annotations ?? {};
  if (Object.entries(wanted).every(([key, value]) => annotations[key] === value)) return;
  rt.api.mutate(rt.type('nodes'), undefined, node, (n) => {
    n.metadata.annotations = { ...n.metadata.annotations, ...wanted };
  }, { fieldManager: 'calico-node' });
}

/** Nodes with a Ready Typha (hostNetwork, TCP 5473), by the pods there. */
const typhas = new WeakMap<Runtime, Map<string, string>>();

function typhaNodes(rt: Runtime): Map<string, string> {
  let byPod = typhas.get(rt);
  if (byPod) return byPod;
  const nodes = new Map<string, string>();
  typhas.set(rt, (byPod = nodes));
  const note = (pod: KubeObject, deleted: boolean) => {
    if (pod.metadata.namespace !== 'calico-system' || pod.metadata.labels?.['k8s-app'] !== 'calico-typha') return;
    const node = (pod.spec as { nodeName?: string }).nodeName;
    const ready = ((pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    if (!deleted && node && ready && !pod.metadata.deletionTimestamp) nodes.set(pod.metadata.uid, node);
    else nodes.delete(pod.metadata.uid);
  };
  for (const pod of rt.api.store.list('pods', 'calico-system')) note(pod, false);
  rt.api.store.subscribe((event) => {
    if (event.key === 'pods') note(event.object, event.type === 'DELETED');
  });
  return nodes;
}

/**
 * Felix on `node` is ready: calico-node runs there and Felix has a Typha to
 * sync from (a Ready Typha whose node it reaches on TCP 5473). Without one,
 * Felix's health endpoint answers 503.
 */
export function felixReady(rt: Runtime, node: string): boolean {
  if (!calicoNodeRun(rt, node)) return false;
  // Felix waits for a Typha when Typha is deployed (the operator always deploys it); without one it reads the API server itself.
  if (!rt.api.store.get('deployments.apps', 'calico-system', 'calico-typha')) return true;
  for (const typhaNode of typhaNodes(rt).values()) if (!dropped(rt.network, 'typha', node, typhaNode)) return true;
  return false;
}

/** Felix on `node` programs the policy that is in the datastore now (false when it is stuck or not ready; calico-node stays Ready). */
export function policyProgrammed(rt: Runtime, node: string): boolean {
  return felixReady(rt, node) && !rt.network.felixStuck.includes(node);
}

/** A BGP session between the BIRDs of `a` and `b` is Established (bgp.ts: both run, they peer, TCP 179 passes or the hold timer has not run out). */
export function bgpEstablished(rt: Runtime, a: string, b: string, family: Family = 4): boolean {
  return sessionEstablished(rt, a, b, family);
}

/**
 * BIRD on `from` has a route to `to`'s blocks: over their session, or, with
 * route reflectors and no mesh, through a reflector both have sessions with.
 * For IPIP and unencapsulated pools this, not a direct session, is what a
 * route needs; an IPv6 pool's routes come from BIRD6 (`family` 6).
 */
export function bgpRouteLearned(rt: Runtime, from: string, to: string, family: Family = 4): boolean {
  return from === to || learnedRoutes(rt, from, family).has(to);
}
