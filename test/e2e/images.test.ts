// Air-gapped installs through the built binary and real kubectl: `images` offline, the walkthrough on a test
// cluster that can pull only from a mirror (--registry-only), the missing pull secret, doctor, bad input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { cleanEnv, eventually, kubectl, plugin, SHARED_CALICO, tempDir, withCluster } from '../helpers.ts';

const MIRROR = 'mirror.example.com:5000';

/**
 * The README's mirroring loop: every row of `images --all -o list`, copied, then `crane digest --full-ref` of
 * the copy — here a made-up digest per source image, written to a file for --image-set.
 */
async function digestsFile(file: string, version: string, ...mirror: string[]): Promise<Map<string, string>> {
  const list = await plugin(['images', '--calico-version', version, '--all', '-o', 'list', ...mirror]);
  assert.equal(list.code, 0, list.stderr);
  const digests = new Map<string, string>();
  const lines = list.stdout.trim().split('\n').map((line) => {
    const [source, destination] = line.split(' ') as [string, string];
    const digest = `sha256:${createHash('sha256').update(source).digest('hex')}`;
    digests.set(source.replace(/^[^/]+\/([^:]+):.*$/, '$1'), digest);
    return `${destination.slice(0, destination.lastIndexOf(':'))}@${digest}`;
  });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return digests;
}

test('images: the release\'s list offline, mirrored names, -o list and JSON; an unknown release and a bad --registry are one error line', async () => {
  const table = await plugin(['images', '--calico-version', 'v3.30.7']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^Calico v3\.30\.7: 13 images\nIMAGE {2,}WHEN\nquay\.io\/tigera\/operator:v1\.38\.13 +always\nquay\.io\/calico\/node:v3\.30\.7 +default\n/);
  assert.match(table.stdout, /registry\.k8s\.io\/e2e-test-images\/agnhost:2\.52 +connectivity\n/);
  const list = await plugin(['images', '--calico-version', 'v3.29.0', '--registry', `${MIRROR}/`, '--image-path', 'calico-mirror', '--all', '-o', 'list']);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.equal(lines[0], `quay.io/tigera/operator:v1.36.0 ${MIRROR}/calico-mirror/operator:v1.36.0`);
  assert.ok(lines.includes(`docker.io/calico/key-cert-provisioner:v3.29.0 ${MIRROR}/calico-mirror/key-cert-provisioner:v3.29.0`));
  assert.equal(lines.length, 13);
  const json = await plugin(['images', '--calico-version', 'v3.32.1', '--registry', MIRROR, '--image-prefix', 'm-', '-o', 'json']);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.kind, 'ImageList');
  assert.deepEqual(doc.images[1], { image: 'quay.io/calico/node:v3.32.1', when: 'default', note: 'deployed by the docs install (tigera-operator.yaml + custom-resources.yaml)', mirror: `${MIRROR}/calico/m-node:v3.32.1` });
  const unknown = await plugin(['images', '--calico-version', 'v3.28.2']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'error: kubectl-calico has no image list for Calico v3.28.2; it knows v3.29.0, v3.29.7, v3.30.0, v3.30.7, v3.31.0, v3.31.7, v3.32.0, v3.32.1\n');
  for (const bad of ['https://mirror.example.com', 'mirror.example.com/calico:v1', 'mirror.example.com@sha256:00', 'mirror example', '']) {
    for (const command of [['images'], ['init', '--pod-cidr', '10.97.0.0/16', '--dir', path.join(tempDir(), 'c')]]) {
      const result = await plugin([...command, '--registry', bad]);
      assert.equal(result.code, 2, `${command[0]} --registry "${bad}"`);
      assert.match(result.stderr, /^error: invalid --registry "[^"\n]*": [^\n]+\nSee|^error: invalid --registry "[^"\n]*": [^\n]+\n$/, bad);
      assert.equal(result.stdout, '');
    }
  }
});

