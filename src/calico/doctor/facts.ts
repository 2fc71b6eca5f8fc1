// What doctor reads, each thing once, on demand and concurrently: checks
// that need the same object share one request. Lists use selectors so a
// big cluster's pods are never all fetched — only the Calico workloads
// that are not ready get their pods listed.
import type { KubeClient, Query } from '../../kube/client.ts';
import { clusterNetwork, type ClusterNetwork } from '../cluster-network.ts';
import type { Installation } from '../status.ts';

export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string;
}

export interface Node {
  metadata: Meta;
  spec?: { podCIDR?: string; podCIDRs?: string[]; taints?: { key: string; value?: string; effect: string }[]; unschedulable?: boolean };
  status?: { conditions?: Condition[]; addresses?: { type: string; address: string }[] };
}

export interface ContainerStatus {
  name: string;
  ready?: boolean;
  image?: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: object };
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string; finishedAt?: string } };
}

export interface Pod {
  metadata: Meta;
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[]; tolerations?: object[] };
  status?: { phase?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[]; podIP?: string };
}

export interface Workload {
  kind: 'DaemonSet' | 'Deployment';
  metadata: Meta;
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template?: { spec?: { containers?: { name: string; image?: string }[]; tolerations?: { key?: string; operator?: string; effect?: string }[] } } };
  status?: Record<string, number | undefined>;
}

export interface Crd {
  metadata: Meta;
  spec?: { group?: string };
  status?: { conditions?: Condition[] };
}

export interface WithConditions {
  metadata: Meta;
  status?: { conditions?: Condition[] };
}

export interface IPPool {
  metadata: Meta;
  spec?: { cidr?: string; blockSize?: number; disabled?: boolean; ipipMode?: string; vxlanMode?: string };
}

export interface Event {
  metadata: Meta;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
}

interface List<T> {
  items: T[];
  metadata?: { continue?: string };
}

export class Facts {
  readonly kube: KubeClient;
  private readonly cache = new Map<string, Promise<unknown>>();

  constructor(kube: KubeClient) {
    this.kube = kube;
  }

  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (!this.cache.has(key)) this.cache.set(key, load());
    return this.cache.get(key) as Promise<T>;
  }

  private list<T>(path: string, query: Query = {}): Promise<T[]> {
    return this.once(`${path}?${JSON.stringify(query)}`, async () => {
      const items: T[] = [];
      let token: string | undefined;
      do {
        const page = await this.kube.optional<List<T>>(path, { query: { ...query, limit: 500, continue: token } });
        if (!page) return items;
        items.push(...page.items);
        token = page.metadata?.continue || undefined;
      } while (token);
      return items;
    });
  }

  private get<T>(path: string): Promise<T | undefined> {
    return this.once(path, () => this.kube.optional<T>(path));
  }

  version(): Promise<{ gitVersion: string }> {
    return this.once('/version', () => this.kube.json<{ gitVersion: string }>('/version'));
  }

  /** What init reads to check a pool, from the objects the other checks read too. */
  clusterNetwork(): Promise<ClusterNetwork> {
    return this.once('cluster-network', async () => clusterNetwork((await this.version()).gitVersion, await this.configMap('kube-system', 'kubeadm-config'), await this.nodes()));
  }

  nodes = () => this.list<Node>('/api/v1/nodes');
  crds = () => this.list<Crd>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
  installation = () => this.get<Installation & { metadata: Meta }>('/apis/operator.tigera.io/v1/installations/default');
  tigeraStatuses = () => this.list<WithConditions>('/apis/operator.tigera.io/v1/tigerastatuses');
  ipPools = () => this.list<IPPool>('/apis/crd.projectcalico.org/v1/ippools');
  operatorNamespace = () => this.get<{ metadata: Meta }>('/api/v1/namespaces/tigera-operator');
  operatorDeployment = () => this.get<Workload>('/apis/apps/v1/namespaces/tigera-operator/deployments/tigera-operator');
  operatorPods = () => this.list<Pod>('/api/v1/namespaces/tigera-operator/pods', { labelSelector: 'k8s-app=tigera-operator' });
  daemonSets = (namespace?: string) => this.list<Workload>(namespace ? `/apis/apps/v1/namespaces/${namespace}/daemonsets` : '/apis/apps/v1/daemonsets');
  deployments = (namespace: string) => this.list<Workload>(`/apis/apps/v1/namespaces/${namespace}/deployments`);
  pods = (namespace: string, labelSelector?: string) => this.list<Pod>(`/api/v1/namespaces/${namespace}/pods`, labelSelector ? { labelSelector } : {});
  configMap = (namespace: string, name: string) => this.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/configmaps/${name}`);
  warningEvents = (namespace: string) => this.list<Event>(`/api/v1/namespaces/${namespace}/events`, { fieldSelector: 'type=Warning' });

  /** The last lines a container wrote before it exited (pods/log with previous=true). */
  async lastLog(namespace: string, pod: string, container: string, lines = 5): Promise<string[]> {
    const response = await this.kube.request(`/api/v1/namespaces/${namespace}/pods/${pod}/log`, { query: { container, previous: 'true', tailLines: lines }, accept: 'text/plain' });
    if (response.statusCode !== 200) return [];
    return response.body.toString('utf8').trimEnd().split('\n').filter(Boolean);
  }
}
