// `kubectl calico node status`: what `calicoctl node status` shows on one
// host, for every node, through the API server — calico-node's own readiness
// checks and BIRD's BGP peers, run in each node's calico-node container over
// pods/exec (a bounded number at a time, transport failures retried), set
// against the sessions the BGP configuration says each node should have.
import { CliError } from '../../cli/errors.ts';
import { mapLimit } from '../../cli/limit.ts';
import type { KubeClient } from '../../kube/client.ts';
import { ApiError } from '../../kube/errors.ts';
import { exec, ExecError, type ExecErrorKind } from '../../kube/exec.ts';
import { listTable } from '../../kube/tables.ts';
import { INSTALLATION_PATH } from '../installed.ts';
import { pickNodeNames, picked, type NodePick } from '../node-pick.ts';
import { parseShowProtocols, BirdOutputError, type BirdPeer } from './bird.ts';
import { BgpTopology, DEFAULT_AS, key, type BgpConfiguration, type BgpNode, type BgpPeerSpec, type ExpectedPeer } from './topology.ts';

export const CALICO_NODE_NAMESPACE = 'calico-system';
const CONTAINER = 'calico-node';

/** The commands, as calico/node's image has them (calicoctl's socket paths; -s always given). */
export const COMMANDS = {
  birdcl: ['birdcl', '-s', '/var/run/calico/bird.ctl', 'show', 'protocols'],
  birdcl6: ['birdcl6', '-s', '/var/run/calico/bird6.ctl', 'show', 'protocols'],
  ready: (flags: string[]) => ['calico-node', ...flags.map((f) => `-${f}`)],
};

/** A check of calico-node's (`-felix-ready`, `-bird-ready`): ready, or its message. */
export interface Readiness {
  ready: boolean;
  message: string;
}

/** A row of BIRD's protocols table that is a BGP peer, with what the configuration says about it. */
export interface PeerRow extends BirdPeer {
  family: 4 | 6;
  /** The cluster node with this address. */
  peerNode?: string;
  /** The configuration accounts for it (false: BIRD has a session nobody asked for, or the configuration could not be read). */
  expected: boolean;
}

/** Why calico-node on a node could not be asked anything. */
export type ProblemKind = 'no-pod' | 'pod-not-running' | 'not-asked' | ExecErrorKind;

export interface NodeResult {
  name: string;
  /** The calico-node pod on it. */
  pod?: string;
  /** Its BGP addresses (the Calico Node's). */
  addresses: { ipv4?: string; ipv6?: string };
  problem?: { kind: ProblemKind; message: string };
  felix?: Readiness;
  bird?: Readiness;
  bird6?: Readiness;
  /** What birdcl (or birdcl6) said instead of the table. */
  birdErrors: string[];
  peers: PeerRow[];
  /** Sessions the configuration expects that BIRD does not have. */
  missing: ExpectedPeer[];
  /** Sessions: expected (or, unknown configuration, listed by BIRD) and Established. */
  sessions: { established: number; total: number };
  healthy: boolean;
}

export interface BgpFacts {
  /** BGP as the Installation sets it (calicoNetwork.bgp). */
  enabled: boolean;
  nodeToNodeMesh: boolean | undefined;
  asNumber: string | undefined;
  routeReflectors: string[];
  /** An IPv6 pool exists: BIRD6 is asked too. */
  ipv6: boolean;
  /** Per address family with an enabled pool, who programs the routes to other nodes' pods: Felix (VXLAN) or BIRD (IPIP, none). */
  routing: { ipv4?: Routing; ipv6?: Routing };
  pools: { name: string; cidr: string; encapsulation: string; disabled: boolean }[];
  /** The configuration could not be read (a permission): sessions are judged by BIRD's own list. */
  configurationError?: string;
}

export interface NodeStatusSnapshot {
  bgp: BgpFacts;
  /** The nodes asked about (in the cluster's order). */
  nodes: NodeResult[];
  /** Nodes named with --nodes or picked with -l: their every peer row is shown. */
  picked: boolean;
  /** Addresses of every node with one, for naming the other end of a session. */
  nodeAddresses: Record<string, { ipv4?: string; ipv6?: string }>;
}

export interface NodeStatusOptions {
  pick: NodePick;
  /** Execs in flight at once. */
  concurrency: number;
  /** For each exec. */
  execTimeoutMs: number;
  signal: AbortSignal;
  onProgress?: (done: number, total: number, unhealthy: number) => void;
}

interface Installation {
  spec?: { calicoNetwork?: { bgp?: string } };
}

/** An IPPool's spec, as much of it as says how its traffic travels. */
export interface PoolSpec {
  cidr?: string;
  ipipMode?: string;
  vxlanMode?: string;
  disabled?: boolean;
}

