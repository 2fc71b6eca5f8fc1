// From results to causes: rules (data — an id and what they cover — plus a
// function) that read the failed probes together with what the cluster says
// (pools and their encapsulation, the nodes' subnets, calico-node's readiness
// and BGP sessions, CoreDNS) and name the cause, the nodes and the fix. Each
// rule claims the failures it explains, in order from the most local cause
// (a node whose pods reach nothing) to the most general, so one failure is
// explained once; what no rule explains is reported as it is.
import { podRouting } from '../bgp/node-status.ts';
import { containsAddress } from '../cidr.ts';
import { groupKey } from '../pods.ts';
import type { DataplaneFacts, Pool } from './facts.ts';
import type { ProbeResult } from './probe.ts';

export type Severity = 'error' | 'info';

export interface Finding {
  /** Stable: what kind of cause (README "Findings"). */
  id: string;
  /** error fails the run; info is said but does not. */
  severity: Severity;
  cause: string;
  nodes: string[];
  fix: string;
  scenarios: string[];
  /** The failed probes it explains. */
  probes: number;
}

export interface NotReadyPod {
  pod: string;
  node: string;
  component: string;
  reason: string;
  message: string;
}

export interface DiagnosisInput {
  results: ProbeResult[];
  facts: DataplaneFacts;
  /** Connectivity pods that did not become Ready (their nodes were not probed). */
  notReady: NotReadyPod[];
  /** Selected nodes the pods cannot run on, and why (a taint). */
  notScheduled: { node: string; reason: string }[];
  namespace: string;
}

interface Context extends DiagnosisInput {
  /** Failed (or not run) probes no rule has explained yet. */
  open: Set<ProbeResult>;
  findings: Finding[];
  /** The results read once, by what the rules ask of them (a rule runs over thousands of nodes and probes). */
  index: ResultIndex;
}

interface ResultIndex {
  /** The probes from each node's pods (not its host), skipped ones left out. */
  fromPods: Map<string, ProbeResult[]>;
  /** Whether the same-node pod-to-pod probes from a node passed (every family's): absent when none ran there. */
  sameNode: Map<string, boolean>;
  /** Nodes whose pods reached a pod, a Service by ClusterIP. */
  podsWork: Set<string>;
  serviceWorks: Set<string>;
  /** Probes per scenario. */
  total: Map<string, number>;
}

