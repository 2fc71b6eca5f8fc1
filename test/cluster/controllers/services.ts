// Services as the control plane keeps them: kube-apiserver allocates each
// new Service its ClusterIP from --service-cluster-ip-range (kubeadm's
// serviceSubnet) and keeps the `kubernetes` Service's endpoints;
// kube-controller-manager's EndpointSlice and Endpoints controllers list the
// pods a Service selects, with their readiness.
//
// Dual-stack (kubernetes pkg/registry/core/service/storage/alloc.go
// initIPFamilyFields, allocClusterIPs; pkg/registry/core/service/ipallocator;
// pkg/controller/endpointslice reconciler): a range per family, the first
// one the cluster's default family; `ipFamilyPolicy` SingleStack (the
// default), PreferDualStack (both families where the cluster has them) or
// RequireDualStack (an error on a single-stack cluster); `ipFamilies` from
// the request, else from the clusterIPs asked for, else the default; one
// ClusterIP per family in `clusterIPs`, `clusterIP` the first. The
// EndpointSlice controller keeps the slices of each of the Service's
// families (addressType IPv4, IPv6), each with the pods' addresses of that
// family; the Endpoints controller only the primary family's. Simulated:
// only the validation these rules need (not every field check of
// ValidateServiceClusterIPsRelatedFields), and updates keep the families and
// addresses they had (no upgrade or downgrade of a Service's stack).
import type { Api } from '../api.ts';
import { invalid } from '../status.ts';
import { jsonEqual } from '../store.ts';
import type { KubeObject } from '../types.ts';
import { formatAddress, parseAddress, parseCidr } from './ipam.ts';
import type { Runtime } from './runtime.ts';

const SLICES = 'endpointslices.discovery.k8s.io';
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const CONTROLLER = 'endpointslice-controller.k8s.io';
const SERVICE_NAME = 'kubernetes.io/service-name';
const CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  selector?: Record<string, string>;
  ports?: ServicePort[];
}

type IPFamily = 'IPv4' | 'IPv6';

interface Range {
  cidr: string;
  family: IPFamily;
  first: bigint;
  count: number;
}

/**
 * The ranges of --service-cluster-ip-range, by family (the first given is
 * the cluster's default): usable addresses exclude the network address, and
 * an IPv4 range's broadcast address; an IPv6 range is capped at 65536
 * addresses (the allocator's bitmap).
 */
function ranges(api: Api): Map<IPFamily, Range> {
  const byFamily = new Map<IPFamily, Range>();
  for (const cidr of api.serviceCIDRs) {
    const net = parseCidr(cidr);
    const family: IPFamily = net.family === 4 ? 'IPv4' : 'IPv6';
    if (byFamily.has(family)) continue;
    let size = 1n << BigInt((net.family === 4 ? 32 : 128) - net.prefix);
    if (net.family === 6 && size > 65536n) size = 65536n;
    byFamily.set(family, { cidr, family, first: net.base + 1n, count: Math.max(0, Number(size) - (net.family === 4 ? 2 : 1)) });
  }
  return byFamily;
}

const familyOfIP = (ip: string): IPFamily => (ip.includes(':') ? 'IPv6' : 'IPv4');

/**
 * The service IP allocator's reserved low band (ipallocator calculateRangeOffset):
 * addresses below it are handed out only when asked for (kubeadm's .1 and
 * .10), or when the rest is full.
 */
function rangeOffset(size: number): number {
  if (size < 16) return 0;
  return Math.min(256, Math.max(16, Math.floor(size / 16)));
}

/**
 * kube-apiserver's ClusterIP allocation on create: `None` is headless; an
 * address asked for must be in range and free; otherwise a random free one
 * from above the reserved band. The allocator's bitmap is the set of
 * addresses the stored Services hold, so a deleted Service frees its own.
 */
