// What `kubectl calico status` reports: Calico's overall state from the
// TigeraStatus objects, the operator, the Installation, and the tables of
// TigeraStatus, Calico pods and nodes exactly as kubectl would show them.
import type { KubeClient } from '../kube/client.ts';
import { listTable } from '../kube/tables.ts';
import type { ServerTable } from '../print/table.ts';
import { INSTALLATION_PATH, OPERATOR_DEPLOYMENT_PATH } from './installed.ts';
import { calicoVersionForOperator } from './versions.ts';

export type CalicoState = 'Available' | 'Progressing' | 'Degraded' | 'Not installed';

export const CALICO_NAMESPACES = ['calico-system', 'calico-apiserver'];

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
  spec?: { variant?: string; calicoNetwork?: { ipPools?: IPPool[]; mtu?: number } };
  status?: { variant?: string; calicoVersion?: string; mtu?: number; conditions?: Condition[] };
}

interface Deployment {
  spec?: { replicas?: number; template?: { spec?: { containers?: { name: string; image?: string }[] } } };
  status?: { readyReplicas?: number };
}

export interface StatusSnapshot {
  state: CalicoState;
  version: string | undefined;
  message: string | undefined;
  operator: { ready: string; image: string; version: string } | undefined;
  installation: Installation | undefined;
  tigeraStatus: ServerTable;
  pods: { namespace: string; table: ServerTable }[];
  nodes: ServerTable;
}

/** Reads everything status shows, concurrently: six requests, no polling. */
export async function readStatus(kube: KubeClient): Promise<StatusSnapshot> {
  const [installation, operator, tigeraStatus, nodes, ...pods] = await Promise.all([
    kube.optional<Installation>(INSTALLATION_PATH),
    kube.optional<Deployment>(OPERATOR_DEPLOYMENT_PATH),
    listTable(kube, '/apis/operator.tigera.io/v1/tigerastatuses', { includeObject: 'Object' }),
    listTable(kube, '/api/v1/nodes'),
    ...CALICO_NAMESPACES.map((ns) => listTable(kube, `/api/v1/namespaces/${ns}/pods`)),
  ]);
  const image = operator?.spec?.template?.spec?.containers?.find((c) => c.name === 'tigera-operator')?.image ?? '';
  const operatorTag = image.split(':').pop() ?? '';
  const conditions = tigeraStatus.rows.map((row) => ({ name: row.object?.metadata?.name ?? '', conditions: ((row.object as { status?: { conditions?: Condition[] } } | undefined)?.status?.conditions) ?? [] }));
  const { state, message } = overallState(installation !== undefined || operator !== undefined, conditions);
  return {
    state,
    version: installation?.status?.calicoVersion || calicoVersionForOperator(operatorTag),
    message,
    operator: operator ? { ready: `${operator.status?.readyReplicas ?? 0}/${operator.spec?.replicas ?? 1}`, image, version: operatorTag } : undefined,
    installation,
    tigeraStatus,
    pods: CALICO_NAMESPACES.map((namespace, i) => ({ namespace, table: pods[i]! })).filter((p) => p.table.rows.length > 0),
    nodes,
  };
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
