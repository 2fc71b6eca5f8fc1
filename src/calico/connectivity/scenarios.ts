// The connectivity scenarios as data: each a stable name (what --test
// matches), the phase it runs in (the NetworkPolicies in force), and a
// function from the deployed workload to the probes it makes. Which nodes
// probe: every selected node for the scenarios that tell one node's data path
// from another's; pairs of nodes sampled on large clusters so that every node
// is a source and a destination at least once (--max-pairs more at random);
// a spread sample of nodes for the rest (DNS, policy, outside).
import { UsageError } from '../../cli/errors.ts';

/** The NetworkPolicies in force while a scenario's probes run (workload.ts applies them). */
export type Phase = 'basic' | 'ingress-deny' | 'ingress-allow' | 'egress';
export const PHASES: Phase[] = ['basic', 'ingress-deny', 'ingress-allow', 'egress'];

/** A connectivity pod (echo or client) on a node, with its addresses (IPv4 first when it has both; only IPv6 on an IPv6-only cluster). */
export interface PodEnd {
  pod: string;
  node: string;
  ips: string[];
}

/** A hostNetwork pod: its node's own network, at the node's InternalIPs (IPv4 first). */
export interface HostEnd {
  pod: string;
  node: string;
  ips: string[];
}

/** What was deployed and is ready to probe. */
export interface Topology {
  /** Nodes with a ready echo and client pod, sorted by name: the nodes probed. */
  nodes: string[];
  echo: Map<string, PodEnd>;
  client: Map<string, PodEnd>;
  hosts: HostEnd[];
  service: { name: string; ips: string[]; port: number };
  /** The node network of each node (calico-node's projectcalico.org/IPv4Address, else its IPv6Address), when known. */
  subnets: Map<string, string>;
}

export interface PlanOptions {
  /** Cross-node pairs probed beyond the sample that covers every node (every pair when that is no more). */
  maxPairs: number;
  /** HOST:PORT outside the cluster, for pod-to-external. */
  externalTarget: string | undefined;
  random: () => number;
}

/** connect: agnhost opens a TCP connection; blocked: it must not; resolve: dig finds an address. */
export type Expectation = 'connect' | 'blocked' | 'resolve';

export interface Target {
  kind: 'pod' | 'host' | 'service' | 'name' | 'external';
  pod?: string;
  node?: string;
  /** The address probed: a pod's, a node's or a ClusterIP (for a name, what it should resolve to is not known in advance). */
  ip?: string;
  /** A DNS name, or an outside HOST. */
  name?: string;
  port?: number;
}

export interface Probe {
  scenario: string;
  from: { pod: string; node: string; ip: string; host: boolean };
  to: Target;
  expect: Expectation;
  /** argv run in the source pod's agnhost container: for a connection to a name, the lookup (the connection follows to the address found). */
  command: string[];
  /** How long the probe itself may take (agnhost's --timeout, dig's +time). */
  timeoutSeconds: number;
  /** The basic scenario that must have passed on this node for a policy probe to mean anything. */
  requires?: { scenario: string; node: string };
}

export interface Scenario {
  name: string;
  /** One line, for --help, the README and reports. */
  summary: string;
  phase: Phase;
  /** Why the scenario cannot run on this cluster or with these flags; undefined when it can. */
  unavailable?(topology: Topology, options: PlanOptions): string | undefined;
  probes(topology: Topology, options: PlanOptions): Probe[];
}

export const ECHO_PORT = 9376;
export const SERVICE_PORT = 80;
/** The port the hostNetwork pods serve on, on their node's addresses. */
export const HOST_PORT = 9376;
/** agnhost connect's --timeout for a connection that should open, and for one a policy should block (the expected case, kept short). */
const CONNECT_TIMEOUT = 2;
const BLOCKED_TIMEOUT = 1;
/** Scenarios that do not tell one node's data path from another's (DNS, policy, outside) probe from this many nodes at most. */
export const SAMPLE_NODES = 50;

