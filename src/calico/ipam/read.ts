// What the IPAM commands and doctor read: Calico IPAM's own objects
// (crd.projectcalico.org/v1 IPPools, IPAMBlocks, BlockAffinities,
// IPAMHandles, as libcalico-go's Kubernetes backend writes them), the nodes'
// labels and tunnel addresses, and which addresses pods hold — the pods as
// the server's table rows (name, IP, status: what `kubectl get pods -A -o
// wide` costs, not every pod object), and single pods only to confirm a
// suspected leak. Read-only; nothing here writes.
import { parseDuration } from '../../cli/duration.ts';
import type { KubeClient, Query } from '../../kube/client.ts';
import { apiError } from '../../kube/client.ts';
import { listTable } from '../../kube/tables.ts';
import { parseNetwork, type Cidr } from '../cidr.ts';

const GROUP = '/apis/crd.projectcalico.org/v1';

export interface Pool {
  name: string;
  cidr: string;
  /** Undefined when the CIDR does not parse (the pool is then left out of every count). */
  network: Cidr | undefined;
  blockSize: number;
  disabled: boolean;
  nodeSelector: string;
}

/** One allocation's attributes (libcalico-go model.AllocationAttribute). */
export interface Attribute {
  handle_id?: string;
  /** The owner: namespace, pod, node, type, timestamp. */
  secondary?: Record<string, string>;
  /** Set while a released address cools down (newer releases). */
  releasedAt?: string;
}

export interface Block {
  name: string;
  cidr: string;
  network: Cidr | undefined;
  /** `host:<node>`, as the block records it. */
  affinity?: string;
  allocations: (number | null)[];
  unallocated: number[];
  attributes: Attribute[];
  /** Per ordinal; uint64 nanoseconds, kept as their digits when a double cannot hold them. */
  sequenceNumberForAllocation: Record<string, number | string>;
}

export interface Affinity {
  name: string;
  node: string;
  cidr: string;
  state?: string;
  created?: string;
}

export interface Handle {
  name: string;
  handleID: string;
  uid: string;
  resourceVersion: string;
  created?: string;
}

export interface IpamNode {
  name: string;
  labels: Record<string, string>;
  /** The addresses calico-node took from IPAM for its tunnels (the Calico Node's, kept as annotations). */
  tunnelAddresses: string[];
}

/** A pod as its table row shows it: no namespace, only the primary address (status.podIP). */
export interface PodAddress {
  name: string;
  ip: string;
  status: string;
}

/** The Calico Node's tunnel addresses, as the Kubernetes datastore keeps them on the node. */
export const TUNNEL_ANNOTATIONS = [
  'projectcalico.org/IPv4VXLANTunnelAddr', 'projectcalico.org/IPv6VXLANTunnelAddr', 'projectcalico.org/IPv4IPIPTunnelAddr',
  'projectcalico.org/IPv4WireguardInterfaceAddr', 'projectcalico.org/IPv6WireguardInterfaceAddr',
];

/**
 * Every item of a list, page by page, and the time the server gave with the first page (its Date header: how old
 * an allocation is, judged by the cluster's clock rather than this machine's). Integers beyond a double's 53 bits
 * (IPAM sequence numbers are nanoseconds) keep their digits. A resource the server does not have is no items.
 */
async function listAll<T>(kube: KubeClient, path: string, query: Query = {}): Promise<{ items: T[]; serverTime: number | undefined }> {
  const items: T[] = [];
  let token: string | undefined;
  let serverTime: number | undefined;
  do {
    const response = await kube.request(path, { query: { ...query, limit: 500, continue: token } });
    if (response.statusCode === 404) break;
    if (response.statusCode < 200 || response.statusCode > 299) throw apiError(response);
    serverTime ??= Date.parse(String(response.headers.date ?? '')) || undefined;
    const page = JSON.parse(response.body.toString('utf8'), exactIntegers) as { items: T[]; metadata?: { continue?: string } };
    items.push(...page.items);
    token = page.metadata?.continue || undefined;
  } while (token);
  return { items, serverTime };
}