test('air-gapped walkthrough: the plain install stalls with doctor naming the registry; namespace + secret, init --registry, apply, wait — every pod from the mirror', { timeout: 120_000 }, async () => {
  await withCluster({ scenario: 'kubeadm-3-nodes', podFaults: { registryOnly: MIRROR } }, async (cluster) => {
    const home = tempDir('calico-');
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
    const calico = (...args: string[]) => kubectl(['calico', ...args], env);
    const from = path.join(SHARED_CALICO, 'v3.29.0');
    const plainDir = path.join(home, 'plain');

    // Without the mirror the operator's own image cannot be pulled; doctor says from where and what to do.
    assert.equal((await calico('init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', from, '--dir', plainDir)).code, 0);
    const plain = await calico('apply', '--dir', plainDir, '--timeout', '5s');
    assert.equal(plain.code, 124, plain.stderr);
    const doctor = JSON.parse((await calico('doctor', '-o', 'json')).stdout) as { checks: { id: string; status: string; finding: string; fix?: string }[] };
    const operatorPod = doctor.checks.find((c) => c.id === 'CAL-0403')!;
    assert.equal(operatorPod.status, 'FAIL', operatorPod.finding);
    assert.match(operatorPod.finding, /ImagePullBackOff: container tigera-operator cannot pull image quay\.io\/tigera\/operator:v1\.36\.0/);
    assert.match(operatorPod.fix!, /cannot pull quay\.io\/tigera\/operator:v1\.36\.0 from quay\.io; .*kubectl calico images --calico-version v3\.29\.0 --registry <your-registry> -o list/);
    const pulls = await kubectl(['get', 'events', '-n', 'tigera-operator', '--field-selector', 'reason=Failed', '-o', 'jsonpath={.items[0].message}'], env);
    assert.match(pulls.stdout, /dial tcp: lookup quay\.io: no such host/);

    // The walkthrough: the namespace and the pull secret first, then the mirrored install.
    const dir = path.join(home, 'calico');
    const init = ['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', from, '--dir', dir, '--registry', MIRROR, '--image-pull-secret', 'mirror-pull'];
    assert.equal((await calico(...init)).code, 0);
    const refused = await calico('apply', '--dir', dir);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: the Installation pulls with secret mirror-pull, which does not exist in namespace tigera-operator .*nothing was applied\. Create it first: kubectl create secret docker-registry mirror-pull -n tigera-operator --docker-server=mirror\.example\.com:5000 --docker-username=<user> --docker-password=<password>\n$/);
    assert.equal((await kubectl(['create', 'secret', 'docker-registry', 'mirror-pull', '-n', 'tigera-operator', `--docker-server=${MIRROR}`, '--docker-username=u', '--docker-password=p'], env)).code, 0);
    const again = await calico(...init);
    assert.match(again.stdout, /is up to date: nothing changed/);
    const apply = await calico('apply', '--dir', dir, '--wait', '--timeout', '90s');
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    const images = await kubectl(['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace} {range .spec.initContainers[*]}{.image} {end}{range .spec.containers[*]}{.image} {end}{"\\n"}{end}'], env);
    const calicoImages = images.stdout.trim().split('\n').filter((l) => /^(tigera-operator|calico-system|calico-apiserver) /.test(l)).flatMap((l) => l.trim().split(' ').slice(1));
    assert.ok(calicoImages.length > 10);
    for (const image of calicoImages) assert.ok(image.startsWith(`${MIRROR}/`), image);
    assert.ok(calicoImages.includes(`${MIRROR}/tigera/operator:v1.36.0`));
    const secrets = await kubectl(['get', 'secret', 'mirror-pull', '-n', 'calico-system', '-o', 'name'], env);
    assert.equal(secrets.stdout, 'secret/mirror-pull\n', 'the operator copied the pull secret');
    const after = JSON.parse((await calico('doctor', '-o', 'json')).stdout) as { checks: { id: string; status: string; finding: string }[] };
    const registry = after.checks.find((c) => c.id === 'CAL-0807')!;
    assert.equal(registry.status, 'PASS', registry.finding);
    assert.match(registry.finding, /pulls from mirror\.example\.com:5000\//);
    assert.match((await calico('apply', '--dir', dir)).stdout, /installation\.operator\.tigera\.io\/default unchanged/);

    // Edited files differ from upstream only in the named lines; a hand edit is refused.
    const diff = (name: string) => {
      const ours = fs.readFileSync(path.join(dir, name), 'utf8').split('\n');
      const upstream = new Set(fs.readFileSync(path.join(from, name), 'utf8').split('\n'));
      return ours.filter((l) => !upstream.has(l)).map((l) => l.trim());
    };
    assert.deepEqual(diff('tigera-operator.yaml'), ['imagePullSecrets:', '- name: mirror-pull', `image: ${MIRROR}/tigera/operator:v1.36.0`]);
    assert.deepEqual(diff('custom-resources.yaml'), [`registry: ${MIRROR}/`, 'imagePullSecrets:', '- name: mirror-pull', 'cidr: 10.97.0.0/16']);
    const file = path.join(dir, 'tigera-operator.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(`${MIRROR}/tigera/operator`, 'evil.example.com/tigera/operator'));
    const edited = await calico('apply', '--dir', dir);
    assert.equal(edited.code, 1);
    assert.match(edited.stderr, /^error: .*tigera-operator\.yaml has changed since init/);
  });
});

test('a plan edited along with the operator file is refused: apply re-derives the edit from the pinned upstream bytes', async () => {
  const home = tempDir();
  const dir = path.join(home, 'calico');
  const env = cleanEnv({ HOME: home });
  assert.equal((await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.join(SHARED_CALICO, 'v3.29.0'), '--dir', dir, '--registry', MIRROR], env)).code, 0);
  const { createHash } = await import('node:crypto');
  const file = path.join(dir, 'tigera-operator.yaml');
  const plan = path.join(dir, 'kubectl-calico.yaml');
  const before = fs.readFileSync(file);
  const edited = Buffer.from(before.toString('utf8').replace('imagePullPolicy: IfNotPresent', 'imagePullPolicy: Always'));
  fs.writeFileSync(file, edited);
  fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace(createHash('sha256').update(before).digest('hex'), createHash('sha256').update(edited).digest('hex')));
  const result = await plugin(['apply', '--dir', dir, '--dry-run=client'], env);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: .*tigera-operator\.yaml is not the release's file with kubectl-calico\.yaml's image settings \(undoing the edit does not give the verified upstream bytes\)/);
});

