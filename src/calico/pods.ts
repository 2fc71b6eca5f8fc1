// What a pod's state means to an admin: ready or not, and if not, the
// reason and message they act on (ImagePullBackOff with the image,
// CrashLoopBackOff with the last exit, Pending with the scheduler's words),
// and which workload it belongs to. status, wait and doctor all judge pods here.
import type { KubeObjectLike } from '../kube/watch.ts';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  image?: string;
  state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: { reason?: string; exitCode?: number } };
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string } };
}

export interface Pod extends KubeObjectLike {
  metadata: KubeObjectLike['metadata'] & {
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[] };
  status?: { phase?: string; reason?: string; message?: string; startTime?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}

export interface PodState {
  ready: boolean;
  /** The word kubectl's STATUS column would show, or the closest to it: ImagePullBackOff, Pending, ContainerCreating, Running… */
  reason: string;
  /** What to act on, e.g. `container calico-node cannot pull image docker.io/calico/node:v3.29.0`; empty when ready. */
  message: string;
  /** A failure by nature (a pull or a crash), not a step every pod passes through on its way to Ready. */
  failing: boolean;
  /** When the pod entered this state, as the cluster recorded it (ms since the epoch); undefined if it did not say. */
  since: number | undefined;
}

const FAILING = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CrashLoopBackOff', 'CreateContainerError', 'CreateContainerConfigError', 'RunContainerError', 'Error', 'OOMKilled', 'Evicted', 'Failed']);

export function podReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && !pod.metadata.deletionTimestamp && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function podState(pod: Pod): PodState {
  const status = pod.status ?? {};
  const conditions = status.conditions ?? [];
  const at = (time: string | undefined) => (time ? Date.parse(time) : undefined);
  const state = (reason: string, message: string, since: string | undefined): PodState => ({ ready: false, reason, message, failing: FAILING.has(reason), since: at(since) });
  if (podReady(pod)) return { ready: true, reason: 'Running', message: '', failing: false, since: at(conditions.find((c) => c.type === 'Ready')?.lastTransitionTime) };
  if (pod.metadata.deletionTimestamp) return state('Terminating', 'being deleted', pod.metadata.deletionTimestamp);
  if (status.phase === 'Failed') return state(status.reason ?? 'Failed', status.message ?? 'the pod failed', undefined);
  const started = status.startTime ?? pod.metadata.creationTimestamp;
  const containers = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  for (const c of containers) {
    const reason = c.state?.waiting?.reason;
    // The kubelet alternates ErrImagePull (with the registry's answer) and ImagePullBackOff: one state to an admin.
    if (reason === 'ErrImagePull' || reason === 'ImagePullBackOff') return state('ImagePullBackOff', `container ${c.name} cannot pull image ${c.image}${reason === 'ErrImagePull' && c.state?.waiting?.message ? ` (${c.state.waiting.message})` : ''}`, started);
    if (reason === 'CrashLoopBackOff') {
      const last = c.lastState?.terminated;
      return state(reason, `container ${c.name} keeps exiting${last ? ` (last exit code ${last.exitCode}${last.message ? `: ${last.message.trim()}` : ''})` : ''}`, started);
    }
    if (reason && FAILING.has(reason)) return state(reason, `container ${c.name}: ${c.state?.waiting?.message ?? reason}`, started);
  }
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return state('Pending', scheduled.message ?? scheduled.reason ?? 'not scheduled', scheduled.lastTransitionTime ?? pod.metadata.creationTimestamp);
  if (!status.phase || !pod.spec?.nodeName) return state('Pending', 'not scheduled yet', pod.metadata.creationTimestamp);
  const waiting = containers.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
  if (waiting) return state(waiting, waiting === 'ContainerCreating' || waiting === 'PodInitializing' ? 'starting' : waiting, started);
  const unready = (status.containerStatuses ?? []).filter((c) => !c.ready).map((c) => c.name);
  const readyCondition = conditions.find((c) => c.type === 'Ready');
  return state(status.phase, unready.length ? `containers not ready: ${unready.join(', ')}` : 'not ready', readyCondition?.lastTransitionTime ?? started);
}

/** Why a pod is not ready, in one phrase: `ImagePullBackOff: container … cannot pull image …`. */
export function podProblem(pod: Pod): string {
  const { reason, message } = podState(pod);
  return `${reason}: ${message}`;
}

/** The workload that owns a pod, as `daemonset/calico-node` or `deployment/calico-typha` (`pod/<name>` for a bare pod). */
export function workloadOf(pod: Pod): string {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (owner?.kind === 'DaemonSet') return `daemonset/${owner.name}`;
  if (owner?.kind === 'ReplicaSet') {
    const hash = pod.metadata.labels?.['pod-template-hash'];
    const deployment = hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : owner.name.replace(/-[a-z0-9]{6,10}$/, '');
    return `deployment/${deployment}`;
  }
  if (owner) return `${owner.kind.toLowerCase()}/${owner.name}`;
  return `pod/${pod.metadata.name}`;
}

/**
 * Messages that say the same thing fall in one group: numbers are blurred (`0/2000 nodes … 1500 node(s)` and `…
 * 1499 node(s)`), and so is a registry's answer in parentheses after an image pull failure.
 */
export function groupKey(...parts: string[]): string {
  return parts.map((p) => p.replace(/(cannot pull image \S+) \(.*\)$/, '$1').replace(/\d+/g, '#')).join('\u0000');
}
