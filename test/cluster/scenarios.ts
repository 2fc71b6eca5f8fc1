// Scenarios: the clusters tests declare. A scenario is data (nodes, kubeadm
// networking, versions) plus a seed that creates what kubeadm and the
// control plane would have created; the controllers then bring it to life.
import type { NewObject } from './types.ts';
import { LARGE } from './large.ts';
import { formatV4, parseV4 } from './controllers/ipam.ts';
import type { Runtime } from './controllers/runtime.ts';

export interface ScenarioNode {
  name: string;
  /** Its InternalIP, and the prefix length of the network its interface is on. */
  ip: string;
  ipPrefixLength: number;
  /** A dual-stack cluster's nodes also have an IPv6 address on the same interface (see nodeIPv6). */
  ip6?: string;
  ip6PrefixLength?: number;
  /** What kube-controller-manager allocates it: an IPv4 podCIDR, and an IPv6 one in a dual-stack cluster. */
  podCIDRs: string[];
  controlPlane: boolean;
}

export interface ScenarioData {
  name: string;
  description: string;
  nodes: ScenarioNode[];
  podSubnet: string;
  serviceSubnet: string;
  /** The IPv6 halves of a dual-stack cluster's subnets. */
  podSubnetV6?: string;
  serviceSubnetV6?: string;
}

export interface Scenario extends ScenarioData {
  seed(rt: Runtime, kubernetesVersion: string): void;
  /** False for a static snapshot whose objects no simulated controller should touch. */
  controllers?: boolean;
}

export interface ScenarioOptions {
  /** Nodes of a kubeadm scenario: one control plane and the rest workers (default 3, the guide's). */
  nodes?: number;
  /** A dual-stack kubeadm cluster: podSubnet and serviceSubnet each an IPv4 and an IPv6 range, a /64 of IPv6 per node. */
  dualStack?: boolean;
}

/** Kubernetes supports clusters of up to 5,000 nodes; the address plans below are sized for that. */
export const MAX_NODES = 5000;

export const SCENARIOS: Record<string, (options: ScenarioOptions) => Scenario> = {
  large: ({ nodes }) => {
    if (nodes !== undefined) throw new Error(`--nodes applies to the kubeadm scenarios; "large" is a fixed snapshot of ${LARGE.description}`);
    return LARGE;
  },
  'kubeadm-3-nodes': ({ nodes = 3, dualStack }) => kubeadmScenario('kubeadm-3-nodes', nodes, dualStack, '10.96.0.0/16', '10.128.0.0', (cluster) =>
    `The install guide's cluster: kubeadm, ${cluster}, serviceSubnet 10.96.0.0/16${dualStack ? ',fd00:10:96::/112' : ''}`),
  'service-overlap': ({ nodes = 3, dualStack }) => kubeadmScenario('service-overlap', nodes, dualStack, '10.96.0.0/12', '10.96.0.0', (_cluster, podSubnet) =>
    `As kubeadm-3-nodes${nodes === 3 ? '' : ` with ${plural(nodes, 'node')}`}, but with kubeadm's default serviceSubnet 10.96.0.0/12, which ${Number(podSubnet.split('/')[1]) >= 12 ? 'contains' : 'overlaps'} the pod subnet ${podSubnet}`),
  'kubeadm-two-subnets': ({ nodes = 3, dualStack }) => kubeadmScenario('kubeadm-two-subnets', nodes, dualStack, '10.96.0.0/16', '10.128.0.0', (cluster) =>
    `The install guide's cluster: kubeadm, ${cluster}, serviceSubnet 10.96.0.0/16; the control plane on 192.168.56.0/24, the workers on ${workerNetwork(nodes - 1)}: a VXLANCrossSubnet pool encapsulates between the control plane and the workers, not between workers`, true),
};

/**
 * The workers' network of kubeadm-two-subnets: 192.168.57.0/24 (their
 * addresses from .12, as in the guide), grown at 192.168.64.0 for more
 * workers than a /24 holds, so it never overlaps the control plane's.
 */
