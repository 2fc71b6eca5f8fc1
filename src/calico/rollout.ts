// The state of a Calico rollout, kept incrementally from watch events: each
// event changes the verdict of one object and a few counters, so following
// 2,000 nodes costs what changed, not the cluster's size. From it come
// `wait`'s end condition, the live block on a terminal, the log in a pipe
// (a line when a count crosses a tenth, never a line per pod) and the
// report of what is stuck on a timeout — grouped, capped, with totals.
import type { Change, KubeObjectLike, TableRow, WatchTarget } from '../kube/watch.ts';
import { groupKey, podNode, podState, workloadOf, type PodRow } from './pods.ts';
import { CALICO_NAMESPACES, type CalicoState } from './status.ts';

export type WaitTarget = 'all' | 'operator' | 'calico' | 'nodes';

/** A not-ready state every pod passes through on its way up is progress for this long; after it, a problem. */
export const STARTUP_GRACE_MS = 60_000;

interface Condition {
  type: string;
  status: string;
  message?: string;
}

interface Workload extends KubeObjectLike {
  kind?: string;
  spec?: { replicas?: number };
  status?: { desiredNumberScheduled?: number; numberReady?: number; updatedNumberScheduled?: number; numberAvailable?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number };
}

interface WithConditions extends KubeObjectLike {
  status?: { conditions?: Condition[] };
}

interface InstallationObject extends KubeObjectLike {
  status?: { calicoVersion?: string };
}

type Source = 'operator' | 'pods' | 'daemonsets' | 'deployments' | 'statuses' | 'nodes' | 'installation';

/** The lists a rollout follows, each with what it is. Pods and nodes come as table rows: thousands of them change many times. */
export function rolloutTargets(version?: string): (WatchTarget & { source: Source })[] {
  return [
    { source: 'operator', path: '/api/v1/namespaces/tigera-operator/pods', query: { labelSelector: 'name=tigera-operator' }, table: true },
    ...CALICO_NAMESPACES.map((ns) => ({ source: 'pods' as const, path: `/api/v1/namespaces/${ns}/pods`, table: true })),
    { source: 'daemonsets', path: '/apis/apps/v1/namespaces/calico-system/daemonsets' },
    ...['tigera-operator', ...CALICO_NAMESPACES].map((ns) => ({ source: 'deployments' as const, path: `/apis/apps/v1/namespaces/${ns}/deployments` })),
    { source: 'statuses', path: '/apis/operator.tigera.io/v1/tigerastatuses', absentIsEmpty: true },
    { source: 'nodes', path: '/api/v1/nodes', table: true },
    ...(version ? [{ source: 'installation' as const, path: '/apis/operator.tigera.io/v1/installations', absentIsEmpty: true }] : []),
  ];
}

interface WorkloadCount {
  name: string;
  desired: number;
  ready: number;
  rolledOut: boolean;
}

interface PodEntry {
  group: string;
  ready: boolean;
  node: string | undefined;
  calicoNode: boolean;
}

/** A line of the live block: NAME, READY, STATE. */
export interface Row {
  cells: [string, string, string];
  complete: boolean;
  problem: boolean;
  /** The biggest group of its pods (or nodes) that are not ready. */
  top?: Group;
}

/** Pods (or nodes) in one state for one reason, e.g. 12 calico-node pods in ImagePullBackOff. */
export interface Group {
  id: string;
  /** `daemonset/calico-node`, or `nodes`. */
  subject: string;
  reason: string;
  /** What to act on (a pod's is read from one of them, see wanting()); undefined until then. */
  message: string | undefined;
  /** The message is being read. */
  asked: boolean;
  /** Past the start-up grace, or failing by nature. */
  problem: boolean;
  members: Set<string>;
}

interface NodeEntry {
  group: string;
  ready: boolean;
  /** When this process first saw it NotReady. */
  since: number;
}

/** What the log last said of each thing, so the next line about it is written only when it moved far enough. */
interface Logged {
  workloads: Map<string, { count: number; total: number }>;
  counts: Map<string, { count: number; total: number }>;
  statuses: Map<string, string>;
  version: string;
}

