// kube-controller-manager's workload controllers, enough of them for the
// Calico install: Deployments roll out through ReplicaSets, ReplicaSets and
// DaemonSets keep their pods, and each reports status as the real ones do.
import { createHash } from 'node:crypto';
import { jsonCopy } from '../store.ts';
import type { KubeObject, OwnerReference } from '../types.ts';
import { matchesNodeSelector, tolerates, type Taint, type Toleration } from './placement.ts';
import type { Runtime } from './runtime.ts';

const DEPLOYMENTS = 'deployments.apps';
const REPLICASETS = 'replicasets.apps';
const DAEMONSETS = 'daemonsets.apps';

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

interface WorkloadSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string> };
  template: PodTemplate;
  minReadySeconds?: number;
}

export function startWorkloadControllers(rt: Runtime): void {
  rt.watch([DEPLOYMENTS], (e) => rt.enqueue(`deploy/${id(e.object)}`, rt.timings.reconcile, () => reconcileDeployment(rt, e.object.metadata.namespace!, e.object.metadata.name)));
  rt.watch([REPLICASETS], (e) => {
    rt.enqueue(`rs/${id(e.object)}`, rt.timings.reconcile, () => reconcileReplicaSet(rt, e.object.metadata.namespace!, e.object.metadata.name));
    for (const owner of e.object.metadata.ownerReferences ?? []) {
      if (owner.kind === 'Deployment') rt.enqueue(`deploy/${e.object.metadata.namespace}/${owner.name}`, rt.timings.reconcile, () => reconcileDeployment(rt, e.object.metadata.namespace!, owner.name));
    }
  });
  rt.watch([DAEMONSETS], (e) => rt.enqueue(`ds/${id(e.object)}`, rt.timings.reconcile, () => reconcileDaemonSet(rt, e.object.metadata.namespace!, e.object.metadata.name)));
  rt.watch(['pods'], (e) => {
    const owner = (e.object.metadata.ownerReferences ?? []).find((r) => r.controller);
    if (owner?.kind === 'ReplicaSet') rt.enqueue(`rs/${e.object.metadata.namespace}/${owner.name}`, rt.timings.reconcile, () => reconcileReplicaSet(rt, e.object.metadata.namespace!, owner.name));
    if (owner?.kind === 'DaemonSet') rt.enqueue(`ds/${e.object.metadata.namespace}/${owner.name}`, rt.timings.reconcile, () => reconcileDaemonSet(rt, e.object.metadata.namespace!, owner.name));
  });
  rt.watch(['nodes'], () => {
    for (const ds of rt.api.store.list(DAEMONSETS)) rt.enqueue(`ds/${id(ds)}`, rt.timings.reconcile, () => reconcileDaemonSet(rt, ds.metadata.namespace!, ds.metadata.name));
  });
}

function id(object: KubeObject): string {
  return `${object.metadata.namespace}/${object.metadata.name}`;
}

/** kube's pod-template-hash: a stable hash of the template in the name alphabet. */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(template)).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 10; i++) out += alphabet[digest[i]! % alphabet.length];
  return out;
}