const familyOf = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);
const ipOf = (end: PodEnd, family: 4 | 6) => end.ips.find((ip) => familyOf(ip) === family);
const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export function connectCommand(host: string, port: number, timeoutSeconds: number): string[] {
  return ['/agnhost', 'connect', hostPort(host, port), `--timeout=${timeoutSeconds}s`];
}

/**
 * dig with the pod's search path (+search), as a pod's own resolver would look the name up; one try. The A record,
 * or the AAAA record for pods that have only IPv6 (dig asks for A unless told, and an IPv6-only cluster has none).
 */
export function resolveCommand(name: string, timeoutSeconds: number, family: 4 | 6 = 4): string[] {
  return ['dig', '+search', '+short', `+time=${timeoutSeconds}`, '+tries=1', name, ...(family === 6 ? ['AAAA'] : [])];
}

/**
 * The family of the probes that are not about one family (policy, hosts, names, outside): the pods' IPv4 when they
 * have it, else their IPv6 (an IPv6-only cluster).
 */
export function podFamily(t: Pick<Topology, 'nodes' | 'client'>): 4 | 6 {
  return t.nodes.some((node) => ipOf(t.client.get(node)!, 4)) ? 4 : 6;
}

/** Why the per-family scenarios of `family` have nothing to probe: no probed node's pods have such an address. */
function noFamily(family: 4 | 6): (t: Topology) => string | undefined {
  return (t) => (t.nodes.some((node) => ipOf(t.echo.get(node)!, family) && ipOf(t.client.get(node)!, family)) ? undefined
    : family === 4 ? 'no IPv4 pod addresses (an IPv6-only cluster: the -ipv6 scenarios probe it)' : 'no IPv6 pod addresses (neither dual-stack nor IPv6-only)');
}

function fromPod(end: PodEnd, family: 4 | 6): Probe['from'] {
  return { pod: end.pod, node: end.node, ip: ipOf(end, family) ?? end.ips[0] ?? '', host: false };
}

function toPod(end: PodEnd, family: 4 | 6): Target {
  return { kind: 'pod', pod: end.pod, node: end.node, ip: ipOf(end, family) ?? end.ips[0]!, port: ECHO_PORT };
}

function hostIP(host: HostEnd, family: 4 | 6): string {
  return host.ips.find((ip) => familyOf(ip) === family) ?? host.ips[0]!;
}

/**
 * A connection probe. A target by name is looked up first with dig and the pod's search path (one try of
 * `timeoutSeconds`: Go's resolver in agnhost would wait 5 s × 2 tries for each of the search names when DNS is
 * lost), then connected to by address: probe.ts runs the two steps.
 */
function connect(scenario: string, from: Probe['from'], to: Target, family: 4 | 6, expect: 'connect' | 'blocked' = 'connect', requires?: Probe['requires']): Probe {
  const timeoutSeconds = expect === 'blocked' ? BLOCKED_TIMEOUT : CONNECT_TIMEOUT;
  const command = to.ip ? connectCommand(to.ip, to.port!, timeoutSeconds) : resolveCommand(to.name!, timeoutSeconds, family);
  return { scenario, from, to, expect, command, timeoutSeconds, ...(requires ? { requires } : {}) };
}

/** Same-node client → echo, on every probed node. */
function sameNode(scenario: string, family: 4 | 6): Scenario['probes'] {
  return (t) => t.nodes.flatMap((node) => {
    const client = t.client.get(node)!;
    const echo = t.echo.get(node)!;
    return ipOf(echo, family) ? [connect(scenario, fromPod(client, family), toPod(echo, family), family)] : [];
  });
}

function crossNode(scenario: string, family: 4 | 6): Scenario['probes'] {
  return (t, o) => crossNodePairs(t.nodes, o.maxPairs, o.random).pairs.flatMap(([a, b]) => {
    const echo = t.echo.get(b)!;
    return ipOf(echo, family) ? [connect(scenario, fromPod(t.client.get(a)!, family), toPod(echo, family), family)] : [];
  });
}