interface IPPool {
  metadata: { name: string };
  spec?: PoolSpec;
}

interface BgpConfigurationObject {
  spec?: { nodeToNodeMeshEnabled?: boolean; asNumber?: number | string; listenPort?: number };
}

interface Meta {
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const ANNOTATIONS = {
  ipv4: 'projectcalico.org/IPv4Address',
  ipv6: 'projectcalico.org/IPv6Address',
  asNumber: 'projectcalico.org/ASNumber',
  routeReflector: 'projectcalico.org/RouteReflectorClusterID',
};

export async function readNodeStatus(kube: KubeClient, options: NodeStatusOptions): Promise<NodeStatusSnapshot> {
  const [installation, pools, nodeTable, podTable, configuration] = await Promise.all([
    kube.optional<Installation>(INSTALLATION_PATH),
    kube.optional<{ items: IPPool[] }>('/apis/crd.projectcalico.org/v1/ippools'),
    listTable(kube, '/api/v1/nodes', { includeObject: 'Metadata' }),
    listTable(kube, `/api/v1/namespaces/${CALICO_NODE_NAMESPACE}/pods`, { labelSelector: 'k8s-app=calico-node', includeObject: 'Metadata' }),
    readBgpConfiguration(kube),
  ]);
  if (!installation) throw new CliError('Calico is not installed: there is no Installation "default" (kubectl calico status)');
  const enabled = installation.spec?.calicoNetwork?.bgp !== 'Disabled';
  const bgpNodes = nodeTable.rows.map((row): BgpNode => {
    const meta = (row.object as { metadata?: Meta } | undefined)?.metadata ?? {};
    const annotations = meta.annotations ?? {};
    const address = (a: string | undefined) => a?.split('/')[0] || undefined;
    return dropUndefined({
      name: meta.name ?? String(row.cells[0]),
      labels: meta.labels ?? {},
      ipv4: address(annotations[ANNOTATIONS.ipv4]),
      ipv6: address(annotations[ANNOTATIONS.ipv6]),
      asNumber: annotations[ANNOTATIONS.asNumber],
      routeReflectorClusterID: annotations[ANNOTATIONS.routeReflector],
    });
  });
  const topology = new BgpTopology(bgpNodes, configuration.config, configuration.peers);
  const poolFacts = (pools?.items ?? []).map((p) => ({ name: p.metadata.name, cidr: p.spec?.cidr ?? '', encapsulation: encapsulationOf(p.spec ?? {}), disabled: p.spec?.disabled === true }));
  const enabledPools = poolFacts.filter((p) => !p.disabled);
  const bgp: BgpFacts = {
    enabled,
    nodeToNodeMesh: configuration.error ? undefined : configuration.config.nodeToNodeMesh,
    asNumber: configuration.error ? undefined : configuration.config.asNumber,
    routeReflectors: topology.routeReflectors(),
    ipv6: enabledPools.some((p) => p.cidr.includes(':')),
    routing: podRouting((pools?.items ?? []).map((p) => p.spec ?? {})),
    pools: poolFacts,
    ...(configuration.error ? { configurationError: configuration.error } : {}),
  };

  const names = await pickNodeNames(kube, options.pick, bgpNodes.map((n) => n.name));
  const byName = new Map(bgpNodes.map((n) => [n.name, n]));
  const pods = podsByNode(podTable);
  const asker = new Asker(kube, options, bgp);
  let done = 0;
  let unhealthy = 0;
  const results = await mapLimit(names, options.concurrency, async (name): Promise<NodeResult> => {
    const node = byName.get(name)!;
    const result = await asker.ask(node, pods.get(name), topology, configuration.error === undefined);
    done++;
    if (!result.healthy) unhealthy++;
    options.onProgress?.(done, names.length, unhealthy);
    return result;
  }, { signal: options.signal, unfinished: (name) => notAsked(byName.get(name)!, pods.get(name)?.name, options.signal) });
  return {
    bgp,
    nodes: results,
    picked: picked(options.pick),
    nodeAddresses: Object.fromEntries(bgpNodes.filter((n) => n.ipv4 || n.ipv6).map((n) => [n.name, dropUndefined({ ipv4: n.ipv4, ipv6: n.ipv6 })])),
  };
}

/** BGPConfiguration `default` and the BGPPeers; a refused read leaves the configuration unknown rather than failing. */
async function readBgpConfiguration(kube: KubeClient): Promise<{ config: BgpConfiguration; peers: BgpPeerSpec[]; error?: string }> {
  try {
    const [defaults, peers] = await Promise.all([
      kube.optional<BgpConfigurationObject>('/apis/crd.projectcalico.org/v1/bgpconfigurations/default'),
      kube.optional<{ items: { metadata: { name: string }; spec?: Omit<BgpPeerSpec, 'name'> }[] }>('/apis/crd.projectcalico.org/v1/bgppeers'),
    ]);
    const spec = defaults?.spec ?? {};
    return {
      config: { nodeToNodeMesh: spec.nodeToNodeMeshEnabled ?? true, asNumber: String(spec.asNumber ?? DEFAULT_AS), ...(spec.listenPort ? { listenPort: spec.listenPort } : {}) },
      peers: (peers?.items ?? []).map((p) => ({ ...p.spec, name: p.metadata.name })),
    };
  } catch (error) {
    if (!(error instanceof ApiError) || error.statusCode !== 403) throw error;
    return { config: { nodeToNodeMesh: false, asNumber: DEFAULT_AS }, peers: [], error: error.message };
  }
}

export type Routing = 'vxlan' | 'bgp';

/**
 * Per address family with an enabled pool, who programs the routes to other nodes' pods: Felix for VXLAN pools
 * (BIRD's template refuses them), BGP for IPIP and unencapsulated ones; a family with any BGP-routed pool is `bgp`.
 * What a BGP session that is down breaks follows from it: node status, doctor and connectivity all ask here.
 */
export function podRouting(pools: PoolSpec[]): { ipv4?: Routing; ipv6?: Routing } {
  const enabled = pools.filter((p) => !p.disabled);
  const of = (v6: boolean): Routing | undefined => {
    const family = enabled.filter((p) => (p.cidr ?? '').includes(':') === v6);
    if (family.length === 0) return undefined;
    return family.every((p) => encapsulationOf(p).startsWith('VXLAN')) ? 'vxlan' : 'bgp';
  };
  return dropUndefined({ ipv4: of(false), ipv6: of(true) });
}

/** How an IP pool carries traffic between nodes: VXLAN, VXLANCrossSubnet, IPIP, IPIPCrossSubnet or None. */
function encapsulationOf(spec: PoolSpec): string {
  const mode = (m: string | undefined) => (m === 'Always' ? '' : m === 'CrossSubnet' ? 'CrossSubnet' : undefined);
  const vxlan = mode(spec.vxlanMode);
  if (vxlan !== undefined) return `VXLAN${vxlan}`;
  const ipip = mode(spec.ipipMode);
  if (ipip !== undefined) return `IPIP${ipip}`;
  return 'None';
}

/** The calico-node pod on each node, with kubectl's STATUS of it. */
function podsByNode(table: Awaited<ReturnType<typeof listTable>>): Map<string, { name: string; status: string; running: boolean }> {
  const column = (name: string) => table.columnDefinitions.findIndex((c) => c.name === name);
  const [status, node] = [column('Status'), column('Node')];
  const pods = new Map<string, { name: string; status: string; running: boolean }>();
  for (const row of table.rows) {
    const meta = (row.object as { metadata?: Meta & { deletionTimestamp?: string } } | undefined)?.metadata;
    const nodeName = String(row.cells[node] ?? '');
    if (!nodeName || nodeName === '<none>') continue;
    const state = String(row.cells[status] ?? '');
    const candidate = { name: meta?.name ?? String(row.cells[0]), status: state, running: state === 'Running' && !meta?.deletionTimestamp };
    // A node can briefly have two (one Terminating during a rollout): the running one is the one to ask.
    if (!pods.has(nodeName) || (candidate.running && !pods.get(nodeName)!.running)) pods.set(nodeName, candidate);
  }
  return pods;
}

function notAsked(node: BgpNode, pod: string | undefined, signal: AbortSignal): NodeResult {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
  return { ...emptyResult(node), ...(pod ? { pod } : {}), problem: { kind: 'not-asked', message: `not asked: ${reason}` } };
}

function emptyResult(node: BgpNode): NodeResult {
  return { name: node.name, addresses: dropUndefined({ ipv4: node.ipv4, ipv6: node.ipv6 }), birdErrors: [], peers: [], missing: [], sessions: { established: 0, total: 0 }, healthy: false };
}

/** Runs the commands in one node's calico-node; remembers a refusal of pods/exec, which holds for every pod of the namespace. */
class Asker {
  private readonly kube: KubeClient;
  private readonly options: NodeStatusOptions;
  private readonly bgp: BgpFacts;
  private forbidden: ExecError | undefined;