test('custom-resources.yaml edited by hand, the plan\'s sha256 edited along, is refused: apply derives it again from upstream\'s bytes, the pools and the mirror', async () => {
  const { createHash } = await import('node:crypto');
  const sum = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  const home = tempDir();
  const env = cleanEnv({ HOME: home });
  // Client dry runs ask the cluster nothing: a server that does not answer shows it.
  const apply = (dir: string) => plugin(['apply', '--dir', dir, '--dry-run=client', '--server', 'https://127.0.0.1:9'], env);
  // v3.31.7: four documents (Goldmane, Whisker) and the indented pool list; dual-stack: two pools; a selector init quotes.
  for (const release of ['v3.29.0', 'v3.31.7']) {
    const dir = path.join(home, release);
    const init = await plugin(['init', '--calico-version', release, '--pod-cidr', '10.97.0.0/16,fd00:10:97::/56', '--node-selector', '!has(edge)', '--manifests-from', path.join(SHARED_CALICO, release), '--dir', dir, '--registry', MIRROR, '--image-prefix', 'm-'], env);
    assert.equal(init.code, 0, init.stderr);
    const unchanged = await apply(dir);
    assert.equal(unchanged.code, 0, unchanged.stderr);
    assert.match(unchanged.stdout, /installation\.operator\.tigera\.io\/default serverside-applied \(dry run\)/);
    const file = path.join(dir, 'custom-resources.yaml');
    const plan = path.join(dir, 'kubectl-calico.yaml');
    const [before, planBefore] = [fs.readFileSync(file, 'utf8'), fs.readFileSync(plan, 'utf8')];
    const edits: [string, string, RegExp][] = [
      ['a pool value', before.replace('cidr: 10.97.0.0/16', 'cidr: 10.98.0.0/16'), /its pools, image settings and digests differ from the recorded ones/],
      ['a field added to an upstream document', before.replace('kind: APIServer\nmetadata:\n  name: default\nspec: {}', 'kind: APIServer\nmetadata:\n  name: default\nspec:\n  apiServerDeployment: {}'), /undoing the edit does not give the verified upstream bytes/],
      ['the mirror dropped', before.replace(`  registry: ${MIRROR}/\n`, ''), /its pools, image settings and digests differ from the recorded ones/],
      ['a comment', `${before}# note\n`, /undoing the edit does not give the verified upstream bytes/],
    ];
    for (const [what, edited, why] of edits) {
      assert.notEqual(edited, before, what);
      fs.writeFileSync(file, edited);
      fs.writeFileSync(plan, planBefore.replace(sum(before), sum(edited)));
      const result = await apply(dir);
      assert.equal(result.code, 1, `${release}: ${what}`);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not the release's file with kubectl-calico\\.yaml's pools, image settings and digests \\(`));
      assert.match(lines[0]!, why, `${release}: ${what}`);
      assert.match(lines[0]!, /refusing to apply it — run "kubectl calico init --overwrite" to start again from verified manifests$/);
    }
    fs.writeFileSync(file, before);
    fs.writeFileSync(plan, planBefore);
    assert.equal((await apply(dir)).code, 0, 'put back, it applies');
  }
});

test('upgrade carries the mirror to the new release, and refuses without the new release\'s ImageSet once a calico* one exists', { timeout: 150_000 }, async () => {
  await withCluster({ scenario: 'kubeadm-3-nodes', podFaults: { registryOnly: MIRROR } }, async (cluster) => {
    const home = tempDir('calico-');
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
    const calico = (...args: string[]) => kubectl(['calico', ...args], env);
    const dir = path.join(home, 'calico');
    assert.equal((await calico('init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.join(SHARED_CALICO, 'v3.29.0'), '--dir', dir, '--registry', MIRROR)).code, 0);
    assert.equal((await calico('apply', '--dir', dir, '--wait', '--timeout', '90s')).code, 0);
    const upgrade = await calico('upgrade', '--calico-version', 'v3.30.7', '--dir', dir, '--manifests-from', path.join(SHARED_CALICO, 'v3.30.7'), '--wait', '--timeout', '90s');
    assert.equal(upgrade.code, 0, upgrade.stderr + upgrade.stdout);
    assert.match(fs.readFileSync(path.join(dir, 'tigera-operator.yaml'), 'utf8'), new RegExp(`image: ${MIRROR}/tigera/operator:v1\\.38\\.13\\n`));
    assert.match(fs.readFileSync(path.join(dir, 'custom-resources.yaml'), 'utf8'), new RegExp(`\\n  registry: ${MIRROR}/\\n`));
    const node = await kubectl(['get', 'daemonset', 'calico-node', '-n', 'calico-system', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'], env);
    assert.equal(node.stdout, `${MIRROR}/calico/node:v3.30.7`);

    const imageSet = path.join(home, 'imageset.yaml');
    fs.writeFileSync(imageSet, 'apiVersion: operator.tigera.io/v1\nkind: ImageSet\nmetadata:\n  name: calico-v3.30.7\nspec:\n  images:\n  - image: calico/node\n    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n');
    assert.equal((await kubectl(['apply', '-f', imageSet], env)).code, 0);
    const refused = await calico('upgrade', '--calico-version', 'v3.31.7', '--dir', dir, '--manifests-from', path.join(SHARED_CALICO, 'v3.31.7'), '--force');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: the cluster pins image digests with ImageSet calico-v3\.30\.7; the v3\.31\.7 operator requires ImageSet calico-v3\.31\.7 [^\n]*nothing was changed$/m);
    // The model's operator, with the core controller's messages: the CA's key-cert-provisioner first, then each component's image.
    const degraded = (pattern: RegExp) => eventually(async () => {
      const s = await kubectl(['get', 'tigerastatus', 'calico', '-o', 'jsonpath={.status.conditions[?(@.type=="Degraded")].message}'], env);
      return pattern.test(s.stdout) ? s.stdout : undefined;
    });
    assert.equal(await degraded(/key-cert/), 'Unable to create the Tigera CA: ImageSet did not contain image calico/key-cert-provisioner');
    fs.appendFileSync(imageSet, '  - image: calico/key-cert-provisioner\n    digest: sha256:1111111111111111111111111111111111111111111111111111111111111111\n');
    assert.equal((await kubectl(['apply', '-f', imageSet], env)).code, 0);
    assert.match(await degraded(/resolving/), /^Error resolving ImageSet for components: invalid ImageSet: ImageSet did not contain image calico\/cni, ImageSet did not contain image calico\/pod2daemon-flexvol, /);

    // upgrade --image-set: the new release's ImageSet goes in before its operator, and every component runs by digest.
    const digests = path.join(home, 'digests-v3.31.7.txt');
    const expected = await digestsFile(digests, 'v3.31.7', '--registry', MIRROR);
    const pinned = await calico('upgrade', '--calico-version', 'v3.31.7', '--dir', dir, '--manifests-from', path.join(SHARED_CALICO, 'v3.31.7'), '--image-set', digests, '--force', '--wait', '--timeout', '90s');
    assert.equal(pinned.code, 0, pinned.stderr + pinned.stdout);
    assert.match(pinned.stdout, /^imageset\.operator\.tigera\.io\/calico-v3\.31\.7 created\n(?:.*\n)*deployment\.apps\/tigera-operator serverside-applied$/m);
    const upgraded = await kubectl(['get', 'daemonset', 'calico-node', '-n', 'calico-system', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'], env);
    assert.equal(upgraded.stdout, `${MIRROR}/calico/node@${expected.get('calico/node')}`);
    assert.match(fs.readFileSync(path.join(dir, 'kubectl-calico.yaml'), 'utf8'), /\nimageSet:\n {2}- image: calico\/node\n/);
    assert.match((await calico('apply', '--dir', dir)).stdout, /imageset\.operator\.tigera\.io\/calico-v3\.31\.7 unchanged/);
  });
});

test('init --image-set: a set lacking an image the release deploys is one error line, exit 2, and nothing is written', async () => {
  const home = tempDir();
  const env = cleanEnv({ HOME: home });
  const digests = path.join(home, 'digests.txt');
  await digestsFile(digests, 'v3.30.7', '--registry', MIRROR);
  fs.writeFileSync(digests, fs.readFileSync(digests, 'utf8').split('\n').filter((l) => !l.includes('/calico/typha@')).join('\n'));
  const dir = path.join(home, 'calico');
  const result = await plugin(['init', '--calico-version', 'v3.30.7', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.join(SHARED_CALICO, 'v3.30.7'), '--dir', dir, '--registry', MIRROR, '--image-set', digests], env);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, new RegExp(`^error: --image-set ${digests.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} lacks calico/typha: the Calico v3\\.30\\.7 operator requires every image it deploys in ImageSet calico-v3\\.30\\.7 [^\\n]+\\n$`));
  assert.equal(fs.existsSync(dir), false);
  const missing = await plugin(['init', '--pod-cidr', '10.97.0.0/16', '--dir', dir, '--image-set', path.join(home, 'nowhere.txt')], env);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: cannot read --image-set file "[^"]+nowhere\.txt": ENOENT\n$/);
});

test('air-gapped with digests: init --registry --image-set, apply, wait — every Calico pod runs its image by digest from the mirror', { timeout: 120_000 }, async () => {
  await withCluster({ scenario: 'kubeadm-3-nodes', podFaults: { registryOnly: MIRROR } }, async (cluster) => {
    const home = tempDir('calico-');
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
    const calico = (...args: string[]) => kubectl(['calico', ...args], env);
    const dir = path.join(home, 'calico');
    const digests = path.join(home, 'digests.txt');
    const expected = await digestsFile(digests, 'v3.30.7', '--registry', MIRROR, '--image-path', 'mirror/calico');
    const init = ['init', '--calico-version', 'v3.30.7', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.join(SHARED_CALICO, 'v3.30.7'), '--dir', dir, '--registry', MIRROR, '--image-path', 'mirror/calico', '--image-set', digests];
    const first = await calico(...init);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^ImageSet calico-v3\\.30\\.7: 18 images by digest \\(left out: ${MIRROR}/mirror/calico/operator, ${MIRROR}/e2e-test-images/agnhost; an ImageSet holds only the images the operator deploys\\)$`, 'm'));
    assert.match((await calico(...init)).stdout, /is up to date: nothing changed/);
    // Upstream's four documents unchanged, the ImageSet a fifth.
    const resources = fs.readFileSync(path.join(dir, 'custom-resources.yaml'), 'utf8');
    assert.equal(resources.split('\n---\n').length, 5);
    assert.match(resources, /\n---\n# Every Calico image by digest[^\n]*\n[^\n]*\napiVersion: operator\.tigera\.io\/v1\nkind: ImageSet\nmetadata:\n {2}name: calico-v3\.30\.7\nspec:\n {2}images:\n {4}- image: calico\/node\n {6}digest: sha256:[0-9a-f]{64}\n/);

    const apply = await calico('apply', '--dir', dir, '--wait', '--timeout', '90s');
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    // The ImageSet before the operator that reads it.
    const order = apply.stdout.split('\n');
    assert.ok(order.indexOf('imageset.operator.tigera.io/calico-v3.30.7 created') < order.indexOf('deployment.apps/tigera-operator created'), apply.stdout);
    assert.ok(order.includes('imageset.operator.tigera.io/calico-v3.30.7 created'), apply.stdout);
    const pods = await kubectl(['get', 'pods', '-n', 'calico-system', '-o', 'jsonpath={range .items[*]}{range .spec.initContainers[*]}{.image} {end}{range .spec.containers[*]}{.image} {end}{end}'], env);
    const images = [...new Set(pods.stdout.trim().split(' '))];
    assert.ok(images.length >= 10, pods.stdout);
    for (const image of images) {
      const match = new RegExp(`^${MIRROR}/mirror/calico/([a-z0-9-]+)@(sha256:[0-9a-f]{64})$`).exec(image);
      assert.ok(match, image);
      assert.equal(match[2], expected.get(`calico/${match[1]}`), `${image}: the digest resolved for calico/${match[1]}`);
    }
    assert.match(images.join(' '), /\/whisker-backend@/);
    const status = await kubectl(['get', 'tigerastatus', 'calico', '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}'], env);
    assert.equal(status.stdout, 'True');
    assert.match((await calico('apply', '--dir', dir)).stdout, /imageset\.operator\.tigera\.io\/calico-v3\.30\.7 unchanged/);

    // Uninstall takes the ImageSet too, even keeping the CRDs: one left would bind the next install's operator to it.
    const uninstall = await calico('uninstall', '--yes', '--keep-crds', '--dir', dir, '--timeout', '60s');
    assert.equal(uninstall.code, 0, uninstall.stderr + uninstall.stdout);
    assert.equal((await kubectl(['get', 'imagesets', '-o', 'name'], env)).stdout, '');
  });
});
