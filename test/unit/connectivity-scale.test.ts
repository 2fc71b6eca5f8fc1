// connectivity's diagnosis and report on 2,000 nodes, planned as a run plans
// them (the real scenarios, the pair sample): the diagnosis stays quick when
// half the nodes are down (it used to filter every result per node), and the
// text report stays a screenful or two, however many nodes share a cause.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from '../../src/calico/cidr.ts';
import { diagnose, type Finding } from '../../src/calico/connectivity/diagnosis.ts';
import type { DataplaneFacts } from '../../src/calico/connectivity/facts.ts';
import type { ProbeResult, Result } from '../../src/calico/connectivity/probe.ts';
import { SCENARIOS, type Probe, type Topology } from '../../src/calico/connectivity/scenarios.ts';
import { seeded } from '../helpers.ts';

const N = 2000;
const NODES = Array.from({ length: N }, (_, i) => `node-${String(i).padStart(4, '0')}`);
const octets = (i: number) => `${Math.floor(i / 250)}.${i % 250}`;

/** GCE-style: every node alone in its /32, so every cross-node pair crosses subnets. */
const SUBNETS = new Map(NODES.map((n, i) => [n, `192.168.${octets(i)}/32`]));

const podIP = (i: number, last: number) => `10.${96 + Math.floor(i / 250)}.${i % 250}.${last}`;
const TOPOLOGY: Topology = {
  nodes: NODES,
  echo: new Map(NODES.map((n, i) => [n, { pod: `echo-${i}`, node: n, ips: [podIP(i, 1)] }])),
  client: new Map(NODES.map((n, i) => [n, { pod: `client-${i}`, node: n, ips: [podIP(i, 2)] }])),
  hosts: [{ pod: `host-${NODES[0]}`, node: NODES[0]!, ip: '192.168.0.0' }, { pod: `host-${NODES[1]}`, node: NODES[1]!, ip: '192.168.0.1' }],
  service: { name: 'echo', ips: ['10.255.0.20'], port: 80 },
  subnets: SUBNETS,
  dualStack: false,
};

/** Every probe a 2,000-node run plans, judged by `verdict`. */
function probed(verdict: (p: Probe) => Result | [Result, string]): ProbeResult[] {
  const plan = { maxPairs: 100, externalTarget: undefined, random: seeded(5) };
  return SCENARIOS.filter((s) => !s.unavailable?.(TOPOLOGY, plan)).flatMap((s) => s.probes(TOPOLOGY, plan)).map((p) => {
    const v = verdict(p);
    const [result, detail] = Array.isArray(v) ? v : [v, v === 'PASS' ? 'connected' : 'TIMEOUT'];
    return { ...p, result, detail, attempts: 1, seconds: 0.1 };
  });
}

function facts(notReady: (node: string) => string | undefined = () => undefined): DataplaneFacts {
  return {
    pools: [{ name: 'default-ipv4-ippool', cidr: parseCidr('10.96.0.0/12', 'pool'), vxlanMode: 'Always', ipipMode: 'Never', natOutgoing: true }],
    nodes: new Map(NODES.map((n) => [n, { name: n, internalIP: SUBNETS.get(n)!.split('/')[0], subnet: SUBNETS.get(n) }])),
    calicoNodes: new Map(NODES.map((n, i) => [n, { pod: `calico-node-${i}`, ready: notReady(n) === undefined, message: notReady(n) ?? '' }])),
    bgpDown: new Map(),
    coreDNS: { ready: 2, total: 2, problems: [], nodes: [NODES[0]!] },
  };
}

const run = (results: ProbeResult[], f: DataplaneFacts): Finding[] => diagnose({ results, facts: f, notReady: [], notScheduled: [], namespace: 'calico-connectivity' });

test('1,000 of 2,000 nodes down: diagnosed in well under a second', () => {
  const down = new Set(NODES.filter((_, i) => i % 2 === 0));
  const results = probed((p) => (!p.from.host && (down.has(p.from.node) || down.has(p.to.node ?? '')) ? 'FAIL' : 'PASS'));
  const f = facts((n) => (down.has(n) ? 'calico/node is not ready: felix is not ready: readiness probe reporting 503' : undefined));
  run(results, f); // warm-up: the first run compiles
  const started = performance.now();
  const findings = run(results, f);
  const ms = performance.now() - started;
  assert.ok(findings.some((x) => x.id === 'node-down' && x.nodes.includes('node-0000')));
  assert.ok(ms < 600, `${Math.round(ms)} ms`);
});
