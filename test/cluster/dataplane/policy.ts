// Whether policy lets a flow through, evaluated as Calico evaluates it.
//
// CONTRACT (the signature stays): reachability (reach.ts) asks policyVerdict
// for every flow it has found a path for; the verdict names the policy that
// decided.
//
// What Felix does, and so this model (felix/rules/endpoints.go, static.go):
// - a flow leaves its source through the source pod's egress policy (on the
//   source's node) and reaches its destination through the destination pod's
//   ingress policy (on the destination's node); a host (a node's address, a
//   hostNetwork pod) or an address outside the cluster has no workload policy;
// - traffic from a host to a pod on that same host is not policed (cali-OUTPUT
//   returns for packets to workloads), so a host source on the destination's
//   node skips the ingress side; from another node it is forwarded and policed;
// - per side, the policies that select the endpoint and govern the direction,
//   by order (unset = last; Kubernetes NetworkPolicies are order 1000 in the
//   default tier), rule by rule: the first Allow or Deny decides, Log goes on;
//   when none decides, the tier's end drops; with no policy at all the
//   namespace's profile allows.
//
// Refused, never guessed ({ unjudgeable }): tiers other than default, Pass,
// a default tier whose defaultAction is Pass, admin network policies,
// HostEndpoints on a node the flow starts or ends on, HTTP and service
// matches, source ports (a flow's are ephemeral), and two policies of equal
// order that decide differently (Calico breaks the tie by a name whose form
// changed between releases).
//
// A node whose Felix is not programming (policyProgrammed false: stuck, or not
// ready) keeps enforcing what it had. The model looks at every node each time
// an object Felix reads for policy changes (before the change takes effect)
// and at the nodes a verdict asks about; the first look that finds a node not
// programming freezes the policy set of that moment for it, until a look finds
// it programming again. So "after it got stuck" means written while
// policyProgrammed was false for that node (a node stuck and recovered between
// two looks goes unseen). Labels of pods, namespaces and service accounts are
// read as they are now, for a stuck node too.
import type { Runtime } from '../controllers/runtime.ts';
import { ipFamily, ipNetContains, parseIPNetOrIP, type IPNet } from '../ipnet.ts';
import type { StoreEvent } from '../store.ts';
import type { KubeObject } from '../types.ts';
import { policyProgrammed } from './calico-node.ts';
import { evaluate, type Labels, type Selector } from './calico-selector.ts';
import {
  compilePolicy, DroppedPolicy, k8sNetworkPolicyToCalico, LABEL_NAME, LABEL_NAMESPACE, LABEL_ORCHESTRATOR, LABEL_SERVICE_ACCOUNT,
  NAMESPACE_LABEL_PREFIX, netsMatch, PROTOCOL_NUMBERS, SERVICE_ACCOUNT_LABEL_PREFIX, tierOf,
  type CompiledPolicy, type CompiledRule, type EntityMatch, type PolicySpec, type PortMatch,
} from './policy-rules.ts';

/** One end of a flow: a pod (on a node), a host (a node's address), or an address outside the cluster. */
export interface Endpoint {
  ip: string;
  /** The node it is on; undefined outside the cluster. */
  node: string | undefined;
  /** The pod, unless it is a host or outside (a hostNetwork pod is its host: no policy of pods applies). */
  pod: KubeObject | undefined;
}

export interface Flow {
  src: Endpoint;
  dst: Endpoint;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port: number;
}

export type PolicyVerdict =
  | { allowed: true; by?: string }
  | { allowed: false; by: string }
  /** The model cannot judge it (tiers, Pass): never a silent allow. */
  | { unjudgeable: string };

// ---------------------------------------------------------------------------
// What Felix reads from the datastore

const K8S_NETWORK_POLICIES = 'networkpolicies.networking.k8s.io';
const NETWORK_POLICIES = 'networkpolicies.crd.projectcalico.org';
const GLOBAL_NETWORK_POLICIES = 'globalnetworkpolicies.crd.projectcalico.org';
const TIERS = 'tiers.crd.projectcalico.org';
const HOST_ENDPOINTS = 'hostendpoints.crd.projectcalico.org';
const NETWORK_SETS = 'networksets.crd.projectcalico.org';
const GLOBAL_NETWORK_SETS = 'globalnetworksets.crd.projectcalico.org';
/** Turned into tiers of their own before (and after) the default tier. */
const ADMIN_POLICIES: Record<string, string> = {
  'adminnetworkpolicies.policy.networking.k8s.io': 'AdminNetworkPolicy',
  'baselineadminnetworkpolicies.policy.networking.k8s.io': 'BaselineAdminNetworkPolicy',
  'clusternetworkpolicies.policy.networking.k8s.io': 'ClusterNetworkPolicy',
};
// Staged policies (staged*networkpolicies) only report what they would do: they enforce nothing.
const INPUTS = new Set([K8S_NETWORK_POLICIES, NETWORK_POLICIES, GLOBAL_NETWORK_POLICIES, TIERS, HOST_ENDPOINTS, NETWORK_SETS, GLOBAL_NETWORK_SETS, ...Object.keys(ADMIN_POLICIES)]);

