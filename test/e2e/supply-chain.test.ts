// What init runs on every node is what the Calico release published: a file
// whose sha256 differs from the pinned sum is refused wherever it comes from,
// a corrupted cache entry is noticed and fetched again, skipping verification
// is loud every time, and the lockfile pins every dependency.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cleanEnv, mirror, plugin, ROOT, SHARED_CALICO, tempDir, withCluster } from '../helpers.ts';

const V3290 = path.join(SHARED_CALICO, 'v3.29.0');
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function home(): { env: NodeJS.ProcessEnv; cache: string; dir: (name: string) => string } {
  const root = tempDir('supply-');
  return { env: cleanEnv({ HOME: root, XDG_CACHE_HOME: path.join(root, 'cache') }), cache: path.join(root, 'cache', 'kubectl-calico', 'manifests', 'v3.29.0'), dir: (name) => path.join(root, name) };
}

test('a download whose sha256 differs from the pinned sum is refused and neither cached nor written', async () => {
  const tampered = tempDir('tampered-');
  for (const file of ['tigera-operator.yaml', 'custom-resources.yaml']) fs.copyFileSync(path.join(V3290, file), path.join(tampered, file));
  fs.appendFileSync(path.join(tampered, 'tigera-operator.yaml'), '---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: intruder, namespace: kube-system}\n');
  const server = await mirror(tampered);
  const { env, cache, dir } = home();
  const result = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', server.url, '--dir', dir('calico')], env);
  await server.close();
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`^error: tigera-operator\\.yaml from ${server.url.replaceAll('.', '\\.')}/tigera-operator\\.yaml does not match its pinned sha256 for Calico v3\\.29\\.0: expected ${sha256(path.join(V3290, 'tigera-operator.yaml'))}, got [0-9a-f]{64}; refusing to use it\\n$`, 'm'));
  assert.ok(!fs.existsSync(path.join(cache, 'tigera-operator.yaml')), 'not cached');
  assert.ok(!fs.existsSync(dir('calico')), 'no folder');
});

test('a corrupted cache entry is reported, fetched again and repaired', async () => {
  const server = await mirror(V3290);
  const { env, cache, dir } = home();
  assert.equal((await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', server.url, '--dir', dir('a')], env)).code, 0);
  fs.writeFileSync(path.join(cache, 'tigera-operator.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: evil}\n');
  server.served.length = 0;
  const again = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', server.url, '--dir', dir('b')], env);
  await server.close();
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`^Warning: the cached tigera-operator\\.yaml \\(${cache}/tigera-operator\\.yaml\\) does not match its sha256; fetching it again$`, 'm'));
  assert.deepEqual(server.served, ['tigera-operator.yaml'], 'only the corrupted file was fetched again');
  assert.equal(sha256(path.join(cache, 'tigera-operator.yaml')), sha256(path.join(V3290, 'tigera-operator.yaml')));
  assert.equal(sha256(path.join(dir('b'), 'tigera-operator.yaml')), sha256(path.join(V3290, 'tigera-operator.yaml')));
});

test('--insecure-skip-verify warns on every use: each init, and each apply of what it wrote', async () => {
  const { env, dir } = home();
  for (const name of ['a', 'b']) {
    const init = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--calico-version', 'v3.28.2', '--manifests-from', V3290, '--insecure-skip-verify', '--dir', dir(name), '-o', 'json'], env);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stderr, /^Warning: --insecure-skip-verify: the Calico v3\.28\.2 manifests are NOT checked against any sha256/m);
    assert.equal(JSON.parse(init.stdout).verification, 'none');
  }
  await withCluster({}, async (cluster) => {
    const clusterEnv = { ...env, KUBECONFIG: cluster.kubeconfigPath };
    const apply = await plugin(['apply', '--dir', dir('a'), '--dry-run=client'], clusterEnv);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stderr, /^Warning: the Calico v3\.28\.2 manifests in \S+ were NOT checked against any sha256 \(init --insecure-skip-verify\)/m);
    const verified = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', V3290, '--dir', dir('c')], clusterEnv);
    assert.doesNotMatch(verified.stderr, /NOT checked/);
    assert.doesNotMatch((await plugin(['apply', '--dir', dir('c'), '--dry-run=client'], clusterEnv)).stderr, /NOT checked/);
  });
});

