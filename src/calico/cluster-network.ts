// The facts a pool is checked against — kubeadm's podSubnet and
// serviceSubnet, the nodes' podCIDRs and InternalIPs, and the Kubernetes
// version (the operator itself reads kube-system/kubeadm-config the same way) —
// and the one judgement of pools against them that init and doctor share.
import { parse } from 'yaml';
import type { KubeClient } from '../kube/client.ts';
import { ApiError } from '../kube/errors.ts';
import { containsAddress, containsCidr, overlaps, parseCidr, parseNetwork, type Cidr } from './cidr.ts';
import { KUBERNETES_SUPPORT, KNOWN_RELEASES } from './versions.ts';

export interface ClusterNetwork {
  kubernetesVersion: string;
  podSubnets: Cidr[];
  serviceSubnets: Cidr[];
  nodePodCIDRs: Cidr[];
  nodeIPs: { node: string; ip: string }[];
  nodeCount: number;
  /** Why kubeadm-config could not be read, when it could not. */
  kubeadmProblem: string | undefined;
}

/** The parts of a Node the pool checks read. */
export interface NetworkNode {
  metadata: { name: string };
  spec?: { podCIDRs?: string[]; podCIDR?: string };
  status?: { addresses?: { type: string; address: string }[] };
}

/** kube-system/kubeadm-config as read: the ConfigMap, absent, or why it could not be read. */
export type KubeadmConfig = { data?: Record<string, string> } | { problem: string } | undefined;

export async function readClusterNetwork(kube: KubeClient): Promise<ClusterNetwork> {
  const [version, config, nodes] = await Promise.all([
    kube.json<{ gitVersion: string }>('/version'),
    kube.optional<{ data?: Record<string, string> }>('/api/v1/namespaces/kube-system/configmaps/kubeadm-config').catch((error: unknown) => {
      if (error instanceof ApiError && error.statusCode === 403) return { problem: error.message };
      throw error;
    }),
    kube.json<{ items: NetworkNode[] }>('/api/v1/nodes'),
  ]);
  return clusterNetwork(version.gitVersion, config, nodes.items);
}

/** The network facts from what init and doctor each read (the operator reads kubeadm-config the same way). */
export function clusterNetwork(kubernetesVersion: string, config: KubeadmConfig, nodes: NetworkNode[]): ClusterNetwork {
  const readable = config && 'problem' in config ? undefined : config;
  const networking = readable ? (parse(readable.data?.ClusterConfiguration ?? '') as { networking?: { podSubnet?: string; serviceSubnet?: string } } | null)?.networking : undefined;
  const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((s) => parseCidr(s, 'kubeadm networking'));
  return {
    kubernetesVersion,
    podSubnets: list(networking?.podSubnet),
    serviceSubnets: list(networking?.serviceSubnet ?? (readable ? '10.96.0.0/12' : undefined)),
    nodePodCIDRs: nodes.flatMap((n) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])).map((c) => parseCidr(c, 'node podCIDR')),
    nodeIPs: nodes.flatMap((n) => (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => ({ node: n.metadata.name, ip: a.address }))),
    nodeCount: nodes.length,
    kubeadmProblem: !config ? 'kube-system/kubeadm-config does not exist (not a kubeadm cluster?)' : 'problem' in config ? config.problem : undefined,
  };
}

/** Calico's block size per IP family when a pool sets none: the operator's default and init's. */
export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;

/** The pool init writes without --pod-cidr: kubeadm's podSubnet, else the range the nodes' podCIDRs come from. */
export function discoverPodCidrs(network: ClusterNetwork): { cidrs: Cidr[]; source: string } | undefined {
  if (network.podSubnets.length) return { cidrs: network.podSubnets, source: 'kubeadm podSubnet' };
  if (network.nodePodCIDRs.length === 0) return undefined;
  const v4 = network.nodePodCIDRs.filter((c) => c.family === 4);
  if (v4.length === 0) return undefined;
  // The smallest /16 or wider network holding every node's podCIDR.
  for (let prefix = 16; prefix >= 8; prefix--) {
    const candidate = parseNetwork(`${v4[0]!.address}/${prefix}`)!;
    if (v4.every((c) => containsCidr(candidate, c))) return { cidrs: [candidate], source: "the range of the nodes' podCIDRs" };
  }
  return undefined;
}

/** A pool as the checks judge it; `name` is how findings call it (default: `the pool <cidr>`). */
export interface JudgedPool {
  cidr: Cidr;
  blockSize: number;
  name?: string;
}

/** How many blocks of its block size the pool holds (capped at 2^30: plenty). */
export function blockCount(pool: JudgedPool): number {
  return 2 ** Math.min(30, Math.max(0, pool.blockSize - pool.cidr.prefix));
}

/**
 * What a pool is judged on, one doctor check each: inside kubeadm's podSubnet
 * (CAL-0701), clear of the service subnet and the nodes (CAL-0703), a block for
 * every node (CAL-0704).
 */
export type PoolCheck = 'pod-subnet' | 'no-overlap' | 'blocks';

/**
 * Whose pools: being chosen (init, or doctor before there is an Installation)
 * or an Installation's. Only the fixes differ: an installed pool cannot change
 * its CIDR in place.
 */
export type PoolStage = 'choosing' | 'installed';

export interface PoolFinding {
  check: PoolCheck;
  /** An error makes init refuse (unless --force) and doctor FAIL; a warning is a warning to both. */
  level: 'error' | 'warning';
  /** What is wrong, naming the pool, the cluster's ranges and the consequence. */
  problem: string;
  fix: string;
}

/**
 * The one judgement of pools against the cluster, behind init's refusals and
 * warnings and doctor's CAL-0701/0703/0704: as the guide and the operator ask,
 * the pool lies inside kubeadm's podSubnet (equal to it is right), clear of
 * the services and the nodes, with a block for every node.
 */
