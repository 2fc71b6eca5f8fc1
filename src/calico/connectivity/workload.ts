// The test's own workload, in a namespace of its own: agnhost pods serving
// serve-hostname (`echo`, never netexec, whose /shell runs commands for
// anyone who reaches it) and idle agnhost pods to probe from (`client`), one
// of each on every selected node, through DaemonSets; a ClusterIP Service in
// front of the echo pods; hostNetwork pods on two nodes for the host
// scenarios; and, phase by phase, the NetworkPolicies of the policy
// scenarios. Everything is written by server-side apply (field manager and
// label kubectl-calico), waited for on watch events, and goes with the
// namespace at the end.
import { CliError } from '../../cli/errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import { ApiError } from '../../kube/errors.ts';
import type { ManifestObject, ResourceInfo } from '../../kube/resources.ts';
import { nodePlacement, type Requirement } from '../../kube/selectors.ts';
import { watchUntil, type Change } from '../../kube/watch.ts';
import { FIELD_MANAGER, serverSideApply } from '../apply.ts';
import { isFailing, podDetail, podReady, type Pod } from '../pods.ts';
import type { NotReadyPod } from './diagnosis.ts';
import { ECHO_PORT, HOST_PORT, SERVICE_PORT, type HostEnd, type Phase, type PodEnd } from './scenarios.ts';

export const SERVICE_NAME = 'echo';
export const CONTAINER = 'agnhost';

const NAME_LABEL = 'app.kubernetes.io/name';
const COMPONENT_LABEL = 'app.kubernetes.io/component';
const APP = 'calico-connectivity';
const MANAGED_BY = 'app.kubernetes.io/managed-by';
type Component = 'echo' | 'client' | 'host';

/**
 * When the test goes on without the pods not Ready yet. A pod whose network is set up (it has its IP) but whose
 * container has not started is pulling the image — every node at once on a first run, from a registry that may be
 * slow — and is waited for PULL_MS since it last changed (the --timeout may end the wait sooner). Any other pod
 * (no sandbox yet: a CNI that fails, a node that does not start it) is waited for until no pod of the test has
 * moved towards Ready for STALL_MS.
 */
export const PULL_MS = 180_000;
export const STALL_MS = 20_000;

const NAMESPACES: ResourceInfo = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
const DAEMONSETS: ResourceInfo = { group: 'apps', version: 'v1', resource: 'daemonsets', namespaced: true };
const SERVICES: ResourceInfo = { group: '', version: 'v1', resource: 'services', namespaced: true };
const PODS: ResourceInfo = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const POLICIES: ResourceInfo = { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', namespaced: true };

export interface WorkloadOptions {
  namespace: string;
  image: string;
  /** --nodes: the node names the DaemonSets are limited to (node affinity); undefined for every node. */
  nodeNames: string[] | undefined;
  /** -l: the node selector (equalities as a nodeSelector, the rest as affinity). */
  selector: Requirement[];
  /** The selected nodes that can run the pods (taints tolerated): the pods waited for. */
  nodes: string[];
  /** One or two nodes for the hostNetwork pods. */
  hostNodes: string[];
}

export interface NodeInfo {
  name: string;
  taints: { key: string; value?: string; effect: string }[];
}

/** The connectivity pods tolerate the control plane's taint, and what every DaemonSet pod tolerates. */
const TOLERATIONS = [
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
];
const DAEMONSET_TOLERATED = new Set(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/memory-pressure', 'node.kubernetes.io/pid-pressure', 'node.kubernetes.io/unschedulable']);

/** The taint that keeps the connectivity pods off a node, as `key=value:Effect`; undefined when they can run there. */
export function blockingTaint(node: NodeInfo): string | undefined {
  const taint = node.taints.find((t) => t.effect !== 'PreferNoSchedule' && !DAEMONSET_TOLERATED.has(t.key) && !TOLERATIONS.some((tol) => tol.key === t.key && tol.effect === t.effect));
  return taint ? `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}` : undefined;
}

function labels(component: Component): Record<string, string> {
  return { [NAME_LABEL]: APP, [COMPONENT_LABEL]: component };
}

function container(image: string, args: string[]) {
  return { name: CONTAINER, image, args, ports: args[0] === 'serve-hostname' ? [{ name: 'http', containerPort: ECHO_PORT, protocol: 'TCP' }] : [] };
}

/** What every connectivity pod shares: nothing mounted, no grace period (they only serve the hostname). */
function podSpec(image: string, args: string[], extra: object = {}) {
  return { automountServiceAccountToken: false, enableServiceLinks: false, terminationGracePeriodSeconds: 0, tolerations: TOLERATIONS, containers: [container(image, args)], ...extra };
}

function daemonSet(options: WorkloadOptions, component: 'echo' | 'client', args: string[]): ManifestObject {
  const placement = nodePlacement(options.selector);
  const fields = options.nodeNames ? [{ key: 'metadata.name', operator: 'In', values: options.nodeNames }] : [];
  const term = { ...(placement.matchExpressions.length ? { matchExpressions: placement.matchExpressions } : {}), ...(fields.length ? { matchFields: fields } : {}) };
  const affinity = Object.keys(term).length ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] } } } } : {};
  const nodeSelector = Object.keys(placement.nodeSelector).length ? { nodeSelector: placement.nodeSelector } : {};
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: component, namespace: options.namespace, labels: labels(component) },
    spec: {
      selector: { matchLabels: labels(component) },
      // Replace every pod at once on a re-run with another image: the test waits for them all anyway.
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '100%' } },
      template: { metadata: { labels: labels(component) }, spec: podSpec(options.image, args, { ...nodeSelector, ...affinity }) },
    },
  };
}