  constructor(kube: KubeClient, options: NodeStatusOptions, bgp: BgpFacts) {
    this.kube = kube;
    this.options = options;
    this.bgp = bgp;
  }

  async ask(node: BgpNode, pod: { name: string; status: string; running: boolean } | undefined, topology: BgpTopology, configurationKnown: boolean): Promise<NodeResult> {
    const result = emptyResult(node);
    if (!pod) return { ...result, problem: { kind: 'no-pod', message: 'no calico-node pod on this node' } };
    result.pod = pod.name;
    if (!pod.running) return { ...result, problem: { kind: 'pod-not-running', message: `calico-node pod ${pod.name} is ${pod.status || 'not running'}` } };
    try {
      await this.readiness(pod.name, result);
      if (this.bgp.enabled) await this.peers(pod.name, node, result, topology, configurationKnown);
    } catch (error) {
      if (!(error instanceof ExecError)) throw error;
      result.problem = { kind: error.kind, message: error.message };
      result.felix = undefined;
      result.bird = undefined;
      result.bird6 = undefined;
      result.peers = [];
      result.missing = [];
      return result;
    }
    const bgpHealthy = !this.bgp.enabled || (result.bird?.ready !== false && result.bird6?.ready !== false && result.birdErrors.length === 0 && result.missing.length === 0 && result.peers.every((p) => p.expected && p.bgpState === 'Established'));
    result.healthy = result.felix?.ready === true && bgpHealthy;
    return result;
  }