interface NetworkSet {
  namespace: string | undefined;
  labels: Record<string, string>;
  nets: IPNet[];
}

/** One input object as Felix holds it. */
type Entry =
  | { kind: 'policy'; policy: CompiledPolicy }
  | { kind: 'default-tier'; passes: boolean }
  | { kind: 'host-endpoint'; node: string; name: string }
  | { kind: 'network-set'; set: NetworkSet }
  | { kind: 'admin-policy'; display: string };

/** The entry for `object`, undefined for what Felix ignores (a policy failing its validation filter is "treated as missing"). */
function entryOf(key: string, object: KubeObject): Entry | undefined {
  const { name, namespace } = object.metadata;
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  try {
    switch (key) {
      case K8S_NETWORK_POLICIES: {
        const { spec: converted, numbers } = k8sNetworkPolicyToCalico(object);
        return { kind: 'policy', policy: compilePolicy(`NetworkPolicy ${namespace}/${name}`, { tier: 'default' }, namespace, converted, numbers) };
      }
      case NETWORK_POLICIES:
        return { kind: 'policy', policy: compilePolicy(`Calico NetworkPolicy ${namespace}/${name}`, tierOf(spec as PolicySpec, name), namespace, spec as PolicySpec) };
      case GLOBAL_NETWORK_POLICIES:
        return { kind: 'policy', policy: compilePolicy(`GlobalNetworkPolicy ${name}`, tierOf(spec as PolicySpec, name), undefined, spec as PolicySpec) };
      case TIERS:
        return name === 'default' ? { kind: 'default-tier', passes: spec.defaultAction === 'Pass' } : undefined;
      case HOST_ENDPOINTS:
        return { kind: 'host-endpoint', node: String(spec.node ?? ''), name };
      case NETWORK_SETS:
      case GLOBAL_NETWORK_SETS: {
        const nets = ((spec.nets as string[] | undefined) ?? []).map(parseIPNetOrIP).filter((n): n is IPNet => n !== undefined);
        return { kind: 'network-set', set: { namespace, labels: object.metadata.labels ?? {}, nets } };
      }
      default:
        return { kind: 'admin-policy', display: `${ADMIN_POLICIES[key]} ${name}` };
    }
  } catch (error) {
    if (error instanceof DroppedPolicy) return undefined;
    throw error;
  }
}

/** Policy by order, then name (a tie that decides is refused: see judgeSide). */
function byOrder(a: CompiledPolicy, b: CompiledPolicy): number {
  if (a.order !== b.order) return a.order < b.order ? -1 : 1;
  return a.display < b.display ? -1 : a.display > b.display ? 1 : 0;
}

/** What one Felix enforces: an immutable snapshot of the entries, with its own caches. */
class PolicySet {
  readonly policies: CompiledPolicy[];
  readonly defaultTierPasses: boolean;
  /** Node → the HostEndpoints on it. */
  readonly hostEndpoints = new Map<string, string[]>();
  readonly networkSets: NetworkSet[] = [];
  readonly adminPolicies: string[] = [];
  /** Endpoint label state → the policies that select it, per direction. */
  readonly applicable = new Map<string, { ingress: CompiledPolicy[]; egress: CompiledPolicy[] }>();

  constructor(entries: Iterable<Entry>) {
    const policies: CompiledPolicy[] = [];
    let passes = false;
    for (const entry of entries) {
      if (entry.kind === 'policy') policies.push(entry.policy);
      else if (entry.kind === 'default-tier') passes = entry.passes;
      else if (entry.kind === 'host-endpoint') this.hostEndpoints.set(entry.node, [...(this.hostEndpoints.get(entry.node) ?? []), entry.name]);
      else if (entry.kind === 'network-set') this.networkSets.push(entry.set);
      else if (entry.kind === 'admin-policy') this.adminPolicies.push(entry.display);
    }
    // doNotTrack and preDNAT policies apply to host endpoints only (event_sequencer.go tierInfoToProtoTierInfo).
    this.policies = policies.filter((p) => !p.hostOnly).sort(byOrder);
    this.defaultTierPasses = passes;
  }
}

