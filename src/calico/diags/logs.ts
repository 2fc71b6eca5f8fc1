// Container logs for the bundle: every container (init containers too) of
// the pods read, within --since, and the previous instance's log of each
// container that restarted — a crash loop's cause is in the log of the
// instance that crashed. The API's limitBytes keeps a log's *oldest* bytes,
// but the failure is at the end; so the log is read whole (the kubelet's
// rotation bounds it, 10 MiB by default) and its newest --max-log-bytes kept,
// from the first line that starts within them.
//
// Which logs, in which order: the bundle stops adding logs at
// --max-total-bytes, so what is read first must be what tells most, and the
// same cluster must give the same bundle however fast each log arrives. Logs
// are ranked — the control components first (tigera-operator,
// calico-kube-controllers, calico-apiserver, calico-typha, then the others
// such as CoreDNS: each one's pods with a problem and one healthy pod), then
// the per-node pods (calico-node, csi-node-driver, kube-proxy: DaemonSets) of
// the nodes the run asks (node-data.ts: those with problems, then a sample of
// healthy ones, or --nodes), then the other healthy replicas — and, though
// read in parallel, added to the bundle strictly in that order, so that the
// byte budget cuts the ranking at one place. Per-node pods of the nodes not
// asked are not read; what the budget leaves out is counted, and both are said
// once in diags.log rather than once per log.
import type { KubeClient } from '../../kube/client.ts';
import { apiError } from '../../kube/client.ts';
import { redactText } from './redact.ts';
import type { DiagsRun } from './run.ts';

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { running?: object };
  lastState?: { terminated?: object };
}

/** What the bundle reads of a pod beyond writing it: its containers and their states, its node and labels. */
export interface PodObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: { kind: string }[] };
  spec?: { nodeName?: string; initContainers?: { name: string }[]; containers?: { name: string }[] };
  status?: { phase?: string; initContainerStatuses?: ContainerStatus[]; containerStatuses?: ContainerStatus[] };
}

/** What the run keeps of each pod it read (for logs and node data): a few fields, not the whole object, for thousands of pods. */
export function podFacts(pod: PodObject): PodObject {
  const status = ({ name, ready, restartCount, state, lastState }: ContainerStatus): ContainerStatus => ({
    name, ready, restartCount, state: state?.running ? { running: {} } : {}, lastState: lastState?.terminated ? { terminated: {} } : {},
  });
  const { name, namespace, labels, deletionTimestamp, ownerReferences } = pod.metadata;
  return {
    metadata: { name, namespace, labels, deletionTimestamp, ownerReferences: ownerReferences?.map((o) => ({ kind: o.kind })) },
    spec: { nodeName: pod.spec?.nodeName, initContainers: pod.spec?.initContainers?.map((c) => ({ name: c.name })), containers: pod.spec?.containers?.map((c) => ({ name: c.name })) },
    status: { phase: pod.status?.phase, initContainerStatuses: pod.status?.initContainerStatuses?.map(status), containerStatuses: pod.status?.containerStatuses?.map(status) },
  };
}

interface LogItem {
  file: string;
  namespace: string;
  pod: string;
  container: string;
  previous: boolean;
}

export interface LogOptions {
  pods: { namespace: string; items: PodObject[] }[];
  /** The nodes whose per-node pods' logs are read, in the order they are ranked (those with problems first). */
  nodes: string[];
  sinceMs: number;
  maxLogBytes: number;
  maxTotalBytes: number;
}

