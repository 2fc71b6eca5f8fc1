// A simulated Tigera operator. Once its own pod runs and an Installation
// `default` exists, it does what calico-facts.md says the real one does:
// defaults the Installation, checks the IP pools against kubeadm's
// podSubnet, creates calico-system and its workloads for the Calico version
// of its image, creates IPPools, reports TigeraStatus (Progressing,
// Available, Degraded with the operator's messages), fills the
// Installation status, marks nodes' networks ready as calico-node comes up,
// rolls everything on a new operator image, and tears down on deletion.
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { releaseImages } from '../../../src/calico/images.ts';
import { calicoVersionForOperator } from '../../../src/calico/versions.ts';
import { jsonCopy } from '../store.ts';
import type { KubeObject, NewObject } from '../types.ts';
import { postNodeStatus } from './kubelet.ts';
import type { Runtime } from './runtime.ts';

const FINALIZER = 'tigera.io/operator-cleanup';
const MANAGER = { fieldManager: 'operator' };
const OPERATOR_GROUP = 'operator.tigera.io';
const WATCHED = [
  `installations.${OPERATOR_GROUP}`, `apiservers.${OPERATOR_GROUP}`, `goldmanes.${OPERATOR_GROUP}`, `whiskers.${OPERATOR_GROUP}`,
  `imagesets.${OPERATOR_GROUP}`, 'pods', 'daemonsets.apps', 'deployments.apps', 'nodes', 'configmaps', 'secrets', 'customresourcedefinitions.apiextensions.k8s.io',
];

interface IPPoolSpec {
  name?: string;
  cidr: string;
  blockSize?: number;
  encapsulation?: string;
  natOutgoing?: string;
  nodeSelector?: string;
}

interface Installation extends KubeObject {
  spec?: { calicoNetwork?: { ipPools?: IPPoolSpec[]; mtu?: number; [k: string]: unknown }; registry?: string; imagePath?: string; imagePrefix?: string; imagePullSecrets?: { name: string }[]; [k: string]: unknown };
}

export function startOperator(rt: Runtime): void {
  rt.watch(WATCHED, (event) => {
    const ns = event.object.metadata.namespace;
    if ((event.key === 'pods' || event.key.endsWith('.apps')) && ns !== 'calico-system' && ns !== 'calico-apiserver' && ns !== 'tigera-operator') return;
    if (event.key === 'configmaps' && !(ns === 'kube-system' && event.object.metadata.name === 'kubeadm-config')) return;
    if (event.key === 'secrets' && ns !== 'tigera-operator') return;
    rt.enqueue('operator', rt.timings.reconcile, () => reconcile(rt));
  });
}

/** The version the operator pod is running, once that pod is Ready. */
function runningVersion(rt: Runtime): string | undefined {
  const pod = rt.api.store.list('pods', 'tigera-operator').find((p) => p.metadata.labels?.name === 'tigera-operator' && isReady(p));
  if (!pod) return undefined;
  const image = (pod.spec as { containers: { image: string }[] }).containers[0]?.image ?? '';
  return calicoVersionForOperator(image.split(':').pop() ?? '');
}

function reconcile(rt: Runtime): void {
  const version = runningVersion(rt);
  if (!version) return;
  const installType = rt.api.registry.byKey(`installations.${OPERATOR_GROUP}`);
  const installation = installType ? (rt.api.find(installType, undefined, 'default') as Installation | undefined) : undefined;
  if (!installType || !installation) return;
  if (installation.metadata.deletionTimestamp) return teardown(rt, installation);
  if (!installation.metadata.finalizers?.includes(FINALIZER)) {
    rt.api.mutate(installType, undefined, 'default', (i) => void (i.metadata.finalizers = [...(i.metadata.finalizers ?? []), FINALIZER]), MANAGER);
  }
  writeBackDefaults(rt, version);
  ensureNamespace(rt, 'calico-system');
  const statuses = ['calico', 'ippools'];
  const apiserver = crExists(rt, 'apiservers');
  if (apiserver) statuses.push('apiserver');
  const observability = minor(version) >= 30;
  if (observability && crExists(rt, 'goldmanes')) statuses.push('goldmane');
  if (observability && crExists(rt, 'whiskers')) statuses.push('whisker');
  const poolError = checkPools(rt, installation);
  if (poolError) {
    setStatus(rt, 'ippools', 'Degraded', 'InvalidConfigurationError', `error filling IP pool defaults: ${poolError}`);
    setStatus(rt, 'calico', 'Degraded', 'ResourceNotReady', 'waiting for enabled IP pools to be created');
    return;
  }
  ensurePools(rt, installation);
  setStatus(rt, 'ippools', 'Available');
  const goldmane = observability && crExists(rt, 'goldmanes');
  const whisker = observability && crExists(rt, 'whiskers');
  const rendered = [...CORE_IMAGES, ...(apiserver ? ['apiserver'] : []), ...(goldmane ? ['goldmane'] : []), ...(whisker ? ['whisker', 'whisker-backend'] : [])];
  const images = imageReferences(rt, version, installation, rendered);
  if ('error' in images) {
    setStatus(rt, 'calico', 'Degraded', images.reason, images.error);
    return;
  }
  const pullSecrets = copyPullSecrets(rt, installation);
  if (typeof pullSecrets === 'string') {
    setStatus(rt, 'calico', 'Degraded', 'ResourceReadError', pullSecrets);
    return;
  }
  const components = desiredComponents(rt, version, installation, images.image, pullSecrets, apiserver, goldmane, whisker);
  for (const component of components) ensure(rt, component);
  pruneComponents(rt, components);
  markNetworks(rt);
  reportStatus(rt, version, installation, components, statuses);
}

