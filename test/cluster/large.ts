// The `large` scenario: 5,000 Ready nodes and 50,000 pods with Calico v3.29.0
// installed and healthy — the cluster doctor's speed is measured on. Objects
// are written straight into the store in their final state (running the
// controllers through 50,000 pod start-ups would take minutes), and the
// controllers then keep them as they are.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { timestamp } from './api.ts';
import type { Runtime } from './controllers/runtime.ts';
import { CALICO_RELEASES, manifestObjects } from './install.ts';
import { seedRbac, type Scenario, type ScenarioData } from './scenarios.ts';
import type { KubeObject, NewObject } from './types.ts';

const NODES = 5000;
const PODS = 50_000;
const APP_NAMESPACES = 50;
const CALICO = 'v3.29.0';
const MANIFESTS = path.join(CALICO_RELEASES, CALICO);

export const LARGE: Scenario = {
  name: 'large',
  description: `${NODES} Ready nodes and ${PODS} pods, Calico ${CALICO} installed and healthy`,
  nodes: [],
  podSubnet: '100.64.0.0/10',
  serviceSubnet: '10.96.0.0/16',
  controllers: false,
  seed: (rt, version) => seedLarge(rt, LARGE, version),
};

function seedLarge(rt: Runtime, data: ScenarioData, version: string): void {
  const created = timestamp(new Date(rt.clock.now().getTime() - 30 * 86_400_000));
  const put = (key: string, object: NewObject) => rt.api.store.put(key, finalObject(object, created));
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'tigera-operator', 'calico-system', ...appNamespaces()]) {
    put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  }
  seedRbac(rt);
  for (const object of manifestObjects(path.join(MANIFESTS, 'tigera-operator.yaml'))) {
    const type = rt.api.registry.byKind(object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '', object.kind);
    if (!type) continue;
    if (object.kind === 'CustomResourceDefinition') rt.api.registry.registerCrd(finalObject(object, created) as never);
    if (object.kind !== 'Deployment') put(type.key, object);
  }
  put('configmaps', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubeadm-config', namespace: 'kube-system' },
    data: { ClusterConfiguration: `apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: ${version}\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: ${data.podSubnet}\n  serviceSubnet: ${data.serviceSubnet}\n` },
  });
  const nodes = Array.from({ length: NODES }, (_, i) => `node-${String(i).padStart(4, '0')}`);
  nodes.forEach((name, i) => put('nodes', largeNode(name, i, version, created)));
  for (const node of nodes) rt.setNetworkReady(node, true);
  const typha = Math.max(3, Math.floor(NODES / 200) + 2);
  let pods = 0;
  const pod = (namespace: string, name: string, node: string, containers: string[], hostNetwork: boolean, labels: Record<string, string>) => {
    pods++;
    put('pods', runningPod(namespace, name, node, containers, hostNetwork, labels, created, pods));
  };
  nodes.forEach((node, i) => {
    pod('kube-system', `kube-proxy-${suffix(i)}`, node, [`registry.k8s.io/kube-proxy:${version}`], true, { 'k8s-app': 'kube-proxy' });
    pod('calico-system', `calico-node-${suffix(i)}`, node, [`docker.io/calico/node:${CALICO}`], true, { 'k8s-app': 'calico-node' });
    pod('calico-system', `csi-node-driver-${suffix(i)}`, node, [`docker.io/calico/csi:${CALICO}`, `docker.io/calico/node-driver-registrar:${CALICO}`], false, { 'k8s-app': 'csi-node-driver' });
  });
  for (let i = 0; i < typha; i++) pod('calico-system', `calico-typha-5b7b5c6879-${suffix(i)}`, nodes[i * 7]!, [`docker.io/calico/typha:${CALICO}`], true, { 'k8s-app': 'calico-typha' });
  pod('calico-system', 'calico-kube-controllers-7f8c9d6b5-x2x4z', nodes[1]!, [`docker.io/calico/kube-controllers:${CALICO}`], false, { 'k8s-app': 'calico-kube-controllers' });
  pod('tigera-operator', 'tigera-operator-f8bc97d4c-bnnx4', nodes[0]!, ['quay.io/tigera/operator:v1.36.0'], true, { name: 'tigera-operator', 'k8s-app': 'tigera-operator' });
  for (let i = 0; i < 2; i++) pod('kube-system', `coredns-7c65d6cfc9-${suffix(i)}`, nodes[i]!, ['registry.k8s.io/coredns/coredns:v1.11.3'], false, { 'k8s-app': 'kube-dns' });
  for (let i = 0; pods < PODS; i++) {
    const namespace = `app-${String(i % APP_NAMESPACES).padStart(2, '0')}`;
    pod(namespace, `web-${suffix(i)}`, nodes[i % NODES]!, ['registry.example.com/shop/web:1.4.2'], false, { app: 'web' });
  }
  const ds = (name: string, count: number) => put('daemonsets.apps', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: name === 'kube-proxy' ? 'kube-system' : 'calico-system', labels: { 'k8s-app': name } }, spec: { selector: { matchLabels: { 'k8s-app': name } }, template: { metadata: { labels: { 'k8s-app': name } }, spec: { containers: [{ name, image: 'x' }] } } }, status: { currentNumberScheduled: count, numberMisscheduled: 0, desiredNumberScheduled: count, numberReady: count, observedGeneration: 1, updatedNumberScheduled: count, numberAvailable: count } });
  ds('kube-proxy', NODES);
  ds('calico-node', NODES);
  ds('csi-node-driver', NODES);
  const deploy = (name: string, namespace: string, replicas: number, labels: Record<string, string>, image = `docker.io/calico/${name.replace('calico-', '')}:${CALICO}`) => put('deployments.apps', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels }, spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name, image }] } } }, status: { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }] } });
  deploy('calico-typha', 'calico-system', typha, { 'k8s-app': 'calico-typha' });
  deploy('calico-kube-controllers', 'calico-system', 1, { 'k8s-app': 'calico-kube-controllers' });
  deploy('tigera-operator', 'tigera-operator', 1, { name: 'tigera-operator' }, 'quay.io/tigera/operator:v1.36.0');
  deploy('coredns', 'kube-system', 2, { 'k8s-app': 'kube-dns' }, 'registry.k8s.io/coredns/coredns:v1.11.3');
  const pool = { cidr: data.podSubnet, blockSize: 26, encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()' };
  put('installations.operator.tigera.io', { apiVersion: 'operator.tigera.io/v1', kind: 'Installation', metadata: { name: 'default', finalizers: ['tigera.io/operator-cleanup'] }, spec: { calicoNetwork: { ipPools: [pool] }, variant: 'Calico' }, status: { variant: 'Calico', mtu: 1450, calicoVersion: CALICO, conditions: [] } });
  for (const name of ['calico', 'ippools']) {
    put('tigerastatuses.operator.tigera.io', { apiVersion: 'operator.tigera.io/v1', kind: 'TigeraStatus', metadata: { name }, spec: {}, status: { conditions: ['Available', 'Progressing', 'Degraded'].map((type) => ({ type, status: type === 'Available' ? 'True' : 'False', lastTransitionTime: created, reason: 'AllObjectsAvailable', message: '' })) } });
  }
  put('ippools.crd.projectcalico.org', { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'default-ipv4-ippool', labels: { 'app.kubernetes.io/managed-by': 'tigera-operator' } }, spec: { cidr: data.podSubnet, blockSize: 26, vxlanMode: 'CrossSubnet', ipipMode: 'Never', natOutgoing: true, nodeSelector: 'all()' } });
}

