// What doctor reads, each thing once, on demand and concurrently: checks
// that need the same object share one request. Lists use selectors so a
// big cluster's pods are never all fetched — only the Calico workloads
// that are not ready get their pods listed — with one exception: the leak
// check (CAL-1202) reads every pod's address, as table cells, and declares it.
import { apiError, type KubeClient, type Query } from '../../kube/client.ts';
import { listAll } from '../../kube/list.ts';
import { clusterNetwork, type ClusterNetwork } from '../cluster-network.ts';
import { checkIpam, type IpamCheck } from '../ipam/check.ts';
import { readAffinities, readBlock, readBlocks, readLeakGracePeriod, readPodAddresses, readPodHolds, readPools, TUNNEL_ANNOTATIONS, type IpamNode } from '../ipam/read.ts';
import { ipamUsage, type IpamUsage } from '../ipam/usage.ts';
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
  /** Who reported it: the kubelet names its node. */
  source?: { component?: string; host?: string };
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
    return this.once(`${path}?${JSON.stringify(query)}`, () => listAll<T>(this.kube, path, { query, optional: true }));
  }

  private get<T>(path: string): Promise<T | undefined> {
    return this.once(path, () => this.kube.optional<T>(path));
  }

  /** The API server's clock (the Date of its /version answer), by which ages are judged; this machine's may be off. */
  private serverTime: number | undefined;

  version(): Promise<{ gitVersion: string }> {
    return this.once('/version', async () => {
      const response = await this.kube.request('/version');
      if (response.statusCode < 200 || response.statusCode > 299) throw apiError(response);
      this.serverTime = Date.parse(String(response.headers.date ?? '')) || undefined;
      return JSON.parse(response.body.toString('utf8')) as { gitVersion: string };
    });
  }

  /** Now, by the API server's clock when it gave one. */
  async now(): Promise<number> {
    await this.version();
    return this.serverTime ?? Date.now();
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

  ipamPools = () => this.once('ipam/pools', () => readPools(this.kube));
  ipamBlocks = () => this.once('ipam/blocks', async () => (await readBlocks(this.kube)).blocks);
  blockAffinities = () => this.once('ipam/affinities', () => readAffinities(this.kube));

  /** The nodes as IPAM sees them (labels, tunnel addresses), from the nodes the other checks read. */
  async ipamNodes(): Promise<IpamNode[]> {
    return (await this.nodes()).map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {}, tunnelAddresses: TUNNEL_ANNOTATIONS.map((a) => n.metadata.annotations?.[a]?.split('/')[0]).filter((a): a is string => Boolean(a)) }));
  }

  /** How full each pool is (CAL-1201): the pools, the blocks and the nodes; no pods. */
  poolUsage(): Promise<IpamUsage> {
    return this.once('ipam/usage', async () => {
      const [pools, blocks, nodes] = await Promise.all([this.ipamPools(), this.ipamBlocks(), this.ipamNodes()]);
      return ipamUsage(pools, blocks, nodes);
    });
  }

  /**
   * calicoctl's ipam check without the handles (CAL-1202), on the blocks the other IPAM checks read. Pods are
   * listed (as table cells) only when some allocation is a pod's, after the blocks: a suspect its pod does not
   * hold is checked against its block as it is now, since the pod may have released it in between. At most 100
   * suspected leaks are confirmed pod by pod: doctor stays cheap on a big cluster. (Addresses given out after the
   * blocks were read are not in them; only leaks are judged here.)
   */
  ipamCheck(): Promise<IpamCheck> {
    return this.once('ipam/check', async () => {
      const blocks = await this.ipamBlocks();
      const podAllocations = blocks.some((b) => b.attributes.some((a) => a.secondary?.pod));
      const [pods, pools, affinities, nodes, leakGrace, now] = await Promise.all([podAllocations ? readPodAddresses(this.kube) : [], this.ipamPools(), this.blockAffinities(), this.ipamNodes(), readLeakGracePeriod(this.kube), this.now()]);
      return checkIpam({
        pools, blocks, affinities, nodes, pods, leakGrace, now, confirmLimit: 100,
        podHolds: (namespace, name) => readPodHolds(this.kube, namespace, name),
        recheck: (name) => readBlock(this.kube, name),
      });
    });
  }

  /** The last lines a container wrote before it exited (pods/log with previous=true). */
  async lastLog(namespace: string, pod: string, container: string, lines = 5): Promise<string[]> {
    const response = await this.kube.request(`/api/v1/namespaces/${namespace}/pods/${pod}/log`, { query: { container, previous: 'true', tailLines: lines }, accept: 'text/plain' });
    if (response.statusCode !== 200) return [];
    return response.body.toString('utf8').trimEnd().split('\n').filter(Boolean);
  }
}