function minor(version: string): number {
  return Number(version.split('.')[1]);
}

function crExists(rt: Runtime, plural: string): boolean {
  const type = rt.api.registry.byKey(`${plural}.${OPERATOR_GROUP}`);
  return type !== undefined && rt.api.find(type, undefined, 'default') !== undefined;
}

/** "Write the discovered configuration back to the API": the operator's poor-man's defaulting of the Installation. */
function writeBackDefaults(rt: Runtime, version: string): void {
  const type = rt.type(`installations.${OPERATOR_GROUP}`);
  rt.api.mutate(type, undefined, 'default', (object) => {
    const spec = ((object as Installation).spec ??= {});
    spec.variant ??= 'Calico';
    spec.cni ??= { type: 'Calico', ipam: { type: 'Calico' } };
    spec.controlPlaneReplicas ??= 2;
    spec.nonPrivileged ??= 'Disabled';
    spec.flexVolumePath ??= '/usr/libexec/kubernetes/kubelet-plugins/volume/exec/';
    spec.kubeletVolumePluginPath ??= '/var/lib/kubelet';
    spec.nodeUpdateStrategy ??= { rollingUpdate: { maxUnavailable: 1 }, type: 'RollingUpdate' };
    spec.logging ??= { cni: { logFileMaxAgeDays: 30, logFileMaxCount: 10, logFileMaxSize: '100Mi', logSeverity: 'Info' } };
    const network = (spec.calicoNetwork ??= {});
    network.bgp ??= 'Enabled';
    network.hostPorts ??= 'Enabled';
    network.linuxDataplane ??= 'Iptables';
    network.multiInterfaceMode ??= 'None';
    network.nodeAddressAutodetectionV4 ??= { firstFound: true };
    network.windowsDataplane ??= 'Disabled';
    network.ipPools ??= [{ cidr: podSubnets(rt)[0] ?? '192.168.0.0/16' }];
    // fillDefaults: an IPv6 pool turns on IPv6 address autodetection (IP6=autodetect on calico-node).
    if (network.ipPools.some((p) => p.cidr.includes(':'))) network.nodeAddressAutodetectionV6 ??= { firstFound: true };
    // One pool, or an IPv4 and an IPv6 one, get the default names (ippool/defaults.go).
    const defaultNames = network.ipPools.length === 1 || (network.ipPools.length === 2 && network.ipPools.filter((p) => p.cidr.includes(':')).length === 1);
    network.ipPools = network.ipPools.map((pool, i) => ({
      name: pool.name ?? (defaultNames ? (pool.cidr.includes(':') ? 'default-ipv6-ippool' : 'default-ipv4-ippool') : i === 0 ? 'default-ipv4-ippool' : pool.cidr.replace('/', '-')),
      blockSize: pool.blockSize ?? (pool.cidr.includes(':') ? 122 : 26),
      encapsulation: pool.encapsulation ?? (pool.cidr.includes(':') ? 'None' : 'IPIP'),
      natOutgoing: pool.natOutgoing ?? (pool.cidr.includes(':') ? 'Disabled' : 'Enabled'),
      nodeSelector: pool.nodeSelector ?? 'all()',
      ...pool,
      allowedUses: (pool as { allowedUses?: string[] }).allowedUses ?? ['Workload', 'Tunnel'],
      disableBGPExport: (pool as { disableBGPExport?: boolean }).disableBGPExport ?? false,
      ...(minor(version) >= 30 ? { assignmentMode: (pool as { assignmentMode?: string }).assignmentMode ?? 'Automatic' } : {}),
    }));
  }, MANAGER);
}

