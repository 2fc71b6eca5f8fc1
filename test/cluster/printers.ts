// Server-side Table conversion as kube-apiserver v1.32 does it: column
// definitions and cells follow kubernetes pkg/printers/internalversion/printers.go,
// the apiserver's default table convertor (k8s.io/apiserver/pkg/registry/rest/table.go)
// and the CRD convertor (apiextensions-apiserver .../customresource/tableconvertor).
// Built-in printers always run with Wide: true, so priority-1 cells are always present.
import { jsonPathFirst } from './jsonpath.ts';
import type { ColumnDefinition, KubeObject, Printer } from './types.ts';

// ---------------------------------------------------------------------------
// Time

/** apimachinery `duration.HumanDuration`; `ms` is the elapsed time (Go truncates every division). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) return joinUnits(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) return joinUnits(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return joinUnits(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return joinUnits(years, 'y', days % 365, 'd');
  return `${years}y`;
}

function joinUnits(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major}${majorUnit}` : `${major}${majorUnit}${minor}${minorUnit}`;
}

/** Go's zero `time.Time` (0001-01-01T00:00:00Z) in epoch milliseconds: a missing timestamp. */
const ZERO_TIME = -62135596800000;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Epoch ms of an RFC 3339 timestamp as Go's `time.Parse(time.RFC3339, …)` accepts it, else undefined. */
export function parseTime(value: unknown): number | undefined {
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const [offHours, offMinutes] = [Number(m[9] ?? 0), Number(m[10] ?? 0)];
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offHours > 24 || offMinutes > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // Date.UTC would map years 0-99 to 1900-1999
  date.setUTCHours(hour, minute, second, 0);
  const offset = (m[8] === '-' ? -1 : 1) * (offHours * 60 + offMinutes) * 60_000;
  return date.getTime() + Number(`0.${m[7] ?? '0'}`) * 1000 - offset;
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function isZeroTime(timestamp: unknown): boolean {
  const t = parseTime(timestamp);
  return t === undefined || t === ZERO_TIME;
}

/** printers.go `translateTimestampSince`: `<unknown>` for a missing (zero) timestamp. */
function since(timestamp: unknown, now: Date): string {
  const t = parseTime(timestamp);
  return t === undefined || t === ZERO_TIME ? '<unknown>' : humanDuration(now.getTime() - t);
}

/** The AGE cell for a creationTimestamp. */
export function age(timestamp: string | undefined, now: Date): string {
  return since(timestamp, now);
}

// ---------------------------------------------------------------------------
// Reading JSON objects the way Go reads typed structs: absent or mistyped fields are zero values.

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fields(value: unknown): Fields {
  return isObject(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function records(value: unknown): Fields[] {
  return list(value).map(fields);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function int(value: unknown): number {
  return typeof value === 'number' ? Math.trunc(value) : 0;
}

function at(value: unknown, ...path: string[]): unknown {
  return path.reduce((v, key) => fields(v)[key], value);
}

function stringMap(value: unknown): [string, string][] {
  return Object.entries(fields(value)).map(([k, v]) => [k, text(v)]);
}

// ---------------------------------------------------------------------------
// Column definitions. Descriptions are the k8s.io/api and apimachinery v0.32 SwaggerDoc() texts
// the Go column definitions reference.

const DOC = {
  name: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  creationTimestamp: "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  podIP: "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
  nominatedNodeName: "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
  nodeName: "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
  readinessGates: "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
  nodeSelector: "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
  serviceType: "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
  clusterIP: "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
  externalIPs: "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
  servicePorts: "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
  serviceSelector: "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
  addressType: "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name. (Deprecated) The EndpointSlice controller only generates, and kube-proxy only processes, slices of addressType \"IPv4\" and \"IPv6\". No semantics are defined for the \"FQDN\" type.",
  endpointSlicePorts: "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. Each slice may include a maximum of 100 ports. Services always have at least 1 port, so EndpointSlices generated by the EndpointSlice controller will likewise always have at least 1 port. EndpointSlices used for other purposes may have an empty ports list.",
  endpointSliceEndpoints: "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
  subsets: "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
  kubeletVersion: "Kubelet Version reported by the node.",
  osImage: "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
  kernelVersion: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
  containerRuntimeVersion: "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
  nodeAddresses: "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
  lastTimestamp: "The time at which the most recent occurrence of this event was recorded.",
  eventType: "Type of this event (Normal, Warning), new types could be added in the future",
  reason: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  involvedObject: "The object that this event is about.",
  source: "The component reporting this event. Should be a short machine understandable string.",
  message: "A human-readable description of the status of this operation.",
  firstTimestamp: "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
  count: "The number of times this event has occurred.",
  fieldPath: "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
  secretType: "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
  secretData: "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
  secrets: "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
  configMapData: "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
  rsSpecReplicas: "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
  rsSelector: "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
  rsStatusReplicas: "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
  rsReadyReplicas: "The number of ready replicas for this replica set.",
  desiredNumberScheduled: "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
  currentNumberScheduled: "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
  numberReady: "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
  updatedNumberScheduled: "The total number of nodes that are running updated daemon pod",
  numberAvailable: "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
  dsSelector: "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
  updatedReplicas: "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
  availableReplicas: "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
  deploySelector: "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
  roleBindingRoleRef: "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
  clusterRoleBindingRoleRef: "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
  podSelector: "podSelector selects the pods to which this NetworkPolicy object applies. The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.",
  holderIdentity: "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
} as const;

function column(name: string, type: ColumnDefinition['type'], description: string, priority = 0): ColumnDefinition {
  return { name, type, format: '', description, priority };
}

const NAME: ColumnDefinition = { name: 'Name', type: 'string', format: 'name', description: DOC.name, priority: 0 };
const AGE = column('Age', 'string', DOC.creationTimestamp);
const CONTAINERS = column('Containers', 'string', 'Names of each container in the template.', 1);
const IMAGES = column('Images', 'string', 'Images referenced by each container in the template.', 1);

// ---------------------------------------------------------------------------
// Shared cell helpers

function name(object: KubeObject): string {
  return object.metadata.name;
}

/** `layoutContainerCells`: names and images joined by commas. */
function containerCells(template: unknown): [string, string] {
  const containers = records(at(template, 'spec', 'containers'));
  return [containers.map((c) => text(c.name)).join(','), containers.map((c) => text(c.image)).join(',')];
}

/** labels.FormatLabels: `k=v` sorted by key, `<none>` when empty. */
function formatLabels(value: unknown): string {
  const pairs = stringMap(value).sort(([a], [b]) => compareStrings(a, b));
  return pairs.length === 0 ? '<none>' : pairs.map(([k, v]) => `${k}=${v}`).join(',');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** validation.IsQualifiedName, as labels.NewRequirement checks a key. */
function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name !== undefined && name.length <= 63 && QUALIFIED_NAME.test(name);
}

function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

const SELECTOR_OPERATORS: Record<string, string> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelectorAsSelector(…).String(): requirements sorted by key, `k=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k`, `!k`. Undefined when the selector is invalid.
 */
function selectorString(selector: unknown): string | undefined {
  const s = fields(selector);
  const requirements: { key: string; text: string }[] = [];
  for (const [key, value] of stringMap(s.matchLabels)) {
    if (!isQualifiedName(key) || !isLabelValue(value)) return undefined;
    requirements.push({ key, text: `${key}=${value}` });
  }
  for (const expr of records(s.matchExpressions)) {
    const requirement = expressionString(text(expr.key), text(expr.operator), list(expr.values).map(text));
    if (requirement === undefined) return undefined;
    requirements.push({ key: text(expr.key), text: requirement });
  }
  return requirements.sort((a, b) => compareStrings(a.key, b.key)).map((r) => r.text).join(',');
}

function expressionString(key: string, operator: string, values: string[]): string | undefined {
  const op = SELECTOR_OPERATORS[operator];
  if (op === undefined || !isQualifiedName(key) || !values.every(isLabelValue)) return undefined;
  const setBased = op === 'in' || op === 'notin';
  if (setBased ? values.length === 0 : values.length !== 0) return undefined;
  if (op === 'exists') return key;
  if (op === '!') return `!${key}`;
  return `${key} ${op} (${[...values].sort(compareStrings).join(',')})`;
}

/** metav1.FormatLabelSelector: `<error>` when invalid, `<none>` when empty. */
function formatLabelSelector(selector: unknown): string {
  const s = selectorString(selector);
  return s === undefined ? '<error>' : s || '<none>';
}

/** Go strings.TrimSpace (Unicode White_Space, which differs from JS trim() on U+0085 and U+FEFF). */
function trimSpace(value: string): string {
  const space = '[\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]';
  return value.replace(new RegExp(`^${space}+|${space}+$`, 'g'), '');
}

// ---------------------------------------------------------------------------
// Pods (printPod)

interface Restarts {
  count: number;
  /** Latest lastState.terminated.finishedAt, ZERO_TIME when none. */
  last: number;
}

function addRestarts(total: Restarts, containerStatus: Fields): void {
  total.count += int(containerStatus.restartCount);
  const terminated = at(containerStatus, 'lastState', 'terminated');
  if (!isObject(terminated)) return;
  const finished = parseTime(terminated.finishedAt) ?? ZERO_TIME;
  if (total.last < finished) total.last = finished;
}

/** The reason a terminated container shows: its reason, else `Signal:<n>` or `ExitCode:<n>`. */
function terminatedReason(terminated: Fields): string {
  if (text(terminated.reason) !== '') return text(terminated.reason);
  return int(terminated.signal) !== 0 ? `Signal:${int(terminated.signal)}` : `ExitCode:${int(terminated.exitCode)}`;
}

function conditionIs(conditions: Fields[], type: string, status: string): boolean {
  return conditions.some((c) => c.type === type && c.status === status);
}

/** isPodInitializedConditionTrue: only the first Initialized condition counts. */
function initializedConditionTrue(conditions: Fields[]): boolean {
  return conditions.find((c) => c.type === 'Initialized')?.status === 'True';
}

interface PodSummary {
  ready: number;
  total: number;
  reason: string;
  restarts: Restarts;
}

function summarizePod(pod: KubeObject): PodSummary {
  const spec = fields(pod.spec);
  const status = fields(pod.status);
  const conditions = records(status.conditions);
  const initContainers = records(spec.initContainers);
  const sidecars = new Map(initContainers.map((c) => [text(c.name), c.restartPolicy === 'Always']));
  const summary: PodSummary = {
    ready: 0,
    total: records(spec.containers).length + initContainers.filter((c) => c.restartPolicy === 'Always').length,
    reason: text(status.reason) || podPhase(status),
    restarts: { count: 0, last: ZERO_TIME },
  };
  if (conditions.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) summary.reason = 'SchedulingGated';

  const sidecarRestarts: Restarts = { count: 0, last: ZERO_TIME };
  const initializing = summarizeInitContainers(summary, records(status.initContainerStatuses), initContainers.length, sidecars, sidecarRestarts);
  if (!initializing || initializedConditionTrue(conditions)) {
    summary.restarts = sidecarRestarts;
    summarizeContainers(summary, records(status.containerStatuses), conditions);
  }
  if (pod.metadata.deletionTimestamp != null) {
    if (status.reason === 'NodeLost') summary.reason = 'Unknown';
    else if (!['Succeeded', 'Failed'].includes(podPhase(status))) summary.reason = 'Terminating';
  }
  return summary;
}

/** status.phase; kube-apiserver sets Pending on create, so an unset phase never reaches its printer. */
function podPhase(status: Fields): string {
  return text(status.phase) || 'Pending';
}

/** The init container loop; returns whether the pod is still initializing. */
function summarizeInitContainers(
  summary: PodSummary, statuses: Fields[], specCount: number, sidecars: Map<string, boolean>, sidecarRestarts: Restarts,
): boolean {
  for (const [i, container] of statuses.entries()) {
    addRestarts(summary.restarts, container);
    const sidecar = sidecars.get(text(container.name)) === true;
    if (sidecar) addRestarts(sidecarRestarts, container);
    const state = fields(container.state);
    if (isObject(state.terminated) && int(state.terminated.exitCode) === 0) continue;
    if (sidecar && container.started === true) {
      if (container.ready === true) summary.ready++;
      continue;
    }
    summary.reason = initReason(state, i, specCount);
    return true;
  }
  return false;
}

function initReason(state: Fields, index: number, specCount: number): string {
  if (isObject(state.terminated)) return `Init:${terminatedReason(state.terminated)}`;
  const waiting = text(at(state, 'waiting', 'reason'));
  if (waiting !== '' && waiting !== 'PodInitializing') return `Init:${waiting}`;
  return `Init:${index}/${specCount}`;
}

/** Regular containers, last to first, so the first one with a waiting/terminated state decides. */
function summarizeContainers(summary: PodSummary, statuses: Fields[], conditions: Fields[]): void {
  let hasRunning = false;
  for (const container of [...statuses].reverse()) {
    addRestarts(summary.restarts, container);
    const state = fields(container.state);
    const waiting = text(at(state, 'waiting', 'reason'));
    if (waiting !== '') {
      summary.reason = waiting;
    } else if (isObject(state.terminated)) {
      summary.reason = terminatedReason(state.terminated);
    } else if (container.ready === true && isObject(state.running)) {
      hasRunning = true;
      summary.ready++;
    }
  }
  // A Completed container next to a running one does not make the pod Completed.
  if (summary.reason === 'Completed' && hasRunning) {
    summary.reason = conditionIs(conditions, 'Ready', 'True') ? 'Running' : 'NotReady';
  }
}

function restartsCell({ count, last }: Restarts, now: Date): string {
  return count !== 0 && last !== ZERO_TIME ? `${count} (${humanDuration(now.getTime() - last)} ago)` : `${count}`;
}

function readinessGatesCell(pod: KubeObject): string {
  const gates = records(at(pod, 'spec', 'readinessGates'));
  if (gates.length === 0) return '<none>';
  const conditions = records(at(pod, 'status', 'conditions'));
  const passed = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
  return `${passed}/${gates.length}`;
}

function podCells(pod: KubeObject, now: Date): unknown[] {
  const { ready, total, reason, restarts } = summarizePod(pod);
  const status = fields(pod.status);
  // v1 podIP and podIPs[0] are kept equal by kube-apiserver; either may be all a test object sets.
  const podIP = text(fields(list(status.podIPs)[0]).ip) || text(status.podIP);
  return [
    name(pod), `${ready}/${total}`, reason, restartsCell(restarts, now), age(pod.metadata.creationTimestamp, now),
    podIP || '<none>', text(at(pod, 'spec', 'nodeName')) || '<none>', text(status.nominatedNodeName) || '<none>',
    readinessGatesCell(pod),
  ];
}

const POD_PRINTER: Printer = {
  columns: [
    NAME,
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE,
    column('IP', 'string', DOC.podIP, 1),
    column('Node', 'string', DOC.nodeName, 1),
    column('Nominated Node', 'string', DOC.nominatedNodeName, 1),
    column('Readiness Gates', 'string', DOC.readinessGates, 1),
  ],
  cells: podCells,
};

// ---------------------------------------------------------------------------
// Nodes (printNode)

function nodeStatusCell(node: KubeObject): string {
  // Go builds a map by condition type, so the last Ready condition wins.
  const ready = records(at(node, 'status', 'conditions')).filter((c) => c.type === 'Ready').at(-1);
  const status = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (at(node, 'spec', 'unschedulable') === true) status.push('SchedulingDisabled');
  return status.join(',');
}

/** findNodeRoles: `node-role.kubernetes.io/<role>` keys and the `kubernetes.io/role` value, sorted. */
function nodeRolesCell(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      const role = key.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (key === 'kubernetes.io/role' && value !== '') {
      roles.add(value);
    }
  }
  return [...roles].sort(compareStrings).join(',') || '<none>';
}

function nodeAddress(node: KubeObject, type: string): string {
  const address = records(at(node, 'status', 'addresses')).find((a) => a.type === type);
  return address === undefined ? '<none>' : text(address.address);
}

function nodeCells(node: KubeObject, now: Date): unknown[] {
  const info = fields(at(node, 'status', 'nodeInfo'));
  return [
    name(node), nodeStatusCell(node), nodeRolesCell(node), age(node.metadata.creationTimestamp, now), text(info.kubeletVersion),
    nodeAddress(node, 'InternalIP'), nodeAddress(node, 'ExternalIP'), text(info.osImage) || '<unknown>',
    text(info.kernelVersion) || '<unknown>', text(info.containerRuntimeVersion) || '<unknown>',
  ];
}

const NODE_PRINTER: Printer = {
  columns: [
    NAME,
    column('Status', 'string', 'The status of the node'),
    column('Roles', 'string', 'The roles of the node'),
    AGE,
    column('Version', 'string', DOC.kubeletVersion),
    column('Internal-IP', 'string', DOC.nodeAddresses, 1),
    column('External-IP', 'string', DOC.nodeAddresses, 1),
    column('OS-Image', 'string', DOC.osImage, 1),
    column('Kernel-Version', 'string', DOC.kernelVersion, 1),
    column('Container-Runtime', 'string', DOC.containerRuntimeVersion, 1),
  ],
  cells: nodeCells,
};

// ---------------------------------------------------------------------------
// Workloads

/** spec.replicas; kube-apiserver defaults it to 1, so an unset value never reaches its printer. */
function specReplicas(object: KubeObject): number {
  const replicas = at(object, 'spec', 'replicas');
  return typeof replicas === 'number' ? Math.trunc(replicas) : 1;
}

const DEPLOYMENT_PRINTER: Printer = {
  columns: [
    NAME,
    column('Ready', 'string', 'Number of the pod with ready state'),
    column('Up-to-date', 'string', DOC.updatedReplicas),
    column('Available', 'string', DOC.availableReplicas),
    AGE,
    CONTAINERS,
    IMAGES,
    column('Selector', 'string', DOC.deploySelector, 1),
  ],
  cells: (d, now) => {
    const status = fields(d.status);
    return [
      name(d), `${int(status.readyReplicas)}/${specReplicas(d)}`, int(status.updatedReplicas), int(status.availableReplicas),
      age(d.metadata.creationTimestamp, now), ...containerCells(at(d, 'spec', 'template')),
      selectorString(at(d, 'spec', 'selector')) ?? '<invalid>',
    ];
  },
};

const REPLICASET_PRINTER: Printer = {
  columns: [
    NAME,
    column('Desired', 'integer', DOC.rsSpecReplicas),
    column('Current', 'integer', DOC.rsStatusReplicas),
    column('Ready', 'integer', DOC.rsReadyReplicas),
    AGE,
    CONTAINERS,
    IMAGES,
    column('Selector', 'string', DOC.rsSelector, 1),
  ],
  cells: (rs, now) => {
    const status = fields(rs.status);
    return [
      name(rs), specReplicas(rs), int(status.replicas), int(status.readyReplicas), age(rs.metadata.creationTimestamp, now),
      ...containerCells(at(rs, 'spec', 'template')), formatLabelSelector(at(rs, 'spec', 'selector')),
    ];
  },
};

const DAEMONSET_PRINTER: Printer = {
  columns: [
    NAME,
    column('Desired', 'integer', DOC.desiredNumberScheduled),
    column('Current', 'integer', DOC.currentNumberScheduled),
    column('Ready', 'integer', DOC.numberReady),
    column('Up-to-date', 'integer', DOC.updatedNumberScheduled),
    column('Available', 'integer', DOC.numberAvailable),
    column('Node Selector', 'string', DOC.nodeSelector),
    AGE,
    CONTAINERS,
    IMAGES,
    column('Selector', 'string', DOC.dsSelector, 1),
  ],
  cells: (ds, now) => {
    const status = fields(ds.status);
    const template = at(ds, 'spec', 'template');
    return [
      name(ds), int(status.desiredNumberScheduled), int(status.currentNumberScheduled), int(status.numberReady),
      int(status.updatedNumberScheduled), int(status.numberAvailable), formatLabels(at(template, 'spec', 'nodeSelector')),
      age(ds.metadata.creationTimestamp, now), ...containerCells(template), formatLabelSelector(at(ds, 'spec', 'selector')),
    ];
  },
};

const PDB_PRINTER: Printer = {
  columns: [
    NAME,
    column('Min Available', 'string', 'The minimum number of pods that must be available.'),
    column('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
    column('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
    AGE,
  ],
  cells: (pdb, now) => [
    name(pdb), intOrString(at(pdb, 'spec', 'minAvailable')), intOrString(at(pdb, 'spec', 'maxUnavailable')),
    int(at(pdb, 'status', 'disruptionsAllowed')), age(pdb.metadata.creationTimestamp, now),
  ],
};

/** intstr.IntOrString.String(), `N/A` when unset. */
function intOrString(value: unknown): string {
  if (typeof value === 'number') return `${Math.trunc(value)}`;
  return typeof value === 'string' ? value : 'N/A';
}

// ---------------------------------------------------------------------------
// Services and endpoints

/** getServiceExternalIP with wide=true (no 16-character clipping of load balancer addresses). */
function serviceExternalIP(spec: Fields, status: Fields, type: string): string {
  const externalIPs = list(spec.externalIPs).map(text);
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress = records(at(status, 'loadBalancer', 'ingress')).map((i) => text(i.ip) || text(i.hostname)).filter((a) => a !== '');
      const lbIPs = [...new Set(ingress)].sort(compareStrings);
      if (externalIPs.length > 0) return [...lbIPs, ...externalIPs].join(',');
      return lbIPs.length > 0 ? lbIPs.join(',') : '<pending>';
    }
    case 'ExternalName':
      return text(spec.externalName);
  }
  return '<unknown>';
}

/** makePortString; protocol is defaulted to TCP by kube-apiserver. */
function servicePorts(spec: Fields): string {
  const ports = records(spec.ports).map((p) => {
    const protocol = text(p.protocol) || 'TCP';
    return int(p.nodePort) > 0 ? `${int(p.port)}:${int(p.nodePort)}/${protocol}` : `${int(p.port)}/${protocol}`;
  });
  return ports.join(',') || '<none>';
}

function serviceCells(svc: KubeObject, now: Date): unknown[] {
  const spec = fields(svc.spec);
  const type = text(spec.type) || 'ClusterIP'; // defaulted by kube-apiserver
  // v1 clusterIP and clusterIPs[0] are kept equal by kube-apiserver; either may be all a test object sets.
  const clusterIPs = list(spec.clusterIPs);
  const internalIP = clusterIPs.length > 0 ? text(clusterIPs[0]) : text(spec.clusterIP) || '<none>';
  return [
    name(svc), type, internalIP, serviceExternalIP(spec, fields(svc.status), type), servicePorts(spec),
    age(svc.metadata.creationTimestamp, now), formatLabels(spec.selector),
  ];
}

const SERVICE_PRINTER: Printer = {
  columns: [
    NAME,
    column('Type', 'string', DOC.serviceType),
    column('Cluster-IP', 'string', DOC.clusterIP),
    column('External-IP', 'string', DOC.externalIPs),
    column('Port(s)', 'string', DOC.servicePorts),
    AGE,
    column('Selector', 'string', DOC.serviceSelector, 1),
  ],
  cells: serviceCells,
};

/** net.JoinHostPort */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** formatEndpoints: at most 3 addresses, then ` + N more...`. */
function endpointsCell(endpoints: KubeObject): string {
  const subsets = records(endpoints.subsets);
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const shown: string[] = [];
  let count = 0;
  for (const subset of subsets) {
    const addresses = records(subset.addresses).map((a) => text(a.ip));
    const ports = records(subset.ports).map((p) => int(p.port));
    // Headless services may have addresses without ports.
    const groups = ports.length === 0 ? [addresses] : ports.map((port) => addresses.map((ip) => joinHostPort(ip, port)));
    for (const group of groups) {
      count += group.length;
      shown.push(...group.slice(0, max - shown.length));
    }
  }
  const joined = shown.join(',');
  return count > max ? `${joined} + ${count - max} more...` : joined;
}

const ENDPOINTS_PRINTER: Printer = {
  columns: [NAME, column('Endpoints', 'string', DOC.subsets), AGE],
  cells: (ep, now) => [name(ep), endpointsCell(ep), age(ep.metadata.creationTimestamp, now)],
};

/** formatDiscoveryPorts / formatDiscoveryEndpoints: at most 3, then ` + N more...`; nothing is `<unset>`. */
function listWithMore(items: string[]): string {
  const max = 3;
  if (items.length > max) return `${items.slice(0, max).join(',')} + ${items.length - max} more...`;
  return items.join(',') || '<unset>';
}

const ENDPOINTSLICE_PRINTER: Printer = {
  columns: [
    NAME,
    column('AddressType', 'string', DOC.addressType),
    column('Ports', 'string', DOC.endpointSlicePorts),
    column('Endpoints', 'string', DOC.endpointSliceEndpoints),
    AGE,
  ],
  cells: (slice, now) => [
    name(slice),
    text(slice.addressType),
    listWithMore(records(slice.ports).map((p) => (typeof p.port === 'number' ? String(Math.trunc(p.port)) : typeof p.name === 'string' ? p.name : '*'))),
    listWithMore(records(slice.endpoints).flatMap((e) => list(e.addresses).map(text))),
    age(slice.metadata.creationTimestamp, now),
  ],
};

// ---------------------------------------------------------------------------
// Network policies (printNetworkPolicy)

const NETWORKPOLICY_PRINTER: Printer = {
  columns: [NAME, column('Pod-Selector', 'string', DOC.podSelector), AGE],
  cells: (np, now) => [name(np), formatLabelSelector(at(np, 'spec', 'podSelector')), age(np.metadata.creationTimestamp, now)],
};

// ---------------------------------------------------------------------------
// Config, identity and coordination

const CONFIGMAP_PRINTER: Printer = {
  columns: [NAME, column('Data', 'string', DOC.configMapData), AGE],
  cells: (cm, now) => [
    name(cm), Object.keys(fields(cm.data)).length + Object.keys(fields(cm.binaryData)).length, age(cm.metadata.creationTimestamp, now),
  ],
};

const SECRET_PRINTER: Printer = {
  columns: [NAME, column('Type', 'string', DOC.secretType), column('Data', 'string', DOC.secretData), AGE],
  // Type defaults to Opaque; stringData is merged into data on write, so both count.
  cells: (secret, now) => [
    name(secret), text(secret.type) || 'Opaque',
    new Set([...Object.keys(fields(secret.data)), ...Object.keys(fields(secret.stringData))]).size,
    age(secret.metadata.creationTimestamp, now),
  ],
};

const SERVICEACCOUNT_PRINTER: Printer = {
  columns: [NAME, column('Secrets', 'string', DOC.secrets), AGE],
  cells: (sa, now) => [name(sa), list(sa.secrets).length, age(sa.metadata.creationTimestamp, now)],
};

const NAMESPACE_PRINTER: Printer = {
  columns: [NAME, column('Status', 'string', 'The status of the namespace'), AGE],
  // kube-apiserver sets phase Active on create.
  cells: (ns, now) => [name(ns), text(at(ns, 'status', 'phase')) || 'Active', age(ns.metadata.creationTimestamp, now)],
};

const LEASE_PRINTER: Printer = {
  columns: [NAME, column('Holder', 'string', DOC.holderIdentity), AGE],
  cells: (lease, now) => [name(lease), text(at(lease, 'spec', 'holderIdentity')), age(lease.metadata.creationTimestamp, now)],
};

/** rbac.SubjectsStrings, each list joined by ", ". */
function subjectCells(subjects: unknown): [string, string, string] {
  const of = (kind: string) => records(subjects).filter((s) => s.kind === kind);
  return [
    of('User').map((s) => text(s.name)).join(', '),
    of('Group').map((s) => text(s.name)).join(', '),
    of('ServiceAccount').map((s) => `${text(s.namespace)}/${text(s.name)}`).join(', '),
  ];
}

function bindingPrinter(roleRefDoc: string, kind: string): Printer {
  return {
    columns: [
      NAME,
      column('Role', 'string', roleRefDoc),
      AGE,
      column('Users', 'string', `Users in the ${kind}`, 1),
      column('Groups', 'string', `Groups in the ${kind}`, 1),
      column('ServiceAccounts', 'string', `ServiceAccounts in the ${kind}`, 1),
    ],
    cells: (binding, now) => {
      const roleRef = fields(binding.roleRef);
      return [
        name(binding), `${text(roleRef.kind)}/${text(roleRef.name)}`, age(binding.metadata.creationTimestamp, now),
        ...subjectCells(binding.subjects),
      ];
    },
  };
}

// ---------------------------------------------------------------------------
// Events (printEvent)

function eventSource(event: KubeObject): string {
  const source = fields(event.source);
  const component = text(source.component) || text(event.reportingComponent);
  const host = text(source.host) || text(event.reportingInstance);
  return host === '' ? component : `${component}, ${host}`;
}

function eventCells(event: KubeObject, now: Date): unknown[] {
  const firstSeen = isZeroTime(event.firstTimestamp) ? since(event.eventTime, now) : since(event.firstTimestamp, now);
  let lastSeen = isZeroTime(event.lastTimestamp) ? firstSeen : since(event.lastTimestamp, now);
  let count = int(event.count);
  if (isObject(event.series)) {
    lastSeen = since(event.series.lastObservedTime, now);
    count = int(event.series.count);
  } else if (count === 0) {
    count = 1; // singleton events of the events.k8s.io API have no count
  }
  const involved = fields(event.involvedObject);
  const kind = text(involved.kind).toLowerCase();
  const target = text(involved.name) === '' ? kind : `${kind}/${text(involved.name)}`;
  return [
    lastSeen, text(event.type), text(event.reason), target, text(involved.fieldPath), eventSource(event),
    trimSpace(text(event.message)), firstSeen, count, name(event),
  ];
}

const EVENT_PRINTER: Printer = {
  columns: [
    column('Last Seen', 'string', DOC.lastTimestamp),
    column('Type', 'string', DOC.eventType),
    column('Reason', 'string', DOC.reason),
    column('Object', 'string', DOC.involvedObject),
    column('Subobject', 'string', DOC.fieldPath, 1),
    column('Source', 'string', DOC.source, 1),
    column('Message', 'string', DOC.message),
    column('First Seen', 'string', DOC.firstTimestamp, 1),
    column('Count', 'string', DOC.count, 1),
    { ...NAME, priority: 1 },
  ],
  cells: eventCells,
};

// ---------------------------------------------------------------------------
// Resources without a printer: the apiserver's default table convertor.

/** `Time.UTC().Format(time.RFC3339)`: whole seconds; a missing timestamp is Go's zero time. */
function formatRFC3339(timestamp: unknown): string {
  const t = parseTime(timestamp) ?? ZERO_TIME;
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export const DEFAULT_PRINTER: Printer = {
  columns: [NAME, { name: 'Created At', type: 'date', format: '', description: DOC.creationTimestamp, priority: 0 }],
  cells: (object) => [name(object), formatRFC3339(object.metadata.creationTimestamp)],
};

/** Keyed by `<resource>.<group>` (`<resource>` for the core group). Roles, ClusterRoles and CRDs have no printer. */
export const PRINTERS: Record<string, Printer> = {
  pods: POD_PRINTER,
  nodes: NODE_PRINTER,
  namespaces: NAMESPACE_PRINTER,
  services: SERVICE_PRINTER,
  endpoints: ENDPOINTS_PRINTER,
  'endpointslices.discovery.k8s.io': ENDPOINTSLICE_PRINTER,
  configmaps: CONFIGMAP_PRINTER,
  secrets: SECRET_PRINTER,
  serviceaccounts: SERVICEACCOUNT_PRINTER,
  events: EVENT_PRINTER,
  'deployments.apps': DEPLOYMENT_PRINTER,
  'daemonsets.apps': DAEMONSET_PRINTER,
  'replicasets.apps': REPLICASET_PRINTER,
  'poddisruptionbudgets.policy': PDB_PRINTER,
  'networkpolicies.networking.k8s.io': NETWORKPOLICY_PRINTER,
  'leases.coordination.k8s.io': LEASE_PRINTER,
  'rolebindings.rbac.authorization.k8s.io': bindingPrinter(DOC.roleBindingRoleRef, 'roleBinding'),
  'clusterrolebindings.rbac.authorization.k8s.io': bindingPrinter(DOC.clusterRoleBindingRoleRef, 'clusterRoleBinding'),
  'roles.rbac.authorization.k8s.io': DEFAULT_PRINTER,
  'clusterroles.rbac.authorization.k8s.io': DEFAULT_PRINTER,
  'customresourcedefinitions.apiextensions.k8s.io': DEFAULT_PRINTER,
};

// ---------------------------------------------------------------------------
// Custom resources (apiextensions tableconvertor)

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** With no additionalPrinterColumns kube-apiserver serves this single column. */
const CRD_DEFAULT_COLUMNS: PrinterColumn[] = [
  { name: 'Age', type: 'date', description: DOC.creationTimestamp, jsonPath: '.metadata.creationTimestamp' },
];

export function crdPrinter(additionalPrinterColumns: PrinterColumn[] | undefined): Printer {
  const printerColumns = additionalPrinterColumns?.length ? additionalPrinterColumns : CRD_DEFAULT_COLUMNS;
  return {
    columns: [
      NAME,
      ...printerColumns.map((c) => ({
        name: c.name,
        type: c.type as ColumnDefinition['type'],
        format: c.format ?? '',
        description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
        priority: c.priority ?? 0,
      })),
    ],
    cells: (object, now) => [name(object), ...printerColumns.map((c) => crdCell(object, c, now))],
  };
}

function crdCell(object: KubeObject, column: PrinterColumn, now: Date): unknown {
  const { found, value } = jsonPathFirst(object, column.jsonPath);
  if (!found) return null;
  if (column.type === 'string') return jsonPathText(value);
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? dateCell(value, now) : null;
  }
  return null;
}

/** metav1.Time.UnmarshalQueryParameter, then ConvertToHumanReadableDateType. */
function dateCell(value: string, now: Date): string {
  if (value === '' || value === 'null') return '<unknown>';
  return parseTime(value) === undefined ? '<invalid>' : since(value, now);
}

/** jsonpath PrintResults for one value: scalars via fmt.Fprint, maps and slices as Go json.Marshal. */
function jsonPathText(value: unknown): string {
  if (value === null || value === undefined) return '<no value>';
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'object') return goJSON(value);
  return String(value);
}

/**
 * fmt.Sprint of a decoded JSON number: integers are int64; other numbers are float64 `%v`,
 * i.e. shortest digits with an exponent below 1e-4 or from 1e6 (`1.5e-05`, `1.2345675e+06`).
 */
function goNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string];
  const e = Number(exponent);
  if (e >= -4 && e < 6) return String(n);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** encoding/json: map keys sorted, HTML-sensitive characters and U+2028/2029 escaped. */
function goJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goJSON).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort(compareStrings);
    return `{${keys.map((k) => `${goJSONString(k)}:${goJSON(value[k])}`).join(',')}}`;
  }
  if (typeof value === 'string') return goJSONString(value);
  return JSON.stringify(value) ?? 'null';
}

function goJSONString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
