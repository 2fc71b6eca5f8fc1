// Where a pod may run: taints and tolerations, node selectors and required
// node affinity, as the scheduler's filter plugins judge them, with the
// reasons they give when a node does not fit.
import type { KubeObject } from '../types.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal' | string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

interface PodPlacement {
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] }[] } } };
}

/** Why the node does not fit the pod (the scheduler's wording), or undefined when it fits. */
export function unfit(pod: KubeObject, node: KubeObject): string | undefined {
  const spec = pod.spec as PodPlacement;
  const nodeSpec = (node.spec ?? {}) as { unschedulable?: boolean; taints?: Taint[] };
  if (!selectorMatches(spec, node)) return "node(s) didn't match Pod's node affinity/selector";
  if (nodeSpec.unschedulable && !tolerates(spec.tolerations ?? [], { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return 'node(s) were unschedulable';
  const taint = (nodeSpec.taints ?? []).find((t) => t.effect !== 'PreferNoSchedule' && !tolerates(spec.tolerations ?? [], t));
  if (taint) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
  return undefined;
}

function selectorMatches(spec: PodPlacement, node: KubeObject): boolean {
  if (!matchesNodeSelector(spec.nodeSelector, node)) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return true;
  return terms.some((term) =>
    (term.matchExpressions ?? []).every((r) => requirementMatches(r, node.metadata.labels?.[r.key])) &&
    (term.matchFields ?? []).every((r) => requirementMatches(r, r.key === 'metadata.name' ? node.metadata.name : undefined)));
}

/** A pod's nodeSelector: every label it names, with that value. */
export function matchesNodeSelector(nodeSelector: Record<string, string> | undefined, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  return Object.entries(nodeSelector ?? {}).every(([key, value]) => labels[key] === value);
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(r.values?.[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(r.values?.[0]);
    default:
      return false;
  }
}

/** The scheduler's FitError text: reasons counted over nodes, sorted, with the preemption postscript. */
export function fitError(reasons: string[], nodeCount: number): string {
  if (nodeCount === 0) return 'no nodes available to schedule pods';
  const counts = new Map<string, number>();
  for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const parts = [...counts].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${nodeCount} nodes are available: ${parts.join(', ')}. preemption: 0/${nodeCount} nodes are available: ${nodeCount} Preemption is not helpful for scheduling.`;
}