function podSubnets(rt: Runtime): string[] {
  const config = rt.api.store.get('configmaps', 'kube-system', 'kubeadm-config');
  const text = (config as { data?: Record<string, string> } | undefined)?.data?.ClusterConfiguration;
  if (!text) return [];
  const parsed = parseYaml(text) as { networking?: { podSubnet?: string } } | null;
  return (parsed?.networking?.podSubnet ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** The operator's kubeadm cross-check, done only while no IP pool exists yet. */
function checkPools(rt: Runtime, installation: Installation): string | undefined {
  if (rt.api.store.count('ippools.crd.projectcalico.org') > 0) return undefined;
  const config = rt.api.store.get('configmaps', 'kube-system', 'kubeadm-config');
  if (!config) return undefined;
  const subnets = podSubnets(rt);
  const prefix = 'Could not resolve CalicoNetwork IPPool and kubeadm configuration: ';
  if (subnets.length === 0) return `${prefix}kubeadm configuration is missing required podSubnet field`;
  for (const pool of installation.spec?.calicoNetwork?.ipPools ?? []) {
    if (!subnets.some((subnet) => contains(subnet, pool.cidr))) {
      return `${prefix}IPPool ${pool.cidr} is not within the platform's configured pod network CIDR(s) [${subnets.join(' ')}]`;
    }
  }
  return undefined;
}

function contains(outer: string, inner: string): boolean {
  const [a = '', aBits = '0'] = outer.split('/');
  const [b = '', bBits = '0'] = inner.split('/');
  if (a.includes(':') !== b.includes(':') || Number(bBits) < Number(aBits)) return false;
  if (a.includes(':')) return a.split(':').slice(0, Math.floor(Number(aBits) / 16)).join(':') === b.split(':').slice(0, Math.floor(Number(aBits) / 16)).join(':');
  const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const mask = Number(aBits) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(aBits));
  return ((toInt(a) & mask) >>> 0) === ((toInt(b) & mask) >>> 0);
}

function ensurePools(rt: Runtime, installation: Installation): void {
  const type = rt.api.registry.byKey('ippools.crd.projectcalico.org');
  if (!type) return;
  const wanted = installation.spec?.calicoNetwork?.ipPools ?? [];
  for (const pool of wanted) {
    const name = pool.name ?? 'default-ipv4-ippool';
    const encapsulation = pool.encapsulation ?? 'IPIP';
    const spec = {
      cidr: pool.cidr,
      blockSize: pool.blockSize ?? 26,
      ipipMode: encapsulation === 'IPIP' ? 'Always' : encapsulation === 'IPIPCrossSubnet' ? 'CrossSubnet' : 'Never',
      vxlanMode: encapsulation === 'VXLAN' ? 'Always' : encapsulation === 'VXLANCrossSubnet' ? 'CrossSubnet' : 'Never',
      natOutgoing: (pool.natOutgoing ?? 'Enabled') === 'Enabled',
      nodeSelector: pool.nodeSelector ?? 'all()',
      allowedUses: ['Workload', 'Tunnel'],
    };
    const existing = rt.api.find(type, undefined, name);
    if (!existing) {
      rt.api.create(type, undefined, { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'tigera-operator' } }, spec }, MANAGER);
    }
  }
  for (const pool of rt.api.store.list(type.key)) {
    if (pool.metadata.labels?.['app.kubernetes.io/managed-by'] === 'tigera-operator' && !wanted.some((w) => (w.name ?? 'default-ipv4-ippool') === pool.metadata.name)) {
      rt.api.delete(type, undefined, pool.metadata.name);
    }
  }
}

