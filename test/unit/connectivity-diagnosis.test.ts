// The diagnosis rules on synthetic results: each data-plane fault the test
// cluster can make, as its probes and cluster facts would show it, yields the
// finding that names the cause, the nodes and the fix; and the probe runner
// reads agnhost and dig as they report, retrying transport failures only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from '../../src/calico/cidr.ts';
import { diagnose, type DiagnosisInput, type Finding } from '../../src/calico/connectivity/diagnosis.ts';
import type { CalicoNode, DataplaneFacts, Pool } from '../../src/calico/connectivity/facts.ts';
import { interpret, runProbes, type Execute, type ProbeResult, type Result } from '../../src/calico/connectivity/probe.ts';
import { connectCommand, resolveCommand, type Probe } from '../../src/calico/connectivity/scenarios.ts';
import { ExecError } from '../../src/kube/exec.ts';

const MASTER = 'kubernetes-master-01';
const W1 = 'kubernetes-worker-01';
const W2 = 'kubernetes-worker-02';
const NODES = [MASTER, W1, W2];
const IP: Record<string, string> = { [MASTER]: '10.97.0.5', [W1]: '10.97.1.5', [W2]: '10.97.2.5' };
const NODE_IP: Record<string, string> = { [MASTER]: '192.168.56.11', [W1]: '192.168.57.12', [W2]: '192.168.57.13' };

function pool(vxlanMode: string, ipipMode = 'Never'): Pool {
  return { name: 'default-ipv4-ippool', cidr: parseCidr('10.97.0.0/16', 'pool'), vxlanMode, ipipMode, natOutgoing: true };
}

function facts(options: { pools: Pool[]; twoSubnets?: boolean; calicoNodes?: Record<string, Partial<CalicoNode>>; bgpDown?: Record<string, string[]>; coreDNS?: DataplaneFacts['coreDNS'] }): DataplaneFacts {
  const subnet = (node: string) => (options.twoSubnets && node !== MASTER ? '192.168.57.0/24' : '192.168.56.0/24');
  return {
    pools: options.pools,
    nodes: new Map(NODES.map((n) => [n, { name: n, internalIP: NODE_IP[n], subnet: subnet(n) }])),
    calicoNodes: new Map(NODES.map((n, i) => [n, { pod: `calico-node-${i}`, ready: true, message: '', ...options.calicoNodes?.[n] }])),
    bgpDown: new Map(Object.entries(options.bgpDown ?? {}).map(([n, peers]) => [n, new Set(peers)])),
    coreDNS: options.coreDNS ?? { ready: 2, total: 2, problems: [], nodes: [MASTER, W1] },
  };
}

type Verdict = (probe: Probe) => Result | [Result, string];

/** The probes of a 3-node run (basic, ingress and egress), each judged by `verdict`. */
function results(verdict: Verdict): ProbeResult[] {
  const from = (node: string, host = false) => ({ pod: `${host ? 'host' : 'client'}-${node}`, node, ip: host ? NODE_IP[node]! : IP[node]!.replace(/5$/, '6'), host });
  const pod = (node: string) => ({ kind: 'pod' as const, pod: `echo-${node}`, node, ip: IP[node]!, port: 9376 });
  const connect = (scenario: string, f: Probe['from'], to: Probe['to'], expect: 'connect' | 'blocked' = 'connect'): Probe => ({ scenario, from: f, to, expect, command: connectCommand(to.ip ?? to.name!, to.port!, 2), timeoutSeconds: 2 });
  const probes: Probe[] = [
    ...NODES.map((n) => connect('pod-to-pod-same-node', from(n), pod(n))),
    ...NODES.flatMap((a) => NODES.filter((b) => b !== a).map((b) => connect('pod-to-pod-cross-node', from(a), pod(b)))),
    ...NODES.map((n) => connect('pod-to-service', from(n), { kind: 'service', name: 'echo', ip: '10.96.0.20', port: 80 })),
    ...NODES.map((n) => connect('pod-to-service-dns', from(n), { kind: 'name', name: 'echo', port: 80 })),
    ...NODES.map((n) => connect('node-to-pod', from(n === MASTER ? W1 : MASTER, true), pod(n))),
    ...NODES.map((n) => connect('ingress-default-deny', from(n), pod(n), 'blocked')),
    ...NODES.map((n) => connect('egress-default-deny', from(n), pod(n), 'blocked')),
    ...NODES.map((n): Probe => ({ scenario: 'egress-allow-dns', from: from(n), to: { kind: 'name', name: 'kubernetes.default', port: 53 }, expect: 'resolve', command: resolveCommand('kubernetes.default', 2), timeoutSeconds: 2 })),
  ];
  return probes.map((p) => {
    const v = verdict(p);
    const [result, detail] = Array.isArray(v) ? v : [v, v === 'PASS' ? 'connected' : 'TIMEOUT'];
    return { ...p, result, detail, attempts: 1, seconds: 0.1 };
  });
}