test('the lockfile pins every package to one version with an integrity hash', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, { version?: string; integrity?: string; link?: boolean }> };
  assert.equal(lock.lockfileVersion, 3);
  const packages = Object.entries(lock.packages).filter(([name]) => name !== '');
  assert.ok(packages.length > 20);
  for (const [name, entry] of packages) {
    assert.match(entry.version ?? '', /^\d+\.\d+\.\d+/, `${name} has an exact version`);
    assert.match(entry.integrity ?? '', /^sha512-/, `${name} has an integrity hash`);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) assert.match(range, /^\d+\.\d+\.\d+$/, `${name} is pinned to an exact version in package.json`);
});

test('a --checksums file without a sum for a file the release needs is refused, not taken as verified', async () => {
  const { env, dir } = home();
  const sums = path.join(tempDir('sums-'), 'SHA256SUMS');
  fs.writeFileSync(sums, fs.readFileSync(path.join(V3290, 'SHA256SUMS'), 'utf8').split('\n').filter((l) => !l.includes('custom-resources.yaml')).join('\n'));
  const result = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--calico-version', 'v3.28.2', '--manifests-from', V3290, '--checksums', sums, '--dir', dir('calico')], env);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: the --checksums file has no sha256 for custom-resources\.yaml, which Calico v3\.28\.2 needs; refusing to use it unchecked\n$/m);
  assert.ok(!fs.existsSync(dir('calico')));
});

test('a plan edited along with a manifest does not get another operator applied: pinned plans must name the pinned files', async () => {
  const { env, dir } = home();
  assert.equal((await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', V3290, '--dir', dir('calico')], env)).code, 0);
  const operator = path.join(dir('calico'), 'tigera-operator.yaml');
  fs.appendFileSync(operator, '---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: intruder, namespace: kube-system}\n');
  const plan = path.join(dir('calico'), 'kubectl-calico.yaml');
  fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace(sha256(path.join(V3290, 'tigera-operator.yaml')), sha256(operator)));
  const apply = await plugin(['apply', '--dir', dir('calico'), '--dry-run=client', '--server', 'https://127.0.0.1:1'], env);
  assert.equal(apply.code, 1);
  assert.match(apply.stderr, /^error: \S+kubectl-calico\.yaml names tigera-operator\.yaml with sha256 [0-9a-f]{64}, but Calico v3\.29\.0's pinned sum is 3c94375828be38a3120c3377a122c9a257b882a2a0a6ad92c734d9cb750bd47e; refusing to apply it/);
});

test('a planted entry in the parse cache is not applied: apply uses only JSON the plan vouches for', async () => {
  const { env, dir } = home();
  const root = path.dirname(dir('x'));
  assert.equal((await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', V3290, '--dir', dir('calico')], env)).code, 0);
  const entry = path.join(root, 'cache', 'kubectl-calico', 'manifests', 'objects', `${sha256(path.join(V3290, 'tigera-operator.yaml'))}.json`);
  const objects = JSON.parse(fs.readFileSync(entry, 'utf8')) as unknown[];
  fs.writeFileSync(entry, JSON.stringify([...objects, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'planted' } }]));
  const apply = await plugin(['apply', '--dir', dir('calico'), '--dry-run=client', '--server', 'https://127.0.0.1:1'], env);
  assert.equal(apply.code, 0, apply.stderr);
  assert.match(apply.stdout, /^namespace\/tigera-operator serverside-applied \(dry run\)$/m);
  assert.doesNotMatch(apply.stdout, /planted/);
  assert.doesNotMatch(fs.readFileSync(entry, 'utf8'), /planted/, 'the entry was written again from the verified bytes');
});