function ensureNamespace(rt: Runtime, name: string): void {
  if (rt.api.store.get('namespaces', undefined, name)) return;
  rt.api.create(rt.type('namespaces'), undefined, {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name, labels: { name, 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/enforce-version': 'latest' } },
  }, MANAGER);
}

interface Component {
  key: 'daemonsets.apps' | 'deployments.apps';
  object: NewObject;
}

const ALL_TAINTS = [{ effect: 'NoSchedule', operator: 'Exists' }, { effect: 'NoExecute', operator: 'Exists' }, { key: 'CriticalAddonsOnly', operator: 'Exists' }];
const CONTROL_PLANE_TAINTS = [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { effect: 'NoSchedule', key: 'node-role.kubernetes.io/master' }, { effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' }];

/** What the operator renders for a Calico version (calico-facts §5). */
function desiredComponents(rt: Runtime, version: string, installation: Installation, image: (name: string) => string, pullSecrets: { name: string }[], apiserver: boolean, goldmane: boolean, whisker: boolean): Component[] {
  const nodes = rt.api.store.list('nodes').filter((n) => !(n.spec as { unschedulable?: boolean } | undefined)?.unschedulable).length;
  const typhaReplicas = nodes <= 2 ? 1 : nodes <= 4 ? 2 : Math.max(3, Math.floor(nodes / 200) + 2);
  const ns = 'calico-system';
  const components: Component[] = [
    daemonSet(ns, 'calico-node', { hostNetwork: true, tolerations: ALL_TAINTS, initContainers: [{ name: 'flexvol-driver', image: image('pod2daemon-flexvol') }, { name: 'install-cni', image: image('cni') }], containers: [calicoNodeContainer(image('node'), installation)] }),
    daemonSet(ns, 'csi-node-driver', { tolerations: ALL_TAINTS, containers: [{ name: 'calico-csi', image: image('csi') }, { name: 'csi-node-driver-registrar', image: image('node-driver-registrar') }] }),
    deployment(ns, 'calico-typha', typhaReplicas, { hostNetwork: true, tolerations: ALL_TAINTS, containers: [{ name: 'calico-typha', image: image('typha') }] }),
    deployment(ns, 'calico-kube-controllers', 1, { tolerations: CONTROL_PLANE_TAINTS, containers: [{ name: 'calico-kube-controllers', image: image('kube-controllers') }] }),
  ];
  if (apiserver) {
    const apiNamespace = minor(version) >= 31 ? 'calico-system' : 'calico-apiserver';
    ensureNamespace(rt, apiNamespace);
    components.push(deployment(apiNamespace, 'calico-apiserver', Number(installation.spec?.controlPlaneReplicas ?? 2), { tolerations: CONTROL_PLANE_TAINTS, containers: [{ name: 'calico-apiserver', image: image('apiserver') }] }));
  }
  if (goldmane) components.push(deployment(ns, 'goldmane', 1, { tolerations: CONTROL_PLANE_TAINTS, containers: [{ name: 'goldmane', image: image('goldmane') }] }));
  if (whisker) components.push(deployment(ns, 'whisker', 1, { tolerations: CONTROL_PLANE_TAINTS, containers: [{ name: 'whisker', image: image('whisker') }, { name: 'whisker-backend', image: image('whisker-backend') }] }));
  if (pullSecrets.length) for (const c of components) ((c.object.spec as { template: { spec: Record<string, unknown> } }).template.spec.imagePullSecrets = pullSecrets);
  return components;
}

/**
 * What of calico-node's container the model uses, as pkg/render/node.go renders it: BIRD only with BGP
 * Enabled (CALICO_NETWORKING_BACKEND bird, else vxlan), and the readiness probe that checks it; the
 * probe's period and thresholds as pkg/controller/utils/component.go setProbeTimeouts fills them in.
 */
function calicoNodeContainer(image: string, installation: Installation): Record<string, unknown> {
  const network = installation.spec?.calicoNetwork;
  const bgp = network?.bgp !== 'Disabled';
  const v4 = network?.nodeAddressAutodetectionV4 !== undefined;
  const v6 = network?.nodeAddressAutodetectionV6 !== undefined;
  return {
    name: 'calico-node',
    image,
    env: [
      { name: 'CALICO_NETWORKING_BACKEND', value: bgp ? 'bird' : 'vxlan' },
      // IP and IP6: autodetect where the Installation asks for it (first-found), else none.
      { name: 'IP', value: v4 ? 'autodetect' : 'none' },
      { name: 'IP6', value: v6 ? 'autodetect' : 'none' },
      { name: 'FELIX_IPV6SUPPORT', value: String(v6) },
    ],
    readinessProbe: {
      // nodeReadinessProbe: -bird-ready for IPv4, -bird6-ready for IPv6 autodetection, when BGP is on.
      exec: { command: ['/bin/calico-node', ...(bgp && v4 ? ['-bird-ready'] : []), ...(bgp && v6 ? ['-bird6-ready'] : []), '-felix-ready'] },
      timeoutSeconds: 10, periodSeconds: 30, successThreshold: 1, failureThreshold: 3,
    },
  };
}

/**
 * Each component's image as GetReference composes it (pkg/components/references.go): the Installation's
 * registry (fillDefaults adds the trailing "/") or the release's default, imagePrefix inserted before the
 * name, then imagePath in place of the first path segment, then ":" + tag — or "@" + the digest of the
 * ImageSet calico-<version>, which is required once any ImageSet named calico* exists. The checks come in
 * the core controller's order, with its messages: the CA's key-cert-provisioner is resolved first
 * (certificatemanager.Create), then ValidateImageSet (no unknown image, sha256 digests), then each
 * rendered component's images (ResolveImages).
 */
function imageReferences(rt: Runtime, version: string, installation: Installation, rendered: string[]): { image: (name: string) => string } | { error: string; reason: string } {
  const operatorTag = (rt.api.store.list('pods', 'tigera-operator').find((p) => p.metadata.labels?.name === 'tigera-operator')?.spec as { containers: { image: string }[] }).containers[0]!.image.split(':').pop()!;
  const spec = installation.spec ?? {};
  const registry = spec.registry && spec.registry !== 'UseDefault' ? spec.registry.replace(/\/?$/, '/') : quayRegistry(operatorTag) ? 'quay.io/' : 'docker.io/';
  const path = (name: string) => {
    let image = `calico/${name}`;
    if (spec.imagePrefix && spec.imagePrefix !== 'UseDefault') image = image.replace(/[^/]+$/, (last) => `${spec.imagePrefix}${last}`);
    if (spec.imagePath && spec.imagePath !== 'UseDefault') image = `${spec.imagePath}/${image.slice(image.indexOf('/') + 1)}`;
    return image;
  };
  const sets = rt.api.store.list(`imagesets.${OPERATOR_GROUP}`).filter((s) => s.metadata.name.startsWith('calico'));
  if (!sets.length) return { image: (name) => `${registry}${path(name)}:${version}` };
  const set = sets.find((s) => s.metadata.name === `calico-${version}`);
  if (!set) return { reason: 'ResourceCreateError', error: `Unable to create the Tigera CA: ImageSets exist but none with the expected name calico-${version}` };
  const images = (set.spec as { images?: { image: string; digest: string }[] } | undefined)?.images ?? [];
  const digests = new Map(images.map((i) => [i.image, i.digest]));
  const missing = (name: string) => `ImageSet did not contain image calico/${name}`;
  if (!digests.has('calico/key-cert-provisioner')) return { reason: 'ResourceCreateError', error: `Unable to create the Tigera CA: ${missing('key-cert-provisioner')}` };
  // The operator knows its release's images and their FIPS variants; the model knows what `images` lists.
  const known = new Set(releaseImages(version).filter((i) => i.when !== 'always').flatMap((i) => [i.image, `${i.image}-fips`]));
  const unexpected = images.filter((i) => !known.has(i.image)).map((i) => i.image);
  const badDigests = images.filter((i) => !i.digest.startsWith('sha256:')).map((i) => `${i.image}@${i.digest}`);
  if (unexpected.length || badDigests.length) {
    const problems = [...(unexpected.length ? [`unexpected images: ${unexpected.join(', ')}`] : []), ...(badDigests.length ? [`bad digest images: ${badDigests.join(', ')}`] : [])];
    return { reason: 'ResourceValidationError', error: `Error validating ImageSet: ImageSet ${set.metadata.name}: ${problems.join('; ')}` };
  }
  const unresolved = rendered.filter((name) => !digests.has(`calico/${name}`));
  if (unresolved.length) return { reason: 'ResourceValidationError', error: `Error resolving ImageSet for components: invalid ImageSet: ${unresolved.map(missing).join(', ')}` };
  return { image: (name) => `${registry}${path(name)}@${digests.get(`calico/${name}`)}` };
}

/** The images the model's core components render; the API server's and observability's are added when their resources exist. */
const CORE_IMAGES = ['node', 'cni', 'pod2daemon-flexvol', 'typha', 'kube-controllers', 'csi', 'node-driver-registrar'];

/**
 * The Installation's pull secrets, read from the operator's namespace and copied to calico-system (and
 * calico-apiserver) as utils.GetNetworkingPullSecrets and the render's CopySecrets do; one missing there is
 * the operator's degraded read error.
 */
function copyPullSecrets(rt: Runtime, installation: Installation): { name: string }[] | string {
  const names = (installation.spec?.imagePullSecrets ?? []).map((s) => s.name);
  const secrets = [];
  for (const name of names) {
    const secret = rt.api.store.get('secrets', 'tigera-operator', name);
    if (!secret) return `Error retrieving pull secrets: failed to retrieve pull secret ${name}: secrets "${name}" not found`;
    secrets.push(secret);
  }
  for (const ns of ['calico-system', 'calico-apiserver']) {
    if (!rt.api.store.get('namespaces', undefined, ns)) continue;
    for (const secret of secrets) {
      if (rt.api.store.get('secrets', ns, secret.metadata.name)) continue;
      rt.api.create(rt.type('secrets'), ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: secret.metadata.name, namespace: ns }, type: (secret as { type?: string }).type, data: jsonCopy((secret as { data?: object }).data ?? {}) } as NewObject, MANAGER);
    }
  }
  return names.map((name) => ({ name }));
}

function quayRegistry(operatorTag: string): boolean {
  const [major = 0, minorVersion = 0, patch = 0] = operatorTag.replace(/^v/, '').split('.').map(Number);
  return major > 1 || minorVersion > 38 || (minorVersion === 38 && patch >= 7);
}

function podTemplate(app: string, spec: Record<string, unknown>) {
  return { metadata: { labels: { 'k8s-app': app, 'app.kubernetes.io/name': app } }, spec: { serviceAccountName: app, priorityClassName: 'system-node-critical', ...spec } };
}

function daemonSet(namespace: string, name: string, spec: Record<string, unknown>): Component {
  return {
    key: 'daemonsets.apps',
    object: { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace, labels: { 'k8s-app': name } }, spec: { selector: { matchLabels: { 'k8s-app': name } }, template: podTemplate(name, { nodeSelector: { 'kubernetes.io/os': 'linux' }, ...spec }) } },
  };
}