function exactIntegers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  return typeof value === 'number' && !Number.isSafeInteger(value) && Number.isInteger(value) && context?.source ? context.source : value;
}

export async function readPools(kube: KubeClient): Promise<Pool[]> {
  const { items } = await listAll<{ metadata: { name: string }; spec?: { cidr?: string; blockSize?: number; disabled?: boolean; nodeSelector?: string } }>(kube, `${GROUP}/ippools`);
  return items.map((p) => {
    const cidr = p.spec?.cidr ?? '';
    const network = parseNetwork(cidr);
    return { name: p.metadata.name, cidr, network, blockSize: p.spec?.blockSize ?? (network?.family === 6 ? 122 : 26), disabled: p.spec?.disabled === true, nodeSelector: p.spec?.nodeSelector ?? 'all()' };
  });
}

type BlockObject = { metadata: { name: string }; spec?: Partial<Omit<Block, 'name' | 'network'>> };

function toBlock(b: BlockObject): Block {
  const cidr = b.spec?.cidr ?? '';
  return {
    name: b.metadata.name,
    cidr,
    network: parseNetwork(cidr),
    ...(b.spec?.affinity ? { affinity: b.spec.affinity } : {}),
    allocations: b.spec?.allocations ?? [],
    unallocated: b.spec?.unallocated ?? [],
    attributes: b.spec?.attributes ?? [],
    sequenceNumberForAllocation: b.spec?.sequenceNumberForAllocation ?? {},
  };
}

export async function readBlocks(kube: KubeClient): Promise<{ blocks: Block[]; serverTime: number | undefined }> {
  const { items, serverTime } = await listAll<BlockObject>(kube, `${GROUP}/ipamblocks`);
  return { blocks: items.map(toBlock), serverTime };
}

/** One block as it is now; undefined when it is gone. */
export async function readBlock(kube: KubeClient, name: string): Promise<Block | undefined> {
  const response = await kube.request(`${GROUP}/ipamblocks/${encodeURIComponent(name)}`);
  if (response.statusCode === 404) return undefined;
  if (response.statusCode < 200 || response.statusCode > 299) throw apiError(response);
  return toBlock(JSON.parse(response.body.toString('utf8'), exactIntegers) as BlockObject);
}

export async function readAffinities(kube: KubeClient): Promise<Affinity[]> {
  const { items } = await listAll<{ metadata: { name: string; creationTimestamp?: string }; spec?: { node?: string; cidr?: string; state?: string } }>(kube, `${GROUP}/blockaffinities`);
  return items.map((a) => ({ name: a.metadata.name, node: a.spec?.node ?? '', cidr: a.spec?.cidr ?? '', ...(a.spec?.state ? { state: a.spec.state } : {}), ...(a.metadata.creationTimestamp ? { created: a.metadata.creationTimestamp } : {}) }));
}

export async function readHandles(kube: KubeClient): Promise<Handle[]> {
  const { items } = await listAll<{ metadata: { name: string; uid: string; resourceVersion: string; creationTimestamp?: string }; spec?: { handleID?: string } }>(kube, `${GROUP}/ipamhandles`);
  return items.map((h) => ({ name: h.metadata.name, handleID: h.spec?.handleID ?? h.metadata.name, uid: h.metadata.uid, resourceVersion: h.metadata.resourceVersion, ...(h.metadata.creationTimestamp ? { created: h.metadata.creationTimestamp } : {}) }));
}

/** Every node's labels (pools select nodes by them) and tunnel addresses, from the node table's metadata. */
export async function readIpamNodes(kube: KubeClient): Promise<IpamNode[]> {
  const table = await listTable(kube, '/api/v1/nodes', { includeObject: 'Metadata' });
  return table.rows.map((row) => {
    const meta = (row.object as { metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } | undefined)?.metadata ?? {};
    const annotations = meta.annotations ?? {};
    return { name: meta.name ?? String(row.cells[0]), labels: meta.labels ?? {}, tunnelAddresses: TUNNEL_ANNOTATIONS.map((a) => annotations[a]?.split('/')[0]).filter((a): a is string => Boolean(a)) };
  });
}