function ownerRef(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

function ownedBy(objects: KubeObject[], owner: KubeObject): KubeObject[] {
  return objects.filter((o) => (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid && r.controller));
}

function podReady(pod: KubeObject): boolean {
  const status = pod.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
  return status?.phase === 'Running' && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') && !pod.metadata.deletionTimestamp;
}

function reconcileDeployment(rt: Runtime, namespace: string, name: string): void {
  const type = rt.type(DEPLOYMENTS);
  const deployment = rt.api.find(type, namespace, name);
  if (!deployment || deployment.metadata.deletionTimestamp) return;
  const spec = deployment.spec as WorkloadSpec;
  const hash = templateHash(spec.template);
  const rsType = rt.type(REPLICASETS);
  const owned = ownedBy(rt.api.store.list(REPLICASETS, namespace), deployment);
  const rsName = `${name}-${hash}`;
  let current = owned.find((rs) => rs.metadata.name === rsName);
  const revision = String(Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0))) + (current ? 0 : 1));
  const replicas = spec.replicas ?? 1;
  if (!current) {
    const labels = { ...spec.template.metadata?.labels, 'pod-template-hash': hash };
    current = rt.api.create(rsType, namespace, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rsName,
        namespace,
        labels,
        annotations: { 'deployment.kubernetes.io/desired-replicas': String(replicas), 'deployment.kubernetes.io/max-replicas': String(replicas + 1), 'deployment.kubernetes.io/revision': revision },
        ownerReferences: [ownerRef(deployment)],
      },
      spec: { replicas, selector: { matchLabels: { ...spec.selector?.matchLabels, 'pod-template-hash': hash } }, template: { ...spec.template, metadata: { ...spec.template.metadata, labels } } },
    }, { fieldManager: 'kube-controller-manager' });
    rt.event(deployment, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rsName} from 0 to ${replicas}`, { component: 'deployment-controller' });
  } else if ((current.spec as WorkloadSpec).replicas !== replicas) {
    const from = (current.spec as WorkloadSpec).replicas ?? 0;
    rt.api.mutate(rsType, namespace, rsName, (rs) => void ((rs.spec as WorkloadSpec).replicas = replicas), { fieldManager: 'kube-controller-manager' });
    rt.event(deployment, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rsName} from ${from} to ${replicas}`, { component: 'deployment-controller' });
  }
  const currentStatus = (current.status ?? {}) as { readyReplicas?: number; availableReplicas?: number; replicas?: number };
  const newReady = (currentStatus.availableReplicas ?? 0) >= replicas;
  for (const old of owned.filter((rs) => rs.metadata.name !== rsName)) {
    if (newReady && ((old.spec as WorkloadSpec).replicas ?? 0) > 0) {
      const from = (old.spec as WorkloadSpec).replicas ?? 0;
      rt.api.mutate(rsType, namespace, old.metadata.name, (rs) => void ((rs.spec as WorkloadSpec).replicas = 0), { fieldManager: 'kube-controller-manager' });
      rt.event(deployment, 'Normal', 'ScalingReplicaSet', `Scaled down replica set ${old.metadata.name} from ${from} to 0`, { component: 'deployment-controller' });
    }
  }
  if (deployment.metadata.annotations?.['deployment.kubernetes.io/revision'] !== revision) {
    rt.api.mutate(type, namespace, name, (d) => void (d.metadata.annotations = { ...d.metadata.annotations, 'deployment.kubernetes.io/revision': revision }), { fieldManager: 'kube-controller-manager' });
  }
  writeDeploymentStatus(rt, namespace, name, rsName, ownedBy(rt.api.store.list(REPLICASETS, namespace), deployment));
}