function indexResults(results: ProbeResult[]): ResultIndex {
  const index: ResultIndex = { fromPods: new Map(), sameNode: new Map(), podsWork: new Set(), serviceWorks: new Set(), total: new Map() };
  for (const r of results) {
    const node = r.from.node;
    index.total.set(r.scenario, (index.total.get(r.scenario) ?? 0) + 1);
    if (!r.from.host && r.result !== 'SKIP') push(index.fromPods, node, r);
    if (/^pod-to-pod-same-node(-ipv6)?$/.test(r.scenario) && r.result !== 'SKIP') index.sameNode.set(node, (index.sameNode.get(node) ?? true) && r.result === 'PASS');
    if (r.result !== 'PASS') continue;
    if (/^pod-to-pod-(same|cross)-node/.test(r.scenario)) index.podsWork.add(node);
    if (/^pod-to-service(-ipv6)?$/.test(r.scenario)) index.serviceWorks.add(node);
  }
  return index;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

interface Rule {
  id: string;
  diagnose(ctx: Context): Finding[];
}

const failed = (r: ProbeResult) => r.result === 'FAIL' || r.result === 'ERROR';

/** Marks probes explained; returns how many were still open. */
function claim(ctx: Context, probes: Iterable<ProbeResult>): number {
  let n = 0;
  for (const p of probes) if (ctx.open.delete(p)) n++;
  return n;
}

/** The first of `pods` not Ready, and why: `echo-x on node-a: ImagePullBackOff: … (and 3 more)`. */
export function describeNotReady(pods: { pod: string; node: string; reason: string; message: string }[]): string {
  if (!pods.length) return 'its pods did not become ready';
  const first = pods[0]!;
  return `${first.pod || 'no pod'} on ${first.node}: ${first.reason}: ${first.message}${pods.length > 1 ? ` (and ${pods.length - 1} more)` : ''}`;
}

/** `a, b, c and 4 more`. */
export function names(items: string[], max = 5): string {
  const unique = [...new Set(items)];
  if (unique.length <= max) return unique.length > 1 ? `${unique.slice(0, -1).join(', ')} and ${unique.at(-1)}` : (unique[0] ?? '');
  return `${unique.slice(0, max).join(', ')} and ${unique.length - max} more`;
}

function scenariosOf(probes: ProbeResult[]): string[] {
  return [...new Set(probes.map((p) => p.scenario))];
}

/** Whether pod-to-pod-same-node (and its IPv6 twin) passed on `node`: true, false, or undefined when it did not run there. */
function sameNodeWorks(ctx: Context, node: string): boolean | undefined {
  return ctx.index.sameNode.get(node);
}

/** A node's network in the family of a pool's traffic (the other family's when calico-node gave it only that). */
function subnetOf(facts: DataplaneFacts, node: string, family: 4 | 6): string | undefined {
  const n = facts.nodes.get(node);
  return family === 6 ? n?.subnet6 ?? n?.subnet : n?.subnet ?? n?.subnet6;
}

function poolOf(facts: DataplaneFacts, ip: string | undefined): Pool | undefined {
  return ip ? facts.pools.find((p) => containsAddress(p.cidr, ip)) : undefined;
}

function calicoNodeWords(facts: DataplaneFacts, node: string): string {
  const cn = facts.calicoNodes.get(node);
  if (!cn) return `no calico-node pod runs on ${node}`;
  return cn.ready ? `calico-node there (${cn.pod}) is Ready` : `calico-node there (${cn.pod}) is not Ready: ${cn.message}`;
}

/** What calico-node says on a node, to put nodes that say the same in one finding (numbers, such as addresses, aside). */
function calicoNodeState(facts: DataplaneFacts, node: string): string {
  const cn = facts.calicoNodes.get(node);
  return !cn ? 'none' : cn.ready ? 'ready' : `not ready ${groupKey(cn.message)}`;
}

/** calicoNodeWords for nodes in the same calicoNodeState. */
function calicoNodesWords(facts: DataplaneFacts, nodes: string[]): string {
  if (nodes.length === 1) return calicoNodeWords(facts, nodes[0]!);
  const cn = facts.calicoNodes.get(nodes[0]!);
  if (!cn) return 'no calico-node pod runs on them';
  return cn.ready ? 'calico-node is Ready on each of them' : `calico-node is not Ready on any of them, e.g. ${cn.pod}: ${cn.message}`;
}

/** Nodes grouped by what their calico-node says, each group sorted. */
function byCalicoNodeState(facts: DataplaneFacts, nodes: Iterable<string>): string[][] {
  const groups = new Map<string, string[]>();
  for (const node of nodes) push(groups, calicoNodeState(facts, node), node);
  return [...groups.values()].map((group) => group.sort());
}

/** `1 node`, `3 nodes`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const rules: Rule[] = [
  {
    // The pods could not even start there: nothing was probed on those nodes.
    id: 'pods-not-ready',
    diagnose: (ctx) => {
      const groups = new Map<string, NotReadyPod[]>();
      for (const pod of ctx.notReady) {
        const key = groupKey(pod.reason, pod.message.replace(/^container \S+ /, ''));
        push(groups, key, pod);
      }
      return [...groups.values()].map((pods) => {
        const first = pods[0]!;
        const nodes = [...new Set(pods.map((p) => p.node))].sort();
        const calico = nodes.filter((n) => !ctx.facts.calicoNodes.get(n)?.ready);
        const pull = first.reason === 'ImagePullBackOff';
        return {
          id: 'pods-not-ready',
          severity: 'error',
          cause: `the connectivity pods did not become Ready on ${names(nodes)}, which were not probed: ${first.reason}: ${first.message}${calico.length ? `; ${calicoNodeWords(ctx.facts, calico[0]!)}` : ''}`,
          nodes,
          fix: pull ? 'mirror the image to a registry the nodes can pull from and pass it with --image'
            : calico.length ? `kubectl -n calico-system describe pod ${ctx.facts.calicoNodes.get(calico[0]!)?.pod ?? '-l k8s-app=calico-node'}`
              : `kubectl -n ${ctx.namespace} describe pod ${first.pod || `-l app.kubernetes.io/component=${first.component}`}`,
          scenarios: [],
          probes: 0,
        };
      });
    },
  },
  {
    // Probes that could not run say nothing about the network.
    id: 'exec-failed',
    diagnose: (ctx) => {
      const groups = new Map<string, ProbeResult[]>();
      for (const r of ctx.open) if (r.result === 'ERROR') push(groups, r.error ?? 'failed', r);
      return [...groups].map(([kind, probes]): Finding => {
        const nodes = [...new Set(probes.map((p) => p.from.node))].sort();
        const n = claim(ctx, probes);
        const base = { severity: 'error' as const, nodes, scenarios: scenariosOf(probes), probes: n };
        if (kind === 'program-missing') return { ...base, id: 'program-missing', cause: `${n} probes could not run: ${probes[0]!.detail}`, fix: 'pass an agnhost image with --image (registry.k8s.io/e2e-test-images/agnhost, or a mirror of it)' };
        if (kind === 'kubelet-unreachable') return { ...base, id: 'kubelet-unreachable', cause: `the API server cannot reach the kubelet of ${names(nodes)}, so probes could not run there: ${probes[0]!.detail}`, fix: 'let the control plane reach TCP 10250 on those nodes and check the kubelet (systemctl status kubelet)' };
        return { ...base, id: 'probe-not-run', cause: `${n} probes could not run (${kind}): ${probes[0]!.detail}`, fix: 'run again; -v 6 logs every exec request' };
      });
    },
  },
  {
    // Every probe from a node fails, even to the pod beside it: that node's own data plane.
    id: 'node-down',
    diagnose: (ctx) => {
      const findings: Finding[] = [];
      const down = [...ctx.index.fromPods].filter(([node, from]) => sameNodeWorks(ctx, node) === false && from.length >= 2 && from.every((r) => r.result === 'FAIL')).map(([node]) => node);
      if (!down.length) return [];
      const byNode = new Map<string, ProbeResult[]>();
      for (const r of ctx.open) {
        push(byNode, r.from.node, r);
        if (r.to.node && r.to.node !== r.from.node) push(byNode, r.to.node, r);
      }
      let landable = [...ctx.open].filter((r) => r.result === 'FAIL' && (r.to.kind === 'service' || r.to.kind === 'name'));
      const coreDNS = new Set(ctx.facts.coreDNS.nodes);
      // Nodes down alike (calico-node saying the same on each, as in a rollout gone wrong) are one finding.
      for (const nodes of byCalicoNodeState(ctx.facts, down)) {
        const involved = new Set(nodes.flatMap((node) => byNode.get(node) ?? []).filter((r) => ctx.open.has(r)));
        // A Service probe may land on these nodes' pods — by ClusterIP, or by name once the lookup resolved (kube-proxy
        // picks the endpoint at random, so which probes land here changes from run to run) — and a lookup on a CoreDNS pod here.
        const dnsHere = nodes.some((node) => coreDNS.has(node));
        landable = landable.filter((r) => ctx.open.has(r));
        const landed = landable.filter((r) => !involved.has(r) && (r.to.kind === 'service' || /^resolved /.test(r.detail) || (dnsHere && /^DNS:/.test(r.detail))));
        const n = claim(ctx, [...involved, ...landed]);
        const one = nodes.length === 1;
        const cn = ctx.facts.calicoNodes.get(nodes[0]!);
        const alsoFail = landed.length ? `; ${landed.length} Service or DNS probes from other nodes fail with ${one ? 'it' : 'them'} (their pod${dnsHere ? ', or CoreDNS,' : ''} sits on ${one ? nodes[0] : 'one of them'})` : '';
        const fix = !cn ? 'kubectl -n calico-system get daemonset calico-node; kubectl calico doctor'
          : one ? `kubectl -n calico-system describe pod ${cn.pod}; kubectl -n calico-system logs ${cn.pod} -c calico-node`
            : `kubectl -n calico-system get pods -l k8s-app=calico-node -o wide; then each of those nodes' pod, e.g. kubectl -n calico-system describe pod ${cn.pod}; kubectl -n calico-system logs ${cn.pod} -c calico-node`;
        findings.push({
          id: 'node-down',
          severity: 'error',
          cause: `every probe from pods on ${names(nodes)} fails, even to a pod on the same node: ${calicoNodesWords(ctx.facts, nodes)}${alsoFail}`,
          nodes,
          fix,
          scenarios: scenariosOf([...involved, ...landed]),
          probes: n,
        });
      }
      return findings;
    },
  },
  {
    // Between two nodes a pool's traffic travels as VXLAN, IP-in-IP or with pod addresses: what is missing follows.
    id: 'cross-node',
    diagnose: (ctx) => {
      type Kind = 'vxlan' | 'ipip' | 'bgp' | 'underlay' | 'unencapsulated';
      // One finding per kind of loss and pool: on clouds that give each node a /32 every pair is its own subnet pair.
      type Group = { kind: Kind; pool: Pool; subnetPairs: Map<string, [string, string]>; probes: ProbeResult[] };
      const groups = new Map<string, Group>();
      for (const r of ctx.open) {
        const a = r.from.node;
        const b = r.to.node;
        if (r.result !== 'FAIL' || !b || a === b || r.to.kind !== 'pod') continue;
        const pool = poolOf(ctx.facts, r.to.ip);
        const subnetA = pool && subnetOf(ctx.facts, a, pool.cidr.family);
        const subnetB = pool && subnetOf(ctx.facts, b, pool.cidr.family);
        if (!pool || !subnetA || !subnetB) continue;
        const sameSubnet = subnetA === subnetB;
        const encapsulates = (mode: string) => mode === 'Always' || (mode === 'CrossSubnet' && !sameSubnet);
        const bgpDown = ctx.facts.bgpDown.get(a)?.has(b) === true || ctx.facts.bgpDown.get(b)?.has(a) === true;
        const kind: Kind = encapsulates(pool.vxlanMode) ? 'vxlan'
          : encapsulates(pool.ipipMode) ? (bgpDown ? 'bgp' : 'ipip')
            : pool.vxlanMode === 'CrossSubnet' ? 'underlay'
              : bgpDown ? 'bgp' : 'unencapsulated';
        const subnets = [subnetA, subnetB].sort() as [string, string];
        const key = `${kind} ${pool.name}`;
        const group: Group = groups.get(key) ?? { kind, pool, subnetPairs: new Map(), probes: [] };
        group.subnetPairs.set(subnets.join(' '), subnets);
        group.probes.push(r);
        groups.set(key, group);
      }
      // Services and DNS reached from those nodes fail with them when their pods (a Service's, CoreDNS's) sit across the lost path.
      const consequences = (nodes: Set<string>) => [...ctx.open].filter((r) => r.result === 'FAIL' && (r.to.kind === 'service' || r.to.kind === 'name') && nodes.has(r.from.node));
      return [...groups.values()].map(({ kind, pool, subnetPairs, probes }): Finding => {
        const nodes = [...new Set(probes.flatMap((p) => [p.from.node, p.to.node!]))].sort();
        const pairs = names([...new Set(probes.map((p) => [p.from.node, p.to.node!].sort().join(' <-> ')))].sort(), 6);
        const through = consequences(new Set(nodes));
        const alsoFail = through.length ? `; Service and DNS probes from ${names([...new Set(through.map((p) => p.from.node))].sort())} fail with it (the pods they reach, or CoreDNS, sit across that path)` : '';
        probes.push(...through);
        const bySubnet = (subnet: string) => names(nodes.filter((n) => subnetOf(ctx.facts, n, pool.cidr.family) === subnet));
        let between: string;
        let sides: string;
        let fixWhere: string;
        if (subnetPairs.size === 1) {
          const [first, second] = [...subnetPairs.values()][0]!;
          between = first === second ? `between nodes of ${first}` : `between ${first} and ${second}`;
          sides = first === second ? `pods on ${names(nodes)} cannot reach each other across nodes` : `pods on ${bySubnet(first)} (${first}) and pods on ${bySubnet(second)} (${second}) cannot reach each other`;
          fixWhere = between;
        } else {
          const listed = [...subnetPairs.values()].sort().map(([x, y]) => (x === y ? `within ${x}` : `${x} <-> ${y}`));
          between = `between ${plural(subnetPairs.size, 'pair')} of node subnets (${names(listed, 3)})`;
          sides = `pods on ${names(nodes)} cannot reach each other across them`;
          fixWhere = 'between those nodes';
        }
        const localOk = nodes.every((n) => sameNodeWorks(ctx, n) !== false) ? ', while pods on the same node can' : '';
        const poolWords = `pool ${pool.name} (${pool.cidr.text}, vxlanMode ${pool.vxlanMode}, ipipMode ${pool.ipipMode})`;
        const base = { severity: 'error' as const, nodes, scenarios: scenariosOf(probes), probes: claim(ctx, probes) };
        switch (kind) {
          case 'vxlan':
            return { ...base, id: 'vxlan-blocked', cause: `UDP 4789 (VXLAN) is dropped ${between}: ${sides}${localOk}; ${poolWords} sends that traffic as VXLAN${alsoFail}`, fix: `allow UDP 4789 ${fixWhere}, both ways, in the nodes' firewalls and the cloud's security groups or network ACLs` };
          case 'underlay':
            return { ...base, id: 'underlay-drops-pod-traffic', cause: `the network ${between} drops pod traffic that is not encapsulated: ${sides}${localOk}; ${poolWords} sends it with pod addresses within a subnet, which a cloud's source/destination check or anti-spoofing drops${alsoFail}`, fix: `turn off the source/destination check (anti-spoofing) on the nodes' network interfaces (AWS: aws ec2 modify-instance-attribute --no-source-dest-check), or encapsulate all traffic: encapsulation VXLAN for the pool in the Installation` };
          case 'bgp':
            return { ...base, id: 'bgp-blocked', cause: `TCP 179 (BGP) is blocked between ${pairs}: their BGP sessions are not Established (calico-node's readiness: BGP not established), so ${poolWords} has no routes between them${localOk}${alsoFail}`, fix: 'allow TCP 179 between those nodes, both ways, in the nodes\' firewalls and the cloud\'s security groups' };
          case 'ipip':
            return { ...base, id: 'ipip-blocked', cause: `IP-in-IP (IP protocol 4) is dropped ${between}, or their BGP sessions are down: ${sides}${localOk}; ${poolWords} sends that traffic as IP-in-IP${alsoFail}`, fix: `allow IP protocol 4 (ipencap; it has no port) ${fixWhere}, both ways, and TCP 179 for BGP` };
          case 'unencapsulated':
            return { ...base, id: 'unencapsulated-dropped', cause: `${sides}${localOk}: ${poolWords} is not encapsulated, so its routes come from BGP and its packets carry pod addresses: the BGP sessions between them are down (TCP 179) or the network drops pod addresses (a source/destination check)${alsoFail}`, fix: 'allow TCP 179 between the nodes and turn off the source/destination check on their interfaces, or encapsulate: encapsulation VXLAN for the pool in the Installation' };
        }
      });
    },
  },
  {
    // Cluster DNS, judged by pods that reach Services by IP but not by name.
    id: 'dns',
    diagnose: (ctx) => {
      const probes = [...ctx.open].filter((r) => r.result === 'FAIL' && (r.expect === 'resolve' || /^DNS:/.test(r.detail)) && ctx.index.serviceWorks.has(r.from.node));
      if (!probes.length) return [];
      const { ready, total, problems } = ctx.facts.coreDNS;
      const nodes = [...new Set(probes.map((p) => p.from.node))].sort();
      const state = total === 0 ? 'no CoreDNS pod exists (kube-system, k8s-app=kube-dns)'
        : ready < total ? `CoreDNS has ${ready}/${total} pods ready (${names(problems, 3)})`
          : `CoreDNS has ${ready}/${total} pods ready, so the names themselves or the path to CoreDNS's pods fail`;
      return [{
        id: 'dns',
        severity: 'error',
        cause: `names do not resolve from pods on ${names(nodes)} while they reach Services by ClusterIP: ${state}; e.g. ${probes[0]!.detail}`,
        nodes,
        fix: 'kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide; kubectl -n kube-system logs -l k8s-app=kube-dns; kubectl calico doctor --check CAL-0902',
        scenarios: scenariosOf(probes),
        probes: claim(ctx, probes),
      }];
    },
  },
  {
    // Pods reach pods but not the ClusterIP: Service forwarding on the source node.
    id: 'service-forwarding',
    diagnose: (ctx) => {
      const probes = [...ctx.open].filter((r) => r.result === 'FAIL' && r.to.kind === 'service' && ctx.index.podsWork.has(r.from.node));
      if (!probes.length) return [];
      const nodes = [...new Set(probes.map((p) => p.from.node))].sort();
      return [{
        id: 'service-forwarding',
        severity: 'error',
        cause: `pods on ${names(nodes)} reach pods by IP but not the ClusterIP of service/${probes[0]!.to.name}: Service traffic is not forwarded there (kube-proxy, or Calico's eBPF data plane); e.g. ${probes[0]!.detail}`,
        nodes,
        fix: `kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide --field-selector spec.nodeName=${nodes[0]}; kubectl -n kube-system logs that pod`,
        scenarios: scenariosOf(probes),
        probes: claim(ctx, probes),
      }];
    },
  },
  {
    // Policy probes run only where the path works without policy: a wrong result is the policy's enforcement.
    id: 'policy-not-enforced',
    diagnose: (ctx) => {
      const byNode = new Map<string, ProbeResult[]>();
      for (const r of ctx.open) {
        if (r.result !== 'FAIL' || !/^(ingress|egress)-/.test(r.scenario)) continue;
        // Ingress policy is enforced where the destination pod is, egress where the source is.
        const node = r.scenario.startsWith('ingress-') ? r.to.node! : r.from.node;
        push(byNode, node, r);
      }
      // Nodes whose calico-node says the same are one finding.
      return byCalicoNodeState(ctx.facts, byNode.keys()).map((nodes): Finding => {
        const probes = nodes.flatMap((node) => byNode.get(node)!);
        const what = probes.map((p) => `${p.scenario}: ${p.detail}`);
        const pod = ctx.facts.calicoNodes.get(nodes[0]!)?.pod;
        const one = nodes.length === 1;
        return {
          id: 'policy-not-enforced',
          severity: 'error',
          cause: `NetworkPolicy is not enforced as written on ${names(nodes)} (${names(what, 3)}); ${calicoNodesWords(ctx.facts, nodes)}: Felix there is not programming the policy`,
          nodes,
          fix: !pod ? 'kubectl -n calico-system get pods -l k8s-app=calico-node -o wide'
            : one ? `kubectl -n calico-system logs ${pod} -c calico-node | grep -iE 'error|fail'; restarting it (kubectl -n calico-system delete pod ${pod}) makes Felix program policy afresh`
              : `for the calico-node pod of each of those nodes, e.g. kubectl -n calico-system logs ${pod} -c calico-node | grep -iE 'error|fail'; restarting one (kubectl -n calico-system delete pod ${pod}) makes Felix there program policy afresh`,
          scenarios: scenariosOf(probes),
          probes: claim(ctx, probes),
        };
      });
    },
  },
  {
    // BGP down where it carries no pod traffic (VXLAN pools): worth saying, not a failure.
    id: 'bgp-not-established',
    diagnose: (ctx) => {
      const families = Object.values(podRouting(ctx.facts.pools.map((p) => ({ cidr: p.cidr.text, vxlanMode: p.vxlanMode, ipipMode: p.ipipMode }))));
      if (!families.length || families.some((r) => r !== 'vxlan')) return [];
      if (ctx.findings.some((f) => f.id === 'bgp-blocked')) return [];
      const nodes = [...ctx.facts.bgpDown.keys()].filter((n) => ctx.facts.calicoNodes.get(n)?.ready === false).sort();
      if (!nodes.length) return [];
      const peers = [...new Set(nodes.flatMap((n) => [...ctx.facts.bgpDown.get(n)!]))].sort();
      return [{
        id: 'bgp-not-established',
        severity: 'info',
        cause: `calico-node is not Ready on ${names(nodes)}: BGP not established with ${names(peers)}; the IP pools are VXLAN, whose routes Felix programs without BGP, so pod traffic flows, but calico-node stays not Ready`,
        nodes,
        fix: 'allow TCP 179 between the nodes, both ways, or turn BGP off: kubectl patch installation default --type merge -p \'{"spec":{"calicoNetwork":{"bgp":"Disabled"}}}\'',
        scenarios: [],
        probes: 0,
      }];
    },
  },
  {
    id: 'not-scheduled',
    diagnose: (ctx) => {
      if (!ctx.notScheduled.length) return [];
      const nodes = ctx.notScheduled.map((n) => n.node);
      return [{
        id: 'not-scheduled',
        severity: 'info',
        cause: `${names(nodes)} ${nodes.length === 1 ? 'was' : 'were'} not probed: the taint ${ctx.notScheduled[0]!.reason} keeps the connectivity pods off ${nodes.length === 1 ? 'it' : 'them'} (they tolerate only the control plane's)`,
        nodes,
        fix: 'leave them out with --nodes or -l, or remove the taint',
        scenarios: [],
        probes: 0,
      }];
    },
  },
  {
    // Outside the cluster: what leaves it is the pool's NAT and the network past the nodes.
    id: 'outside-unreachable',
    diagnose: (ctx) => {
      const probes = [...ctx.open].filter((r) => r.result === 'FAIL' && r.to.kind === 'external');
      if (!probes.length) return [];
      const target = `${probes[0]!.to.name ?? probes[0]!.to.ip}:${probes[0]!.to.port}`;
      const nodes = [...new Set(probes.map((p) => p.from.node))].sort();
      const pools = ctx.facts.pools.map((p) => `${p.name} natOutgoing ${p.natOutgoing}`);
      const total = ctx.index.total.get('pod-to-external') ?? 0;
      return [{
        id: 'outside-unreachable',
        severity: 'error',
        cause: `pods on ${names(nodes)} cannot reach ${target} outside the cluster (${probes.length} of ${total} probes; e.g. ${probes[0]!.detail})${pools.length ? `; ${names(pools, 3)}` : ''}: ${ctx.facts.pools.some((p) => !p.natOutgoing) ? 'a pool without natOutgoing sends pod addresses out, which nothing outside routes back' : 'the nodes\' own way out (a route, a proxy, an egress firewall) or the target itself'}`,
        nodes,
        fix: `from a node: curl -v --connect-timeout 3 ${target} (works: the pods' path — natOutgoing, egress policy; fails: the network past the nodes or the target)`,
        scenarios: scenariosOf(probes),
        probes: claim(ctx, probes),
      }];
    },
  },
  {
    // What no rule explains, as it is.
    id: 'unexplained',
    diagnose: (ctx) => {
      const byScenario = new Map<string, ProbeResult[]>();
      for (const r of ctx.open) push(byScenario, r.scenario, r);
      return [...byScenario].map(([scenario, probes]): Finding => {
        const total = ctx.index.total.get(scenario) ?? 0;
        const first = probes[0]!;
        return {
          id: 'unexplained',
          severity: 'error',
          cause: `${probes.length} of ${total} ${scenario} probes failed, for no cause the cluster shows: e.g. ${first.from.node} -> ${first.to.node ?? first.to.name ?? first.to.ip}: ${first.detail}`,
          nodes: [...new Set(probes.flatMap((p) => [p.from.node, ...(p.to.node ? [p.to.node] : [])]))].sort(),
          fix: 'kubectl calico doctor; every probe is in -o json',
          scenarios: [scenario],
          probes: claim(ctx, probes),
        };
      });
    },
  },
];

export function diagnose(input: DiagnosisInput): Finding[] {
  const ctx: Context = { ...input, open: new Set(input.results.filter(failed)), findings: [], index: indexResults(input.results) };
  for (const rule of rules) ctx.findings.push(...rule.diagnose(ctx));
  return ctx.findings;
}
