// The facts init checks a pool against: kubeadm's podSubnet and
// serviceSubnet, the nodes' podCIDRs and InternalIPs, and the Kubernetes
// version (the operator itself reads kube-system/kubeadm-config the same way).
import { parse } from 'yaml';
import type { KubeClient } from '../kube/client.ts';
import { ApiError } from '../kube/errors.ts';
import { containsAddress, containsCidr, overlaps, parseCidr, type Cidr } from './cidr.ts';
import { KUBERNETES_SUPPORT, KNOWN_RELEASES } from './versions.ts';

export interface ClusterNetwork {
  kubernetesVersion: string;
  podSubnets: Cidr[];
  serviceSubnets: Cidr[];
  nodePodCIDRs: Cidr[];
  nodeIPs: { node: string; ip: string }[];
  /** Why kubeadm-config could not be read, when it could not. */
  kubeadmProblem: string | undefined;
}

interface NodeList {
  items: { metadata: { name: string }; spec?: { podCIDRs?: string[]; podCIDR?: string }; status?: { addresses?: { type: string; address: string }[] } }[];
}

export async function readClusterNetwork(kube: KubeClient): Promise<ClusterNetwork> {
  const [version, config, nodes] = await Promise.all([
    kube.json<{ gitVersion: string }>('/version'),
    kube.optional<{ data?: Record<string, string> }>('/api/v1/namespaces/kube-system/configmaps/kubeadm-config').catch((error: unknown) => {
      if (error instanceof ApiError && error.statusCode === 403) return { problem: error.message };
      throw error;
    }),
    kube.json<NodeList>('/api/v1/nodes'),
  ]);
  const networking = config && 'data' in config ? (parse(config.data?.ClusterConfiguration ?? '') as { networking?: { podSubnet?: string; serviceSubnet?: string } } | null)?.networking : undefined;
  const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((s) => parseCidr(s, 'kubeadm networking'));
  return {
    kubernetesVersion: version.gitVersion,
    podSubnets: list(networking?.podSubnet),
    serviceSubnets: list(networking?.serviceSubnet ?? (config && 'data' in config ? '10.96.0.0/12' : undefined)),
    nodePodCIDRs: nodes.items.flatMap((n) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])).map((c) => parseCidr(c, 'node podCIDR')),
    nodeIPs: nodes.items.flatMap((n) => (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => ({ node: n.metadata.name, ip: a.address }))),
    kubeadmProblem: !config ? 'kube-system/kubeadm-config does not exist (not a kubeadm cluster?)' : 'problem' in config ? String(config.problem) : undefined,
  };
}

/** Without --pod-cidr: kubeadm's podSubnet, else the range the nodes' podCIDRs come from. */
export function discoverPodCidrs(network: ClusterNetwork): Cidr[] | undefined {
  if (network.podSubnets.length) return network.podSubnets;
  if (network.nodePodCIDRs.length === 0) return undefined;
  const v4 = network.nodePodCIDRs.filter((c) => c.family === 4);
  if (v4.length === 0) return undefined;
  // The smallest /16 or wider network holding every node's podCIDR.
  for (let prefix = 16; prefix >= 8; prefix--) {
    const candidate = parseCidr(`${maskV4(v4[0]!.address, prefix)}/${prefix}`);
    if (v4.every((c) => containsCidr(candidate, c))) return [candidate];
  }
  return undefined;
}

function maskV4(address: string, prefix: number): string {
  const value = address.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const masked = Math.floor(value / 2 ** (32 - prefix)) * 2 ** (32 - prefix);
  return [24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.');
}

export interface Finding {
  level: 'error' | 'warning';
  message: string;
}

/** The pool checked against the cluster, as the guide asks: equal to podSubnet, clear of services and nodes. */
export function checkPools(pools: Cidr[], network: ClusterNetwork): Finding[] {
  const findings: Finding[] = [];
  for (const pool of pools) {
    const subnet = network.podSubnets.find((s) => s.family === pool.family);
    if (subnet && !containsCidr(subnet, pool)) {
      findings.push({ level: 'error', message: `the pool ${pool.text} is outside the cluster's podSubnet ${subnet.text} (kube-system/kubeadm-config): the Tigera operator would reject it later, as a Degraded TigeraStatus ("IPPool ${pool.text} is not within the platform's configured pod network CIDR(s)"), and no node would become Ready; use --pod-cidr ${subnet.text}` });
    } else if (subnet && subnet.text !== pool.text) {
      findings.push({ level: 'warning', message: `the pool ${pool.text} is inside the cluster's podSubnet ${subnet.text} but smaller: the operator accepts it, but the install guide makes the pool equal to the podSubnet` });
    }
    for (const service of network.serviceSubnets) {
      if (overlaps(pool, service)) findings.push({ level: 'error', message: `the pool ${pool.text} overlaps the service subnet ${service.text}: pods whose IPs collide with Service ClusterIPs become unreachable; choose a pod CIDR outside ${service.text}` });
    }
    for (const { node, ip } of network.nodeIPs) {
      if (containsAddress(pool, ip)) findings.push({ level: 'error', message: `the pool ${pool.text} contains node ${node}'s InternalIP ${ip}: pod addresses would collide with the host network; choose a pod CIDR that excludes the nodes' network` });
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
