// What calico-node is doing on each node, as the rest of the data plane
// model needs to know it: whether it runs, whether Felix is ready (it needs
// Typha) and programs policy, and which BGP sessions are Established.
//
// CONTRACT between the parts of the model (the signatures stay; the bodies
// are first cuts to be replaced by the BGP and Felix model):
// - reachability (reach.ts) asks felixReady, bgpEstablished and routes through them;
// - policy (policy.ts) asks policyProgrammed for the node that enforces a flow;
// - the calico-node programs (birdcl, calico-node -felix-ready …) and the
//   kubelet's readiness probe of calico-node answer from the same state.
import type { KubeObject } from '../types.ts';
import type { Runtime } from '../controllers/runtime.ts';
import { dropped } from './faults.ts';

/** The calico-node pod on `node`, if one is bound there and not being deleted. */
export function calicoNodePod(rt: Runtime, node: string): KubeObject | undefined {
  return rt.podsByNode.get(node).find((p) => p.metadata.namespace === 'calico-system' && p.metadata.labels?.['k8s-app'] === 'calico-node' && !p.metadata.deletionTimestamp);
}

function running(pod: KubeObject | undefined): boolean {
  return (pod?.status as { phase?: string } | undefined)?.phase === 'Running';
}

/** Felix on `node` is ready: calico-node runs there (first cut: Typha is not consulted yet). */
export function felixReady(rt: Runtime, node: string): boolean {
  return running(calicoNodePod(rt, node));
}

/** Felix on `node` programs the policy that is in the datastore now (false when it is stuck or not ready). */
export function policyProgrammed(rt: Runtime, node: string): boolean {
  return felixReady(rt, node) && !rt.network.felixStuck.includes(node);
}

/** A BGP session between the BIRDs of `a` and `b` is Established (first cut: both run and TCP 179 passes). */
export function bgpEstablished(rt: Runtime, a: string, b: string): boolean {
  return running(calicoNodePod(rt, a)) && running(calicoNodePod(rt, b)) && !dropped(rt.network, 'bgp', a, b);
}
