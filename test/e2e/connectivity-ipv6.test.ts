// kubectl calico connectivity on a dual-stack cluster (kubeadm podSubnet and
// serviceSubnet of both families, Calico v3.32.1 with an IPv4 VXLANCrossSubnet
// pool and an unencapsulated IPv6 pool): every IPv6 scenario passes over the
// test cluster's IPv6 data plane (BIRD6's routes, the Service's IPv6
// ClusterIP); with TCP 179 dropped, IPv6 cross-node traffic (routed by BGP)
// fails with the BGP finding while IPv4 (VXLAN, Felix's routes) passes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withCluster } from '../helpers.ts';
import { connectivity, leftovers, slowFault } from '../connectivity.ts';

const IPV6 = ['pod-to-pod-same-node-ipv6', 'pod-to-pod-cross-node-ipv6', 'pod-to-service-ipv6'];

test('dual-stack: every IPv6 scenario passes, to IPv6 pod addresses and the Service\'s IPv6 ClusterIP', async () => {
  await withCluster({ calico: 'v3.32.1', dualStack: true }, async (cluster) => {
    const { code, report, stderr } = await connectivity(cluster);
    for (const s of report.scenarios) {
      const failed = report.probes.filter((p) => p.scenario === s.name && p.result !== 'PASS');
      assert.equal(s.result, s.name === 'pod-to-external' ? 'SKIP' : 'PASS', `${s.name}: ${s.reason ?? ''} ${JSON.stringify(failed)}`);
    }
    assert.equal(code, 0, stderr);
    assert.deepEqual(report.findings, []);
    for (const name of IPV6) {
      const probes = report.probes.filter((p) => p.scenario === name);
      assert.ok(probes.length > 0, name);
      for (const p of probes) {
        assert.match(p.from.ip, /^fd00:10:97:/, `${name} leaves from the client's IPv6 address`);
        assert.match(p.to.ip!, name === 'pod-to-service-ipv6' ? /^fd00:10:96::/ : /^fd00:10:97:/, name);
      }
    }
    assert.equal(report.probes.filter((p) => p.scenario === 'pod-to-pod-cross-node-ipv6').length, 6);
    assert.deepEqual(leftovers(cluster), []);
  });
});

test('dual-stack with TCP 179 dropped: IPv6 across nodes (BGP routes) fails with the BGP finding, IPv4 over VXLAN passes', async () => {
  await slowFault({ calico: 'v3.32.1', dualStack: true }, async (cluster, pass, running) => {
    cluster.runtime.network.drops.push({ traffic: 'bgp' });
    // The sessions of both families last until the hold timer runs out; then calico-node's readiness probe fails three times.
    await pass(241_000 + 120_000);
    const { code, report, stderr } = await running(connectivity(cluster, '--test', '!ingress|egress'));
    assert.equal(code, 1, stderr);
    const result = (name: string) => report.scenarios.find((s) => s.name === name)?.result;
    assert.equal(result('pod-to-pod-cross-node-ipv6'), 'FAIL');
    for (const name of ['pod-to-pod-same-node', 'pod-to-pod-cross-node', 'pod-to-service', 'pod-to-pod-same-node-ipv6']) assert.equal(result(name), 'PASS', name);
    assert.deepEqual(report.findings.map((f) => f.id), ['bgp-blocked']);
    const [bgp] = report.findings;
    assert.ok(bgp!.scenarios.includes('pod-to-pod-cross-node-ipv6'));
    assert.ok(!bgp!.scenarios.includes('pod-to-pod-cross-node'));
    assert.match(bgp!.cause, /^TCP 179 \(BGP\) is blocked between kubernetes-master-01 <-> kubernetes-worker-01, kubernetes-master-01 <-> kubernetes-worker-02 and kubernetes-worker-01 <-> kubernetes-worker-02: their BGP sessions are not Established .*pool default-ipv6-ippool \(fd00:10:97::\/48, vxlanMode Never, ipipMode Never\) has no routes between them/);
    assert.match(bgp!.fix, /^allow TCP 179 between those nodes/);
  });
});