export function allocateClusterIPs(api: Api, service: KubeObject): void {
  const spec = service.spec as ServiceSpec;
  if (spec.type === 'ExternalName') return;
  (spec as Record<string, unknown>).internalTrafficPolicy ??= 'Cluster';
  if (!spec.clusterIPs?.length && spec.clusterIP) spec.clusterIPs = [spec.clusterIP];
  const all = ranges(api);
  if (all.size === 0) {
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    return;
  }
  initIPFamilyFields(service, all);
  if (spec.clusterIPs?.[0] === 'None') {
    spec.clusterIP = 'None';
    spec.clusterIPs = ['None'];
    return;
  }
  const used = new Set(api.store.list('services').flatMap((s) => (s.spec as ServiceSpec).clusterIPs ?? [(s.spec as ServiceSpec).clusterIP]));
  const allocated = spec.ipFamilies!.map((family, i) => allocateIP(service, all.get(family as IPFamily)!, spec.clusterIPs?.[i], used));
  spec.clusterIP = allocated[0];
  spec.clusterIPs = allocated;
}

function serviceInvalid(service: KubeObject, field: string, message: string): Error {
  return invalid({ group: '', kind: 'Service' }, service.metadata.name, [{ reason: 'FieldValueInvalid', message, field }]);
}

/** alloc.go initIPFamilyFields on create: the policy, then the families from the request, the clusterIPs or the default. */
function initIPFamilyFields(service: KubeObject, all: Map<IPFamily, Range>): void {
  const spec = service.spec as ServiceSpec;
  const headlessSelectorless = spec.clusterIPs?.[0] === 'None' && Object.keys(spec.selector ?? {}).length === 0;
  spec.ipFamilyPolicy ??= headlessSelectorless ? 'RequireDualStack' : 'SingleStack';
  const policy = spec.ipFamilyPolicy;
  if (!['SingleStack', 'PreferDualStack', 'RequireDualStack'].includes(policy)) {
    throw serviceInvalid(service, 'spec.ipFamilyPolicy', `Unsupported value: "${policy}": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"`);
  }
  for (const [i, family] of (spec.ipFamilies ?? []).entries()) {
    if (family !== 'IPv4' && family !== 'IPv6') throw serviceInvalid(service, `spec.ipFamilies[${i}]`, `Unsupported value: "${family}": supported values: "IPv4", "IPv6"`);
  }
  if (policy === 'SingleStack' && (spec.clusterIPs?.length ?? 0) === 2) throw serviceInvalid(service, 'spec.ipFamilyPolicy', `Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified`);
  if (policy === 'SingleStack' && (spec.ipFamilies?.length ?? 0) === 2) throw serviceInvalid(service, 'spec.ipFamilyPolicy', `Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified`);
  const families = [...(spec.ipFamilies ?? [])] as IPFamily[];
  for (const [i, ip] of (spec.clusterIPs ?? []).entries()) {
    if (ip === 'None' || ip === '') break;
    const family = familyOfIP(ip);
    if (i < families.length) {
      if (families[i] !== family) throw serviceInvalid(service, `spec.clusterIPs[${i}]`, `Invalid value: "${ip}": expected an ${families[i]} value as indicated by \`ipFamilies[${i}]\``);
      continue;
    }
    if (!all.has(family)) throw serviceInvalid(service, `spec.clusterIPs[${i}]`, `Invalid value: []string{${(spec.clusterIPs ?? []).map((c) => `"${c}"`).join(', ')}}: ${family} is not configured on this cluster`);
    families.push(family);
  }
  const defaultFamily = [...all.keys()][0]!;
  const other = (family: IPFamily): IPFamily => (family === 'IPv4' ? 'IPv6' : 'IPv4');
  if (headlessSelectorless) {
    if (families.length === 0) families.push(defaultFamily);
    if (families.length < 2 && policy !== 'SingleStack') families.push(other(families[0]!));
    spec.ipFamilies = families;
    return;
  }
  if (policy === 'RequireDualStack' && all.size < 2) throw serviceInvalid(service, 'spec.ipFamilyPolicy', 'Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services');
  for (const [i, family] of families.entries()) {
    if (!all.has(family)) throw serviceInvalid(service, `spec.ipFamilies[${i}]`, `Invalid value: "${family}": not configured on this cluster`);
  }
  if (families.length === 0) families.push(defaultFamily);
  if (policy !== 'SingleStack' && families.length === 1 && all.size === 2) families.push(other(families[0]!));
  spec.ipFamilies = families;
}