function deployment(namespace: string, name: string, replicas: number, spec: Record<string, unknown>): Component {
  return {
    key: 'deployments.apps',
    object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels: { 'k8s-app': name } }, spec: { replicas, selector: { matchLabels: { 'k8s-app': name } }, template: podTemplate(name, { nodeSelector: { 'kubernetes.io/os': 'linux' }, ...spec }) } },
  };
}

const HASH_ANNOTATION = 'hash.operator.tigera.io/spec';

/** Creates or updates a component; a hash of what was rendered tells whether it changed. */
function ensure(rt: Runtime, component: Component): void {
  const type = rt.type(component.key);
  const { namespace, name } = component.object.metadata as { namespace: string; name: string };
  const hash = createHash('sha256').update(JSON.stringify(component.object.spec)).digest('hex').slice(0, 40);
  const existing = rt.api.find(type, namespace, name);
  const annotated = { ...component.object, metadata: { ...component.object.metadata, annotations: { [HASH_ANNOTATION]: hash } } };
  if (!existing) {
    rt.api.create(type, namespace, annotated, MANAGER);
  } else if (existing.metadata.annotations?.[HASH_ANNOTATION] !== hash) {
    rt.api.mutate(type, namespace, name, (o) => {
      o.metadata.annotations = { ...o.metadata.annotations, [HASH_ANNOTATION]: hash };
      o.spec = { ...(o.spec as object), ...jsonCopy(component.object.spec as object) };
    }, MANAGER);
  }
}