export function checkPools(pools: JudgedPool[], network: ClusterNetwork, stage: PoolStage): PoolFinding[] {
  const findings: PoolFinding[] = [];
  const add = (check: PoolCheck, level: PoolFinding['level'], problem: string, fix: string) => findings.push({ check, level, problem, fix });
  if (!network.kubeadmProblem && network.podSubnets.length === 0) {
    const cidrs = pools.map((p) => p.cidr.text).join(',') || '<pod CIDR>';
    add('pod-subnet', 'error', 'kube-system/kubeadm-config has no podSubnet (networking.podSubnet in its ClusterConfiguration): the Tigera operator refuses such a cluster whatever the pool ("kubeadm configuration is missing required podSubnet field", TigeraStatus ippools Degraded) and no node becomes Ready',
      `set networking.podSubnet in kube-system/kubeadm-config's ClusterConfiguration to ${cidrs}${stage === 'choosing' ? ' before installing Calico' : ''}: kubectl edit configmap -n kube-system kubeadm-config (a new cluster: kubeadm init --pod-network-cidr ${cidrs})`);
  }
  for (const pool of pools) {
    const name = pool.name ?? `the pool ${pool.cidr.text}`;
    const subnet = network.podSubnets.find((s) => s.family === pool.cidr.family);
    // The operator only takes pools inside the podSubnet: when the podSubnet has the pool's problem too, it must change as well.
    const podSubnetToo = (sameProblem: (subnet: Cidr) => boolean) => subnet && sameProblem(subnet)
      ? `, and make it kubeadm's podSubnet in place of ${subnet.text} (networking.podSubnet in kube-system/kubeadm-config's ClusterConfiguration: the operator only takes a pool inside the podSubnet)${stage === 'choosing' ? ', then run kubectl calico init' : ''}`
      : '';
    if (subnet && !containsCidr(subnet, pool.cidr)) {
      add('pod-subnet', 'error', `${name} is outside the cluster's podSubnet ${subnet.text} (kube-system/kubeadm-config): the Tigera operator rejects such a pool, as a Degraded TigeraStatus ("IPPool ${pool.cidr.text} is not within the platform's configured pod network CIDR(s)"), and no node becomes Ready`,
        stage === 'choosing' ? `use --pod-cidr ${subnet.text}` : `kubectl calico init --pod-cidr ${subnet.text} --overwrite && kubectl calico apply --force`);
    } else if (subnet && subnet.text !== pool.cidr.text) {
      add('pod-subnet', 'warning', `${name} is inside the cluster's podSubnet ${subnet.text} but smaller: the operator accepts it, but the install guide makes the pool equal to the podSubnet`,
        stage === 'choosing' ? `use --pod-cidr ${subnet.text} unless the smaller pool is deliberate` : `kubectl calico init --pod-cidr ${subnet.text} --overwrite`);
    }
    for (const service of network.serviceSubnets) {
      if (!overlaps(pool.cidr, service)) continue;
      add('no-overlap', 'error', `${name} overlaps the service subnet ${service.text}: pods whose IPs collide with Service ClusterIPs become unreachable`,
        `${stage === 'choosing' ? `choose a pod CIDR outside ${service.text}` : `move the pods to a pool outside ${service.text} (a pool migration: a pool's CIDR cannot change in place)`}${podSubnetToo((s) => overlaps(s, service))}`);
    }
    const inside = network.nodeIPs.filter(({ ip }) => containsAddress(pool.cidr, ip));
    if (inside.length) {
      const [first, ...more] = inside;
      add('no-overlap', 'error', `${name} contains node ${first!.node}'s InternalIP ${first!.ip}${more.length ? ` and those of ${more.map((n) => `${n.node} (${n.ip})`).join(', ')}` : ''}: pod addresses would collide with the host network`,
        `${stage === 'choosing' ? "choose a pod CIDR that excludes the nodes' network" : "move the pods to a pool that excludes the nodes' network (a pool migration)"}${podSubnetToo((s) => inside.some(({ ip }) => containsAddress(s, ip)))}`);
    }
    const blocks = blockCount(pool);
    if (blocks < network.nodeCount * 2) {
      const short = blocks < network.nodeCount;
      add('blocks', short ? 'error' : 'warning', `${name} with block size ${pool.blockSize} has ${blocks} blocks for ${network.nodeCount} nodes: ${short ? 'some nodes get no block and borrow addresses' : 'little room to grow'}`,
        stage === 'choosing'
          ? `use a higher --block-size (smaller blocks, more of them) or a wider pod CIDR${podSubnetToo((s) => blockCount({ cidr: s, blockSize: pool.blockSize }) < network.nodeCount * 2)}`
          : short ? 'add a larger pool (the block size cannot change in place)' : 'plan a larger pool before adding nodes');
    }
  }
  return findings;
}

/** A warning when Calico `version` is not tested on the cluster's Kubernetes minor, naming a release that is. */
export function supportWarning(version: string, kubernetesVersion: string): string | undefined {
  const calicoMinor = version.split('.').slice(0, 2).join('.');
  const kubeMinor = kubernetesVersion.replace(/^v/, '').split('.').slice(0, 2).join('.');
  const supported = KUBERNETES_SUPPORT[calicoMinor];
  if (!supported || supported.includes(kubeMinor)) return undefined;
  const fits = [...KNOWN_RELEASES].reverse().find((r) => KUBERNETES_SUPPORT[r.version.split('.').slice(0, 2).join('.')]?.includes(kubeMinor));
  return `Calico ${version} is tested on Kubernetes ${supported.join(', ')}, not ${kubeMinor}${fits ? `; --calico-version ${fits.version} is` : ''}`;
}