function workerNetwork(workers: number): string {
  const bits = Math.max(8, Math.ceil(Math.log2(workers + 12)));
  return bits === 8 ? '192.168.57.0/24' : network('192.168.64.0', 32 - bits);
}

/**
 * The guide's cluster with `count` nodes: `kubernetes-master-01` and
 * `kubernetes-worker-01`… (numbers zero-padded to the width of `count`, at
 * least 2), on the host-only network 192.168.56.0/24 from .11 on. A bigger
 * cluster needs what its admin would have had to choose: a node network
 * grown around 192.168.56.0 (a /21 for 2,000 nodes), and a podSubnet that
 * holds a /24 podCIDR per node (kube-controller-manager's default mask), so
 * larger than the guide's 10.97.0.0/16 past 256 nodes: the smallest prefix
 * that fits, at `largePodBase` (10.128.0.0/13 for 2,000 nodes). Calico's
 * default /26 blocks then number 4 per node, enough for its IPAM.
 */
function kubeadmScenario(name: string, count: number, dualStack: boolean | undefined, serviceSubnet: string, largePodBase: string, describe: (cluster: string, podSubnet: string) => string, twoSubnets = false): Scenario {
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) throw new Error(`--nodes must be a whole number from 1 to ${MAX_NODES}, not ${count}`);
  const width = Math.max(2, String(count).length);
  const number = (n: number) => String(n).padStart(width, '0');
  const nodeBits = Math.max(8, Math.ceil(Math.log2(count + 12)));
  const nodeNetwork = network('192.168.56.0', 32 - nodeBits);
  const podBits = Math.max(8, Math.ceil(Math.log2(count)));
  const podSubnet = podBits === 8 ? '10.97.0.0/16' : network(largePodBase, 24 - podBits);
  const [podBase] = parseV4(podSubnet);
  const [nodeBase, nodePrefix] = parseV4(twoSubnets ? '192.168.56.0/24' : nodeNetwork);
  const [workerBase, workerPrefix] = parseV4(twoSubnets ? workerNetwork(count - 1) : nodeNetwork);
  const nodes: ScenarioNode[] = Array.from({ length: count }, (_, i) => ({
    name: i === 0 ? `kubernetes-master-${number(1)}` : `kubernetes-worker-${number(i)}`,
    ip: formatV4(i === 0 ? nodeBase + 11 : workerBase + 11 + i),
    ipPrefixLength: i === 0 ? nodePrefix : workerPrefix,
    ...(dualStack ? { ip6: nodeIPv6(i === 0 ? nodeBase : workerBase, i === 0 ? nodeBase + 11 : workerBase + 11 + i), ip6PrefixLength: 64 } : {}),
    podCIDRs: [`${formatV4(podBase + i * 256)}/24`, ...(dualStack ? [`fd00:10:97:${i.toString(16)}::/64`] : [])],
    controlPlane: i === 0,
  }));
  const dual = dualStack ? { podSubnetV6: 'fd00:10:97::/48', serviceSubnetV6: 'fd00:10:96::/112' } : {};
  const pods = dualStack ? `${podSubnet},${dual.podSubnetV6}` : podSubnet;
  const cluster = count === 3
    ? `3 nodes NotReady without a CNI, podSubnet ${pods}`
    : `${plural(count, 'node')} (1 control plane, ${plural(count - 1, 'worker')}${twoSubnets ? '' : `, on ${nodeNetwork}`}) NotReady without a CNI, podSubnet ${pods}${podBits === 8 ? '' : ' (sized for a /24 podCIDR per node: a /16 has 256)'}`;
  const data: ScenarioData = { name, description: describe(cluster, podSubnet), nodes, podSubnet, serviceSubnet, ...dual };
  return { ...data, seed: (rt, version) => seedKubeadm(rt, data, version) };
}

/**
 * A dual-stack node's IPv6 address: its IPv4 network a.b.c.0/n has the ULA
 * twin fd00:a:b:c::/64 (the octets written as they read, as hex groups), and
 * the host keeps its offset in the network: 192.168.56.11 is
 * fd00:192:168:56::b, a worker at 192.168.57.12 fd00:192:168:57::c.
 */