/** Components the operator rendered before but no longer does (APIServer deleted, apiserver namespace moved). */
function pruneComponents(rt: Runtime, components: Component[]): void {
  for (const key of ['deployments.apps', 'daemonsets.apps'] as const) {
    for (const ns of ['calico-system', 'calico-apiserver']) {
      for (const object of rt.api.store.list(key, ns)) {
        const wanted = components.some((c) => c.key === key && c.object.metadata.name === object.metadata.name && c.object.metadata.namespace === ns);
        if (!wanted && object.metadata.annotations?.[HASH_ANNOTATION] && !object.metadata.deletionTimestamp) rt.api.delete(rt.type(key), ns, object.metadata.name);
      }
    }
  }
}

/**
 * calico-node's install-cni writes the CNI config, and the CNI plugin works once calico-node has started:
 * a node whose calico-node runs has pod networking, whether or not calico-node is Ready (BIRD's readiness
 * does not gate it). Its startup writes the node's BGP address (dataplane/calico-node.ts).
 */
function markNetworks(rt: Runtime): void {
  const pods = rt.api.store.list('pods', 'calico-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'calico-node' && !p.metadata.deletionTimestamp
    && (p.status as { containerStatuses?: { name: string; state: { running?: object } }[] } | undefined)?.containerStatuses?.some((c) => c.name === 'calico-node' && c.state.running));
  for (const pod of pods) {
    const node = (pod.spec as { nodeName?: string }).nodeName;
    if (!node || rt.networkReady(node)) continue;
    rt.setNetworkReady(node, true);
    rt.api.mutate(rt.type('nodes'), undefined, node, (n) => {
      const status = (n.status ??= {}) as { conditions?: object[] };
      status.conditions = [
        { type: 'NetworkUnavailable', status: 'False', lastHeartbeatTime: rt.now(), lastTransitionTime: rt.now(), reason: 'CalicoIsUp', message: 'Calico is running on this node' },
        ...(status.conditions ?? []).filter((c) => (c as { type: string }).type !== 'NetworkUnavailable'),
      ];
    }, { fieldManager: 'calico-node', subresource: 'status' });
    postNodeStatus(rt, node);
  }
}