/** A hostNetwork pod bound to its node (named after it, so a re-run with other nodes replaces it). */
function hostPod(options: WorkloadOptions, node: string): ManifestObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: hostPodName(node), namespace: options.namespace, labels: labels('host') },
    spec: podSpec(options.image, ['serve-hostname', `--port=${HOST_PORT}`], { nodeName: node, hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }),
  };
}

function hostPodName(node: string): string {
  return `host-${node}`.slice(0, 253).replace(/[.-]+$/, '');
}

export function workloadObjects(options: WorkloadOptions): { info: ResourceInfo; object: ManifestObject }[] {
  return [
    { info: DAEMONSETS, object: daemonSet(options, 'echo', ['serve-hostname', `--port=${ECHO_PORT}`]) },
    { info: DAEMONSETS, object: daemonSet(options, 'client', ['pause']) },
    {
      info: SERVICES,
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: SERVICE_NAME, namespace: options.namespace, labels: labels('echo') },
        // PreferDualStack: an IPv6 ClusterIP too where the cluster has one, and no error where it has not.
        spec: { selector: labels('echo'), ipFamilyPolicy: 'PreferDualStack', ports: [{ name: 'http', protocol: 'TCP', port: SERVICE_PORT, targetPort: ECHO_PORT }] },
      },
    },
    ...options.hostNodes.map((node) => ({ info: PODS, object: hostPod(options, node) })),
  ];
}

function namespaceObject(name: string): ManifestObject {
  // The hostNetwork pods need the privileged Pod Security level wherever Pod Security admission enforces another.
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'privileged', 'pod-security.kubernetes.io/audit': 'privileged' } } };
}

/** `namespace/calico-connectivity created`, as apply reports objects. */
export type ObjectReport = (line: string) => void;

async function apply(kube: KubeClient, info: ResourceInfo, object: ManifestObject, signal: AbortSignal): Promise<ManifestObject & { spec?: Record<string, unknown> }> {
  const response = await serverSideApply(kube, info, object, { force: true, signal });
  const name = `${object.kind.toLowerCase()}${info.group ? `.${info.group}` : ''}/${object.metadata.name}`;
  if (response.statusCode >= 300) {
    const { apiError } = await import('../../kube/client.ts');
    throw new CliError(`applying ${name}: ${apiError(response).message}`);
  }
  return JSON.parse(response.body.toString('utf8')) as ManifestObject;
}

export interface NamespaceObject {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string; managedFields?: { manager: string }[] };
}

/** An earlier run's namespace, if there is one; a namespace of that name kubectl-calico did not make is refused (it is not ours to delete). */
export async function claimNamespace(kube: KubeClient, namespace: string, signal: AbortSignal): Promise<NamespaceObject | undefined> {
  const existing = await kube.optional<NamespaceObject>(`/api/v1/namespaces/${namespace}`, { signal });
  if (existing && existing.metadata.labels?.[MANAGED_BY] !== FIELD_MANAGER) {
    throw new CliError(`namespace ${namespace} exists and was not made by kubectl-calico: choose another with --namespace`);
  }
  return existing;
}

/**
 * Creates the namespace, or takes over what a killed run left in it: one still being deleted is waited for,
 * one still there is reused, its NetworkPolicies removed before any probe.
 */