export class Rollout {
  readonly target: WaitTarget;
  readonly version: string | undefined;
  private readonly now: () => number;
  private readonly workloads = new Map<string, WorkloadCount>();
  private readonly pods = new Map<string, PodEntry>();
  private readonly operatorPods = new Map<string, boolean>();
  private readonly groups = new Map<string, Group>();
  /** Pods (and nodes) in a start-up state, with when they entered it, to be judged again when their grace runs out. */
  private readonly starting = new Map<string, { since: number; promote: () => void }>();
  private unreadyPods = 0;
  private readonly statuses = new Map<string, { state: string; message: string }>();
  private readonly nodes = new Map<string, NodeEntry>();
  private notReadyNodes = 0;
  /** Each node's calico-node pod: Ready or not, and since when (as this process saw it). */
  private readonly calicoNodes = new Map<string, { ready: boolean; since: number }>();
  private reportedVersion: string | undefined;
  private readonly logged: Logged = { workloads: new Map(), counts: new Map(), statuses: new Map(), version: '' };

  constructor(target: WaitTarget, version?: string, now: () => number = Date.now) {
    this.target = target;
    this.version = version;
    this.now = now;
  }

  /** Takes in one watch event from the list `source`. */
  apply(source: Source, change: Change<KubeObjectLike>): void {
    const gone = change.type === 'DELETED';
    switch (source) {
      case 'operator':
        if (gone) this.operatorPods.delete(change.object.metadata.name);
        else this.operatorPods.set(change.object.metadata.name, podState(change.object as PodRow).ready);
        this.setPod(change.object as PodRow, gone);
        return;
      case 'pods':
        return this.setPod(change.object as PodRow, gone);
      case 'daemonsets':
      case 'deployments':
        return this.setWorkload(source === 'daemonsets' ? 'daemonset' : 'deployment', change.object as Workload, gone);
      case 'statuses':
        return this.setStatus(change.object as WithConditions, gone);
      case 'nodes':
        return this.setNode(change.object as TableRow, gone);
      case 'installation':
        if (change.object.metadata.name === 'default') this.reportedVersion = gone ? undefined : (change.object as InstallationObject).status?.calicoVersion;
    }
  }

  /** Pods whose start-up grace ran out become problems; call it now and then (a second is plenty). */
  tick(): void {
    const cutoff = this.now() - STARTUP_GRACE_MS;
    for (const [key, { since, promote }] of this.starting) {
      if (since > cutoff) continue;
      this.starting.delete(key);
      promote();
    }
  }

  /** True when everything `target` asks for is ready. */
  done(): boolean {
    const operator = [...this.operatorPods.values()].some(Boolean);
    if ((this.target === 'all' || this.target === 'operator') && !operator) return false;
    if (this.target === 'all' || this.target === 'calico') {
      if (this.statuses.size === 0 || [...this.statuses.values()].some((s) => s.state !== 'Available')) return false;
      if (this.version && this.reportedVersion !== this.version) return false;
      if (this.unreadyPods > 0) return false;
      if ([...this.workloads.values()].some((w) => w.name.startsWith('daemonset/') && !w.rolledOut)) return false;
    }
    if ((this.target === 'all' || this.target === 'nodes') && this.notReadyNodes > 0) return false;
    return true;
  }

  /** Calico's overall state as the TigeraStatus verdicts give it (see overallState in status.ts). */
  state(): CalicoState {
    if (this.statuses.size === 0 && !this.workloads.has('deployment/tigera-operator')) return 'Not installed';
    const states = [...this.statuses.values()].map((s) => s.state);
    if (states.includes('Degraded')) return 'Degraded';
    return states.length > 0 && states.every((s) => s === 'Available') ? 'Available' : 'Progressing';
  }