  /** The readiness probe's own command (one exec when all is well); on a failure each check alone, for its message. */
  private async readiness(pod: string, result: NodeResult): Promise<void> {
    const flags = ['felix-ready', ...(this.bgp.enabled ? ['bird-ready'] : []), ...(this.bgp.enabled && this.bgp.ipv6 ? ['bird6-ready'] : [])];
    const all = await this.run(pod, COMMANDS.ready(flags));
    const checks = all.exitCode === 0 ? flags.map(() => all) : await Promise.all(flags.map((flag) => this.run(pod, COMMANDS.ready([flag]))));
    flags.forEach((flag, i) => {
      const { exitCode, stdout, stderr } = checks[i]!;
      const readiness = { ready: exitCode === 0, message: exitCode === 0 ? '' : (stdout.trim() || stderr.trim() || `exit code ${exitCode}`) };
      if (flag === 'felix-ready') result.felix = readiness;
      else if (flag === 'bird-ready') result.bird = readiness;
      else result.bird6 = readiness;
    });
  }

  private async peers(pod: string, node: BgpNode, result: NodeResult, topology: BgpTopology, configurationKnown: boolean): Promise<void> {
    for (const family of this.bgp.ipv6 ? [4, 6] as const : [4] as const) {
      const run = await this.run(pod, family === 4 ? COMMANDS.birdcl : COMMANDS.birdcl6);
      const expected = configurationKnown ? topology.expected(node.name, family) : [];
      const expectedKeys = new Map(expected.map((p) => [key(p), p]));
      if (run.exitCode !== 0) {
        result.birdErrors.push(`${family === 4 ? 'birdcl' : 'birdcl6'}: ${(run.stderr.trim() || run.stdout.trim() || `exit code ${run.exitCode}`).split('\n')[0]}`);
        result.sessions.total += expected.length;
        continue;
      }
      let rows: BirdPeer[];
      try {
        rows = parseShowProtocols(run.stdout, family);
      } catch (error) {
        if (!(error instanceof BirdOutputError)) throw error;
        result.birdErrors.push(`${family === 4 ? 'birdcl' : 'birdcl6'}: ${error.message}`);
        continue;
      }
      const seen = new Set<string>();
      for (const row of rows) {
        seen.add(key(row));
        const peerNode = expectedKeys.get(key(row))?.node ?? topology.nodeAt(row.address);
        result.peers.push({ ...row, family, ...(peerNode ? { peerNode } : {}), expected: !configurationKnown || expectedKeys.has(key(row)) });
      }
      result.missing.push(...expected.filter((p) => !seen.has(key(p))));
    }
    const established = result.peers.filter((p) => p.bgpState === 'Established').length;
    result.sessions = { established, total: result.sessions.total + result.peers.length + result.missing.length };
  }

  /** One command; transport failures are retried (twice, after a short pause), anything else is the answer. */
  private async run(pod: string, command: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    if (this.forbidden) throw this.forbidden;
    for (let attempt = 1; ; attempt++) {
      try {
        return await exec(this.kube, { namespace: CALICO_NODE_NAMESPACE, pod, container: CONTAINER, command, timeoutMs: this.options.execTimeoutMs, signal: this.options.signal, maxOutputBytes: 4 * 1024 * 1024 });
      } catch (error) {
        if (error instanceof ExecError && error.kind === 'forbidden') this.forbidden ??= error;
        if (!(error instanceof ExecError) || !error.retryable || attempt >= 3 || this.options.signal.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
