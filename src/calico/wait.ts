// `wait`: what the guide does with `watch kubectl get pods -n calico-system`
// and `kubectl get nodes`, driven by watch events, so it returns within a
// moment of the cluster becoming ready — and when it is not, says why.
import type { KubeClient } from '../kube/client.ts';
import { inform, type Informer, type KubeObjectLike } from '../kube/watch.ts';
import { CALICO_NAMESPACES } from './status.ts';

export type WaitTarget = 'all' | 'operator' | 'calico' | 'nodes';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  image?: string;
  state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: { reason?: string } };
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string } };
}

export interface Pod extends KubeObjectLike {
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[] };
  status?: { phase?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}

interface DaemonSet extends KubeObjectLike {
  status?: { desiredNumberScheduled?: number; updatedNumberScheduled?: number; numberAvailable?: number; numberReady?: number };
}

interface WithConditions extends KubeObjectLike {
  status?: { conditions?: Condition[] };
}

interface InstallationObject extends KubeObjectLike {
  status?: { calicoVersion?: string };
}

export interface Watched {
  /** Only when waiting for a version: the operator writes status.calicoVersion once a rollout is done. */
  installation?: Informer<InstallationObject>;
  operator: Informer<Pod>;
  pods: Informer<Pod>[];
  daemonSets: Informer<DaemonSet>;
  statuses: Informer<WithConditions>;
  nodes: Informer<WithConditions>;
}

/** Starts the watches `wait` needs; `onChange` is called after every event. */
export function watchInstall(kube: KubeClient, onChange: () => void, signal: AbortSignal, version?: string): Watched & { stop(): void; synced: Promise<unknown>; failed: Promise<never> } {
  const installation = version ? inform<InstallationObject>(kube, '/apis/operator.tigera.io/v1/installations', {}, onChange, signal) : undefined;
  const operator = inform<Pod>(kube, '/api/v1/namespaces/tigera-operator/pods', { labelSelector: 'name=tigera-operator' }, onChange, signal);
  const pods = CALICO_NAMESPACES.map((ns) => inform<Pod>(kube, `/api/v1/namespaces/${ns}/pods`, {}, onChange, signal));
  const daemonSets = inform<DaemonSet>(kube, '/apis/apps/v1/namespaces/calico-system/daemonsets', {}, onChange, signal);
  const statuses = inform<WithConditions>(kube, '/apis/operator.tigera.io/v1/tigerastatuses', {}, onChange, signal);
  const nodes = inform<WithConditions>(kube, '/api/v1/nodes', {}, onChange, signal);
  const all = [operator, ...pods, daemonSets, statuses, nodes, ...(installation ? [installation] : [])];
  // Rejects with the first watch that fails for good (its retries spent, or refused).
  const failed = Promise.race(all.map((i) => i.done.then(() => new Promise<never>(() => {}))));
  failed.catch(() => {});
  return { ...(installation ? { installation } : {}), operator, pods, daemonSets, statuses, nodes, stop: () => all.forEach((i) => i.stop()), synced: Promise.all(all.map((i) => i.synced)), failed };
}

/** What is not ready yet for `target` (at Calico `version`, when given), one line each; empty when everything is. */
export function notReady(watched: Watched, target: WaitTarget, version?: string): string[] {
  const problems: string[] = [];
  if (target === 'all' || target === 'operator') {
    const pods = [...watched.operator.items.values()];
    if (!pods.some(podReady)) problems.push(pods.length ? `pod tigera-operator/${pods[0]!.metadata.name}: ${podProblem(pods[0]!)}` : 'the tigera-operator pod does not exist yet (is the operator applied?)');
  }
  if (target === 'all' || target === 'calico') {
    const statuses = [...watched.statuses.items.values()];
    if (statuses.length === 0) problems.push('no TigeraStatus yet: the operator has not started on the Installation');
    for (const status of statuses) {
      const conditions = status.status?.conditions ?? [];
      const degraded = conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
      const available = conditions.some((c) => c.type === 'Available' && c.status === 'True');
      if (degraded) problems.push(`tigerastatus/${status.metadata.name}: Degraded: ${degraded.message}`);
      else if (!available) problems.push(`tigerastatus/${status.metadata.name}: not Available${progressing(conditions)}`);
    }
    const reported = watched.installation?.items.get('/default')?.status?.calicoVersion;
    if (version && reported !== version) problems.push(`installation/default: Calico ${reported ?? '(none yet)'}, not ${version} yet (the operator says ${version} once every component runs it)`);
    for (const informer of watched.pods) for (const pod of informer.items.values()) if (!podReady(pod)) problems.push(`pod ${pod.metadata.namespace}/${pod.metadata.name}: ${podProblem(pod)}`);
    for (const ds of watched.daemonSets.items.values()) {
      const s = ds.status ?? {};
      const desired = s.desiredNumberScheduled ?? 0;
      if (desired === 0 || s.updatedNumberScheduled !== desired || s.numberAvailable !== desired) {
        problems.push(`daemonset calico-system/${ds.metadata.name}: ${s.numberAvailable ?? 0} of ${desired} available, ${s.updatedNumberScheduled ?? 0} up to date`);
      }
    }
  }
  if (target === 'all' || target === 'nodes') {
    for (const node of watched.nodes.items.values()) {
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') problems.push(`node ${node.metadata.name}: NotReady: ${ready?.message ?? 'no Ready condition'}`);
    }
  }
  return problems;
}

function progressing(conditions: Condition[]): string {
  const message = conditions.find((c) => c.type === 'Progressing' && c.status === 'True')?.message;
  return message ? ` (Progressing: ${message})` : '';
}

export function podReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Why a pod is not ready, in the terms an admin acts on. */
export function podProblem(pod: Pod): string {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const reason = c.state?.waiting?.reason;
    if (reason === 'ErrImagePull' || reason === 'ImagePullBackOff') return `${reason}: container ${c.name} cannot pull image ${c.image}${c.state?.waiting?.message ? ` (${c.state.waiting.message})` : ''}`;
    if (reason === 'CrashLoopBackOff') {
      const last = c.lastState?.terminated;
      return `CrashLoopBackOff: container ${c.name} keeps exiting${last ? ` (last exit code ${last.exitCode}${last.message ? `: ${last.message.trim()}` : ''})` : ''}`;
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return `Pending: ${scheduled.message ?? scheduled.reason ?? 'not scheduled'}`;
  const waiting = statuses.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
  if (waiting) return `${pod.status?.phase ?? 'Pending'}: ${waiting}`;
  const unready = statuses.filter((c) => !c.ready).map((c) => c.name);
  return `${pod.status?.phase ?? 'Pending'}${unready.length ? `: containers not ready: ${unready.join(', ')}` : ''}`;
}

/** A pod as one line of a progress log: `1/1 Running` or the reason it is not. */
export function podLine(pod: Pod): string {
  const containers = pod.status?.containerStatuses ?? [];
  const ready = `${containers.filter((c) => c.ready).length}/${pod.spec?.containers?.length ?? containers.length}`;
  return `${ready} ${podReady(pod) ? 'Running' : podProblem(pod)}`;
}