  /** The workloads, nodes and statuses `target` covers, as rows of NAME, READY, STATE for the live block. */
  rows(): Row[] {
    const rows: Row[] = [];
    const covers = (what: 'operator' | 'calico' | 'nodes') => this.target === 'all' || this.target === what;
    for (const w of [...this.workloads.values()].sort(byWorkload)) {
      if (!covers(w.name === 'deployment/tigera-operator' ? 'operator' : 'calico')) continue;
      const groups = this.groupsOf(w.name);
      const top = groups[0];
      const state = top ? `${top.reason}${top.members.size > 1 ? ` (${top.members.size})` : ''}${top.message ? `: ${top.message}` : ''}` : '';
      rows.push({ cells: [w.name, `${w.ready}/${w.desired}`, state], complete: w.rolledOut && w.ready >= w.desired, problem: top?.problem === true, ...(top ? { top } : {}) });
    }
    if (covers('nodes')) {
      const top = this.groupsOf('nodes')[0];
      const total = this.nodes.size;
      rows.push({ cells: ['nodes', `${total - this.notReadyNodes}/${total}`, top ? `NotReady (${top.members.size})${top.message ? `: ${top.message}` : ''}` : ''], complete: this.notReadyNodes === 0 && total > 0, problem: top?.problem === true, ...(top ? { top } : {}) });
    }
    if (covers('calico')) {
      for (const [name, status] of [...this.statuses].sort(([a], [b]) => a.localeCompare(b))) {
        rows.push({ cells: [`tigerastatus/${name}`, status.state, status.message], complete: status.state === 'Available', problem: status.state === 'Degraded' });
      }
      if (this.version) rows.push({ cells: ['installation/default', this.reportedVersion ?? '(none yet)', this.reportedVersion === this.version ? '' : `waiting for ${this.version}`], complete: this.reportedVersion === this.version, problem: false });
    }
    return rows;
  }

  /** The problem groups, the biggest first. */
  problems(): Group[] {
    return [...this.groups.values()].filter((g) => g.problem && g.members.size > 0).sort((a, b) => b.members.size - a.members.size || a.subject.localeCompare(b.subject));
  }

  /**
   * Lines for a log, each written only when what it counts moved by a tenth of its total since it was last
   * written (or reached the total): a count that flaps by one does not fill the log.
   */
  log(): string[] {
    const lines: string[] = [];
    for (const w of [...this.workloads.values()].sort(byWorkload)) {
      if (moved(this.logged.workloads, w.name, w.ready, w.desired)) lines.push(`${w.name}: ${w.ready}/${w.desired} ready`);
    }
    const total = this.nodes.size;
    if (total > 0 && moved(this.logged.counts, 'nodes', total - this.notReadyNodes, total)) lines.push(`nodes: ${total - this.notReadyNodes}/${total} Ready`);
    for (const [name, status] of this.statuses) {
      const mark = status.state === 'Degraded' ? `Degraded ${groupKey(status.message)}` : status.state;
      if (this.logged.statuses.get(name) === mark) continue;
      this.logged.statuses.set(name, mark);
      lines.push(`tigerastatus/${name}: ${status.state}${status.message ? `: ${status.message}` : ''}`);
    }
    if (this.version && this.reportedVersion && this.logged.version !== this.reportedVersion) {
      this.logged.version = this.reportedVersion;
      lines.push(`installation/default: Calico ${this.reportedVersion}`);
    }
    // A problem is logged once its message is read, so the line says what to act on.
    for (const group of this.problems()) {
      if (group.message !== undefined && moved(this.logged.counts, `problem\u0000${group.id}`, group.members.size, this.sizeOf(group.subject))) lines.push(`problem: ${describe(group)}`);
    }
    return lines;
  }

  /** What is not ready, grouped: at most `limit` lines, then how many more; the problems name their pods or nodes. */
  stuck(limit: number): string[] {
    const lines: string[] = [];
    if ((this.target === 'all' || this.target === 'operator') && !this.workloads.has('deployment/tigera-operator') && this.operatorPods.size === 0) lines.push('the tigera-operator pod does not exist yet (is the operator applied?)');
    if ((this.target === 'all' || this.target === 'calico') && this.statuses.size === 0) lines.push('no TigeraStatus yet: the operator has not started on the Installation');
    for (const row of this.rows().filter((r) => !r.complete)) lines.push(`${row.cells[0]}: ${row.cells[1]}${row.cells[2] && !row.top?.problem ? ` — ${row.cells[2]}` : ''}`);
    for (const group of this.problems()) {
      const members = [...group.members];
      lines.push(`${describe(group)} (${members.slice(0, 3).join(', ')}${members.length > 3 ? `, … ${members.length - 3} more` : ''})`);
    }
    return lines.length > limit ? [...lines.slice(0, limit - 1), `… and ${lines.length - limit + 1} more`] : lines;
  }

  /** One line of totals: `5 of 7 workloads ready, 1998/2000 nodes Ready, 3 pods not ready`. */
  totals(): string {
    const workloads = [...this.workloads.values()];
    const ready = workloads.filter((w) => w.rolledOut && w.ready >= w.desired).length;
    return `${ready} of ${workloads.length} workloads ready, ${this.nodes.size - this.notReadyNodes}/${this.nodes.size} nodes Ready, ${this.unreadyPods} pods not ready`;
  }