/** One family's ClusterIP: the one asked for (in range and free), else a random free one above the reserved band. */
function allocateIP(service: KubeObject, range: Range, requested: string | undefined, used: Set<string | undefined>): string {
  const familyBits = range.family === 'IPv4' ? 4 : 6;
  if (requested) {
    const { value } = parseAddress(requested);
    const problem = value < range.first || value >= range.first + BigInt(range.count)
      ? `the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${range.cidr}`
      : used.has(requested) ? 'provided IP is already allocated' : undefined;
    if (problem) throw serviceInvalid(service, 'spec.clusterIPs', `Invalid value: []string{"${requested}"}: failed to allocate IP ${requested}: ${problem}`);
    used.add(requested);
    return requested;
  }
  const offset = rangeOffset(range.count);
  const pick = (from: number, to: number) => {
    if (to <= from) return undefined;
    const start = from + Math.floor(Math.random() * (to - from));
    for (let i = 0; i < to - from; i++) {
      const candidate = formatAddress(familyBits, range.first + BigInt(from + ((start - from + i) % (to - from))));
      if (!used.has(candidate)) return candidate;
    }
    return undefined;
  };
  const ip = pick(offset, range.count) ?? pick(0, offset);
  if (!ip) throw serviceInvalid(service, 'spec.clusterIPs', 'Invalid value: []string{}: failed to allocate a serviceIP: range is full');
  used.add(ip);
  return ip;
}

/** An update that leaves the ClusterIP out keeps the allocated one, as kube-apiserver's service REST does. */
export function keepClusterIPs(old: KubeObject, next: KubeObject): void {
  const before = old.spec as ServiceSpec;
  const after = (next.spec ??= {}) as ServiceSpec;
  if (after.type === 'ExternalName' || before.clusterIP === undefined) return;
  after.clusterIP ??= before.clusterIP;
  after.clusterIPs ??= before.clusterIPs;
  after.ipFamilies ??= before.ipFamilies;
  after.ipFamilyPolicy ??= before.ipFamilyPolicy;
}

export function startServiceControllers(rt: Runtime): void {
  rt.watch(['services'], (event) => {
    const { namespace = '', name } = event.object.metadata;
    if (event.type === 'DELETED') {
      rt.enqueue(`endpoints/${namespace}/${name}`, rt.timings.reconcile, () => deleteEndpoints(rt, namespace, name));
      return;
    }
    rt.enqueue(`endpoints/${namespace}/${name}`, rt.timings.reconcile, () => syncService(rt, namespace, name));
  });
  rt.watch(['pods'], (event) => {
    const namespace = event.object.metadata.namespace!;
    for (const service of rt.api.store.list('services', namespace)) {
      const selector = (service.spec as ServiceSpec).selector;
      if (!selector || !selects(selector, event.object)) continue;
      rt.enqueue(`endpoints/${namespace}/${service.metadata.name}`, rt.timings.reconcile, () => syncService(rt, namespace, service.metadata.name));
    }
  });
  // The `kubernetes` Service's endpoints are kube-apiserver's own: the control plane nodes on 6443.
  rt.watch(['nodes'], (event) => {
    if (event.object.metadata.labels?.[CONTROL_PLANE] === undefined) return;
    rt.enqueue('endpoints/default/kubernetes', rt.timings.reconcile, () => syncService(rt, 'default', 'kubernetes'));
  });
}

function selects(selector: Record<string, string>, pod: KubeObject): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

interface PodSpec {
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
  containers: { ports?: { name?: string; containerPort: number; protocol?: string }[] }[];
}

interface PodStatus {
  phase?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  conditions?: { type: string; status: string }[];
}

interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
}

interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: string; namespace: string; name: string; uid: string };
}

/** A pod's port for each Service port: a number as is, a name looked up among its containers' ports (skipped when absent). */
function podPorts(pod: KubeObject, ports: ServicePort[]): EndpointPort[] {
  const declared = (pod.spec as PodSpec).containers.flatMap((c) => c.ports ?? []);
  return ports.flatMap((p) => {
    const protocol = p.protocol ?? 'TCP';
    const target = p.targetPort ?? p.port;
    const port = typeof target === 'number' ? target : declared.find((d) => d.name === target && (d.protocol ?? 'TCP') === protocol)?.containerPort;
    return port === undefined ? [] : [{ name: p.name ?? '', port, protocol }];
  });
}

