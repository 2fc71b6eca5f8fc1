// init's other sources and checks, apply's dry runs: what an admin meets off the main path.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { cleanEnv, mirror, plugin, SHARED_CALICO, tempDir, withCluster } from '../helpers.ts';

const V3290 = path.join(SHARED_CALICO, 'v3.29.0');

test('a mirror URL is verified and cached; a second init works with the mirror gone', async () => {
  const home = tempDir();
  const env = cleanEnv({ HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
  const server = await mirror(V3290);
  const first = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', server.url, '--dir', path.join(home, 'a')], env);
  await server.close();
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /Warning: could not check the pool against a cluster \(no kubeconfig found/);
  assert.deepEqual(server.served.sort(), ['custom-resources.yaml', 'tigera-operator.yaml']);
  assert.ok(fs.existsSync(path.join(home, 'cache', 'kubectl-calico', 'manifests', 'v3.29.0', 'tigera-operator.yaml')));
  const offline = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', server.url, '--dir', path.join(home, 'b')], env);
  assert.equal(offline.code, 0, offline.stderr);
  fs.appendFileSync(path.join(home, 'cache', 'kubectl-calico', 'manifests', 'v3.29.0', 'tigera-operator.yaml'), 'corrupted');
  const corrupted = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', server.url, '--dir', path.join(home, 'c')], env);
  assert.equal(corrupted.code, 1, 'a corrupted cache entry is dropped and fetched again (the mirror is gone here)');
  assert.match(corrupted.stderr, /^error: cannot download http:\/\/127\.0\.0\.1:\d+\/calico\/v3\.29\.0\/tigera-operator\.yaml: ECONNREFUSED/m);
});

test('an unknown version needs --checksums or --insecure-skip-verify, which warns loudly', async () => {
  const home = tempDir();
  const env = cleanEnv({ HOME: home });
  const unknown = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--calico-version', 'v3.28.2', '--manifests-from', V3290, '--dir', path.join(home, 'x')], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: Calico v3\.28\.2 has no pinned checksums in this kubectl-calico; pass --checksums FILE/);
  const sums = path.join(home, 'SHA256SUMS');
  fs.copyFileSync(path.join(V3290, 'SHA256SUMS'), sums);
  const withSums = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--calico-version', 'v3.28.2', '--manifests-from', V3290, '--checksums', sums, '--dir', path.join(home, 'y'), '-o', 'json'], env);
  assert.equal(withSums.code, 0, withSums.stderr);
  assert.equal(JSON.parse(withSums.stdout).verification, 'checksums file');
  const skipped = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--calico-version', 'v3.28.2', '--manifests-from', V3290, '--insecure-skip-verify', '--dir', path.join(home, 'z')], env);
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stderr, /^Warning: --insecure-skip-verify: the Calico v3\.28\.2 manifests are NOT checked against any sha256/);
  assert.match(skipped.stdout, /manifests NOT verified \(--insecure-skip-verify\)/);
});

test('dual-stack: one pool per family with the per-family defaults', async () => {
  const home = tempDir();
  const dir = path.join(home, 'calico');
  const result = await plugin(['init', '--pod-cidr', '10.97.0.0/16,fd00:10:97::/56', '--manifests-from', V3290, '--dir', dir], cleanEnv({ HOME: home }));
  assert.equal(result.code, 0, result.stderr);
  const installation = parse(fs.readFileSync(path.join(dir, 'custom-resources.yaml'), 'utf8').split('---')[0]!);
  assert.deepEqual(installation.spec.calicoNetwork.ipPools, [
    { name: 'default-ipv4-ippool', blockSize: 26, cidr: '10.97.0.0/16', encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()' },
    { name: 'default-ipv6-ippool', blockSize: 122, cidr: 'fd00:10:97::/56', encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Disabled', nodeSelector: 'all()' },
  ]);
});

// Refusals of bad flag values and folders: test/e2e/bad-input.test.ts.
test('a --dir whose parent folders do not exist yet is made with them', async () => {
  const home = tempDir();
  const dir = path.join(home, 'a', 'b', 'calico');
  const result = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', V3290, '--dir', dir], cleanEnv({ HOME: home }));
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['custom-resources.yaml', 'kubectl-calico.yaml', 'tigera-operator.yaml']);
});

test('apply --dry-run=client prints, --dry-run=server sends with dryRun and changes nothing', async () => {
  await withCluster({}, async (cluster) => {
    const home = tempDir();
    const env = cleanEnv({ HOME: home, KUBECONFIG: cluster.kubeconfigPath });
    const dir = path.join(home, 'calico');
    assert.equal((await plugin(['init', '--manifests-from', V3290, '--dir', dir], env)).code, 0);
    const before = cluster.api.store.revision();
    const client = await plugin(['apply', '--dir', dir, '--dry-run=client'], env);
    assert.equal(client.code, 0, client.stderr);
    assert.match(client.stdout, /^deployment\.apps\/tigera-operator serverside-applied \(dry run\)$/m);
    const server = await plugin(['apply', '--dir', dir, '--dry-run=server', '-o', 'json'], env);
    assert.equal(server.code, 0, server.stderr);
    const doc = JSON.parse(server.stdout);
    assert.equal(doc.kind, 'ApplyResult');
    const action = (name: string) => (doc.objects as { name: string; action: string; note?: string }[]).find((o) => o.name === name);
    assert.equal(action('namespace/tigera-operator')?.action, 'created');
    assert.equal(action('customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io')?.action, 'created');
    assert.deepEqual(action('deployment.apps/tigera-operator'), { name: 'deployment.apps/tigera-operator', action: 'skipped', dryRun: 'server', note: 'its namespace is created by this apply, so the server cannot check it' });
    assert.equal(action('installation.operator.tigera.io/default')?.action, 'skipped');
    assert.equal(cluster.api.store.revision(), before, 'nothing changed');
    const patches = cluster.requestLog.filter((e) => e.method === 'PATCH');
    assert.ok(patches.length > 0 && patches.every((e) => e.path.includes('dryRun=All')), patches.map((e) => e.path).join('\n'));
  });
});