function writeDeploymentStatus(rt: Runtime, namespace: string, name: string, rsName: string, replicaSets: KubeObject[]): void {
  const type = rt.type(DEPLOYMENTS);
  const deployment = rt.api.get(type, namespace, name);
  const sum = (field: 'replicas' | 'readyReplicas' | 'availableReplicas') => replicaSets.reduce((n, rs) => n + Number((rs.status as Record<string, number> | undefined)?.[field] ?? 0), 0);
  const desired = (deployment.spec as WorkloadSpec).replicas ?? 1;
  const current = replicaSets.find((rs) => rs.metadata.name === rsName);
  const updated = Number((current?.status as Record<string, number> | undefined)?.replicas ?? 0);
  const available = sum('availableReplicas');
  const old = (deployment.status ?? {}) as { conditions?: Condition[] };
  const now = rt.now();
  const availableCondition = available >= desired
    ? condition(old.conditions, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now)
    : condition(old.conditions, 'Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now);
  const complete = updated === desired && available >= desired;
  const progressing = complete
    ? condition(old.conditions, 'Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`, now)
    : condition(old.conditions, 'Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`, now);
  const status = omitZero({
    observedGeneration: deployment.metadata.generation,
    replicas: sum('replicas'),
    updatedReplicas: updated,
    readyReplicas: sum('readyReplicas'),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, desired - available),
    conditions: [availableCondition, progressing],
  });
  rt.api.mutate(type, namespace, name, (d) => void (d.status = status), { fieldManager: 'kube-controller-manager', subresource: 'status' });
}

function reconcileReplicaSet(rt: Runtime, namespace: string, name: string): void {
  const type = rt.type(REPLICASETS);
  const rs = rt.api.find(type, namespace, name);
  if (!rs || rs.metadata.deletionTimestamp) return;
  const spec = rs.spec as WorkloadSpec;
  const pods = rt.podsByOwner.get(rs.metadata.uid).filter((p) => !p.metadata.deletionTimestamp);
  const wanted = spec.replicas ?? 1;
  const creates = Array.from({ length: Math.min(Math.max(0, wanted - pods.length), RS_BURST_REPLICAS) }, () => () => {
    const pod = createPod(rt, rs, namespace, `${name}-`, spec.template, {});
    rt.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, { component: 'replicaset-controller' });
  });
  createInBatches(rt, `rs/${namespace}/${name}`, creates, () => stillThere(rt, REPLICASETS, rs), () => {
    for (const extra of pods.slice(wanted)) {
      rt.api.delete(rt.type('pods'), namespace, extra.metadata.name);
      rt.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${extra.metadata.name}`, { component: 'replicaset-controller' });
    }
    const live = pods.slice(0, wanted);
    const ready = live.filter(podReady).length;
    const status = { replicas: live.length, fullyLabeledReplicas: live.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation };
    rt.api.mutate(type, namespace, name, (r) => void (r.status = omitZero(status, ['replicas'])), { fieldManager: 'kube-controller-manager', subresource: 'status' });
  });
}

/** kube-controller-manager's burstReplicas: the most pods one sync of a DaemonSet or ReplicaSet creates. */
const DS_BURST_REPLICAS = 250;
const RS_BURST_REPLICAS = 500;

/**
 * How kube-controller-manager creates a sync's pods (slowStartBatch): in
 * batches of 1, 2, 4…, each once the batch before is created (here: on the
 * next turn of the work queue, so watchers see the pods arrive in the same
 * waves); then `finish` does the rest of the sync. Creates stop if the owner
 * went away meanwhile.
 */
function createInBatches(rt: Runtime, key: string, creates: (() => void)[], ownerThere: () => boolean, finish: () => void, batch = 1): void {
  for (const create of creates.slice(0, batch)) create();
  const rest = creates.slice(batch);
  if (rest.length === 0) return finish();
  rt.enqueue(key, 0, () => {
    if (ownerThere()) createInBatches(rt, key, rest, ownerThere, finish, batch * 2);
  });
}

function stillThere(rt: Runtime, key: string, owner: KubeObject): boolean {
  const current = rt.api.store.get(key, owner.metadata.namespace, owner.metadata.name);
  return current?.metadata.uid === owner.metadata.uid && !current.metadata.deletionTimestamp;
}

/** The tolerations the DaemonSet controller adds to every daemon pod. */
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

function reconcileDaemonSet(rt: Runtime, namespace: string, name: string): void {
  const type = rt.type(DAEMONSETS);
  const ds = rt.api.find(type, namespace, name);
  if (!ds || ds.metadata.deletionTimestamp) return;
  const spec = ds.spec as WorkloadSpec;
  const hash = templateHash(spec.template).slice(0, 10);
  const podSpec = spec.template.spec as { nodeSelector?: Record<string, string>; tolerations?: Toleration[]; hostNetwork?: boolean };
  const tolerations = [...(podSpec.tolerations ?? []), ...DAEMON_TOLERATIONS, ...(podSpec.hostNetwork ? [{ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' }] : [])];
  const nodes = rt.api.store.list('nodes').filter((node) => daemonFits(node, podSpec.nodeSelector, tolerations));
  const pods = rt.podsByOwner.get(ds.metadata.uid);
  const byNode = new Map<string, KubeObject[]>();
  for (const pod of pods) {
    const node = daemonNode(pod);
    byNode.set(node, [...(byNode.get(node) ?? []), pod]);
  }
  const creates = nodes.filter((node) => livePods(byNode, node).length === 0).slice(0, DS_BURST_REPLICAS).map((node) => () => {
    const template = { ...spec.template, spec: { ...spec.template.spec, tolerations, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node.metadata.name] }] }] } } } } };
    const pod = createPod(rt, ds, namespace, `${name}-`, template, { 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) });
    rt.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, { component: 'daemonset-controller' });
  });
  createInBatches(rt, `ds/${namespace}/${name}`, creates, () => stillThere(rt, DAEMONSETS, ds), () => finishDaemonSetSync(rt, ds, nodes, pods, byNode, hash));
}

function livePods(byNode: Map<string, KubeObject[]>, node: KubeObject): KubeObject[] {
  return (byNode.get(node.metadata.name) ?? []).filter((p) => !p.metadata.deletionTimestamp);
}

/** The rest of a DaemonSet's sync, on what it saw when it began: rolling update, misscheduled pods, status. */
function finishDaemonSetSync(rt: Runtime, ds: KubeObject, nodes: KubeObject[], pods: KubeObject[], byNode: Map<string, KubeObject[]>, hash: string): void {
  const namespace = ds.metadata.namespace!;
  const maxUnavailable = 1;
  let unavailable = nodes.filter((n) => !(byNode.get(n.metadata.name) ?? []).some(podReady)).length;
  for (const node of nodes) {
    const current = livePods(byNode, node);
    if (current.length > 0 && current.every((p) => p.metadata.labels?.['controller-revision-hash'] !== hash) && unavailable < maxUnavailable) {
      // RollingUpdate: replace one out-of-date pod at a time.
      for (const pod of current) rt.api.delete(rt.type('pods'), namespace, pod.metadata.name);
      rt.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${current[0]!.metadata.name}`, { component: 'daemonset-controller' });
      unavailable++;
    }
  }
  const eligible = new Set(nodes.map((n) => n.metadata.name));
  for (const pod of pods) {
    if (!eligible.has(daemonNode(pod)) && !pod.metadata.deletionTimestamp) rt.api.delete(rt.type('pods'), namespace, pod.metadata.name);
  }
  const live = pods.filter((p) => !p.metadata.deletionTimestamp && eligible.has(daemonNode(p)));
  const ready = live.filter(podReady);
  const updated = live.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash);
  const status = {
    currentNumberScheduled: new Set(live.map(daemonNode)).size,
    numberMisscheduled: 0,
    desiredNumberScheduled: nodes.length,
    numberReady: ready.length,
    observedGeneration: ds.metadata.generation,
    updatedNumberScheduled: updated.length,
    numberAvailable: ready.length,
    numberUnavailable: Math.max(0, nodes.length - ready.length),
  };
  rt.api.mutate(rt.type(DAEMONSETS), namespace, ds.metadata.name, (d) => void (d.status = omitZero(status, ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady'])), { fieldManager: 'kube-controller-manager', subresource: 'status' });
}

function daemonFits(node: KubeObject, nodeSelector: Record<string, string> | undefined, tolerations: Toleration[]): boolean {
  if (!matchesNodeSelector(nodeSelector, node)) return false;
  const taints = ((node.spec as { taints?: Taint[] } | undefined)?.taints ?? []).filter((t) => t.effect !== 'PreferNoSchedule');
  return taints.every((taint) => tolerates(tolerations, taint));
}

/** The node a daemon pod is pinned to, from its node affinity (or where it runs). */
function daemonNode(pod: KubeObject): string {
  const spec = pod.spec as { nodeName?: string; affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchFields?: { values?: string[] }[] }[] } } } };
  return spec.nodeName ?? spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0]?.values?.[0] ?? '';
}