function syncService(rt: Runtime, namespace: string, name: string): void {
  const service = rt.api.store.get('services', namespace, name);
  if (!service || service.metadata.deletionTimestamp) return;
  const spec = service.spec as ServiceSpec;
  if (namespace === 'default' && name === 'kubernetes') return syncApiServerEndpoints(rt, service);
  if (!spec.selector || spec.type === 'ExternalName') return;
  // getAddressTypesForService: the Service's families; the Endpoints controller serves the primary one only.
  const families = (spec.ipFamilies?.length ? spec.ipFamilies : [spec.clusterIP?.includes(':') ? 'IPv6' : 'IPv4']) as ('IPv4' | 'IPv6')[];
  const groups = new Map<string, { addressType: string; ports: EndpointPort[]; endpoints: SliceEndpoint[] }>();
  const legacy = { ready: [] as object[], notReady: [] as object[], ports: [] as EndpointPort[] };
  for (const pod of rt.api.store.list('pods', namespace)) {
    const status = (pod.status ?? {}) as PodStatus;
    if (!selects(spec.selector, pod) || !status.podIP || status.phase === 'Succeeded' || status.phase === 'Failed') continue;
    const podIPs = status.podIPs?.map((p) => p.ip) ?? [status.podIP];
    const ipOf = (family: string) => podIPs.find((ip) => ip.includes(':') === (family === 'IPv6'));
    const podReady = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const ports = podPorts(pod, spec.ports ?? []);
    const targetRef = { kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid };
    const { nodeName, hostname: podHostname, subdomain } = pod.spec as PodSpec;
    // A pod names itself in the Service's DNS when its subdomain is the Service (`<hostname>.<service>.<ns>.svc`).
    const hostname = podHostname && subdomain === name ? { hostname: podHostname } : {};
    for (const addressType of families) {
      // A pod without an address of the family is in none of its slices.
      const ip = ipOf(addressType);
      if (!ip) continue;
      const key = JSON.stringify([addressType, ports]);
      const group = groups.get(key) ?? { addressType, ports, endpoints: [] };
      group.endpoints.push({ addresses: [ip], conditions: { ready: podReady && !terminating, serving: podReady, terminating }, ...hostname, ...(nodeName ? { nodeName } : {}), targetRef });
      groups.set(key, group);
    }
    const primaryIP = ipOf(families[0]!);
    // The Endpoints controller leaves terminating pods out.
    if (!terminating && primaryIP) {
      (podReady ? legacy.ready : legacy.notReady).push({ ip: primaryIP, ...hostname, ...(nodeName ? { nodeName } : {}), targetRef: { ...targetRef, resourceVersion: pod.metadata.resourceVersion } });
      legacy.ports = ports;
    }
  }
  // A family whose pods are none still gets one slice, without endpoints or ports (the reconciler's placeholder).
  const wanted = families.flatMap((addressType) => {
    const found = [...groups.values()].filter((g) => g.addressType === addressType);
    return found.length > 0 ? found : [{ addressType, ports: [], endpoints: [] }];
  });
  writeSlices(rt, service, wanted);
  writeEndpoints(rt, service, legacy.ready.length + legacy.notReady.length === 0 ? [] : [{
    ...(legacy.ready.length ? { addresses: legacy.ready } : {}),
    ...(legacy.notReady.length ? { notReadyAddresses: legacy.notReady } : {}),
    ...(legacy.ports.length ? { ports: legacy.ports.map(({ name: portName, port, protocol }) => ({ ...(portName ? { name: portName } : {}), port, protocol })) } : {}),
  }]);
}

function syncApiServerEndpoints(rt: Runtime, service: KubeObject): void {
  const masters = rt.api.store.list('nodes').filter((n) => n.metadata.labels?.[CONTROL_PLANE] !== undefined);
  // Each kube-apiserver's --advertise-address: its node's first InternalIP, of the Service's (the cluster's default) family.
  const v6 = ((service.spec as ServiceSpec).clusterIP ?? '').includes(':');
  const ips = masters.flatMap((n) => ((n.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.type === 'InternalIP' && a.address.includes(':') === v6).slice(0, 1).map((a) => a.address));
  const port: EndpointPort = { name: 'https', port: 6443, protocol: 'TCP' };
  writeSlices(rt, service, [{ addressType: v6 ? 'IPv6' : 'IPv4', ports: [port], endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })) }], 'kubernetes');
  writeEndpoints(rt, service, ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports: [port] }] : []);
}

