// What `kubectl calico status` reports: Calico's overall state from the
// TigeraStatus objects, the operator, the Installation, the Calico
// workloads and the nodes — read so that it costs what is wrong, not the
// cluster's size: pods are listed only for workloads that are not ready,
// unless every pod is asked for (--all, JSON, YAML).
import type { KubeClient } from '../kube/client.ts';
import { listTable } from '../kube/tables.ts';
import type { ServerTable } from '../print/table.ts';
import { INSTALLATION_PATH, OPERATOR_DEPLOYMENT_PATH, OPERATOR_NAMESPACE } from './installed.ts';
import { groupKey, podDetail, podState, workloadOf, type Pod, type PodRow } from './pods.ts';
import { calicoVersionForOperator } from './versions.ts';

export type CalicoState = 'Available' | 'Progressing' | 'Degraded' | 'Not installed';

export const CALICO_NAMESPACES = ['calico-system', 'calico-apiserver'];
/** Where Calico's workloads run, the operator's first. */
export const WORKLOAD_NAMESPACES = [OPERATOR_NAMESPACE, ...CALICO_NAMESPACES];

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface IPPool {
  name?: string;
  cidr: string;
  blockSize?: number;
  encapsulation?: string;
  natOutgoing?: string;
  nodeSelector?: string;
}

export interface Installation {
  spec?: { variant?: string; calicoNetwork?: { ipPools?: IPPool[]; mtu?: number }; registry?: string };
  status?: { variant?: string; calicoVersion?: string; mtu?: number; conditions?: Condition[] };
}

interface Deployment {
  spec?: { replicas?: number; template?: { spec?: { containers?: { name: string; image?: string }[] } } };
  status?: { readyReplicas?: number };
}

