// connectivity's diagnosis and report on 2,000 nodes, planned as a run plans
// them (the real scenarios, the pair sample): the diagnosis stays quick when
// half the nodes are down (it used to filter every result per node), and the
// text report stays a screenful or two, however many nodes share a cause.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from '../../src/calico/cidr.ts';
import { palette } from '../../src/print/color.ts';
import { diagnose, type Finding } from '../../src/calico/connectivity/diagnosis.ts';
import type { DataplaneFacts } from '../../src/calico/connectivity/facts.ts';
import type { ProbeResult, Result } from '../../src/calico/connectivity/probe.ts';
import { renderText, scenarioReport, type ConnectivityDoc } from '../../src/calico/connectivity/report.ts';
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
  hosts: [{ pod: `host-${NODES[0]}`, node: NODES[0]!, ips: ['192.168.0.0'] }, { pod: `host-${NODES[1]}`, node: NODES[1]!, ips: ['192.168.0.1'] }],
  service: { name: 'echo', ips: ['10.255.0.20'], port: 80 },
  subnets: SUBNETS,
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

test('1,000 of 2,000 nodes down: one node-down finding names them', () => {
  const down = new Set(NODES.filter((_, i) => i % 2 === 0));
  const results = probed((p) => (!p.from.host && (down.has(p.from.node) || down.has(p.to.node ?? '')) ? 'FAIL' : 'PASS'));
  const f = facts((n) => (down.has(n) ? 'calico/node is not ready: felix is not ready: readiness probe reporting 503' : undefined));
  const findings = run(results, f);
  assert.ok(findings.some((x) => x.id === 'node-down' && x.nodes.includes('node-0000')));
});

/** The text report of a run with these results, as a user reads it. */
function text(results: ProbeResult[], findings: Finding[]): string {
  const scenarios = SCENARIOS.map((s) => scenarioReport(s.name, s.summary, results.filter((r) => r.scenario === s.name), results.some((r) => r.scenario === s.name) ? undefined : 'not planned here'));
  const count = (result: string) => results.filter((r) => r.result === result).length;
  const doc: ConnectivityDoc = {
    namespace: 'calico-connectivity',
    image: 'registry.k8s.io/e2e-test-images/agnhost:2.52',
    nodes: { selected: N, probed: N, notProbed: [] },
    pairs: { probed: N + 100, total: N * (N - 1) },
    scenarios,
    probes: results,
    findings,
    summary: { scenarios: { passed: 0, failed: 0, skipped: 0 }, probes: { passed: count('PASS'), failed: count('FAIL'), errors: count('ERROR'), skipped: count('SKIP') } },
    cleanup: 'deleted',
    seconds: 60,
  };
  return renderText(doc, palette(false));
}

const findingLines = (report: string) => report.slice(report.indexOf('\nFindings:\n'), report.indexOf('\nCleaned up:')).trim().split('\n');

test('VXLAN dropped between 2,000 nodes each in its own /32: one finding naming a few subnet pairs and nodes, not one per pair (4,000 of them, with the hosts\')', () => {
  const results = probed((p) => (p.to.kind === 'pod' && p.to.node !== p.from.node ? 'FAIL' : 'PASS'));
  const findings = run(results, facts());
  assert.deepEqual(findings.map((f) => f.id), ['vxlan-blocked']);
  const [vxlan] = findings;
  assert.match(vxlan!.cause, /^UDP 4789 \(VXLAN\) is dropped between \d{4} pairs of node subnets \(192\.168\.\d+\.\d+\/32 <-> 192\.168\.\d+\.\d+\/32, 192\.168\.\d+\.\d+\/32 <-> 192\.168\.\d+\.\d+\/32, 192\.168\.\d+\.\d+\/32 <-> 192\.168\.\d+\.\d+\/32 and \d{4} more\): pods on node-0000, node-0001, node-0002, node-0003, node-0004 and 1995 more cannot reach each other across them, while pods on the same node can; pool default-ipv4-ippool/);
  assert.match(vxlan!.fix, /^allow UDP 4789 between those nodes, both ways/);
  assert.equal(vxlan!.nodes.length, N, '-o json names every node');
  const lines = findingLines(text(results, findings));
  assert.equal(lines.length, 3, lines.join('\n'));
});

test('calico-node not Ready on 1,000 of 2,000 nodes, alike: one node-down finding; policy not programmed on every sampled node: one finding', () => {
  const down = new Set(NODES.filter((_, i) => i % 2 === 0));
  const results = probed((p) => (!p.from.host && (down.has(p.from.node) || down.has(p.to.node ?? '')) ? 'FAIL' : 'PASS'));
  const findings = run(results, facts((n) => (down.has(n) ? `calico/node is not ready: felix is not ready: Get "http://localhost:9099/readiness": dial tcp 127.0.0.1:9099: connect: connection refused (${n})` : undefined)));
  assert.deepEqual(findings.map((f) => [f.id, f.nodes.length]), [['node-down', 1000]]);
  assert.match(findings[0]!.cause, /^every probe from pods on node-0000, node-0002, node-0004, node-0006, node-0008 and 995 more fails, even to a pod on the same node: calico-node is not Ready on any of them, e\.g\. calico-node-0: calico\/node is not ready: felix is not ready: /);
  assert.match(findings[0]!.fix, /^kubectl -n calico-system get pods -l k8s-app=calico-node -o wide; then each of those nodes' pod, e\.g\. kubectl -n calico-system describe pod calico-node-0;/);

  const open = probed((p) => (/^(ingress-default|egress-default)/.test(p.scenario) ? ['FAIL', 'connected: the policy did not block it'] : 'PASS'));
  const policy = run(open, facts());
  assert.deepEqual(policy.map((f) => [f.id, f.nodes.length]), [['policy-not-enforced', 50]]);
  assert.match(policy[0]!.cause, /^NetworkPolicy is not enforced as written on node-0000, node-0001, node-0002, node-0003, node-0004 and 45 more \(ingress-default-deny: connected: the policy did not block it and egress-default-deny: connected: the policy did not block it\); calico-node is Ready on each of them: Felix there is not programming the policy$/);
});

test('the text lists at most 10 findings, then says how many more -o json has', () => {
  const results = probed((p) => (p.scenario === 'pod-to-pod-same-node' && Number(p.from.node.slice(5)) < 12 ? 'FAIL' : 'PASS'));
  const findings = Array.from({ length: 12 }, (_, i): Finding => ({ id: 'unexplained', severity: 'error', cause: `cause ${i}`, nodes: [NODES[i]!], fix: 'kubectl calico doctor', scenarios: ['pod-to-pod-same-node'], probes: 1 }));
  const lines = findingLines(text(results, findings));
  assert.equal(lines.length, 1 + 10 * 2 + 1);
  assert.equal(lines.at(-1), '  … and 2 more findings (-o json lists every one)');
});