// ---------------------------------------------------------------------------
// Endpoints' labels as Felix sees them

/** A namespace's or service account's labels as its profile passes them down (`pcns.`/`pcsa.` and the name). */
function profileLabels(object: KubeObject | undefined, prefix: string, name: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const [k, v] of Object.entries(object?.metadata.labels ?? {})) labels.set(prefix + k, v);
  if (object) labels.set(prefix + LABEL_NAME, name);
  return labels;
}

/** Own labels first, then each profile's (label_inheritance_index.go itemData.Get). */
function inherit(own: Map<string, string>, ...parents: Map<string, string>[]): Labels {
  return (key) => own.get(key) ?? parents.find((p) => p.has(key))?.get(key);
}

interface WorkloadLabels {
  /** Changes when anything the labels come from changes. */
  version: string;
  labels: Labels;
}

const workloadLabelsCache = new WeakMap<KubeObject, WorkloadLabels>();

/** A pod's WorkloadEndpoint labels (workload_endpoint_default.go) with its kns. and ksa. profiles. */
function workloadLabels(rt: Runtime, pod: KubeObject): WorkloadLabels {
  const namespace = pod.metadata.namespace ?? 'default';
  const serviceAccount = String((pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? '');
  const ns = rt.api.store.get('namespaces', undefined, namespace);
  const sa = serviceAccount ? rt.api.store.get('serviceaccounts', namespace, serviceAccount) : undefined;
  const version = `${pod.metadata.uid}\0${JSON.stringify(pod.metadata.labels ?? {})}\0${serviceAccount}\0${ns?.metadata.resourceVersion}\0${sa?.metadata.resourceVersion}`;
  const cached = workloadLabelsCache.get(pod);
  if (cached?.version === version) return cached;
  const own = new Map(Object.entries(pod.metadata.labels ?? {}));
  own.set(LABEL_NAMESPACE, namespace);
  own.set(LABEL_ORCHESTRATOR, 'k8s');
  if (serviceAccount && serviceAccount.length < 63) own.set(LABEL_SERVICE_ACCOUNT, serviceAccount);
  const result = { version, labels: inherit(own, profileLabels(ns, NAMESPACE_LABEL_PREFIX, namespace), profileLabels(sa, SERVICE_ACCOUNT_LABEL_PREFIX, serviceAccount)) };
  workloadLabelsCache.set(pod, result);
  return result;
}

/** A NetworkSet gets its namespace label and the namespace's profile labels (networksetprocessor.go). */
function networkSetLabels(rt: Runtime, set: NetworkSet): Labels {
  const own = new Map(Object.entries(set.labels));
  if (set.namespace === undefined) return (key) => own.get(key);
  own.set(LABEL_NAMESPACE, set.namespace);
  return inherit(own, profileLabels(rt.api.store.get('namespaces', undefined, set.namespace), NAMESPACE_LABEL_PREFIX, set.namespace));
}

/** The pod of a workload endpoint: a pod that is not on its host's network. */
function workload(endpoint: Endpoint): KubeObject | undefined {
  const pod = endpoint.pod;
  return pod && !(pod.spec as { hostNetwork?: boolean } | undefined)?.hostNetwork ? pod : undefined;
}

function podName(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

// ---------------------------------------------------------------------------
// Rules

type Direction = 'ingress' | 'egress';

/** Why a rule cannot be judged, or whether it matches. */
type RuleMatch = boolean | { unjudgeable: string };

class Judge {
  private readonly rt: Runtime;
  private readonly set: PolicySet;
  private readonly flow: Flow;

  constructor(rt: Runtime, set: PolicySet, flow: Flow) {
    this.rt = rt;
    this.set = set;
    this.flow = flow;
  }

  /** Whether `endpoint`'s address is in the IP set Felix renders for `selector`: matching workloads and network sets. */
  private selects(selector: Selector, endpoint: Endpoint): boolean {
    const pod = workload(endpoint);
    if (pod && evaluate(selector, workloadLabels(this.rt, pod).labels)) return true;
    return this.set.networkSets.some((set) => set.nets.some((net) => ipNetContains(net, endpoint.ip)) && evaluate(selector, networkSetLabels(this.rt, set)));
  }

  /** A named port resolves against the destination workload's container ports of the flow's protocol. */
  private portMatches(port: PortMatch): boolean {
    if ('min' in port) return this.flow.port >= port.min && this.flow.port <= port.max;
    const pod = workload(this.flow.dst);
    const containers = ((pod?.spec as { containers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[] } | undefined)?.containers) ?? [];
    return containers.some((c) => (c.ports ?? []).some((p) => p.name === port.name && p.containerPort === this.flow.port && (p.protocol ?? 'TCP') === this.flow.protocol));
  }

  private entityMatches(match: EntityMatch, endpoint: Endpoint, ports: boolean): boolean {
    if (!netsMatch(match, endpoint.ip)) return false;
    if (match.selector && !this.selects(match.selector, endpoint)) return false;
    if (match.notSelector && this.selects(match.notSelector, endpoint)) return false;
    if (ports && match.ports && !match.ports.some((p) => this.portMatches(p))) return false;
    return !(ports && match.notPorts?.some((p) => this.portMatches(p)));
  }

  ruleMatches(rule: CompiledRule): RuleMatch {
    const protocol = PROTOCOL_NUMBERS[this.flow.protocol.toLowerCase()];
    if (rule.icmpOnly) return false;
    if (rule.ipVersion !== undefined && rule.ipVersion !== ipFamily(this.flow.src.ip)) return false;
    if (rule.protocol !== undefined && rule.protocol !== protocol) return false;
    if (rule.notProtocol !== undefined && rule.notProtocol === protocol) return false;
    if (!this.entityMatches(rule.source, this.flow.src, false) || !this.entityMatches(rule.destination, this.flow.dst, true)) return false;
    return rule.unmodelled ? { unjudgeable: rule.unmodelled } : true;
  }

  /** The first deciding rule of `policy` for `direction`: its action, undefined if none decides, or why it cannot be told. */
  decision(policy: CompiledPolicy, direction: Direction): { action: 'allow' | 'deny'; rule: number } | undefined | { unjudgeable: string } {
    for (const rule of direction === 'ingress' ? policy.inbound : policy.outbound) {
      const match = this.ruleMatches(rule);
      if (match === false) continue;
      if (match !== true) return { unjudgeable: `${policy.display}, ${direction} rule ${rule.number}: ${match.unjudgeable}` };
      if (rule.action === 'log') continue;
      if (rule.action === 'pass') return { unjudgeable: `${policy.display}, ${direction} rule ${rule.number}: Pass hands the flow to the next tier, and tiers are not modelled` };
      return { action: rule.action, rule: rule.number };
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// One side of a flow: the egress of its source or the ingress of its destination

/** The policies of the default tier that select `pod` for `direction` (refusing other tiers and admin tiers). */
function applicablePolicies(rt: Runtime, set: PolicySet, pod: KubeObject, direction: Direction): CompiledPolicy[] | { unjudgeable: string } {
  const { version, labels } = workloadLabels(rt, pod);
  let applicable = set.applicable.get(version);
  if (!applicable) {
    const selecting = set.policies.filter((p) => evaluate(p.selector, labels));
    applicable = { ingress: selecting.filter((p) => p.ingress), egress: selecting.filter((p) => p.egress) };
    set.applicable.set(version, applicable);
  }
  const policies = applicable[direction];
  const tiered = policies.find((p) => p.tier !== 'default');
  if (tiered) return { unjudgeable: `${tiered.display} selects it and is in tier "${tiered.tier}" (${tiered.tierReason}); tiers other than default are not modelled` };
  return policies;
}

function judgeSide(rt: Runtime, set: PolicySet, pod: KubeObject, direction: Direction, flow: Flow): PolicyVerdict {
  const side = `${direction} of ${podName(pod)}`;
  if (set.adminPolicies.length) return { unjudgeable: `${side}: ${set.adminPolicies.join(', ')} exist; the admin tiers they make are not modelled` };
  const policies = applicablePolicies(rt, set, pod, direction);
  if (!Array.isArray(policies)) return { unjudgeable: `${side}: ${policies.unjudgeable}` };
  if (policies.length === 0) return { allowed: true };
  const judge = new Judge(rt, set, flow);
  for (const [i, policy] of policies.entries()) {
    const decision = judge.decision(policy, direction);
    if (decision === undefined) continue;
    if ('unjudgeable' in decision) return { unjudgeable: `${side}: ${decision.unjudgeable}` };
    // Calico orders equal orders by name, spelled differently across releases: refuse a tie that decides.
    for (const other of policies.slice(i + 1).filter((p) => p.order === policy.order)) {
      const theirs = judge.decision(other, direction);
      if (theirs !== undefined && ('unjudgeable' in theirs || theirs.action !== decision.action)) {
        return { unjudgeable: `${side}: ${policy.display} and ${other.display} have the same order and decide differently; Calico's tie-break by name is not modelled` };
      }
    }
    const by = `${side}: ${policy.display}, ${direction} rule ${decision.rule} (${decision.action === 'allow' ? 'Allow' : 'Deny'})`;
    return decision.action === 'allow' ? { allowed: true, by } : { allowed: false, by };
  }
  if (set.defaultTierPasses) return { unjudgeable: `${side}: no rule decides and the default tier's defaultAction is Pass; what follows the tier is not modelled` };
  return { allowed: false, by: `${side}: no rule of ${policies.map((p) => p.display).join(', ')} allows it (the default tier's end drops it)` };
}

// ---------------------------------------------------------------------------
// The model of every node's Felix

class PolicyModel {
  private readonly rt: Runtime;
  private readonly entries = new Map<string, Entry>();
  private current: PolicySet | undefined;
  /** Nodes whose Felix is not programming, and the set it still enforces. */
  private readonly frozen = new Map<string, PolicySet>();

  constructor(rt: Runtime) {
    this.rt = rt;
    for (const key of INPUTS) for (const object of rt.api.store.list(key)) this.update(key, object, false);
    rt.api.store.subscribe((event) => this.onChange(event));
  }

  private update(key: string, object: KubeObject, deleted: boolean): void {
    const id = `${key}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const entry = deleted ? undefined : entryOf(key, object);
    if (entry) this.entries.set(id, entry);
    else this.entries.delete(id);
    this.current = undefined;
  }

  private onChange(event: StoreEvent): void {
    if (!INPUTS.has(event.key)) return;
    // Nodes that are not programming keep the set from before this change.
    for (const node of this.rt.api.store.list('nodes')) this.setFor(node.metadata.name);
    this.update(event.key, event.object, event.type === 'DELETED');
  }

  private policySet(): PolicySet {
    return (this.current ??= new PolicySet(this.entries.values()));
  }

  /** What `node`'s Felix enforces now. */
  setFor(node: string): PolicySet {
    if (policyProgrammed(this.rt, node)) {
      this.frozen.delete(node);
      return this.policySet();
    }
    let set = this.frozen.get(node);
    if (!set) this.frozen.set(node, (set = this.policySet()));
    return set;
  }
}

const models = new WeakMap<Runtime, PolicyModel>();

function modelOf(rt: Runtime): PolicyModel {
  let model = models.get(rt);
  if (!model) models.set(rt, (model = new PolicyModel(rt)));
  return model;
}

/** Starts following policy changes from now on (startCluster calls it, so "after a node got stuck" is seen from the start). */
export function trackPolicy(rt: Runtime): void {
  modelOf(rt);
}

export function policyVerdict(rt: Runtime, flow: Flow): PolicyVerdict {
  const model = modelOf(rt);
  const source = workload(flow.src);
  const destination = workload(flow.dst);
  for (const endpoint of [flow.src, flow.dst]) {
    if (endpoint.node === undefined) continue;
    const hostEndpoints = model.setFor(endpoint.node).hostEndpoints.get(endpoint.node);
    if (hostEndpoints) return { unjudgeable: `HostEndpoint ${hostEndpoints.join(', ')} on node ${endpoint.node}: host endpoint policy is not modelled` };
  }
  const egress: PolicyVerdict = source && flow.src.node ? judgeSide(rt, model.setFor(flow.src.node), source, 'egress', flow) : { allowed: true };
  // A host's own traffic to a pod on it leaves through OUTPUT, where Felix does not police workload ingress.
  const hostToLocalPod = !source && flow.src.node !== undefined && flow.src.node === flow.dst.node;
  const ingress: PolicyVerdict = destination && flow.dst.node && !hostToLocalPod ? judgeSide(rt, model.setFor(flow.dst.node), destination, 'ingress', flow) : { allowed: true };
  for (const side of [egress, ingress]) if ('allowed' in side && !side.allowed) return side;
  for (const side of [egress, ingress]) if ('unjudgeable' in side) return side;
  const by = [egress, ingress].map((side) => ('by' in side ? side.by : undefined)).filter(Boolean).join('; ');
  return by ? { allowed: true, by } : { allowed: true };
}
