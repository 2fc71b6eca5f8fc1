// kubectl-calico's output on 2,000 nodes, as a CI log or a user sees it:
// apply --wait in a pipe from apply to ready, status on the healthy cluster,
// and status once some nodes go NotReady — sized by what is wrong, not by
// the cluster.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialized, withCluster } from '../helpers.ts';

test('2,000 nodes: apply --wait logs at most 300 lines from apply to ready; status fits in 40 lines, and names what is wrong, capped', async () => {
  await withCluster({ nodes: 2000 }, async (cluster) => {
    const { calico, dir } = await initialized(cluster, 'v3.29.0', null);
    const apply = await calico('apply', '--dir', dir, '--wait', '--timeout', '50s');
    assert.equal(apply.code, 0, apply.stderr + apply.stdout.slice(-3000));
    const lines = apply.stdout.trimEnd().split('\n');
    assert.ok(lines.length <= 300, `${lines.length} lines:\n${apply.stdout}`);
    assert.match(apply.stdout, /^\d\d:\d\d:\d\d daemonset\/calico-node: 2000\/2000 ready$/m);
    assert.match(apply.stdout, /^\d\d:\d\d:\d\d nodes: 2000\/2000 Ready$/m);
    const counts = lines.filter((l) => / daemonset\/calico-node: \d+\/2000 ready$/.test(l));
    assert.ok(counts.length >= 2 && counts.length <= 12, `a line per tenth of calico-node's count:\n${counts.join('\n')}`);
    assert.ok(!lines.some((l) => / problem: /.test(l)), 'a healthy rollout has no problem lines');
    assert.match(apply.stdout, /\nCalico is ready \([\d.]+s\)\.\n\nCalico v3\.29\.0: Available\n[^]*\nNodes: 2000 Ready\n$/);

    const healthy = await calico('status');
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.ok(healthy.stdout.split('\n').length - 1 <= 40, healthy.stdout);
    assert.match(healthy.stdout, /\ndaemonset\.apps\/calico-node +2000 +2000 +2000 +2000 +2000 +kubernetes\.io\/os=linux /);
    assert.match(healthy.stdout, /\nNodes: 2000 Ready\n$/);

    // Twelve kubelets stop posting their status, as the node lifecycle controller then reports them.
    const stopped = Array.from({ length: 12 }, (_, i) => `kubernetes-worker-${String(1000 + i).padStart(4, '0')}`);
    for (const node of stopped) {
      cluster.api.mutate(cluster.api.registry.byKey('nodes')!, undefined, node, (n) => {
        const conditions = (n.status as { conditions: { type: string; status: string; reason?: string; message?: string }[] }).conditions;
        const ready = conditions.find((c) => c.type === 'Ready')!;
        Object.assign(ready, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
      }, { fieldManager: 'kube-controller-manager', subresource: 'status' });
    }
    const sick = await calico('status');
    const text = sick.stdout;
    assert.equal(sick.code, 0, 'Calico itself is Available');
    assert.ok(text.split('\n').length - 1 <= healthy.stdout.split('\n').length + 12, `the healthy summary and the capped node list: ${text}`);
    assert.match(text, /\nNodes: 1988 Ready, 12 NotReady\nNAME +MESSAGE\n(kubernetes-worker-10\d\d +Kubelet stopped posting node status\.\n){10}… and 2 more \(--all\)\n/);
    const all = await calico('status', '--all');
    assert.match(all.stdout, /\nNodes: 1988 Ready, 12 NotReady\nNAME +MESSAGE\n(kubernetes-worker-10\d\d +Kubelet stopped posting node status\.\n){12}\n/);
    assert.match(all.stdout, /\nNodes:\nNAME +STATUS +ROLES +AGE +VERSION\n(kubernetes-\S+ +(Ready|NotReady) .*\n){2000}$/, 'and every node as kubectl get nodes prints it');
  });
});
