// init → apply → wait through the built binary via kubectl, against the
// test cluster: the guide's sequence done by the plugin.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { cleanEnv, kubectl, SHARED_CALICO, tempDir, withCluster, type Result } from '../helpers.ts';

type Run = (...args: string[]) => Promise<Result>;

function session(kubeconfig: string): { run: Run; dir: string } {
  const home = tempDir('install-');
  const env = cleanEnv({ KUBECONFIG: kubeconfig, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
  return { run: (...args) => kubectl(['calico', ...args], env).then((r) => ({ ...r })), dir: path.join(home, 'calico') };
}

async function installFlow(version: string, kubernetesVersion: string): Promise<void> {
  await withCluster({ kubernetesVersion }, async (cluster) => {
    const { run, dir } = session(cluster.kubeconfigPath);
    const from = path.join(SHARED_CALICO, version);
    const init = await run('init', '--pod-cidr', '10.97.0.0/16', '--calico-version', version, '--manifests-from', from, '--dir', dir);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`^Calico ${version.replace(/\./g, '\\.')}: manifests verified against the sha256 sums pinned in kubectl-calico\\n`));
    const upstream = fs.readFileSync(path.join(from, 'custom-resources.yaml'), 'utf8').split('\n');
    const written = fs.readFileSync(path.join(dir, 'custom-resources.yaml'), 'utf8').split('\n');
    const differing = upstream.map((line, i) => [line, written[i]]).filter(([a, b]) => a !== b);
    assert.deepEqual(differing.map(([a, b]) => [a!.trim(), b!.trim()]), [['cidr: 192.168.0.0/16', 'cidr: 10.97.0.0/16']], 'only the cidr line differs');
    assert.equal(written.length, upstream.length);

    const apply = await run('apply', '--dir', dir);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io\/installations\.operator\.tigera\.io created$/m);
    assert.match(apply.stdout, /^waited: pod tigera-operator\/tigera-operator-\S+ Running and Ready$/m);
    assert.match(apply.stdout, /^installation\.operator\.tigera\.io\/default created$/m);
    const order = ['customresourcedefinition', 'waited: \\d+ CustomResourceDefinitions Established', 'namespace/tigera-operator', 'deployment.apps/tigera-operator', 'waited: pod', 'installation'];
    const positions = order.map((p) => apply.stdout.search(new RegExp(`^${p}`, 'm')));
    assert.deepEqual([...positions].sort((a, b) => a - b), positions, `stages in order: ${positions}`);

    const wait = await run('wait', '--timeout', '45s');
    assert.equal(wait.code, 0, wait.stderr + wait.stdout);
    assert.match(wait.stdout, /\nCalico is ready \([\d.]+s\)\.\n/);
    assert.match(wait.stdout, /\n\nCalico v3\.\d+\.\d+: Available\n/, 'the status summary follows');
    assert.match(wait.stdout, /\nNodes: 3 Ready\n/);
    const nodes = await kubectl(['get', 'nodes', '--no-headers'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(nodes.stdout.trim().split('\n').filter((l) => / Ready /.test(l)).length, 3);
    const cidr = await kubectl(['get', 'installation', 'default', '-o', 'jsonpath={.spec.calicoNetwork.ipPools[0].cidr}'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(cidr.stdout, '10.97.0.0/16');

    const before = cluster.api.store.revision();
    const again = await run('init', '--pod-cidr', '10.97.0.0/16', '--calico-version', version, '--manifests-from', from, '--dir', dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /is up to date: nothing changed\n/);
    const reapply = await run('apply', '--dir', dir);
    assert.equal(reapply.code, 0, reapply.stderr);
    assert.ok(!/ (created|serverside-applied)$/m.test(reapply.stdout), `a re-run changes nothing:\n${reapply.stdout}`);
    assert.match(reapply.stdout, /^installation\.operator\.tigera\.io\/default unchanged$/m);
    assert.equal(cluster.api.store.revision(), before, 'no object was written');
  });
}

test('init --pod-cidr 10.97.0.0/16 → apply → wait on the guide\'s cluster (Calico v3.29.0, Kubernetes v1.31.3); a re-run changes nothing', () => installFlow('v3.29.0', 'v1.31.3'));

test('the same flow for Calico v3.32.1 (CRD bundle first) on Kubernetes v1.34.2', () => installFlow('v3.32.1', 'v1.34.2'));

test('init finds the pod subnet by itself, and refuses a pool outside it naming both CIDRs', async () => {
  await withCluster({}, async (cluster) => {
    const { run, dir } = session(cluster.kubeconfigPath);
    const from = path.join(SHARED_CALICO, 'v3.29.0');
    const found = await run('init', '--manifests-from', from, '--dir', dir, '-o', 'json');
    assert.equal(found.code, 0, found.stderr);
    const doc = JSON.parse(found.stdout);
    assert.equal(doc.kind, 'InitResult');
    assert.equal(doc.ipPools[0].cidr, '10.97.0.0/16');
    assert.equal(parse(fs.readFileSync(path.join(dir, 'kubectl-calico.yaml'), 'utf8')).ipPools[0].cidr, '10.97.0.0/16');
    const other = path.join(path.dirname(dir), 'other');
    const refused = await run('init', '--pod-cidr', '192.168.0.0/16', '--manifests-from', from, '--dir', other);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: the pool 192\.168\.0\.0\/16 is outside the cluster's podSubnet 10\.97\.0\.0\/16 \(kube-system\/kubeadm-config\)/);
    assert.ok(!fs.existsSync(other), 'nothing was written');
    const smaller = await run('init', '--pod-cidr', '10.97.128.0/17', '--manifests-from', from, '--dir', other);
    assert.equal(smaller.code, 0);
    assert.match(smaller.stderr, /^Warning: the pool 10\.97\.128\.0\/17 is inside the cluster's podSubnet 10\.97\.0\.0\/16 but smaller/);
  });
});

test('on the service-overlap scenario init is refused, naming both ranges', async () => {
  await withCluster({ scenario: 'service-overlap' }, async (cluster) => {
    const { run, dir } = session(cluster.kubeconfigPath);
    const result = await run('init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.join(SHARED_CALICO, 'v3.29.0'), '--dir', dir);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: the pool 10\.97\.0\.0\/16 overlaps the service subnet 10\.96\.0\.0\/12: pods whose IPs collide with Service ClusterIPs become unreachable/);
  });
});

test('a tampered manifest is refused: in --manifests-from, and in the folder before apply', async () => {
  await withCluster({}, async (cluster) => {
    const { run, dir } = session(cluster.kubeconfigPath);
    const mirror = tempDir('mirror-');
    for (const file of ['tigera-operator.yaml', 'custom-resources.yaml']) fs.copyFileSync(path.join(SHARED_CALICO, 'v3.29.0', file), path.join(mirror, file));
    fs.appendFileSync(path.join(mirror, 'tigera-operator.yaml'), '\n# tampered\n');
    const init = await run('init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', mirror, '--dir', dir);
    assert.equal(init.code, 1);
    assert.match(init.stderr, /^error: tigera-operator\.yaml from .* does not match its pinned sha256 for Calico v3\.29\.0: expected 3c9437582[0-9a-f]+, got [0-9a-f]{64}; refusing to use it\n$/);
    assert.ok(!fs.existsSync(dir));
    assert.equal((await run('init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.join(SHARED_CALICO, 'v3.29.0'), '--dir', dir)).code, 0);
    fs.appendFileSync(path.join(dir, 'tigera-operator.yaml'), '\n# tampered after init\n');
    const apply = await run('apply', '--dir', dir);
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /tigera-operator\.yaml has changed since init .* refusing to apply it/);
    assert.equal(cluster.requestLog.filter((e) => e.method === 'PATCH').length, 0, 'nothing reached the cluster');
  });
});

test('wait times out with exit 124 and names the stuck pod and its reason', async () => {
  await withCluster({ podFaults: { failingImages: ['calico/node:'] } }, async (cluster) => {
    const { run, dir } = session(cluster.kubeconfigPath);
    assert.equal((await run('init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.join(SHARED_CALICO, 'v3.29.0'), '--dir', dir)).code, 0);
    assert.equal((await run('apply', '--dir', dir)).code, 0);
    const wait = await run('wait', '--timeout', '3s');
    assert.equal(wait.code, 124, wait.stdout + wait.stderr);
    assert.match(wait.stderr, /^error: not ready after \d+s \(--timeout\): \d+ of \d+ workloads ready, 0\/3 nodes Ready, \d+ pods not ready\n/);
    assert.match(wait.stderr, /\n {2}daemonset\/calico-node: 3 pods ImagePullBackOff: container calico-node cannot pull image docker\.io\/calico\/node:v3\.29\.0.* \(calico-system\/calico-node-\w+, calico-system\/calico-node-\w+, calico-system\/calico-node-\w+\)\n/);
    assert.match(wait.stderr, /\n {2}nodes: 0\/3 — NotReady \(3\): container runtime network not ready/);
    assert.match(wait.stderr, /\nRun "kubectl calico doctor" to find the cause\.\n$/);
  });
});