function createPod(rt: Runtime, owner: KubeObject, namespace: string, generateName: string, template: PodTemplate, extraLabels: Record<string, string>): KubeObject {
  return rt.api.create(rt.type('pods'), namespace, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName,
      namespace,
      labels: { ...template.metadata?.labels, ...extraLabels },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [ownerRef(owner)],
    },
    spec: jsonCopy(template.spec),
  }, { fieldManager: 'kube-controller-manager' });
}

interface Condition {
  type: string;
  status: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** A condition whose lastTransitionTime moves only when its status does. */
export function condition(previous: Condition[] | undefined, type: string, status: string, reason: string, message: string, now: string): Condition {
  const old = previous?.find((c) => c.type === type);
  const transition = old && old.status === status ? old.lastTransitionTime : now;
  const update = old && old.status === status && old.reason === reason && old.message === message ? old.lastUpdateTime : now;
  return { type, status, lastUpdateTime: update, lastTransitionTime: transition, reason, message };
}

/** Status fields with Go's omitempty: zero counts are left out, except the ones always printed. */
function omitZero<T extends Record<string, unknown>>(status: T, keep: string[] = []): Partial<T> {
  return Object.fromEntries(Object.entries(status).filter(([k, v]) => keep.includes(k) || (v !== 0 && v !== undefined))) as Partial<T>;
}
