// default-scheduler: binds pending pods to nodes that fit, least loaded
// first, and reports FailedScheduling with the real message when none fits.
import type { KubeObject } from '../types.ts';
import { condition } from './workloads.ts';
import { fitError, unfit } from './placement.ts';
import type { Runtime } from './runtime.ts';

export function startScheduler(rt: Runtime): void {
  rt.watch(['pods'], (event) => {
    if (event.type === 'DELETED') return;
    const pod = event.object;
    if (!(pod.spec as { nodeName?: string }).nodeName && !pod.metadata.deletionTimestamp) {
      rt.enqueue(`schedule/${pod.metadata.namespace}/${pod.metadata.name}`, rt.timings.schedule, () => schedule(rt, pod.metadata.namespace!, pod.metadata.name));
    }
  });
  // A node changed: retry every pending pod, once per burst of node events.
  rt.watch(['nodes'], () => rt.enqueue('schedule/pending', rt.timings.schedule, () => {
    for (const pod of rt.podsByNode.get('')) {
      if (!pod.metadata.deletionTimestamp) schedule(rt, pod.metadata.namespace!, pod.metadata.name);
    }
  }));
}

function schedule(rt: Runtime, namespace: string, name: string): void {
  const podType = rt.type('pods');
  const pod = rt.api.find(podType, namespace, name);
  if (!pod || pod.metadata.deletionTimestamp || (pod.spec as { nodeName?: string }).nodeName) return;
  // NodeAffinity's PreFilter: a pod pinned to nodes by name (a DaemonSet's) is judged on those alone;
  // when none of them fits, on every node, for the FailedScheduling message.
  const pinned = (pinnedNodes(pod) ?? []).sort().map((node) => rt.api.store.get('nodes', undefined, node)).filter((node): node is KubeObject => node !== undefined && !unfit(pod, node));
  const nodes = pinned.length ? pinned : rt.api.store.list('nodes');
  const reasons: string[] = [];
  const fitting = nodes.filter((node) => {
    const reason = unfit(pod, node);
    if (reason) reasons.push(reason);
    return !reason;
  });
  const previous = ((pod.status ?? {}) as { conditions?: { type: string; status: string }[] }).conditions;
  if (fitting.length === 0) {
    const message = fitError(reasons, nodes.length);
    const already = previous?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && (c as { message?: string }).message === message);
    if (already) return;
    rt.api.mutate(podType, namespace, name, (p) => {
      const status = (p.status ??= {}) as { conditions?: object[] };
      const { lastUpdateTime: _u, ...scheduled } = condition(previous as never, 'PodScheduled', 'False', 'Unschedulable', message, rt.now());
      status.conditions = [{ ...scheduled, lastProbeTime: null }];
    }, { fieldManager: 'kube-scheduler', subresource: 'status' });
    rt.event(pod, 'Warning', 'FailedScheduling', message, { component: 'default-scheduler' });
    return;
  }
  const load = (node: KubeObject) => rt.podsByNode.count(node.metadata.name);
  const target = fitting.length === 1 ? fitting[0]! : fitting.map((n) => [n, load(n)] as const).sort((a, b) => a[1] - b[1])[0]![0];
  rt.api.mutate(podType, namespace, name, (p) => void ((p.spec as { nodeName?: string }).nodeName = target.metadata.name), { fieldManager: 'kube-scheduler' });
  rt.api.mutate(podType, namespace, name, (p) => {
    const status = (p.status ??= {}) as { conditions?: object[] };
    status.conditions = [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rt.now() }];
  }, { fieldManager: 'kube-scheduler', subresource: 'status' });
  rt.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${target.metadata.name}`, { component: 'default-scheduler' });
}

/** The nodes a pod's required node affinity names through `metadata.name` matchFields, if every term does. */
function pinnedNodes(pod: KubeObject): string[] | undefined {
  const affinity = (pod.spec as { affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchFields?: { key: string; operator: string; values?: string[] }[] }[] } } } }).affinity;
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const names = terms.map((term) => term.matchFields?.find((f) => f.key === 'metadata.name' && f.operator === 'In')?.values);
  return terms.length > 0 && names.every((n) => n !== undefined) ? names.flat() : undefined;
}