export async function prepareNamespace(kube: KubeClient, namespace: string, existing: NamespaceObject | undefined, signal: AbortSignal, report: ObjectReport): Promise<void> {
  if (existing?.metadata.deletionTimestamp) {
    report(`namespace/${namespace} is still being deleted (an earlier run's); waiting until it is gone`);
    await waitNamespaceGone(kube, namespace, signal);
  }
  const reused = existing !== undefined && !existing.metadata.deletionTimestamp;
  await apply(kube, NAMESPACES, namespaceObject(namespace), signal);
  report(`namespace/${namespace} ${reused ? 'reused (an earlier run\'s)' : 'created'}`);
  if (reused) await setPolicies(kube, namespace, [], signal, report);
}

export interface Deployed {
  echo: Map<string, PodEnd>;
  client: Map<string, PodEnd>;
  hosts: HostEnd[];
  serviceIPs: string[];
  /** Expected pods that did not become Ready, with why; their nodes are not probed. */
  notReady: NotReadyPod[];
}

/** Applies the workload and waits until its pods are Ready (or the stragglers stop moving). */
export async function deploy(kube: KubeClient, options: WorkloadOptions, hooks: { signal: AbortSignal; report: ObjectReport; onPods: (ready: number, expected: number, stuck: () => NotReadyPod[]) => void }): Promise<Deployed> {
  const { namespace } = options;
  const { signal } = hooks;
  await removeStrayHostPods(kube, namespace, options.hostNodes, signal, hooks.report);
  const tracker = new PodTracker(options);
  // The watch starts before the writes, so no pod's becoming Ready is missed.
  const stop = new AbortController();
  const ready = watchUntil<Pod, true>(kube, [{ path: `/api/v1/namespaces/${namespace}/pods`, query: { labelSelector: `${NAME_LABEL}=${APP}` } }], {
    signal: AbortSignal.any([signal, stop.signal]),
    onChange: (change) => {
      if (tracker.update(change)) hooks.onPods(tracker.readyCount(), tracker.expected, () => tracker.notReady());
    },
    until: () => (tracker.settled() ? true : undefined),
    recheckMs: 1000,
  });
  ready.catch(() => {}); // Surfaces below, unless a write failed first.
  let service: ManifestObject & { spec?: { clusterIPs?: string[]; clusterIP?: string } };
  try {
    const applied = await Promise.all(workloadObjects(options).map(async ({ info, object }) => {
      const result = await apply(kube, info, object, signal);
      hooks.report(`${object.kind.toLowerCase()}${info.group ? `.${info.group}` : ''}/${object.metadata.name} applied`);
      return result;
    }));
    service = applied.find((o) => o.kind === 'Service')!;
    hooks.onPods(tracker.readyCount(), tracker.expected, () => tracker.notReady());
    await ready;
  } finally {
    stop.abort();
  }
  const spec = service.spec ?? {};
  return { ...tracker.ends(), serviceIPs: (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip !== 'None'), notReady: tracker.notReady() };
}

/** Host pods of an earlier run on nodes not chosen now (a pod's node cannot change). */
async function removeStrayHostPods(kube: KubeClient, namespace: string, hostNodes: string[], signal: AbortSignal, report: ObjectReport): Promise<void> {
  const list = await kube.json<{ items: Pod[] }>(`/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector: `${NAME_LABEL}=${APP},${COMPONENT_LABEL}=host` }, signal });
  const wanted = new Set(hostNodes.map(hostPodName));
  await Promise.all(list.items.filter((p) => !wanted.has(p.metadata.name)).map(async (p) => {
    await deleteIfThere(kube, `/api/v1/namespaces/${namespace}/pods/${p.metadata.name}`, signal);
    report(`pod/${p.metadata.name} deleted (an earlier run's, on another node)`);
  }));
}

/**
 * The connectivity pods as they come up: which are Ready, which are stuck and why. Kept by `component/node`
 * (the one pod of each the test wants), updated by the key a change touches: a thousand pods' events stay linear.
 */
export class PodTracker {
  private readonly pods = new Map<string, Pod>();
  private readonly keyOf = new Map<string, string>();
  private readonly members = new Map<string, Set<string>>();
  private readonly readyKeys = new Set<string>();
  private readonly options: WorkloadOptions;
  private readonly wanted: Set<string>;
  readonly expected: number;
  private readonly wantedKeys: string[];
  private readonly now: () => number;
  /** When each wanted pod last changed, and when any did in a way that is not a failure (a move towards Ready). */
  private readonly changedAt = new Map<string, number>();
  private lastMove: number;

  constructor(options: WorkloadOptions, now: () => number = Date.now) {
    this.options = options;
    this.now = now;
    this.lastMove = now();
    this.wanted = new Set(options.nodes);
    this.wantedKeys = [...options.nodes.flatMap((node) => [`echo/${node}`, `client/${node}`]), ...options.hostNodes.map((node) => `host/${node}`)];
    this.expected = this.wantedKeys.length;
  }