function toService(scenario: string, family: 4 | 6): Scenario['probes'] {
  return (t) => {
    const ip = t.service.ips.find((i) => familyOf(i) === family);
    if (!ip) return [];
    return t.nodes.map((node) => connect(scenario, fromPod(t.client.get(node)!, family), { kind: 'service', name: t.service.name, ip, port: t.service.port }, family));
  };
}

const oneNode = (t: Topology) => (t.nodes.length > 1 ? undefined : 'only one node is probed');
const noHosts = (t: Topology) => (t.hosts.length ? undefined : 'no hostNetwork pod became ready');

/** A policy probe: same-node client → echo in the pods' family, which pod-to-pod-same-node(-ipv6) showed to work without policy. */
function policyProbe(scenario: string, expect: 'connect' | 'blocked'): Scenario['probes'] {
  return (t) => {
    const family = podFamily(t);
    const basic = family === 4 ? 'pod-to-pod-same-node' : 'pod-to-pod-same-node-ipv6';
    return sampleNodes(t.nodes, t.subnets, SAMPLE_NODES).map((node) =>
      connect(scenario, fromPod(t.client.get(node)!, family), toPod(t.echo.get(node)!, family), family, expect, { scenario: basic, node }));
  };
}

/** From a sample of nodes' client pods to a name (looked up in the pods' family first). */
function toName(scenario: string, name: string, port: number): Scenario['probes'] {
  return (t) => {
    const family = podFamily(t);
    return sampleNodes(t.nodes, t.subnets, SAMPLE_NODES).map((node) => connect(scenario, fromPod(t.client.get(node)!, family), { kind: 'name', name, port }, family));
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'pod-to-pod-same-node',
    summary: 'a pod reaches a pod on its own node by pod IP (every node)',
    phase: 'basic',
    unavailable: noFamily(4),
    probes: sameNode('pod-to-pod-same-node', 4),
  },
  {
    name: 'pod-to-pod-cross-node',
    summary: 'a pod reaches pods on other nodes by pod IP (every pair of nodes, or a sample covering every node both ways and --max-pairs more)',
    phase: 'basic',
    unavailable: (t) => noFamily(4)(t) ?? oneNode(t),
    probes: crossNode('pod-to-pod-cross-node', 4),
  },
  {
    name: 'pod-to-service',
    summary: "a pod reaches a Service's ClusterIP, forwarded to a pod on any node (every node)",
    phase: 'basic',
    unavailable: (t) => noFamily(4)(t) ?? (t.service.ips.some((ip) => familyOf(ip) === 4) ? undefined : 'the Service got no IPv4 ClusterIP'),
    probes: toService('pod-to-service', 4),
  },
  {
    name: 'pod-to-service-dns',
    summary: "a pod reaches the Service by its short name, resolved through the pod's DNS search path",
    phase: 'basic',
    probes: (t, o) => toName('pod-to-service-dns', t.service.name, t.service.port)(t, o),
  },
  {
    name: 'pod-to-kubernetes-default',
    summary: 'a pod reaches the API server as kubernetes.default:443, the Service every in-cluster client uses',
    phase: 'basic',
    probes: toName('pod-to-kubernetes-default', 'kubernetes.default', 443),
  },
  {
    name: 'pod-to-node',
    summary: "a pod reaches a node's address (a hostNetwork pod's port) (every node)",
    phase: 'basic',
    unavailable: noHosts,
    probes: (t) => {
      const family = podFamily(t);
      return t.nodes.map((node, i) => {
        const host = pickHost(t.hosts, node, i);
        return connect('pod-to-node', fromPod(t.client.get(node)!, family), { kind: 'host', pod: host.pod, node: host.node, ip: hostIP(host, family), port: HOST_PORT }, family);
      });
    },
  },
  {
    name: 'node-to-pod',
    summary: "a node's host network reaches pods, as the kubelet's probes do (every node's pod)",
    phase: 'basic',
    unavailable: noHosts,
    probes: (t) => {
      const family = podFamily(t);
      return t.nodes.map((node, i) => {
        const host = pickHost(t.hosts, node, i);
        return connect('node-to-pod', { pod: host.pod, node: host.node, ip: hostIP(host, family), host: true }, toPod(t.echo.get(node)!, family), family);
      });
    },
  },
  {
    name: 'pod-to-external',
    summary: 'a pod reaches --external-target (HOST:PORT outside the cluster; opt-in, as air-gapped clusters reach nothing)',
    phase: 'basic',
    unavailable: (_t, o) => (o.externalTarget ? undefined : 'no --external-target given'),
    probes: (t, o) => {
      const { host, port } = splitTarget(o.externalTarget!);
      const external = /^[\d.]+$|:/.test(host) ? { ip: host } : { name: host };
      const family = podFamily(t);
      return sampleNodes(t.nodes, t.subnets, SAMPLE_NODES).map((node) => connect('pod-to-external', fromPod(t.client.get(node)!, family), { kind: 'external', ...external, port }, family));
    },
  },
  {
    name: 'ingress-default-deny',
    summary: 'with a default-deny ingress NetworkPolicy, a pod can no longer be reached',
    phase: 'ingress-deny',
    probes: policyProbe('ingress-default-deny', 'blocked'),
  },
  {
    name: 'ingress-allow-from-label',
    summary: 'an ingress rule allowing pods by label lets them through the default deny again',
    phase: 'ingress-allow',
    probes: policyProbe('ingress-allow-from-label', 'connect'),
  },
  {
    name: 'egress-default-deny',
    summary: 'with a default-deny egress NetworkPolicy that allows only DNS, a pod can no longer reach another pod',
    phase: 'egress',
    probes: policyProbe('egress-default-deny', 'blocked'),
  },
  {
    name: 'egress-allow-dns',
    summary: 'the same egress policy lets DNS through: the pod still resolves kubernetes.default',
    phase: 'egress',
    probes: (t) => {
      const family = podFamily(t);
      return sampleNodes(t.nodes, t.subnets, SAMPLE_NODES).map((node) => ({
        scenario: 'egress-allow-dns',
        from: fromPod(t.client.get(node)!, family),
        to: { kind: 'name', name: 'kubernetes.default', port: 53 },
        expect: 'resolve',
        command: resolveCommand('kubernetes.default', CONNECT_TIMEOUT, family),
        timeoutSeconds: CONNECT_TIMEOUT,
        requires: { scenario: 'pod-to-kubernetes-default', node },
      }));
    },
  },
  {
    name: 'pod-to-pod-same-node-ipv6',
    summary: 'pod-to-pod-same-node over IPv6 (dual-stack and IPv6-only clusters)',
    phase: 'basic',
    unavailable: noFamily(6),
    probes: sameNode('pod-to-pod-same-node-ipv6', 6),
  },
  {
    name: 'pod-to-pod-cross-node-ipv6',
    summary: 'pod-to-pod-cross-node over IPv6 (dual-stack and IPv6-only clusters)',
    phase: 'basic',
    unavailable: (t) => noFamily(6)(t) ?? oneNode(t),
    probes: crossNode('pod-to-pod-cross-node-ipv6', 6),
  },
  {
    name: 'pod-to-service-ipv6',
    summary: "pod-to-service to the Service's IPv6 ClusterIP (dual-stack and IPv6-only clusters)",
    phase: 'basic',
    unavailable: (t) => noFamily(6)(t) ?? (t.service.ips.some((ip) => familyOf(ip) === 6) ? undefined : 'the Service got no IPv6 ClusterIP'),
    probes: toService('pod-to-service-ipv6', 6),
  },
];