interface WorkloadObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  status?: { desiredNumberScheduled?: number; numberReady?: number; updatedNumberScheduled?: number; numberAvailable?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

interface NodeObject {
  metadata?: { name?: string };
  status?: { conditions?: Condition[] };
}

/** The DaemonSets and Deployments of one namespace, as `kubectl get daemonsets,deployments -n <namespace>` shows them. */
export interface NamespaceWorkloads {
  namespace: string;
  daemonSets: ServerTable;
  deployments: ServerTable;
}

/** Pods of one workload in the same state for the same reason. */
export interface PodGroup {
  workload: string;
  reason: string;
  message: string;
  pods: string[];
}

export interface StatusSnapshot {
  state: CalicoState;
  version: string | undefined;
  message: string | undefined;
  operator: { ready: string; image: string; version: string } | undefined;
  installation: Installation | undefined;
  tigeraStatus: ServerTable;
  workloads: NamespaceWorkloads[];
  /** Every node, as `kubectl get nodes` shows them. */
  nodes: ServerTable;
  /** How many nodes are Ready, and the NotReady ones with their Ready condition's message (read for the first LIST_CAP unless all). */
  readiness: { ready: number; notReady: { name: string; message: string }[] };
  /** Every Calico pod as `kubectl get pods -n …` shows them: only when everything was asked for. */
  pods: { namespace: string; table: ServerTable }[] | undefined;
  /** The pods that are not Running and Ready, grouped by workload and reason, the biggest group first. */
  podGroups: PodGroup[];
}

/**
 * Reads everything status shows, concurrently. `all` lists every Calico pod (for --all and -o json|yaml);
 * otherwise only the pods of workloads whose counts say some are not ready.
 */
export async function readStatus(kube: KubeClient, options: { all: boolean }): Promise<StatusSnapshot> {
  const withObjects = { includeObject: 'Object' };
  const [installation, operator, tigeraStatus, nodes, workloads, allPods] = await Promise.all([
    kube.optional<Installation>(INSTALLATION_PATH),
    kube.optional<Deployment>(OPERATOR_DEPLOYMENT_PATH),
    listTable(kube, '/apis/operator.tigera.io/v1/tigerastatuses', withObjects),
    // The rows say which nodes are NotReady; why is read from those alone, unless every node is asked for.
    listTable(kube, '/api/v1/nodes', options.all ? withObjects : { includeObject: 'None' }),
    Promise.all(WORKLOAD_NAMESPACES.map(async (namespace): Promise<NamespaceWorkloads> => {
      const [daemonSets, deployments] = await Promise.all([
        listTable(kube, `/apis/apps/v1/namespaces/${namespace}/daemonsets`, withObjects),
        listTable(kube, `/apis/apps/v1/namespaces/${namespace}/deployments`, withObjects),
      ]);
      return { namespace, daemonSets, deployments };
    })),
    options.all ? Promise.all(CALICO_NAMESPACES.map(async (namespace) => ({ namespace, table: await listTable(kube, `/api/v1/namespaces/${namespace}/pods`, withObjects) }))) : undefined,
  ]);
  const image = operator?.spec?.template?.spec?.containers?.find((c) => c.name === 'tigera-operator')?.image ?? '';
  const operatorTag = image.split(':').pop() ?? '';
  const conditions = tigeraStatus.rows.map((row) => ({ name: row.object?.metadata?.name ?? '', conditions: ((row.object as { status?: { conditions?: Condition[] } } | undefined)?.status?.conditions) ?? [] }));
  const { state, message } = overallState(installation !== undefined || operator !== undefined, conditions);
  const [unready, readiness] = await Promise.all([unreadyPods(kube, workloads, allPods), nodeReadiness(kube, nodes, options.all)]);
  return {
    state,
    version: installation?.status?.calicoVersion || calicoVersionForOperator(operatorTag),
    message,
    operator: operator ? { ready: `${operator.status?.readyReplicas ?? 0}/${operator.spec?.replicas ?? 1}`, image, version: operatorTag } : undefined,
    installation,
    tigeraStatus,
    workloads,
    nodes,
    readiness,
    pods: allPods?.filter((p) => p.table.rows.length > 0),
    podGroups: groupPods(unready),
  };
}

/** A table's pods as rows (cells by column name) with their objects: the row says the state, the object why. */
function podsOf(table: ServerTable): { row: PodRow; pod: Pod }[] {
  const names = table.columnDefinitions.map((c) => c.name);
  return table.rows.filter((r) => (r.object as Pod | undefined)?.metadata).map((r) => {
    const pod = r.object as Pod;
    return { row: { metadata: pod.metadata, cells: Object.fromEntries(names.map((name, i) => [name, r.cells[i]])) }, pod };
  });
}

/** The pods that are not ready: from every pod when they were all listed, else from the workloads short of ready. */
async function unreadyPods(kube: KubeClient, workloads: NamespaceWorkloads[], allPods: { table: ServerTable }[] | undefined): Promise<{ row: PodRow; pod: Pod }[]> {
  if (allPods) return allPods.flatMap((p) => podsOf(p.table)).filter((p) => !podState(p.row).ready);
  const short = workloads.flatMap(({ daemonSets, deployments }) => [...daemonSets.rows, ...deployments.rows])
    .map((row) => row.object as WorkloadObject)
    .filter((w) => w?.metadata && !workloadReady(w));
  const lists = await Promise.all(short.map((w) => {
    const selector = Object.entries(w.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    return listTable(kube, `/api/v1/namespaces/${w.metadata!.namespace}/pods`, { includeObject: 'Object', ...(selector ? { labelSelector: selector } : {}) });
  }));
  return lists.flatMap(podsOf).filter((p) => !podState(p.row).ready);
}

function workloadReady(w: WorkloadObject): boolean {
  const s = w.status ?? {};
  if (w.kind === 'DaemonSet') return (s.desiredNumberScheduled ?? 0) > 0 && s.numberReady === s.desiredNumberScheduled && s.numberAvailable === s.desiredNumberScheduled;
  const replicas = w.spec?.replicas ?? 1;
  return (s.readyReplicas ?? 0) >= replicas && (s.availableReplicas ?? 0) >= replicas;
}

/** Pods by workload and state (kubectl's STATUS), the message read from the first of each group. */
export function groupPods(pods: { row: PodRow; pod: Pod }[]): PodGroup[] {
  const groups = new Map<string, PodGroup>();
  for (const { row, pod } of pods) {
    const { reason } = podState(row);
    const workload = workloadOf(pod);
    const key = groupKey(workload, reason);
    const group = groups.get(key) ?? { workload, reason, message: podDetail(pod).message, pods: [] };
    group.pods.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.pods.length - a.pods.length || a.workload.localeCompare(b.workload));
}

/** Rows a list of status shows before `… and N more (--all)`. */
export const LIST_CAP = 10;

/** Nodes by readiness (kubectl's STATUS); the NotReady ones with their Ready condition's message. */
async function nodeReadiness(kube: KubeClient, nodes: ServerTable, all: boolean): Promise<StatusSnapshot['readiness']> {
  const status = nodes.columnDefinitions.findIndex((c) => c.name === 'Status');
  const down = nodes.rows.filter((row) => String(row.cells[status]).split(',')[0] !== 'Ready');
  const why = async (row: ServerTable['rows'][number], index: number): Promise<{ name: string; message: string }> => {
    const name = String(row.cells[0]);
    const node = (row.object as NodeObject | undefined) ?? (all || index < LIST_CAP ? await kube.optional<NodeObject>(`/api/v1/nodes/${name}`) : undefined);
    return { name, message: node?.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? (node ? 'no Ready condition' : '') };
  };
  return { ready: nodes.rows.length - down.length, notReady: await Promise.all(down.map(why)) };
}

/** Degraded if any TigeraStatus is; Available when every one is Available and none Progressing. */
export function overallState(installed: boolean, statuses: { name: string; conditions: Condition[] }[]): { state: CalicoState; message: string | undefined } {
  if (!installed) return { state: 'Not installed', message: undefined };
  const is = (conditions: Condition[], type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  const degraded = statuses.find((s) => is(s.conditions, 'Degraded'));
  if (degraded) return { state: 'Degraded', message: degraded.conditions.find((c) => c.type === 'Degraded')?.message || `${degraded.name} is degraded` };
  const ready = statuses.length > 0 && statuses.every((s) => is(s.conditions, 'Available') && !is(s.conditions, 'Progressing'));
  return { state: ready ? 'Available' : 'Progressing', message: undefined };
}