/** Creates, updates and deletes the Service's slices to hold `wanted`, keeping a slice per port set. */
function writeSlices(rt: Runtime, service: KubeObject, wanted: { addressType: string; ports: EndpointPort[]; endpoints: SliceEndpoint[] }[], fixedName?: string): void {
  const { namespace, name } = service.metadata;
  const type = rt.type(SLICES);
  const manager = fixedName ? 'kube-apiserver' : 'endpointslice-controller';
  const existing = rt.api.store.list(SLICES, namespace).filter((s) => s.metadata.labels?.[SERVICE_NAME] === name && (fixedName ? s.metadata.name === fixedName : s.metadata.labels?.[MANAGED_BY] === CONTROLLER));
  const headless = (service.spec as ServiceSpec).clusterIP === 'None';
  const labels = {
    ...(fixedName ? {} : service.metadata.labels),
    ...(headless ? { 'service.kubernetes.io/headless': '' } : {}),
    [SERVICE_NAME]: name,
    ...(fixedName ? {} : { [MANAGED_BY]: CONTROLLER }),
  };
  const remaining = [...existing];
  for (const { addressType, ports, endpoints } of wanted) {
    const content = { addressType, endpoints: endpoints.length ? endpoints : null, ...(ports.length ? { ports } : {}) };
    // A slice's addressType is immutable: only one of the same family is reused.
    const match = remaining.findIndex((s) => s.addressType === addressType && jsonEqual(s.ports ?? [], ports));
    const sameFamily = remaining.findIndex((s) => s.addressType === addressType);
    const slice = match >= 0 ? remaining.splice(match, 1)[0] : sameFamily >= 0 ? remaining.splice(sameFamily, 1)[0] : undefined;
    if (!slice) {
      rt.api.create(type, namespace, {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        metadata: {
          ...(fixedName ? { name: fixedName } : { generateName: `${name}-` }), namespace, labels,
          ...(fixedName ? {} : { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: service.metadata.uid, controller: true, blockOwnerDeletion: true }] }),
        },
        ...content,
      }, { fieldManager: manager });
      continue;
    }
    const { ports: _p, ...rest } = slice;
    const next = { ...rest, ...content, metadata: { ...slice.metadata, labels } } as KubeObject;
    if (!jsonEqual(next, slice)) rt.api.mutate(type, namespace, slice.metadata.name, (s) => {
      delete s.ports;
      Object.assign(s, content);
      s.metadata.labels = labels;
    }, { fieldManager: manager });
  }
  for (const extra of remaining) rt.api.delete(type, namespace, extra.metadata.name);
}

function writeEndpoints(rt: Runtime, service: KubeObject, subsets: object[]): void {
  const { namespace, name } = service.metadata;
  const type = rt.type('endpoints');
  const labels = { ...service.metadata.labels, ...((service.spec as ServiceSpec).clusterIP === 'None' ? { 'service.kubernetes.io/headless': '' } : {}) };
  const existing = rt.api.store.get('endpoints', namespace, name);
  const manager = name === 'kubernetes' && namespace === 'default' ? 'kube-apiserver' : 'endpoint-controller';
  if (!existing) {
    rt.api.create(type, namespace, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, ...(Object.keys(labels).length ? { labels } : {}) }, ...(subsets.length ? { subsets } : {}) }, { fieldManager: manager });
    return;
  }
  if (jsonEqual(existing.subsets ?? [], subsets) && jsonEqual(existing.metadata.labels ?? {}, labels)) return;
  rt.api.mutate(type, namespace, name, (e) => {
    if (subsets.length) e.subsets = subsets;
    else delete e.subsets;
    if (Object.keys(labels).length) e.metadata.labels = labels;
  }, { fieldManager: manager });
}

function deleteEndpoints(rt: Runtime, namespace: string, name: string): void {
  if (rt.api.store.get('services', namespace, name)) return;
  if (rt.api.store.get('endpoints', namespace, name)) rt.api.delete(rt.type('endpoints'), namespace, name);
}