  /** The wanted pod a pod is (`echo/node-a`), if it is one: this run's image, on a wanted node, not being deleted. */
  private keyFor(pod: Pod): string | undefined {
    const component = pod.metadata.labels?.[COMPONENT_LABEL];
    const node = pod.spec?.nodeName;
    if (!component || !node || pod.metadata.deletionTimestamp || pod.spec?.containers?.[0]?.image !== this.options.image) return undefined;
    if (component === 'host' ? !this.options.hostNodes.includes(node) : !this.wanted.has(node)) return undefined;
    return `${component}/${node}`;
  }

  /** Takes a change in; true when the ready count moved. */
  update(change: Change<Pod>): boolean {
    const name = change.object.metadata.name;
    const before = this.readyKeys.size;
    const oldKey = this.keyOf.get(name);
    if (change.type === 'DELETED') this.pods.delete(name);
    else this.pods.set(name, change.object);
    const newKey = change.type === 'DELETED' ? undefined : this.keyFor(change.object);
    if (oldKey !== undefined && oldKey !== newKey) {
      this.members.get(oldKey)?.delete(name);
      this.keyOf.delete(name);
    }
    if (newKey !== undefined) {
      if (!this.members.has(newKey)) this.members.set(newKey, new Set());
      this.members.get(newKey)!.add(name);
      this.keyOf.set(name, newKey);
    }
    for (const key of new Set([oldKey, newKey])) {
      if (key === undefined) continue;
      const pod = this.best(key);
      if (pod && podReady(pod)) this.readyKeys.add(key);
      else this.readyKeys.delete(key);
      this.changedAt.set(key, this.now());
      // Scheduled, given its network, started, Ready: each is a move. Failing again (a crash loop, a pull backing off) is not.
      if (!pod || !isFailing(podDetail(pod).reason)) this.lastMove = this.now();
    }
    return this.readyKeys.size !== before;
  }

  /** The pod standing for a key: a Ready one if there is one. */
  private best(key: string): Pod | undefined {
    let chosen: Pod | undefined;
    for (const name of this.members.get(key) ?? []) {
      const pod = this.pods.get(name)!;
      if (podReady(pod)) return pod;
      chosen ??= pod;
    }
    return chosen;
  }

  readyCount(): number {
    return this.readyKeys.size;
  }

  /** Every pod Ready; or each of the rest failing for good (a pull, a crash) or given up on (PULL_MS, STALL_MS). */
  settled(): boolean {
    if (this.readyKeys.size === this.expected) return true;
    const now = this.now();
    const still = now - this.lastMove >= STALL_MS;
    for (const key of this.wantedKeys) {
      if (this.readyKeys.has(key)) continue;
      const pod = this.best(key);
      if (pod && isFailing(podDetail(pod).reason)) continue;
      if (pod && pulling(pod)) {
        if (now - this.changedAt.get(key)! < PULL_MS) return false;
      } else if (!still) return false;
    }
    return true;
  }

  ends(): { echo: Map<string, PodEnd>; client: Map<string, PodEnd>; hosts: HostEnd[] } {
    const echo = new Map<string, PodEnd>();
    const client = new Map<string, PodEnd>();
    const hosts: HostEnd[] = [];
    for (const key of this.readyKeys) {
      const pod = this.best(key)!;
      const [component, node] = key.split('/') as [Component, string];
      const status = pod.status as { podIP?: string; podIPs?: { ip: string }[] } | undefined;
      const ips = (status?.podIPs?.map((p) => p.ip) ?? (status?.podIP ? [status.podIP] : [])).sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
      if (!ips.length) continue;
      if (component === 'host') hosts.push({ pod: pod.metadata.name, node, ips });
      else (component === 'echo' ? echo : client).set(node, { pod: pod.metadata.name, node, ips });
    }
    hosts.sort((a, b) => this.options.hostNodes.indexOf(a.node) - this.options.hostNodes.indexOf(b.node));
    return { echo, client, hosts };
  }

  notReady(): NotReadyPod[] {
    return this.wantedKeys.flatMap((key) => {
      if (this.readyKeys.has(key)) return [];
      const pod = this.best(key);
      const [component, node] = key.split('/') as [string, string];
      const detail = pod ? podDetail(pod) : { reason: 'Missing', message: 'no pod was created for this node' };
      return [{ pod: pod?.metadata.name ?? '', node, component, ...detail }];
    });
  }
}