/** TigeraStatus and the Installation status from what the components are doing. */
function reportStatus(rt: Runtime, version: string, installation: Installation, components: Component[], statuses: string[]): void {
  // One pass over each namespace's pods for every component (nothing is written while they are judged).
  const byApp = new Map<string, Map<string, KubeObject[]>>();
  const podsOf = (namespace: string, app: string): KubeObject[] => {
    let apps = byApp.get(namespace);
    if (!apps) {
      byApp.set(namespace, (apps = new Map()));
      for (const pod of rt.api.store.list('pods', namespace)) {
        const label = pod.metadata.labels?.['k8s-app'];
        if (label === undefined) continue;
        const list = apps.get(label);
        if (list) list.push(pod);
        else apps.set(label, [pod]);
      }
    }
    return apps.get(app) ?? [];
  };
  const problems = components.map((c) => componentProblem(rt, c, podsOf)).filter((p) => p !== undefined);
  const calico = problems.filter((p) => !p.apiserver && !p.component.startsWith('goldmane') && !p.component.startsWith('whisker'));
  const failed = calico.find((p) => p.degraded);
  if (failed) setStatus(rt, 'calico', 'Degraded', 'PodFailure', failed.message);
  else if (calico.length) setStatus(rt, 'calico', 'Progressing', 'ResourceNotReady', calico[0]!.message);
  else setStatus(rt, 'calico', 'Available');
  for (const [status, match] of [['apiserver', (p: Problem) => p.apiserver], ['goldmane', (p: Problem) => p.component === 'goldmane'], ['whisker', (p: Problem) => p.component === 'whisker']] as const) {
    if (!statuses.includes(status)) continue;
    const problem = problems.find(match);
    if (!problem) setStatus(rt, status, 'Available');
    else setStatus(rt, status, problem.degraded ? 'Degraded' : 'Progressing', problem.degraded ? 'PodFailure' : 'ResourceNotReady', problem.message);
  }
  if (!failed && calico.length === 0) fillInstallationStatus(rt, version, installation);
  else mirrorInstallationConditions(rt);
}

interface Problem {
  component: string;
  apiserver: boolean;
  degraded: boolean;
  message: string;
}

function componentProblem(rt: Runtime, component: Component, podsOf: (namespace: string, app: string) => KubeObject[]): Problem | undefined {
  const { namespace, name } = component.object.metadata as { namespace: string; name: string };
  const base = { component: name, apiserver: name === 'calico-apiserver' };
  const pods = podsOf(namespace, name);
  for (const pod of pods) {
    const failing = failingContainer(pod);
    if (failing) return { ...base, degraded: true, message: failing };
  }
  const object = rt.api.store.get(component.key, namespace, name);
  const status = (object?.status ?? {}) as Record<string, number>;
  // Rendered for another release or registry (an upgrade, a mirror set later): the rollout is not done.
  const rendered = (component.object.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers.map((c) => c.image);
  const outdated = pods.some((p) => (p.spec as { containers: { image: string }[] }).containers.some((c, i) => c.image !== rendered[i]));
  if (component.key === 'daemonsets.apps') {
    const desired = status.desiredNumberScheduled ?? 0;
    const available = status.numberAvailable ?? 0;
    if (desired === 0) return { ...base, degraded: false, message: `DaemonSet "${namespace}/${name}" is not yet scheduled on any nodes` };
    if (available < desired || outdated) return { ...base, degraded: false, message: `DaemonSet "${namespace}/${name}" is not available (awaiting ${desired - available} nodes)` };
    return undefined;
  }
  const replicas = Number((component.object.spec as { replicas?: number }).replicas ?? 1);
  const available = status.availableReplicas ?? 0;
  if (available < replicas || outdated) return { ...base, degraded: false, message: `Deployment "${namespace}/${name}" is not available (awaiting ${Math.max(1, replicas - available)} replicas)` };
  return undefined;
}

/** The operator's pod failure messages (pkg/controller/status/status.go). */
function failingContainer(pod: KubeObject): string | undefined {
  const status = pod.status as { initContainerStatuses?: { name: string; state: { waiting?: { reason?: string } } }[]; containerStatuses?: { name: string; state: { waiting?: { reason?: string } } }[] } | undefined;
  const id = `${pod.metadata.namespace}/${pod.metadata.name}`;
  for (const c of [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])]) {
    const reason = c.state.waiting?.reason;
    if (reason === 'ErrImagePull' || reason === 'ImagePullBackOff') return `Pod ${id} failed to pull container image for: ${c.name}`;
    if (reason === 'CrashLoopBackOff') return `Pod ${id} has crash looping container: ${c.name}`;
  }
  return undefined;
}

