// What a pod's state means to an admin: ready or not, and if not, the
// reason and message they act on (ImagePullBackOff with the image,
// CrashLoopBackOff with the last exit, Pending with the scheduler's words),
// and which workload it belongs to. status, wait and doctor all judge pods here.
import type { KubeObjectLike, TableRow } from '../kube/watch.ts';

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
  /**
   * kubectl's STATUS column, as the server's table gives it: ContainerCreating, Pending, ImagePullBackOff,
   * Init:0/2, Running… (ErrImagePull reads ImagePullBackOff: the kubelet alternates the two, one state to an admin).
   */
  reason: string;
  /** A failure by nature (a pull, a crash, a bad config), not a step every pod passes through on its way to Ready. */
  failing: boolean;
  /** When the pod was made (ms since the epoch), for how long a start-up state has lasted; undefined if unknown. */
  since: number | undefined;
}

/** A pod as a row of the server's pod table (`kubectl get pods -o wide` cells by column name), with its metadata. */
export interface PodRow extends TableRow {
  metadata: Pod['metadata'];
}

const FAILING = new Set(['ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CrashLoopBackOff', 'CreateContainerError', 'CreateContainerConfigError', 'RunContainerError', 'Error', 'OOMKilled', 'Evicted', 'Failed', 'ContainerStatusUnknown', 'StartError']);

/** A failure by nature (a pull, a crash, a bad config), as podDetail() or the STATUS column names it. */
export function isFailing(reason: string): boolean {
  return FAILING.has(reason.replace(/^Init:/, ''));
}

/** A pod's state from its table row: what kubectl shows, so wait and status name states as `kubectl get pods` does. */
export function podState(row: PodRow): PodState {
  const status = String(row.cells.Status ?? '').replace(/ErrImagePull$/, 'ImagePullBackOff');
  const [ready = 0, total = 0] = String(row.cells.Ready ?? '').split('/').map(Number);
  const created = row.metadata.creationTimestamp ? Date.parse(row.metadata.creationTimestamp) : undefined;
  return {
    ready: status === 'Running' && total > 0 && ready === total && !row.metadata.deletionTimestamp,
    reason: status || 'Unknown',
    failing: isFailing(status),
    since: status === 'Running' ? undefined : created,
  };
}

/** The node a pod row is on (the table's wide NODE column), if it is scheduled. */
export function podNode(row: PodRow): string | undefined {
  const node = row.cells.Node;
  return typeof node === 'string' && node !== '' && node !== '<none>' ? node : undefined;
}

export function podReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && !pod.metadata.deletionTimestamp && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Why a pod is not ready, from the whole object, in the terms an admin acts on: the container that cannot pull
 * and its image (with the registry's answer), the one that keeps exiting and its last exit, the scheduler's words.
 */
export function podDetail(pod: Pod): { reason: string; message: string } {
  const status = pod.status ?? {};
  const conditions = status.conditions ?? [];
  if (podReady(pod)) return { reason: 'Running', message: '' };
  if (pod.metadata.deletionTimestamp) return { reason: 'Terminating', message: 'being deleted' };
  if (status.phase === 'Failed') return { reason: status.reason ?? 'Failed', message: status.message ?? 'the pod failed' };
  const containers = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  for (const c of containers) {
    const reason = c.state?.waiting?.reason;
    if (reason === 'ErrImagePull' || reason === 'ImagePullBackOff') return { reason: 'ImagePullBackOff', message: `container ${c.name} cannot pull image ${c.image}${reason === 'ErrImagePull' && c.state?.waiting?.message ? ` (${c.state.waiting.message})` : ''}` };
    if (reason === 'CrashLoopBackOff') {
      const last = c.lastState?.terminated;
      return { reason, message: `container ${c.name} keeps exiting${last ? ` (last exit code ${last.exitCode}${last.message ? `: ${last.message.trim()}` : ''})` : ''}` };
    }
    if (reason && FAILING.has(reason)) return { reason, message: `container ${c.name}: ${c.state?.waiting?.message ?? reason}` };
  }
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return { reason: 'Pending', message: scheduled.message ?? scheduled.reason ?? 'not scheduled' };
  if (!status.phase || !pod.spec?.nodeName) return { reason: 'Pending', message: 'not scheduled yet' };
  const waiting = containers.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
  if (waiting) return { reason: waiting, message: waiting === 'ContainerCreating' || waiting === 'PodInitializing' ? 'starting' : waiting };
  const unready = (status.containerStatuses ?? []).filter((c) => !c.ready).map((c) => c.name);
  return { reason: status.phase, message: unready.length ? `containers not ready: ${unready.join(', ')}` : 'not ready' };
}

/** Why a pod is not ready, in one phrase: `ImagePullBackOff: container … cannot pull image …`. */
export function podProblem(pod: Pod): string {
  const { reason, message } = podDetail(pod);
  return `${reason}: ${message}`;
}

/** The workload that owns a pod, as `daemonset/calico-node` or `deployment/calico-typha` (`pod/<name>` for a bare pod). */
export function workloadOf(pod: { metadata: Pod['metadata'] }): string {
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
 * Pods (or nodes) fall in one group when these say the same: numbers are blurred (`0/2000 nodes … 1500 node(s)`
 * and `… 1499 node(s)`), and so is a registry's answer in parentheses after an image pull failure.
 */
export function groupKey(...parts: string[]): string {
  return parts.map((p) => p.replace(/(cannot pull image \S+) \(.*\)$/, '$1').replace(/\d+/g, '#')).join('\u0000');
}