  private groupsOf(subject: string): Group[] {
    return [...this.groups.values()].filter((g) => g.subject === subject && g.members.size > 0).sort((a, b) => Number(b.problem) - Number(a.problem) || b.members.size - a.members.size);
  }

  private sizeOf(subject: string): number {
    return subject === 'nodes' ? this.nodes.size : this.workloads.get(subject)?.desired ?? 1;
  }

  private setPod(pod: PodRow, gone: boolean): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const old = this.pods.get(key);
    if (old) {
      this.leave(old.group, key);
      if (!old.ready) this.unreadyPods--;
      this.starting.delete(key);
    }
    const wasOn = old?.calicoNode ? old.node : undefined;
    let isOn: string | undefined;
    if (gone) this.pods.delete(key);
    else {
      const state = podState(pod);
      const subject = workloadOf(pod);
      const entry: PodEntry = { group: '', ready: state.ready, node: podNode(pod), calicoNode: pod.metadata.labels?.['k8s-app'] === 'calico-node' };
      this.pods.set(key, entry);
      if (!state.ready) {
        this.unreadyPods++;
        // Without a time from the cluster (a Running pod turning unready), the grace starts when it is seen.
        const since = state.since ?? this.now();
        const problem = state.failing || this.now() - since > STARTUP_GRACE_MS;
        this.move(entry, key, subject, state.reason, undefined, problem);
        if (!problem) this.starting.set(key, { since, promote: () => this.move(entry, key, subject, state.reason, undefined, true) });
      }
      if (entry.calicoNode) isOn = entry.node;
    }
    if (wasOn && wasOn !== isOn) this.setCalicoNode(wasOn, undefined);
    if (isOn) this.setCalicoNode(isOn, this.pods.get(key)!.ready);
  }

  /**
   * Groups whose message is not read yet and is shown (every problem, and the first group of each workload and of
   * the nodes), each with the pod or node to read it from: table rows say the state, not why.
   */
  wanting(): { id: string; kind: 'pod' | 'node'; namespace?: string; name: string }[] {
    const shown = new Set([...this.workloads.keys(), 'nodes'].map((w) => this.groupsOf(w)[0]?.id));
    return [...this.groups.values()]
      .filter((g) => g.message === undefined && !g.asked && (g.problem || shown.has(g.id)))
      .map((g) => {
        g.asked = true;
        const member = g.members.values().next().value!;
        if (g.subject === 'nodes') return { id: g.id, kind: 'node' as const, name: member };
        const [namespace, name] = member.split('/') as [string, string];
        return { id: g.id, kind: 'pod' as const, namespace, name };
      });
  }

  /** The message read for a group (empty when the pod could not be read). */
  describeGroup(id: string, message: string): void {
    const group = this.groups.get(id);
    if (group) group.message = message;
  }

  /** Puts a pod or node in the group of its state; a pod's group is by reason alone (its message is read later). */
  private move(entry: PodEntry | NodeEntry, member: string, subject: string, reason: string, message: string | undefined, problem: boolean): void {
    if (entry.group) this.leave(entry.group, member);
    const id = groupKey(subject, reason, message ?? '', problem ? 'problem' : '');
    const group = this.groups.get(id) ?? { id, subject, reason, message, asked: false, problem, members: new Set<string>() };
    if (message !== undefined) group.message = message;
    group.members.add(member);
    this.groups.set(id, group);
    entry.group = id;
  }

  private leave(id: string, member: string): void {
    const group = this.groups.get(id);
    if (!group) return;
    group.members.delete(member);
    if (group.members.size === 0) this.groups.delete(id);
  }

  private setWorkload(kind: 'daemonset' | 'deployment', object: Workload, gone: boolean): void {
    const name = `${kind}/${object.metadata.name}`;
    if (gone) {
      this.workloads.delete(name);
      return;
    }
    const s = object.status ?? {};
    const count = kind === 'daemonset'
      ? { desired: s.desiredNumberScheduled ?? 0, ready: s.numberReady ?? 0, rolledOut: (s.desiredNumberScheduled ?? 0) > 0 && s.updatedNumberScheduled === s.desiredNumberScheduled && s.numberAvailable === s.desiredNumberScheduled }
      : { desired: object.spec?.replicas ?? 1, ready: s.readyReplicas ?? 0, rolledOut: (s.updatedReplicas ?? 0) >= (object.spec?.replicas ?? 1) && (s.availableReplicas ?? 0) >= (object.spec?.replicas ?? 1) };
    this.workloads.set(name, { name, ...count });
  }

  private setStatus(object: WithConditions, gone: boolean): void {
    if (gone) {
      this.statuses.delete(object.metadata.name);
      return;
    }
    const conditions = object.status?.conditions ?? [];
    const on = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
    const degraded = on('Degraded');
    const progressing = on('Progressing');
    const state = degraded ? 'Degraded' : progressing ? 'Progressing' : on('Available') ? 'Available' : 'Unknown';
    this.statuses.set(object.metadata.name, { state, message: (degraded ?? progressing)?.message ?? '' });
  }

  private setNode(row: TableRow, gone: boolean): void {
    const name = row.metadata.name;
    const old = this.nodes.get(name);
    if (old) {
      this.leave(old.group, name);
      if (!old.ready) this.notReadyNodes--;
      this.starting.delete(`node/${name}`);
    }
    if (gone) {
      this.nodes.delete(name);
      return;
    }
    // kubectl's STATUS: `Ready`, `Ready,SchedulingDisabled`, `NotReady` (also for an Unknown condition).
    const ready = String(row.cells.Status ?? '').split(',')[0] === 'Ready';
    const entry: NodeEntry = { group: '', ready, since: old && !old.ready ? old.since : this.now() };
    this.nodes.set(name, entry);
    if (ready) return;
    this.notReadyNodes++;
    this.judgeNode(name, entry);
  }

  /**
   * A NotReady node is progress while its calico-node is on its way (without a CNI the kubelet cannot be Ready),
   * and for the start-up grace after it is Ready or when it has none; a problem after that.
   */
  private judgeNode(name: string, entry: NodeEntry): void {
    const key = `node/${name}`;
    this.starting.delete(key);
    const calicoNode = this.calicoNodes.get(name);
    const waiting = calicoNode !== undefined && !calicoNode.ready;
    const since = Math.max(entry.since, calicoNode?.since ?? 0);
    const problem = !waiting && this.now() - since > STARTUP_GRACE_MS;
    this.move(entry, name, 'nodes', 'NotReady', undefined, problem);
    if (!problem && !waiting) this.starting.set(key, { since, promote: () => this.move(entry, name, 'nodes', 'NotReady', undefined, true) });
  }

  /** A node's calico-node came, changed readiness or went (undefined): its node is judged again. */
  private setCalicoNode(node: string, ready: boolean | undefined): void {
    const old = this.calicoNodes.get(node);
    if (ready === undefined) this.calicoNodes.delete(node);
    else if (old?.ready !== ready) this.calicoNodes.set(node, { ready, since: this.now() });
    else return;
    const entry = this.nodes.get(node);
    if (entry && !entry.ready) this.judgeNode(node, entry);
  }
}

/** The operator first, then the DaemonSets, then the Deployments, by name. */
function byWorkload(a: WorkloadCount, b: WorkloadCount): number {
  const rank = (w: WorkloadCount) => (w.name === 'deployment/tigera-operator' ? 0 : w.name.startsWith('daemonset/') ? 1 : 2);
  return rank(a) - rank(b) || a.name.localeCompare(b.name);
}

/**
 * Whether a count is worth a line: the first time, when its total changed, when it reached the total, or when it
 * moved by a tenth of the total since the last line. Records it when it is.
 */
function moved(logged: Map<string, { count: number; total: number }>, key: string, count: number, total: number): boolean {
  const last = logged.get(key);
  const worth = !last || last.total !== total || (count >= total && last.count < total) || Math.abs(count - last.count) * 10 >= total;
  if (worth) logged.set(key, { count, total });
  return worth;
}

export function describe(group: Group): string {
  const count = group.members.size;
  const what = group.subject === 'nodes' ? `${count} node${count === 1 ? '' : 's'}` : `${count} pod${count === 1 ? '' : 's'}`;
  return `${group.subject}: ${what} ${group.reason}${group.message ? `: ${group.message}` : ''}`;
}
