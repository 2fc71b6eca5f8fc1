// Whether policy lets a flow through, evaluated as Calico evaluates it.
//
// CONTRACT (the signature stays; the body is a first cut to be replaced by
// the policy model): reachability (reach.ts) asks policyVerdict for every
// flow it has found a path for; the verdict names the policy that decided.
import type { Runtime } from '../controllers/runtime.ts';
import type { KubeObject } from '../types.ts';

/** One end of a flow: a pod (on a node), a host (a node's address), or an address outside the cluster. */
export interface Endpoint {
  ip: string;
  /** The node it is on; undefined outside the cluster. */
  node: string | undefined;
  /** The pod, unless it is a host or outside (a hostNetwork pod is its host: no policy of pods applies). */
  pod: KubeObject | undefined;
}

export interface Flow {
  src: Endpoint;
  dst: Endpoint;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port: number;
}

export type PolicyVerdict =
  | { allowed: true; by?: string }
  | { allowed: false; by: string }
  /** The model cannot judge it (tiers, Pass): never a silent allow. */
  | { unjudgeable: string };

export function policyVerdict(_rt: Runtime, _flow: Flow): PolicyVerdict {
  return { allowed: true };
}