export function nodeIPv6(networkBase: number, address: number): string {
  const [a, b, c] = formatV4(networkBase).split('.');
  return `fd00:${a}:${b}:${c}::${(address - networkBase).toString(16)}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The network of the given prefix length that holds `address`. */
function network(address: string, prefixLength: number): string {
  const [value] = parseV4(address);
  const size = 2 ** (32 - prefixLength);
  return `${formatV4(Math.floor(value / size) * size)}/${prefixLength}`;
}

const APISERVER = { fieldManager: 'kube-apiserver' };
const KUBEADM = { fieldManager: 'kubeadm' };

function seedKubeadm(rt: Runtime, data: ScenarioData, version: string): void {
  const create = (key: string, object: NewObject, options = KUBEADM) => rt.api.create(rt.type(key), object.metadata.namespace, object, options);
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, APISERVER);
  seedRbac(rt);
  const master = data.nodes.find((n) => n.controlPlane)!;
  for (const node of data.nodes) seedNode(rt, node, version);
  create('configmaps', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubeadm-config', namespace: 'kube-system' },
    data: { ClusterConfiguration: clusterConfiguration(data, version, master) },
  });
  create('configmaps', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { app: 'kube-proxy' } },
    data: { 'config.conf': `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\nclusterCIDR: ${both(data.podSubnet, data.podSubnetV6)}\nkind: KubeProxyConfiguration\nmode: ""\n` },
  });
  const serviceBase = data.serviceSubnet.split('/')[0]!.split('.').slice(0, 3).join('.');
  create('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } }, spec: { clusterIP: `${serviceBase}.1`, clusterIPs: [`${serviceBase}.1`], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], type: 'ClusterIP' } }, APISERVER);
  create('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } }, spec: { clusterIP: `${serviceBase}.10`, clusterIPs: [`${serviceBase}.10`], selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }, { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 }] } });
  for (const component of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    const image = component === 'etcd' ? 'registry.k8s.io/etcd:3.5.15-0' : `registry.k8s.io/${component}:${version}`;
    create('pods', {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `${component}-${master.name}`, namespace: 'kube-system', labels: { component, tier: 'control-plane' }, annotations: { 'kubernetes.io/config.source': 'file' }, ownerReferences: [] },
      spec: { nodeName: master.name, hostNetwork: true, priorityClassName: 'system-node-critical', containers: [{ name: component, image }], tolerations: [{ effect: 'NoExecute', operator: 'Exists' }] },
    }, { fieldManager: 'kubelet' });
  }
  create('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kube-proxy', namespace: 'kube-system' } });
  create('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: 'kube-system' } });
  create('daemonsets.apps', {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { 'k8s-app': 'kube-proxy' } },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'kube-proxy' } },
      template: { metadata: { labels: { 'k8s-app': 'kube-proxy' } }, spec: { hostNetwork: true, serviceAccountName: 'kube-proxy', priorityClassName: 'system-node-critical', nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'kube-proxy', image: `registry.k8s.io/kube-proxy:${version}` }] } },
    },
  });
  create('deployments.apps', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      template: { metadata: { labels: { 'k8s-app': 'kube-dns' } }, spec: { serviceAccountName: 'coredns', priorityClassName: 'system-cluster-critical', nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }], containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3' }] } },
    },
  });
}

function clusterConfiguration(data: ScenarioData, version: string, master: ScenarioNode): string {
  return [
    'apiServer: {}',
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'caCertificateValidityPeriod: 87600h0m0s',
    'certificateValidityPeriod: 8760h0m0s',
    'certificatesDir: /etc/kubernetes/pki',
    'clusterName: kubernetes',
    `controlPlaneEndpoint: ${master.ip}:6443`,
    'controllerManager: {}',
    'dns: {}',
    'encryptionAlgorithm: RSA-2048',
    'etcd:',
    '  local:',
    '    dataDir: /var/lib/etcd',
    'imageRepository: registry.k8s.io',
    'kind: ClusterConfiguration',
    `kubernetesVersion: ${version}`,
    'networking:',
    '  dnsDomain: cluster.local',
    `  podSubnet: ${both(data.podSubnet, data.podSubnetV6)}`,
    `  serviceSubnet: ${both(data.serviceSubnet, data.serviceSubnetV6)}`,
    'proxy: {}',
    'scheduler: {}',
    '',
  ].join('\n');
}

/** kubeadm's notation of a dual-stack range: `v4,v6`. */
function both(v4: string, v6: string | undefined): string {
  return v6 ? `${v4},${v6}` : v4;
}

function seedNode(rt: Runtime, node: ScenarioNode, version: string): void {
  const type = rt.type('nodes');
  rt.setHostAddress(node.name, `${node.ip}/${node.ipPrefixLength}`);
  if (node.ip6) rt.setHostAddress6(node.name, `${node.ip6}/${node.ip6PrefixLength}`);
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux',
    ...(node.controlPlane ? { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}),
  };
  rt.api.create(type, undefined, {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: node.name, labels, annotations: { 'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock', 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
    spec: { podCIDR: node.podCIDRs[0], podCIDRs: node.podCIDRs, taints: [...(node.controlPlane ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : []), { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] },
  }, { fieldManager: 'kubelet' });
  const now = rt.now();
  const condition = (t: string, reason: string, message: string) => ({ type: t, status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason, message });
  const capacity = { cpu: '2', 'ephemeral-storage': '41102484Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '4005136Ki', pods: '110' };
  rt.api.mutate(type, undefined, node.name, (n) => {
    n.status = {
      capacity,
      allocatable: { ...capacity, 'ephemeral-storage': '37879554114', memory: '3902736Ki' },
      conditions: [
        condition('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'KubeletNotReady', 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized'),
      ],
      // The kubelet's --node-ip=v4,v6 in a dual-stack cluster: an InternalIP of each family, the primary first.
      addresses: [{ type: 'InternalIP', address: node.ip }, ...(node.ip6 ? [{ type: 'InternalIP', address: node.ip6 }] : []), { type: 'Hostname', address: node.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: hex(node.name, 32), systemUUID: uuid(node.name), bootID: uuid(`${node.name}-boot`),
        kernelVersion: '6.8.0-49-generic', osImage: 'Ubuntu 24.04.1 LTS', containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: version, kubeProxyVersion: rt.api.minor >= 33 ? '' : version, operatingSystem: 'linux', architecture: 'amd64',
      },
    };
  }, { fieldManager: 'kubelet', subresource: 'status' });
}

/** kubeadm's RBAC, plus a read-only `viewer` user without access to secrets. */
export function seedRbac(rt: Runtime): void {
  const role = (name: string, rules: object[]) => rt.api.create(rt.type('clusterroles.rbac.authorization.k8s.io'), undefined, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }, rules }, APISERVER);
  const bind = (name: string, roleName: string, subjects: object[]) => rt.api.create(rt.type('clusterrolebindings.rbac.authorization.k8s.io'), undefined, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName }, subjects }, APISERVER);
  const group = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });
  role('cluster-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]);
  role('system:discovery', [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], verbs: ['get'] }]);
  role('system:public-info-viewer', [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }]);
  role('view', [
    { apiGroups: [''], resources: ['configmaps', 'endpoints', 'events', 'namespaces', 'nodes', 'pods', 'pods/log', 'pods/status', 'serviceaccounts', 'services'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'replicasets'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch'] },
  ]);
  role('system:basic-user', [{ apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] }]);
  bind('cluster-admin', 'cluster-admin', [group('system:masters')]);
  bind('kubeadm:cluster-admins', 'cluster-admin', [group('kubeadm:cluster-admins')]);
  bind('system:discovery', 'system:discovery', [group('system:authenticated')]);
  bind('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]);
  bind('system:basic-user', 'system:basic-user', [group('system:authenticated')]);
  bind('viewer', 'view', [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }]);
}

function hex(seed: string, length: number): string {
  let out = '';
  let h = 2166136261;
  while (out.length < length) {
    for (const ch of seed + out.length) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

function uuid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