function appNamespaces(): string[] {
  return Array.from({ length: APP_NAMESPACES }, (_, i) => `app-${String(i).padStart(2, '0')}`);
}

/** A name suffix like kube's random ones, but stable. */
function suffix(i: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let n = i * 7919 + 104729;
  let out = '';
  for (let k = 0; k < 5; k++) {
    out += alphabet[n % alphabet.length];
    n = Math.floor(n / alphabet.length) + k * 31;
  }
  return out;
}

function finalObject(object: NewObject, created: string): KubeObject {
  return { ...object, metadata: { ...object.metadata, uid: randomUUID(), creationTimestamp: created, resourceVersion: '' } } as KubeObject;
}

function largeNode(name: string, i: number, version: string, created: string): NewObject {
  const ip = `10.${Math.floor(i / 250)}.${i % 250}.10`;
  const ready = { type: 'Ready', status: 'True', lastHeartbeatTime: created, lastTransitionTime: created, reason: 'KubeletReady', message: 'kubelet is posting ready status' };
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...(i < 3 ? { 'node-role.kubernetes.io/control-plane': '' } : {}) }, annotations: { 'projectcalico.org/IPv4Address': `${ip}/16` } },
    spec: { podCIDR: `100.${64 + Math.floor(i / 256)}.${i % 256}.0/24`, podCIDRs: [`100.${64 + Math.floor(i / 256)}.${i % 256}.0/24`] },
    status: {
      conditions: [
        { type: 'NetworkUnavailable', status: 'False', lastHeartbeatTime: created, lastTransitionTime: created, reason: 'CalicoIsUp', message: 'Calico is running on this node' },
        ready,
      ],
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
      nodeInfo: { kubeletVersion: version, osImage: 'Ubuntu 24.04.1 LTS', kernelVersion: '6.8.0-49-generic', containerRuntimeVersion: 'containerd://1.7.24', operatingSystem: 'linux', architecture: 'amd64' },
      capacity: { cpu: '16', memory: '65843212Ki', pods: '110' },
    },
  };
}

function runningPod(namespace: string, name: string, node: string, images: string[], hostNetwork: boolean, labels: Record<string, string>, created: string, n: number): NewObject {
  const ip = hostNetwork ? `10.${Math.floor(Number(node.slice(5)) / 250)}.${Number(node.slice(5)) % 250}.10` : `100.${64 + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
  const containers = images.map((image, i) => ({ name: `${name.split('-').slice(0, -1).join('-') || name}-${i}`, image }));
  const condition = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: created });
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { nodeName: node, hostNetwork, containers, restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default', terminationGracePeriodSeconds: 30 },
    status: {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(condition),
      hostIP: ip, podIP: ip, podIPs: [{ ip }], startTime: created, qosClass: 'BestEffort',
      containerStatuses: containers.map((c) => ({ name: c.name, state: { running: { startedAt: created } }, lastState: {}, ready: true, restartCount: 0, image: c.image, imageID: `${c.image}@sha256:${'0'.repeat(64)}`, started: true })),
    },
  };
}
