// Each data-plane fault of the test cluster, made as its knobs make it, fails
// the scenarios it breaks on a real cluster, and connectivity's findings name
// the cause, the nodes and the fix; a fault that carries no pod traffic
// (blocked BGP with VXLAN pools) fails nothing. Every run leaves nothing behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterOptions, TestCluster } from '../cluster/cluster.ts';
import { cleanEnv, plugin, withCluster } from '../helpers.ts';
import { junitErrors } from '../junit.ts';
import { connectivity, leftovers, slowFault, TIMEOUT, type Report } from '../connectivity.ts';

const MASTER = 'kubernetes-master-01';
const W1 = 'kubernetes-worker-01';
const W2 = 'kubernetes-worker-02';

/** The scenarios that failed, by name. */
function failed(report: Report): string[] {
  return report.scenarios.filter((s) => s.result === 'FAIL').map((s) => s.name);
}

async function faulty(options: ClusterOptions, body: (cluster: TestCluster & { kubeconfigPath: string }) => Promise<void>): Promise<void> {
  await withCluster({ calico: 'v3.29.0', ...options }, async (cluster) => {
    await body(cluster);
    assert.deepEqual(leftovers(cluster), [], 'nothing is left behind');
  });
}

test('UDP 4789 blocked on kubeadm-two-subnets: VXLAN between the subnets, named with its nodes and the port', async () => {
  await faulty({ scenario: 'kubeadm-two-subnets', network: { drops: [{ traffic: 'vxlan' }] } }, async (cluster) => {
    const { code, report } = await connectivity(cluster, '--test', '!ingress|egress');
    assert.equal(code, 1);
    assert.ok(failed(report).includes('pod-to-pod-cross-node'));
    assert.ok(!failed(report).includes('pod-to-pod-same-node'));
    assert.deepEqual(report.findings.map((f) => f.id), ['vxlan-blocked']);
    const [finding] = report.findings;
    assert.match(finding!.cause, /^UDP 4789 \(VXLAN\) is dropped between 192\.168\.56\.0\/24 and 192\.168\.57\.0\/24: pods on kubernetes-master-01 \(192\.168\.56\.0\/24\) and pods on kubernetes-worker-01 and kubernetes-worker-02 \(192\.168\.57\.0\/24\) cannot reach each other, while pods on the same node can/);
    assert.match(finding!.fix, /^allow UDP 4789 between 192\.168\.56\.0\/24 and 192\.168\.57\.0\/24, both ways/);
    assert.deepEqual(finding!.nodes, [MASTER, W1, W2]);
    // The workers share a subnet: their pods talk unencapsulated and reach each other.
    assert.ok(report.probes.filter((p) => p.scenario === 'pod-to-pod-cross-node' && p.from.node !== MASTER && p.to.node !== MASTER).every((p) => p.result === 'PASS'));
    // For CI: the failed probes and the finding in the failure's body, valid JUnit.
    const junit = await plugin(['connectivity', '-o', 'junit', ...TIMEOUT, '--test', 'pod-to-pod'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(junit.code, 1);
    assert.deepEqual(await junitErrors(junit.stdout), []);
    assert.match(junit.stdout, /<testcase classname="calico\.connectivity" name="pod-to-pod-cross-node" time="[\d.]+"><failure message="4 of 6 probes failed: [^"]*" type="FAIL">FAIL client-\S+ \(kubernetes-master-01\) -&gt; echo-\S+ \(kubernetes-worker-01\) 10\.97\.[\d.]+:9376: TIMEOUT\n/);
    assert.match(junit.stdout, /\nfinding vxlan-blocked: UDP 4789 \(VXLAN\) is dropped between 192\.168\.56\.0\/24 and 192\.168\.57\.0\/24: [^<]*\nfix: allow UDP 4789 /);
  });
});

test('a source/destination check with the VXLANCrossSubnet pool: the underlay drops unencapsulated pod traffic', async () => {
  await faulty({ network: { sourceDestCheck: true } }, async (cluster) => {
    const { code, report } = await connectivity(cluster, '--test', '!ingress|egress');
    assert.equal(code, 1);
    assert.ok(failed(report).includes('pod-to-pod-cross-node'));
    assert.deepEqual(report.findings.map((f) => f.id), ['underlay-drops-pod-traffic']);
    assert.match(report.findings[0]!.cause, /^the network between nodes of 192\.168\.56\.0\/24 drops pod traffic that is not encapsulated: pods on kubernetes-master-01, kubernetes-worker-01 and kubernetes-worker-02 cannot reach each other across nodes, while pods on the same node can/);
    assert.match(report.findings[0]!.fix, /source\/destination check/);
  });
});

test('TCP 179 blocked with an IPIP pool: no routes between the nodes, the pairs named', async () => {
  await slowFault({ calico: 'v3.29.0', encapsulation: 'IPIP' }, async (cluster, pass, running) => {
    cluster.runtime.network.drops.push({ traffic: 'bgp' });
    // The sessions last until the hold timer runs out; then calico-node's readiness probe fails three times.
    await pass(241_000 + 120_000);
    const { code, report } = await running(connectivity(cluster, '--test', '!ingress|egress'));
    assert.equal(code, 1);
    assert.ok(failed(report).includes('pod-to-pod-cross-node'));
    assert.ok(!failed(report).includes('pod-to-pod-same-node'));
    assert.deepEqual(report.findings.map((f) => f.id), ['bgp-blocked']);
    assert.match(report.findings[0]!.cause, /^TCP 179 \(BGP\) is blocked between kubernetes-master-01 <-> kubernetes-worker-01, kubernetes-master-01 <-> kubernetes-worker-02 and kubernetes-worker-01 <-> kubernetes-worker-02: their BGP sessions are not Established/);
    assert.match(report.findings[0]!.fix, /^allow TCP 179 between those nodes/);
  });
});

test('TCP 179 blocked between two nodes only, with an IPIP pool: calico-node stays Ready (one peer is enough), BIRD is asked, and that pair is named', async () => {
  await slowFault({ calico: 'v3.29.0', encapsulation: 'IPIP' }, async (cluster, pass, running) => {
    cluster.runtime.network.drops.push({ traffic: 'bgp', between: [[MASTER, W1]] });
    await pass(241_000 + 120_000);
    const { code, report } = await running(connectivity(cluster, '--test', 'pod-to-pod'));
    assert.equal(code, 1);
    const failedPairs = report.probes.filter((p) => p.result === 'FAIL').map((p) => [p.from.node, p.to.node].sort().join(' '));
    assert.deepEqual([...new Set(failedPairs)], [`${MASTER} ${W1}`]);
    assert.deepEqual(report.findings.map((f) => [f.id, f.nodes]), [['bgp-blocked', [MASTER, W1]]]);
    assert.match(report.findings[0]!.cause, /^TCP 179 \(BGP\) is blocked between kubernetes-master-01 <-> kubernetes-worker-01: their BGP sessions are not Established/);
  });
});

test('TCP 179 blocked with the default VXLAN pool: every traffic scenario passes (BGP carries no pod traffic), and a note says so', async () => {
  await slowFault({ calico: 'v3.29.0' }, async (cluster, pass, running) => {
    cluster.runtime.network.drops.push({ traffic: 'bgp' });
    await pass(241_000 + 120_000);
    const { code, report, stderr } = await running(connectivity(cluster));
    assert.deepEqual(failed(report), []);
    assert.equal(code, 0, stderr);
    assert.deepEqual(report.findings.map((f) => [f.id, f.severity]), [['bgp-not-established', 'info']]);
    assert.match(report.findings[0]!.cause, /^calico-node is not Ready on kubernetes-master-01, kubernetes-worker-01 and kubernetes-worker-02: BGP not established with /);
  });
});

test('CoreDNS down: names fail while the ClusterIP works, and CoreDNS is named', async () => {
  await faulty({ podFaults: { failingImages: [], crashingContainers: ['kube-system/coredns/coredns'] } }, async (cluster) => {
    const { code, report } = await connectivity(cluster, '--test', '!ingress')
    assert.equal(code, 1);
    assert.deepEqual(failed(report).sort(), ['pod-to-kubernetes-default', 'pod-to-service-dns']);
    assert.ok(!failed(report).includes('pod-to-service'));
    assert.deepEqual(report.findings.map((f) => f.id), ['dns']);
    assert.match(report.findings[0]!.cause, /^names do not resolve from pods on kubernetes-master-01, kubernetes-worker-01 and kubernetes-worker-02 while they reach Services by ClusterIP: CoreDNS has 0\/2 pods ready \(coredns-\S+: /);
    assert.match(report.findings[0]!.fix, /kubectl -n kube-system get pods -l k8s-app=kube-dns/);
  });
});

test('policy not programmed on one node: the policy scenarios fail there, and that node and its calico-node are named', async () => {
  await faulty({ network: { felixStuck: [W2] } }, async (cluster) => {
    const { code, report } = await connectivity(cluster, '--test', 'pod-to-pod-same-node|ingress|egress');
    assert.equal(code, 1);
    assert.deepEqual(failed(report), ['ingress-default-deny', 'egress-default-deny']);
    assert.deepEqual(report.findings.map((f) => [f.id, f.nodes]), [['policy-not-enforced', [W2]]]);
    assert.match(report.findings[0]!.cause, /^NetworkPolicy is not enforced as written on kubernetes-worker-02 \(.*\); calico-node there \(calico-node-\S+\) is Ready: Felix there is not programming the policy/);
  });
});

test('calico-node not ready on one node (its Felix cannot reach a Typha): every probe from it fails, with calico-node\'s own words', async () => {
  await slowFault({ calico: 'v3.29.0' }, async (cluster, pass, running) => {
    const typhaNodes = new Set(cluster.api.store.list('pods', 'calico-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'calico-typha').map((p) => (p.spec as { nodeName: string }).nodeName));
    const node = [W2, W1, MASTER].find((n) => !typhaNodes.has(n))!;
    cluster.runtime.network.drops.push({ traffic: 'typha', between: [...typhaNodes].map((t): [string, string] => [node, t]) });
    await pass(120_000);
    const { code, report } = await running(connectivity(cluster, '--test', '!ingress|egress'));
    assert.equal(code, 1);
    assert.ok(failed(report).includes('pod-to-pod-same-node'));
    const errors = report.findings.filter((f) => f.severity === 'error');
    assert.deepEqual(errors.map((f) => [f.id, f.nodes]), [['node-down', [node]]]);
    assert.match(errors[0]!.cause, new RegExp(`^every probe from pods on ${node} fails, even to a pod on the same node: calico-node there \\(calico-node-\\S+\\) is not Ready: calico/node is not ready: felix is not ready`, 'i'));
  });
});