function setStatus(rt: Runtime, name: string, state: 'Available' | 'Progressing' | 'Degraded', reason = 'AllObjectsAvailable', message = ''): void {
  const type = rt.api.registry.byKey(`tigerastatuses.${OPERATOR_GROUP}`);
  if (!type) return;
  if (!rt.api.find(type, undefined, name)) {
    rt.api.create(type, undefined, { apiVersion: `${OPERATOR_GROUP}/v1`, kind: 'TigeraStatus', metadata: { name }, spec: {} }, MANAGER);
  }
  const current = rt.api.get(type, undefined, name);
  const old = ((current.status as { conditions?: { type: string; status: string; lastTransitionTime: string; reason: string; message: string }[] } | undefined)?.conditions) ?? [];
  const now = rt.now();
  const build = (conditionType: string, on: boolean) => {
    const previous = old.find((c) => c.type === conditionType);
    const status = on ? 'True' : 'False';
    const text = on && conditionType !== 'Available' ? message : '';
    const why = on ? reason : conditionType === 'Available' ? reason : 'AllObjectsAvailable';
    return { type: conditionType, status, lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : now, reason: why, message: text, observedGeneration: current.metadata.generation ?? 1 };
  };
  const conditions = [build('Available', state === 'Available' || (state === 'Degraded' && old.some((c) => c.type === 'Available' && c.status === 'True'))), build('Progressing', state === 'Progressing'), build('Degraded', state === 'Degraded')];
  rt.api.mutate(type, undefined, name, (o) => void (o.status = { conditions }), { ...MANAGER, subresource: 'status' });
}

function fillInstallationStatus(rt: Runtime, version: string, installation: Installation): void {
  const type = rt.type(`installations.${OPERATOR_GROUP}`);
  const pools = installation.spec?.calicoNetwork?.ipPools ?? [];
  const encapsulation = pools[0]?.encapsulation ?? 'IPIP';
  const mtu = installation.spec?.calicoNetwork?.mtu ?? (encapsulation.startsWith('VXLAN') ? 1450 : encapsulation.startsWith('IPIP') ? 1480 : 1500);
  rt.api.mutate(type, undefined, 'default', (object) => {
    object.status = { variant: 'Calico', mtu, imageSet: '', calicoVersion: version, computed: jsonCopy(object.spec), conditions: installationConditions(rt) };
  }, { ...MANAGER, subresource: 'status' });
}

function mirrorInstallationConditions(rt: Runtime): void {
  const type = rt.type(`installations.${OPERATOR_GROUP}`);
  rt.api.mutate(type, undefined, 'default', (object) => {
    object.status = { ...(object.status as object), conditions: installationConditions(rt) };
  }, { ...MANAGER, subresource: 'status' });
}

/** The Installation's conditions mirror TigeraStatus `calico`, Available renamed Ready. */
function installationConditions(rt: Runtime): object[] {
  const status = rt.api.store.get(`tigerastatuses.${OPERATOR_GROUP}`, undefined, 'calico');
  const conditions = ((status?.status as { conditions?: { type: string }[] } | undefined)?.conditions) ?? [];
  return conditions.map((c) => ({ ...c, type: c.type === 'Available' ? 'Ready' : c.type }));
}

/** Installation deleted: remove what the operator made, then let the Installation go. */
function teardown(rt: Runtime, installation: KubeObject): void {
  for (const ns of ['calico-system', 'calico-apiserver']) {
    const namespace = rt.api.store.get('namespaces', undefined, ns);
    if (namespace && !namespace.metadata.deletionTimestamp) rt.api.delete(rt.type('namespaces'), undefined, ns);
  }
  const statusType = rt.api.registry.byKey(`tigerastatuses.${OPERATOR_GROUP}`);
  if (statusType) for (const status of rt.api.store.list(statusType.key)) rt.api.delete(statusType, undefined, status.metadata.name);
  if (['calico-system', 'calico-apiserver'].some((ns) => rt.api.store.get('namespaces', undefined, ns))) {
    rt.enqueue('operator', rt.timings.reconcile * 3, () => reconcile(rt));
    return;
  }
  rt.api.mutate(rt.type(`installations.${OPERATOR_GROUP}`), undefined, installation.metadata.name, (i) => {
    i.metadata.finalizers = (i.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
  }, MANAGER);
}

function isReady(pod: KubeObject): boolean {
  return ((pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') && !pod.metadata.deletionTimestamp;
}