/** Reads, redacts and adds the logs in rank order; returns how many --max-total-bytes left out. */
export async function collectLogs(kube: KubeClient, run: DiagsRun, options: LogOptions): Promise<number> {
  const { items, notAsked, unscheduled } = rankLogs(options.pods, options.nodes);
  if (notAsked.containers) run.note(`logs not read: ${notAsked.containers} containers of per-node pods (${notAsked.components.join(', ')}) on ${notAsked.nodes} nodes not asked; --nodes NAME,… or --nodes all reads them`);
  if (unscheduled) run.note(`logs not read: ${unscheduled} ${unscheduled === 1 ? 'pod is' : 'pods are'} on no node yet (no container of ${unscheduled === 1 ? 'it' : 'them'} ever ran; the pods' files say why)`);
  const sinceSeconds = Math.max(1, Math.ceil(options.sinceMs / 1000));
  // The budget is what --max-total-bytes leaves after everything else: logs come last.
  let room = options.maxTotalBytes - run.bundle.bytes;
  const leftOut: number[] = [];
  // Each log waits for the one ranked before it to be added (or left out) before it is added itself.
  let turn: Promise<void> = Promise.resolve();
  await Promise.all(items.map((item, rank) => {
    const previous = turn;
    let done!: () => void;
    turn = new Promise((resolve) => (done = resolve));
    return run.item(item.file, async () => {
      try {
        if (room <= 0) {
          leftOut.push(rank);
          return;
        }
        const apiPath = `/api/v1/namespaces/${encodeURIComponent(item.namespace)}/pods/${encodeURIComponent(item.pod)}/log`;
        // A previous instance's log is read whole (within the byte cap): its end, the crash, may be older than --since.
        const query = { container: item.container, ...(item.previous ? { previous: 'true' } : { sinceSeconds: String(sinceSeconds) }) };
        const response = await kube.request(apiPath, { query, accept: 'text/plain', signal: run.signal });
        if (response.statusCode < 200 || response.statusCode > 299) throw apiError(response);
        await previous;
        if (room <= 0) {
          leftOut.push(rank);
          return;
        }
        const limit = Math.min(options.maxLogBytes, room);
        const kept = newest(response.body, limit);
        const producer = `GET ${apiPath}?${new URLSearchParams(query)}${kept.length < response.body.length ? ` (the newest ${kept.length} of ${response.body.length} bytes)` : ''}`;
        if (kept.length < response.body.length) run.note(`${item.file}: kept the newest ${kept.length} of ${response.body.length} bytes (${limit < options.maxLogBytes ? '--max-total-bytes' : '--max-log-bytes'})`);
        const text = redactText(kept.toString('utf8'));
        room -= Buffer.byteLength(text);
        await run.add(item.file, text, producer, response.body.length - kept.length || undefined);
      } finally {
        done();
      }
    });
  }));
  if (leftOut.length) {
    const named = leftOut.sort((a, b) => a - b).slice(0, 5).map((rank) => items[rank]!.file).join(', ');
    run.note(`logs left out: ${leftOut.length} (the bundle reached --max-total-bytes, ${options.maxTotalBytes} bytes; the least telling go last): ${named}${leftOut.length > 5 ? `, … and ${leftOut.length - 5} more` : ''}`);
  }
  return leftOut.length;
}

/** The last `limit` bytes, from the first line that starts within them (a log without a line break in them: the bytes as cut). */
export function newest(log: Buffer, limit: number): Buffer {
  if (log.length <= limit) return log;
  const tail = log.subarray(log.length - limit);
  const lineStart = log[log.length - limit - 1] === 0x0a ? 0 : tail.indexOf(0x0a) + 1;
  return lineStart > 0 && lineStart < tail.length ? tail.subarray(lineStart) : tail;
}

/** Control components in the order their logs go; any other comes after them, by name. */
const CONTROL_ORDER = ['tigera-operator', 'calico-kube-controllers', 'calico-apiserver', 'calico-typha'];
/** Per-node components in the order their logs go on each node. */
const PER_NODE_ORDER = ['calico-node', 'csi-node-driver', 'kube-proxy'];

/** A pod's component: its k8s-app label as Calico and kubeadm set it, else another name label, else its own name. */
function componentOf(pod: PodObject): string {
  const labels = pod.metadata.labels ?? {};
  return labels['k8s-app'] ?? labels['app.kubernetes.io/name'] ?? labels.name ?? labels.app ?? pod.metadata.name;
}

