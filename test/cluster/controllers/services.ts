// Services as the control plane keeps them: kube-apiserver allocates each
// new Service its ClusterIP from --service-cluster-ip-range (kubeadm's
// serviceSubnet) and keeps the `kubernetes` Service's endpoints;
// kube-controller-manager's EndpointSlice and Endpoints controllers list the
// pods a Service selects, with their readiness.
import type { Api } from '../api.ts';
import { invalid } from '../status.ts';
import { jsonEqual } from '../store.ts';
import type { KubeObject } from '../types.ts';
import { formatV4, parseV4 } from './ipam.ts';
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

/** The IPv4 ranges of --service-cluster-ip-range: usable addresses exclude the network and broadcast addresses. */
function ranges(api: Api): { cidr: string; first: number; count: number }[] {
  return api.serviceCIDRs.filter((cidr) => cidr.includes('.')).map((cidr) => {
    const [base, prefix] = parseV4(cidr);
    return { cidr, first: base + 1, count: Math.max(0, 2 ** (32 - prefix) - 2) };
  });
}

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
  const requested = spec.clusterIPs?.[0] ?? spec.clusterIP;
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  (spec as Record<string, unknown>).internalTrafficPolicy ??= 'Cluster';
  if (requested === 'None') {
    spec.clusterIP = 'None';
    spec.clusterIPs = ['None'];
    return;
  }
  const range = ranges(api)[0];
  if (!range) return;
  const used = new Set(api.store.list('services').map((s) => (s.spec as ServiceSpec).clusterIP));
  let ip: string | undefined;
  if (requested) {
    const [value] = parseV4(requested);
    const problem = value < range.first || value >= range.first + range.count
      ? `the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${range.cidr}`
      : used.has(requested) ? 'provided IP is already allocated' : undefined;
    if (problem) throw invalid({ group: '', kind: 'Service' }, service.metadata.name, [{ reason: 'FieldValueInvalid', message: `Invalid value: []string{"${requested}"}: failed to allocate IP ${requested}: ${problem}`, field: 'spec.clusterIPs' }]);
    ip = requested;
  } else {
    const offset = rangeOffset(range.count);
    const pick = (from: number, to: number) => {
      if (to <= from) return undefined;
      const start = from + Math.floor(Math.random() * (to - from));
      for (let i = 0; i < to - from; i++) {
        const candidate = formatV4(range.first + from + ((start - from + i) % (to - from)));
        if (!used.has(candidate)) return candidate;
      }
      return undefined;
    };
    ip = pick(offset, range.count) ?? pick(0, offset);
    if (!ip) throw invalid({ group: '', kind: 'Service' }, service.metadata.name, [{ reason: 'FieldValueInvalid', message: `Invalid value: []string{}: failed to allocate a serviceIP: range is full`, field: 'spec.clusterIPs' }]);
  }
  spec.clusterIP = ip;
  spec.clusterIPs = [ip];
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
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: SliceEndpoint[] }>();
  const legacy = { ready: [] as object[], notReady: [] as object[], ports: [] as EndpointPort[] };
  for (const pod of rt.api.store.list('pods', namespace)) {
    const status = (pod.status ?? {}) as PodStatus;
    if (!selects(spec.selector, pod) || !status.podIP || status.phase === 'Succeeded' || status.phase === 'Failed') continue;
    const podReady = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const ports = podPorts(pod, spec.ports ?? []);
    const targetRef = { kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid };
    const { nodeName, hostname: podHostname, subdomain } = pod.spec as PodSpec;
    // A pod names itself in the Service's DNS when its subdomain is the Service (`<hostname>.<service>.<ns>.svc`).
    const hostname = podHostname && subdomain === name ? { hostname: podHostname } : {};
    const key = JSON.stringify(ports);
    const group = groups.get(key) ?? { ports, endpoints: [] };
    group.endpoints.push({ addresses: [status.podIP], conditions: { ready: podReady && !terminating, serving: podReady, terminating }, ...hostname, ...(nodeName ? { nodeName } : {}), targetRef });
    groups.set(key, group);
    // The Endpoints controller leaves terminating pods out.
    if (!terminating) {
      (podReady ? legacy.ready : legacy.notReady).push({ ip: status.podIP, ...hostname, ...(nodeName ? { nodeName } : {}), targetRef: { ...targetRef, resourceVersion: pod.metadata.resourceVersion } });
      legacy.ports = ports;
    }
  }
  // A Service that selects nothing still gets one slice, without endpoints or ports.
  const wanted = groups.size > 0 ? [...groups.values()] : [{ ports: [], endpoints: [] }];
  writeSlices(rt, service, wanted);
  writeEndpoints(rt, service, legacy.ready.length + legacy.notReady.length === 0 ? [] : [{
    ...(legacy.ready.length ? { addresses: legacy.ready } : {}),
    ...(legacy.notReady.length ? { notReadyAddresses: legacy.notReady } : {}),
    ...(legacy.ports.length ? { ports: legacy.ports.map(({ name: portName, port, protocol }) => ({ ...(portName ? { name: portName } : {}), port, protocol })) } : {}),
  }]);
}

function syncApiServerEndpoints(rt: Runtime, service: KubeObject): void {
  const masters = rt.api.store.list('nodes').filter((n) => n.metadata.labels?.[CONTROL_PLANE] !== undefined);
  const ips = masters.flatMap((n) => ((n.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address));
  const port: EndpointPort = { name: 'https', port: 6443, protocol: 'TCP' };
  writeSlices(rt, service, [{ ports: [port], endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })) }], 'kubernetes');
  writeEndpoints(rt, service, ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports: [port] }] : []);
}

/** Creates, updates and deletes the Service's slices to hold `wanted`, keeping a slice per port set. */
function writeSlices(rt: Runtime, service: KubeObject, wanted: { ports: EndpointPort[]; endpoints: SliceEndpoint[] }[], fixedName?: string): void {
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
  for (const { ports, endpoints } of wanted) {
    const content = { addressType: 'IPv4', endpoints: endpoints.length ? endpoints : null, ...(ports.length ? { ports } : {}) };
    const match = remaining.findIndex((s) => jsonEqual(s.ports ?? [], ports));
    const slice = match >= 0 ? remaining.splice(match, 1)[0] : remaining.shift();
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