/** Every pod's primary address, from the pod table of all namespaces (cells only). */
export async function readPodAddresses(kube: KubeClient): Promise<PodAddress[]> {
  const table = await listTable(kube, '/api/v1/pods', { includeObject: 'None' });
  const column = (name: string) => table.columnDefinitions.findIndex((c) => c.name === name);
  const [name, ip, status] = [column('Name'), column('IP'), column('Status')];
  return table.rows.map((row) => ({ name: String(row.cells[name] ?? ''), ip: String(row.cells[ip] ?? ''), status: String(row.cells[status] ?? '') }))
    .filter((p) => p.ip && p.ip !== '<none>');
}

/**
 * The addresses one pod holds: status.podIPs, and the WorkloadEndpoint's addresses Calico's CNI plugin writes as
 * the pod's annotations as soon as it has them (before the kubelet reports them); undefined when there is no such pod.
 */
export async function readPodHolds(kube: KubeClient, namespace: string, name: string): Promise<string[] | undefined> {
  const pod = await kube.optional<{ metadata: { annotations?: Record<string, string> }; status?: { podIP?: string; podIPs?: { ip: string }[] } }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`);
  if (!pod) return undefined;
  const annotated = (pod.metadata.annotations?.['cni.projectcalico.org/podIPs'] ?? pod.metadata.annotations?.['cni.projectcalico.org/podIP'] ?? '').split(',').map((a) => a.trim().split('/')[0]!).filter(Boolean);
  return [...(pod.status?.podIPs ?? []).map((p) => p.ip), ...(pod.status?.podIP ? [pod.status.podIP] : []), ...annotated];
}

export const DEFAULT_LEAK_GRACE_MS = 15 * 60_000;

/**
 * calico-kube-controllers' leakGracePeriod (KubeControllersConfiguration `default`, controllers.node): after it
 * the controller releases a leaked address itself. It writes `15m` when it finds no configuration; `0` or no node
 * controller means it releases none (undefined).
 */
export async function readLeakGracePeriod(kube: KubeClient): Promise<{ ms: number | undefined; text: string }> {
  const config = await kube.optional<{ spec?: { controllers?: { node?: { leakGracePeriod?: string } } } }>(`${GROUP}/kubecontrollersconfigurations/default`);
  if (!config) return { ms: DEFAULT_LEAK_GRACE_MS, text: '15m0s, the default' };
  const node = config.spec?.controllers?.node;
  if (!node) return { ms: undefined, text: 'none: the node controller is not enabled' };
  const text = node.leakGracePeriod ?? '15m0s';
  let ms: number;
  try {
    ms = parseDuration(text, 'leakGracePeriod');
  } catch {
    return { ms: DEFAULT_LEAK_GRACE_MS, text: `15m0s: "${text}" does not read as a duration` };
  }
  return ms > 0 ? { ms, text } : { ms: undefined, text: `${text}: leak collection is off` };
}

/** ClusterInformation `default`: what calicoctl's report carries so that `ipam release` can check it is for this cluster. */
export async function readClusterInformation(kube: KubeClient): Promise<{ clusterGUID: string; clusterType: string; datastoreReady: boolean | undefined; resourceVersion: string } | undefined> {
  const info = await kube.optional<{ metadata: { resourceVersion: string }; spec?: { clusterGUID?: string; clusterType?: string; datastoreReady?: boolean } }>(`${GROUP}/clusterinformations/default`);
  return info && { clusterGUID: info.spec?.clusterGUID ?? '', clusterType: info.spec?.clusterType ?? '', datastoreReady: info.spec?.datastoreReady, resourceVersion: info.metadata.resourceVersion };
}