/** The host pod to pair with `node`: one on another node when there is one, alternating to use both. */
function pickHost(hosts: HostEnd[], node: string, index: number): HostEnd {
  const others = hosts.filter((h) => h.node !== node);
  const choices = others.length ? others : hosts;
  return choices[index % choices.length]!;
}

/** `HOST:PORT` or `[IPv6]:PORT`; a UsageError for anything else. */
export function splitTarget(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) throw new UsageError(`invalid --external-target "${value}": expected HOST:PORT, such as example.com:443 or 203.0.113.10:80`);
  return { host: match[1] ?? match[2]!, port };
}

/**
 * The scenarios `--test` selects: each value a regular expression (unanchored,
 * as cilium-cli matches them), several given by repeating the flag or
 * separating them with commas; a leading `!` skips what it matches. With only
 * skips, every other scenario runs.
 */
export function selectScenarios(patterns: string[]): Scenario[] {
  const compile = (text: string) => {
    try {
      return new RegExp(text);
    } catch (error) {
      throw new UsageError(`invalid --test "${text}": ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`);
    }
  };
  const parts = patterns.flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  const run = parts.filter((p) => !p.startsWith('!')).map(compile);
  const skip = parts.filter((p) => p.startsWith('!')).map((p) => compile(p.slice(1)));
  const selected = SCENARIOS.filter((s) => (run.length === 0 || run.some((r) => r.test(s.name))) && !skip.some((r) => r.test(s.name)));
  if (selected.length === 0) throw new UsageError(`--test ${patterns.join(',')} selects no scenario; the scenarios are: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return selected;
}

export interface Pairs {
  pairs: [string, string][];
  /** Every ordered pair of distinct nodes. */
  total: number;
}

/**
 * Ordered pairs of distinct nodes to probe: every one when they are no more than
 * the nodes plus `maxPairs`; otherwise a random cycle through all nodes (each
 * node once a source and once a destination, never itself) and `maxPairs`
 * other pairs drawn at random.
 */
export function crossNodePairs(nodes: string[], maxPairs: number, random: () => number): Pairs {
  const n = nodes.length;
  const total = n * (n - 1);
  if (total <= n + maxPairs) return { pairs: nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b): [string, string] => [a, b])), total };
  const order = [...nodes];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const pairs = order.map((a, i): [string, string] => [a, order[(i + 1) % n]!]);
  const chosen = new Set(pairs.map(([a, b]) => `${a}\n${b}`));
  // Rejection sampling: with total > n + maxPairs, a free pair turns up in a few draws.
  while (pairs.length < n + maxPairs) {
    const a = nodes[Math.floor(random() * n)]!;
    const b = nodes[Math.floor(random() * n)]!;
    if (a === b || chosen.has(`${a}\n${b}`)) continue;
    chosen.add(`${a}\n${b}`);
    pairs.push([a, b]);
  }
  return { pairs, total };
}

/**
 * At most `limit` of `nodes`, spread over the list, with every subnet's first
 * node among them (cross-subnet paths differ); all of them when they fit.
 */
export function sampleNodes(nodes: string[], subnets: Map<string, string>, limit: number): string[] {
  if (nodes.length <= limit) return nodes;
  const firstOfSubnet = new Map<string, string>();
  for (const node of nodes) {
    const subnet = subnets.get(node);
    if (subnet !== undefined && !firstOfSubnet.has(subnet)) firstOfSubnet.set(subnet, node);
  }
  const chosen = new Set([...firstOfSubnet.values()].slice(0, limit));
  const step = nodes.length / limit;
  for (let i = 0; chosen.size < limit && i < limit; i++) chosen.add(nodes[Math.floor(i * step)]!);
  for (const node of nodes) {
    if (chosen.size >= limit) break;
    chosen.add(node);
  }
  return nodes.filter((node) => chosen.has(node));
}
