// The README's RBAC claims, checked against the test cluster's real RBAC: the
// kubectl-calico-reader ClusterRole it prints is enough for status, wait,
// doctor (nothing skipped) and ipam; node status without pods/exec reports it
// and works with the README's Role; and apply without cluster-admin is refused
// naming the verb and resource, with nothing applied.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { initialized, kubectl, ROOT, SHARED_CALICO, tempDir, withCluster } from '../helpers.ts';

/** A role the README prints between `<!-- rbac:NAME -->` and `<!-- /rbac:NAME -->`. */
function readmeRole(name: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = new RegExp(`<!-- rbac:${name} -->\\n\`\`\`yaml\\n([\\s\\S]*?)\`\`\`\\n<!-- /rbac:${name} -->`).exec(readme);
  assert.ok(block, `the README holds the ${name} role`);
  return block[1]!;
}

test('the README\'s reader ClusterRole is all init, status, wait, doctor, version and ipam need; node status without pods/exec says so, and with the README\'s Role works; apply needs more and says which', async () => {
  await withCluster({}, async (cluster) => {
    const { home, env: admin, dir } = await initialized(cluster);
    const viewer = { ...admin, HOME: tempDir('rbac-viewer-') };
    const asViewer = (...args: string[]) => kubectl(['calico', '--context', 'viewer@kubernetes', ...args], viewer);

    const before = cluster.api.store.revision();
    const refused = await asViewer('apply', '--dir', dir);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: applying customresourcedefinition\.apiextensions\.k8s\.io\/\S+: customresourcedefinitions\.apiextensions\.k8s\.io "\S+" is forbidden: User "viewer" cannot patch resource "customresourcedefinitions" in API group "apiextensions\.k8s\.io" at the cluster scope \(Forbidden\)\n$/);
    assert.equal(cluster.api.store.revision(), before, 'nothing was applied');

    const installed = await kubectl(['calico', 'apply', '--dir', dir, '--wait', '--timeout', '45s'], admin);
    assert.equal(installed.code, 0, installed.stderr);
    const roleFile = path.join(home, 'reader.yaml');
    fs.writeFileSync(roleFile, readmeRole('reader'));
    assert.equal((await kubectl(['apply', '-f', roleFile], admin)).code, 0);
    const bind = await kubectl(['create', 'clusterrolebinding', 'calico-reader', '--clusterrole', 'kubectl-calico-reader', '--user', 'viewer'], admin);
    assert.equal(bind.code, 0, bind.stderr);

    const status = await asViewer('status');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^Calico v3\.29\.0: Available/m);
    const wait = await asViewer('wait', '--timeout', '30s');
    assert.equal(wait.code, 0, wait.stderr + wait.stdout);
    const version = await asViewer('version', '-o', 'json');
    assert.equal(version.code, 0, version.stderr);
    assert.equal(JSON.parse(version.stdout).calico.version, 'v3.29.0');
    const init = await asViewer('init', '--manifests-from', path.join(SHARED_CALICO, 'v3.29.0'), '--dir', path.join(home, 'viewer-calico'), '-o', 'json');
    assert.equal(init.code, 0, init.stderr);
    assert.equal(JSON.parse(init.stdout).cluster.podSubnet, '10.97.0.0/16', 'init read the cluster as the reader');
    const doctor = await asViewer('doctor', '-o', 'json');
    assert.equal(doctor.code, 0, doctor.stderr);
    const checks = JSON.parse(doctor.stdout).checks as { id: string; status: string; finding: string }[];
    assert.deepEqual(checks.filter((c) => c.status === 'SKIP' || /not granted|needs permission/.test(c.finding)), [], 'no check is skipped for want of a permission');
    for (const args of [['ipam'], ['ipam', 'show', '--show-blocks'], ['ipam', 'check']]) {
      const ipam = await asViewer(...args);
      assert.equal(ipam.code, 0, `${args.join(' ')}: ${ipam.stderr}`);
    }

    // node status runs commands in calico-node: without pods/exec every node is that one finding, not a crash.
    const refusedExec = await asViewer('node', 'status');
    assert.equal(refusedExec.code, 1, refusedExec.stderr);
    assert.match(refusedExec.stdout, /\nProblems:\n- calico-node could not be asked on 3 nodes: forbidden: running commands needs "get" and "create" on "pods\/exec" in the namespace "calico-system" \(.*User "viewer" cannot (get|create) resource "pods\/exec".*\)\n {4}fix: {4}Grant "get" and "create" on pods\/exec in calico-system/);
    const execFile = path.join(home, 'node-status.yaml');
    fs.writeFileSync(execFile, readmeRole('node-status'));
    assert.equal((await kubectl(['apply', '-f', execFile], admin)).code, 0);
    const bindExec = await kubectl(['create', 'rolebinding', 'calico-node-status', '-n', 'calico-system', '--role', 'kubectl-calico-node-status', '--user', 'viewer'], admin);
    assert.equal(bindExec.code, 0, bindExec.stderr);
    const nodeStatus = await asViewer('node', 'status');
    assert.equal(nodeStatus.code, 0, nodeStatus.stdout + nodeStatus.stderr);
    assert.match(nodeStatus.stdout, /\n3 nodes: 3 healthy\n$/);
  });
});