/** Its network set up (an IP), its container not started: the kubelet is pulling the image (or creating the container). */
function pulling(pod: Pod): boolean {
  const status = pod.status as (Pod['status'] & { podIP?: string }) | undefined;
  return status?.podIP !== undefined && (status.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'ContainerCreating');
}

const POLICY_NAMES = ['default-deny-ingress', 'allow-ingress-from-client', 'default-deny-egress'] as const;

/** The NetworkPolicies each phase runs under. */
export const PHASE_POLICIES: Record<Phase, (typeof POLICY_NAMES)[number][]> = {
  'basic': [],
  'ingress-deny': ['default-deny-ingress'],
  'ingress-allow': ['default-deny-ingress', 'allow-ingress-from-client'],
  'egress': ['default-deny-egress'],
};

function policy(namespace: string, name: (typeof POLICY_NAMES)[number]): ManifestObject {
  const metadata = { name, namespace, labels: { [NAME_LABEL]: APP } };
  const spec = {
    'default-deny-ingress': { podSelector: {}, policyTypes: ['Ingress'] },
    'allow-ingress-from-client': { podSelector: { matchLabels: labels('echo') }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: labels('client') } }] }] },
    // Only DNS out of the client pods, to any address: the Service IP, CoreDNS's pods or the node's resolver.
    'default-deny-egress': { podSelector: { matchLabels: labels('client') }, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }] },
  }[name];
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec };
}

/** Makes `names` the NetworkPolicies in force in the namespace: applies them, deletes every other one of ours. */
export async function setPolicies(kube: KubeClient, namespace: string, names: readonly string[], signal: AbortSignal, report: ObjectReport): Promise<void> {
  const base = `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`;
  const existing = await kube.optional<{ items: { metadata: { name: string } }[] }>(base, { query: { labelSelector: `${NAME_LABEL}=${APP}` }, signal });
  const stale = (existing?.items ?? []).map((p) => p.metadata.name).filter((name) => !names.includes(name));
  await Promise.all(stale.map(async (name) => {
    await deleteIfThere(kube, `${base}/${name}`, signal);
    report(`networkpolicy.networking.k8s.io/${name} deleted`);
  }));
  await Promise.all(names.map(async (name) => {
    await apply(kube, POLICIES, policy(namespace, name as (typeof POLICY_NAMES)[number]), signal);
    report(`networkpolicy.networking.k8s.io/${name} applied`);
  }));
}

async function deleteIfThere(kube: KubeClient, path: string, signal: AbortSignal | undefined): Promise<boolean> {
  const response = await kube.request(path, { method: 'DELETE', body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' }, signal });
  if (response.statusCode === 404) return false;
  if (response.statusCode >= 300) {
    const { apiError } = await import('../../kube/client.ts');
    throw apiError(response);
  }
  return true;
}

/** Deletes the namespace (and with it everything the test made) and waits until it is gone; false when there was none. */
export async function deleteNamespace(kube: KubeClient, namespace: string, signal: AbortSignal): Promise<boolean> {
  const existed = await deleteIfThere(kube, `/api/v1/namespaces/${namespace}`, signal);
  if (existed) await waitNamespaceGone(kube, namespace, signal);
  return existed;
}

async function waitNamespaceGone(kube: KubeClient, namespace: string, signal: AbortSignal): Promise<void> {
  let present = false;
  await watchUntil<NamespaceObject, true>(kube, [{ path: '/api/v1/namespaces', query: { fieldSelector: `metadata.name=${namespace}` } }], {
    signal,
    onChange: (change) => {
      present = change.type !== 'DELETED';
    },
    until: () => (present ? undefined : true),
  });
}

/** What a namespace that will not go is waiting for, to name in an error. */
export async function namespaceState(kube: KubeClient, namespace: string): Promise<string> {
  try {
    const ns = await kube.optional<{ metadata: { deletionTimestamp?: string; finalizers?: string[] }; spec?: { finalizers?: string[] }; status?: { phase?: string; conditions?: { type: string; status: string; message?: string }[] } }>(`/api/v1/namespaces/${namespace}`, { timeoutMs: 5000 });
    if (!ns) return 'gone';
    const waiting = (ns.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.message ?? c.type);
    const finalizers = [...(ns.spec?.finalizers ?? []), ...(ns.metadata.finalizers ?? [])];
    return `${ns.status?.phase ?? 'present'}${finalizers.length ? `, finalizers ${finalizers.join(', ')}` : ''}${waiting.length ? `: ${waiting.join('; ')}` : ''}`;
  } catch (error) {
    return error instanceof ApiError || error instanceof CliError ? `unknown (${error.message})` : 'unknown';
  }
}