function run(partial: Partial<DiagnosisInput> & Pick<DiagnosisInput, 'results' | 'facts'>): Finding[] {
  return diagnose({ notReady: [], notScheduled: [], namespace: 'calico-connectivity', ...partial });
}

const crosses = (p: Probe, a: string, b: string) => (p.from.node === a && p.to.node === b) || (p.from.node === b && p.to.node === a);

test('healthy: no finding', () => {
  assert.deepEqual(run({ results: results(() => 'PASS'), facts: facts({ pools: [pool('CrossSubnet')] }) }), []);
});

test('UDP 4789 blocked between the subnets of kubeadm-two-subnets: the subnets, the nodes and the port', () => {
  // VXLANCrossSubnet: the master (192.168.56.0/24) and the workers (192.168.57.0/24) talk VXLAN; the workers do not.
  const verdict: Verdict = (p) => (p.to.kind === 'pod' && p.from.node !== p.to.node && (p.from.node === MASTER) !== (p.to.node === MASTER) ? 'FAIL' : 'PASS');
  const findings = run({ results: results(verdict), facts: facts({ pools: [pool('CrossSubnet')], twoSubnets: true }) });
  assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
  const [f] = findings;
  assert.equal(f!.id, 'vxlan-blocked');
  assert.match(f!.cause, /^UDP 4789 \(VXLAN\) is dropped between 192\.168\.56\.0\/24 and 192\.168\.57\.0\/24: pods on kubernetes-master-01 \(192\.168\.56\.0\/24\) and pods on kubernetes-worker-01 and kubernetes-worker-02 \(192\.168\.57\.0\/24\) cannot reach each other, while pods on the same node can; pool default-ipv4-ippool \(10\.97\.0\.0\/16, vxlanMode CrossSubnet/);
  assert.match(f!.fix, /^allow UDP 4789 between 192\.168\.56\.0\/24 and 192\.168\.57\.0\/24, both ways/);
  assert.deepEqual(f!.nodes, NODES);
  assert.deepEqual(f!.scenarios, ['pod-to-pod-cross-node', 'node-to-pod']);
});

test('a source/destination check on one subnet with VXLANCrossSubnet: the underlay drops unencapsulated pod traffic', () => {
  const verdict: Verdict = (p) => (p.to.kind === 'pod' && p.from.node !== p.to.node ? 'FAIL' : 'PASS');
  const [f, ...rest] = run({ results: results(verdict), facts: facts({ pools: [pool('CrossSubnet')] }) });
  assert.deepEqual(rest, []);
  assert.equal(f!.id, 'underlay-drops-pod-traffic');
  assert.match(f!.cause, /^the network between nodes of 192\.168\.56\.0\/24 drops pod traffic that is not encapsulated: pods on kubernetes-master-01, kubernetes-worker-01 and kubernetes-worker-02 cannot reach each other across nodes, while pods on the same node can; .*source\/destination check or anti-spoofing/);
  assert.match(f!.fix, /source\/destination check/);
});

test('TCP 179 blocked with an IPIP pool: the pairs without a BGP session', () => {
  const verdict: Verdict = (p) => (p.to.kind === 'pod' && p.from.node !== p.to.node ? 'FAIL' : 'PASS');
  const bgpDown = { [MASTER]: [W1, W2], [W1]: [MASTER, W2], [W2]: [MASTER, W1] };
  const calicoNodes = Object.fromEntries(NODES.map((n) => [n, { ready: false, message: `calico/node is not ready: BIRD is not ready: BGP not established with ${NODES.filter((m) => m !== n).map((m) => NODE_IP[m]).join(',')}` }]));
  const findings = run({ results: results(verdict), facts: facts({ pools: [pool('Never', 'Always')], bgpDown, calicoNodes }) });
  assert.deepEqual(findings.map((f) => f.id), ['bgp-blocked']);
  assert.match(findings[0]!.cause, /^TCP 179 \(BGP\) is blocked between kubernetes-master-01 <-> kubernetes-worker-01, kubernetes-master-01 <-> kubernetes-worker-02 and kubernetes-worker-01 <-> kubernetes-worker-02: their BGP sessions are not Established/);
  assert.match(findings[0]!.fix, /^allow TCP 179 between those nodes/);
});

test('IPIP traffic lost while BGP looks fine: IP protocol 4', () => {
  const verdict: Verdict = (p) => (p.to.kind === 'pod' && crosses(p, MASTER, W1) ? 'FAIL' : 'PASS');
  const [f, ...rest] = run({ results: results(verdict), facts: facts({ pools: [pool('Never', 'Always')] }) });
  assert.deepEqual(rest, []);
  assert.equal(f!.id, 'ipip-blocked');
  assert.match(f!.fix, /IP protocol 4/);
});

test('blocked 179 with VXLAN pools: every probe passes, and a note says why calico-node is not Ready', () => {
  const calicoNodes = { [W1]: { ready: false, message: 'calico/node is not ready: BIRD is not ready: BGP not established with 192.168.56.11' } };
  const findings = run({ results: results(() => 'PASS'), facts: facts({ pools: [pool('CrossSubnet')], bgpDown: { [W1]: [MASTER] }, calicoNodes }) });
  assert.deepEqual(findings.map((f) => [f.id, f.severity]), [['bgp-not-established', 'info']]);
  assert.match(findings[0]!.cause, /^calico-node is not Ready on kubernetes-worker-01: BGP not established with kubernetes-master-01; the IP pools are VXLAN/);
});

test('CoreDNS down: names fail while the ClusterIP works', () => {
  const verdict: Verdict = (p) => (p.scenario === 'pod-to-service-dns' ? ['FAIL', 'DNS: lookup echo on 10.96.0.10:53: read udp: i/o timeout'] : p.scenario === 'egress-allow-dns' ? ['FAIL', 'DNS: connection timed out; no servers could be reached'] : 'PASS');
  const coreDNS = { ready: 0, total: 2, nodes: [MASTER, W1], problems: ['coredns-abc: CrashLoopBackOff: container coredns keeps exiting', 'coredns-def: CrashLoopBackOff: container coredns keeps exiting'] };
  const findings = run({ results: results(verdict), facts: facts({ pools: [pool('CrossSubnet')], coreDNS }) });
  assert.deepEqual(findings.map((f) => f.id), ['dns']);
  assert.match(findings[0]!.cause, /^names do not resolve from pods on kubernetes-master-01, kubernetes-worker-01 and kubernetes-worker-02 while they reach Services by ClusterIP: CoreDNS has 0\/2 pods ready \(coredns-abc: CrashLoopBackOff/);
  assert.match(findings[0]!.fix, /k8s-app=kube-dns/);
  assert.equal(findings[0]!.probes, 6);
});

test('policy not programmed on one node: ingress passes under default-deny there, and the node is named', () => {
  const verdict: Verdict = (p) => (p.scenario === 'ingress-default-deny' ? (p.to.node === W2 ? ['FAIL', 'connected: the policy did not block it'] : ['PASS', 'blocked (TIMEOUT)']) : p.scenario === 'egress-default-deny' ? (p.from.node === W2 ? ['FAIL', 'connected: the policy did not block it'] : ['PASS', 'blocked (TIMEOUT)']) : 'PASS');
  const findings = run({ results: results(verdict), facts: facts({ pools: [pool('CrossSubnet')] }) });
  assert.deepEqual(findings.map((f) => [f.id, f.nodes]), [['policy-not-enforced', [W2]]]);
  assert.match(findings[0]!.cause, /^NetworkPolicy is not enforced as written on kubernetes-worker-02 \(ingress-default-deny: connected: the policy did not block it and egress-default-deny: connected: the policy did not block it\); calico-node there \(calico-node-2\) is Ready: Felix there is not programming the policy/);
  assert.match(findings[0]!.fix, /kubectl -n calico-system logs calico-node-2 -c calico-node/);
});

test('calico-node not ready on one node: every probe from it fails, even on the node; probes to it are explained with it', () => {
  const verdict: Verdict = (p) => (p.from.node === W2 || p.to.node === W2 ? 'FAIL' : 'PASS');
  const calicoNodes = { [W2]: { ready: false, message: 'calico/node is not ready: felix is not ready: readiness probe reporting 503' } };
  const findings = run({ results: results(verdict), facts: facts({ pools: [pool('CrossSubnet')], calicoNodes }) });
  assert.deepEqual(findings.map((f) => [f.id, f.nodes]), [['node-down', [W2]]]);
  assert.match(findings[0]!.cause, /^every probe from pods on kubernetes-worker-02 fails, even to a pod on the same node: calico-node there \(calico-node-2\) is not Ready: calico\/node is not ready: felix is not ready/);
  assert.match(findings[0]!.fix, /describe pod calico-node-2/);
});

test('a node down takes with it the Service probes that landed on its pod (by ClusterIP or by name) and the lookups that landed on its CoreDNS', () => {
  const verdict: Verdict = (p) => (p.from.node === W1 || p.to.node === W1 ? 'FAIL'
    : p.scenario === 'pod-to-service-dns' && p.from.node === W2 ? ['FAIL', 'DNS: connection timed out; no servers could be reached']
      : p.scenario === 'pod-to-service-dns' && p.from.node === MASTER ? ['FAIL', 'resolved 10.96.0.20, TIMEOUT']
        : p.scenario === 'pod-to-service' && p.from.node === MASTER ? 'FAIL' : 'PASS');
  const calicoNodes = { [W1]: { ready: false, message: 'calico/node is not ready: felix is not ready: readiness probe reporting 503' } };
  const findings = run({ results: results(verdict), facts: facts({ pools: [pool('CrossSubnet')], calicoNodes }) });
  assert.deepEqual(findings.map((f) => [f.id, f.nodes]), [['node-down', [W1]]]);
  assert.match(findings[0]!.cause, /; 3 Service or DNS probes from other nodes fail with it \(their pod, or CoreDNS, sits on kubernetes-worker-01\)$/);
});

test('pods that never became Ready, probes that could not run, and what nothing explains', () => {
  const findings = run({
    results: results((p) => (p.scenario === 'pod-to-service' ? ['ERROR', 'the container\'s image has no "/agnhost": the image must be agnhost (--image)'] : p.scenario === 'node-to-pod' && p.to.node === W1 ? 'FAIL' : 'PASS')).map((r) => (r.result === 'ERROR' ? { ...r, error: 'program-missing' as const } : r)),
    facts: facts({ pools: [] }),
    notReady: [{ pod: 'echo-x', node: W2, component: 'echo', reason: 'ImagePullBackOff', message: 'container agnhost cannot pull image registry.k8s.io/e2e-test-images/agnhost:2.52' }],
  });
  assert.deepEqual(findings.map((f) => f.id), ['pods-not-ready', 'program-missing', 'unexplained']);
  assert.match(findings[0]!.fix, /--image/);
  assert.match(findings[2]!.cause, /^1 of 3 node-to-pod probes failed, for no cause the cluster shows: e\.g\. kubernetes-master-01 -> kubernetes-worker-01: TIMEOUT/);
});

const probe: Probe = { scenario: 'pod-to-pod-cross-node', from: { pod: 'client-a', node: 'a', ip: '10.0.0.2', host: false }, to: { kind: 'pod', pod: 'echo-b', node: 'b', ip: '10.0.1.1', port: 9376 }, expect: 'connect', command: connectCommand('10.0.1.1', 9376, 2), timeoutSeconds: 2 };
const exit = (exitCode: number, stderr = '', stdout = '') => ({ exitCode, stdout, stderr, droppedBytes: { stdout: 0, stderr: 0 } });

test('agnhost connect and dig read as they report', () => {
  assert.deepEqual(interpret(probe, exit(0)), { result: 'PASS', detail: 'connected' });
  assert.deepEqual(interpret(probe, exit(1, 'TIMEOUT\n')), { result: 'FAIL', detail: 'TIMEOUT' });
  assert.deepEqual(interpret(probe, exit(1, 'DNS: lookup echo on 10.96.0.10:53: no such host\n')), { result: 'FAIL', detail: 'DNS: lookup echo on 10.96.0.10:53: no such host' });
  assert.deepEqual(interpret({ ...probe, expect: 'blocked' }, exit(1, 'TIMEOUT\n')), { result: 'PASS', detail: 'blocked (TIMEOUT)' });
  assert.deepEqual(interpret({ ...probe, expect: 'blocked' }, exit(0)), { result: 'FAIL', detail: 'connected: the policy did not block it' });
  assert.equal(interpret(probe, exit(2, 'Error: unknown flag: --bogus')).result, 'ERROR');
  const dig = { ...probe, expect: 'resolve' as const, command: resolveCommand('kubernetes.default', 2) };
  assert.deepEqual(interpret(dig, exit(0, '', '10.96.0.1\n')), { result: 'PASS', detail: 'resolved 10.96.0.1' });
  assert.deepEqual(interpret(dig, exit(0, '', '')), { result: 'FAIL', detail: 'no address (the name does not exist, or has no record)' });
  assert.deepEqual(interpret(dig, exit(9, '', ';; connection timed out; no servers could be reached\n')), { result: 'FAIL', detail: 'DNS: connection timed out; no servers could be reached' });
});

test('the runner retries an exec that broke, never a probe that failed; a missing program is no network failure', async () => {
  const signal = new AbortController().signal;
  let calls = 0;
  const flaky: Execute = async () => {
    calls++;
    if (calls < 3) throw new ExecError('transport', 'running /agnhost in ns/client-a (container agnhost): the connection closed before the command\'s exit status arrived');
    return exit(0);
  };
  const [retried] = await runProbes(flaky, [probe], { signal });
  assert.deepEqual([retried!.result, calls], ['PASS', 3]);
  calls = 0;
  const failing: Execute = async () => {
    calls++;
    return exit(1, 'TIMEOUT\n');
  };
  const [failed] = await runProbes(failing, [probe], { signal });
  assert.deepEqual([failed!.result, calls], ['FAIL', 1]);
  const missing: Execute = async () => {
    throw new ExecError('program-missing', 'running /agnhost in ns/client-a (container agnhost): the container\'s image has no "/agnhost"');
  };
  const [notRun] = await runProbes(missing, [probe], { signal });
  assert.deepEqual([notRun!.result, notRun!.error, notRun!.detail], ['ERROR', 'program-missing', 'the container\'s image has no "/agnhost": the image must be agnhost (--image)']);
  // A policy probe is repeated while the policy may still be reaching the node, then judged.
  calls = 0;
  const late: Execute = async () => (++calls < 2 ? exit(0) : exit(1, 'TIMEOUT\n'));
  const [settled] = await runProbes(late, [{ ...probe, expect: 'blocked' }], { signal, settleUntil: Date.now() + 3000 });
  assert.deepEqual([settled!.result, settled!.attempts], ['PASS', 2]);
});

test('a connection to a name: dig with the search path first, then agnhost to the address it found', async () => {
  const signal = new AbortController().signal;
  const byName: Probe = { ...probe, scenario: 'pod-to-service-dns', to: { kind: 'name', name: 'echo', port: 80 }, command: resolveCommand('echo', 2) };
  const commands: string[][] = [];
  const answers = (stdout: string, exitCode = 0, connect = exit(0)): Execute => async ({ command }) => {
    commands.push(command);
    return command[0] === 'dig' ? exit(exitCode, '', stdout) : connect;
  };
  const [ok] = await runProbes(answers('10.96.0.20\n'), [byName], { signal });
  assert.deepEqual(commands, [['dig', '+search', '+short', '+time=2', '+tries=1', 'echo'], ['/agnhost', 'connect', '10.96.0.20:80', '--timeout=2s']]);
  assert.deepEqual([ok!.result, ok!.detail, ok!.to.ip], ['PASS', 'resolved 10.96.0.20, connected', '10.96.0.20']);
  const [lost] = await runProbes(answers(';; connection timed out; no servers could be reached\n', 9), [byName], { signal });
  assert.deepEqual([lost!.result, lost!.detail], ['FAIL', 'DNS: connection timed out; no servers could be reached']);
  const [unknown] = await runProbes(answers(''), [byName], { signal });
  assert.deepEqual([unknown!.result, unknown!.detail], ['FAIL', 'DNS: no address (the name does not exist, or has no record)']);
  const [refused] = await runProbes(answers('10.96.0.20\n', 0, exit(1, 'REFUSED\n')), [byName], { signal });
  assert.deepEqual([refused!.result, refused!.detail], ['FAIL', 'resolved 10.96.0.20, REFUSED']);
});
