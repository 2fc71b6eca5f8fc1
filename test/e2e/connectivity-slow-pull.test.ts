// A first run on a cluster that pulls agnhost slowly: every node pulls the
// image for two minutes of cluster time (25 s of the command's, longer than
// the 20 s a stalled pod is given) while nothing else changes; the command
// waits for the pulls, as the pods have their network and are pulling, then
// probes every node. It used to stop at 20 s: "no connectivity pod became ready".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectivity, slowFault } from '../connectivity.ts';

test('every node pulling the image for 25 s: the pulls are waited for and every node is probed', async () => {
  await slowFault({ calico: 'v3.29.0' }, async (cluster, _pass, running) => {
    cluster.runtime.timings.imagePull = 125_000;
    const { code, report, stderr } = await running(connectivity(cluster, '--test', 'pod-to-pod'));
    assert.equal(code, 0, stderr);
    assert.deepEqual(report.nodes, { selected: 3, probed: 3, notProbed: [] });
    assert.deepEqual(report.scenarios.filter((s) => !/ipv6/.test(s.name)).map((s) => [s.name, s.result]), [['pod-to-pod-same-node', 'PASS'], ['pod-to-pod-cross-node', 'PASS']]);
    assert.match(stderr, /pods: 8\/8 ready/);
  });
});