function hasProblem(pod: PodObject): boolean {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return !(pod.status?.containerStatuses ?? []).every((s) => s.ready) || statuses.some(restarted);
}

function restarted(status: ContainerStatus | undefined): boolean {
  return (status?.restartCount ?? 0) > 0 || status?.lastState?.terminated !== undefined;
}

/** Sorts by each key in turn (numbers ascending, strings by code point). */
function byKeys<T>(key: (item: T) => (number | string)[]): (a: T, b: T) => number {
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return 0;
  };
}

/**
 * Every log to read, ranked (see the top of this file), and what is not read: the containers of per-node pods on
 * nodes not asked, and pods on no node yet (no container of theirs ever ran, so they have no log).
 */
export function rankLogs(groups: LogOptions['pods'], nodes: string[]): { items: LogItem[]; notAsked: { containers: number; nodes: number; components: string[] }; unscheduled: number } {
  const nodeRank = new Map(nodes.map((n, i) => [n, i]));
  const ranked: { pod: PodObject; namespace: string; key: (number | string)[] }[] = [];
  const control = new Map<string, { pod: PodObject; namespace: string }[]>();
  const notAskedNodes = new Set<string>();
  const notAskedComponents = new Set<string>();
  let notAskedContainers = 0;
  let unscheduled = 0;
  for (const { namespace, items } of groups) {
    for (const pod of items) {
      const component = componentOf(pod);
      const node = pod.spec?.nodeName;
      if (node === undefined) unscheduled++;
      else if (!pod.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet')) {
        const key = `${namespace}/${component}`;
        control.set(key, [...(control.get(key) ?? []), { pod, namespace }]);
      } else if (nodeRank.has(node)) {
        const order = PER_NODE_ORDER.indexOf(component);
        ranked.push({ pod, namespace, key: [1, nodeRank.get(node)!, order < 0 ? PER_NODE_ORDER.length : order, component, pod.metadata.name] });
      } else {
        notAskedNodes.add(node);
        notAskedComponents.add(component);
        notAskedContainers += (pod.spec?.initContainers?.length ?? 0) + (pod.spec?.containers?.length ?? 0);
      }
    }
  }
  for (const [key, pods] of control) {
    const component = key.slice(key.indexOf('/') + 1);
    const order = CONTROL_ORDER.indexOf(component);
    // Those with a problem first, then by name; the first healthy one goes with them, the other replicas last.
    pods.sort(byKeys(({ pod }) => [hasProblem(pod) ? 0 : 1, pod.metadata.name]));
    let healthySeen = false;
    for (const { pod, namespace } of pods) {
      const problem = hasProblem(pod);
      const tier = problem || !healthySeen ? 0 : 2;
      if (!problem) healthySeen = true;
      ranked.push({ pod, namespace, key: [tier, order < 0 ? CONTROL_ORDER.length : order, namespace === 'kube-system' ? 1 : 0, component, problem ? 0 : 1, pod.metadata.name] });
    }
  }
  ranked.sort(byKeys((r) => r.key));
  return {
    items: ranked.flatMap(({ pod, namespace }) => podLogs(namespace, pod)),
    notAsked: { containers: notAskedContainers, nodes: notAskedNodes.size, components: [...notAskedComponents].sort() },
    unscheduled,
  };
}

/** A pod's logs in order: each container (init containers first), its previous instance's log before its current one. */
function podLogs(namespace: string, pod: PodObject): LogItem[] {
  const name = pod.metadata.name;
  const statuses = new Map([...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => [s.name, s]));
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].flatMap((container) => {
    const base = { namespace, pod: name, container: container.name };
    const file = `${namespace === 'kube-system' ? 'kube-system' : `namespaces/${namespace}`}/logs/${name}/${container.name}`;
    return [
      ...(restarted(statuses.get(container.name)) ? [{ ...base, file: `${file}.previous.log`, previous: true }] : []),
      { ...base, file: `${file}.log`, previous: false },
    ];
  });
}
