// The test cluster, refereed by real kubectl: the install guide's sequence
// must behave as against a kubeadm cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cleanEnv, eventually, kubectl, kubectlFor, SHARED_CALICO, withCluster } from '../helpers.ts';

const NODES = ['kubernetes-master-01', 'kubernetes-worker-01', 'kubernetes-worker-02'];

/** The guide's sequence with one Calico release on one Kubernetes version. */
async function guideSequence(calico: string, kubernetesVersion: string): Promise<void> {
  await withCluster({ kubernetesVersion }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const k = (...args: string[]) => kubectl(args, env);
    const dir = path.join(SHARED_CALICO, calico);

    const version = await k('version');
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, new RegExp(`\\nServer Version: ${kubernetesVersion}\\n`));

    const nodes = (await k('get', 'nodes')).stdout.trimEnd().split('\n');
    const v = kubernetesVersion.replace(/\./g, '\\.');
    assert.equal(nodes[0], 'NAME                   STATUS     ROLES           AGE   VERSION');
    assert.match(nodes[1]!, new RegExp(`^kubernetes-master-01   NotReady   control-plane   \\d+s {3,4}${v}$`));
    assert.match(nodes[2]!, new RegExp(`^kubernetes-worker-01   NotReady   <none>          \\d+s {3,4}${v}$`));
    assert.match(nodes[3]!, new RegExp(`^kubernetes-worker-02   NotReady   <none>          \\d+s {3,4}${v}$`));
    const wide = await k('get', 'nodes', '-o', 'wide');
    const wideLines = wide.stdout.trimEnd().split('\n');
    assert.equal(wideLines[0], 'NAME                   STATUS     ROLES           AGE   VERSION   INTERNAL-IP     EXTERNAL-IP   OS-IMAGE             KERNEL-VERSION     CONTAINER-RUNTIME');
    NODES.forEach((name, i) => assert.match(wideLines[i + 1]!, new RegExp(`^${name}   NotReady   (control-plane|<none>       )   \\d+s +${kubernetesVersion.replace(/\./g, '\\.')}   192\\.168\\.56\\.1${i + 1}   <none>        Ubuntu 24\\.04\\.1 LTS   6\\.8\\.0-49-generic   containerd://1\\.7\\.24$`)));

    if (fs.existsSync(path.join(dir, 'operator-crds.yaml')) && calico >= 'v3.30') {
      const crds = await k('create', '-f', path.join(dir, 'operator-crds.yaml'));
      assert.equal(crds.code, 0, crds.stderr);
    }
    const operator = await k('create', '-f', path.join(dir, 'tigera-operator.yaml'));
    assert.equal(operator.code, 0, operator.stderr);
    assert.match(operator.stdout, /^deployment\.apps\/tigera-operator created$/m);
    await eventually(async () => / Running /.test((await k('get', 'pods', '-n', 'tigera-operator', '--no-headers')).stdout));

    const resources = path.join(path.dirname(cluster.kubeconfigPath), 'custom-resources.yaml');
    fs.writeFileSync(resources, fs.readFileSync(path.join(dir, 'custom-resources.yaml'), 'utf8').replace('cidr: 192.168.0.0/16', 'cidr: 10.97.0.0/16'));
    const created = await k('create', '-f', resources);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^installation\.operator\.tigera\.io\/default created$/m);

    await eventually(async () => {
      const pods = (await k('get', 'pods', '-n', 'calico-system', '--no-headers')).stdout.trim().split('\n');
      const ready = (await k('get', 'nodes', '--no-headers')).stdout.trim().split('\n').every((line) => / Ready /.test(line));
      return pods.length >= 9 && pods.every((line) => / Running /.test(line) && /(\d)\/\1/.test(line)) && ready;
    }, 30_000);
    const status = await k('get', 'tigerastatus', 'calico', '--no-headers');
    assert.match(status.stdout, /^calico +True +False +False /);

    const again = await k('create', '-f', path.join(dir, 'tigera-operator.yaml'));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /Error from server \(AlreadyExists\): error when creating ".*tigera-operator\.yaml": deployments\.apps "tigera-operator" already exists/);

    const serverSide = await k('apply', '--server-side', '-f', path.join(dir, 'tigera-operator.yaml'));
    assert.equal(serverSide.code, 0, serverSide.stderr);
    assert.match(serverSide.stdout, /^deployment\.apps\/tigera-operator serverside-applied$/m);
    const crdFile = calico >= 'v3.30' ? 'operator-crds.yaml' : 'tigera-operator.yaml';
    const clientSide = await k('apply', '-f', path.join(dir, crdFile));
    assert.equal(clientSide.code, 1);
    const limit = Number(kubernetesVersion.split('.')[1]) <= 31 ? 'must have at most 262144 bytes' : 'may not be more than 262144 bytes';
    assert.match(clientSide.stderr, new RegExp(`The CustomResourceDefinition "[a-z.]+" is invalid: metadata\\.annotations: Too long: ${limit}`));

    const unauthorized = await kubectl(['get', 'nodes', '--token', 'wrong'], env);
    assert.equal(unauthorized.code, 1);
    assert.match(unauthorized.stderr, /error: You must be logged in to the server \(/);
    const forbidden = await k('get', 'secrets', '-n', 'kube-system', '--context', 'viewer@kubernetes');
    assert.equal(forbidden.code, 1);
    assert.equal(forbidden.stderr, 'Error from server (Forbidden): secrets is forbidden: User "viewer" cannot list resource "secrets" in API group "" in the namespace "kube-system"\n');
  });
}

test('the guide: Calico v3.29.0 on Kubernetes v1.31.3, through real kubectl', () => guideSequence('v3.29.0', 'v1.31.3'));

test('Calico v3.32.1 (operator-crds.yaml first) on Kubernetes v1.34.2', () => guideSequence('v3.32.1', 'v1.34.2'));

test('kubectl get -w streams the changes of calico-system pods', async () => {
  await withCluster({}, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const dir = path.join(SHARED_CALICO, 'v3.29.0');
    await kubectl(['create', '-f', path.join(dir, 'tigera-operator.yaml')], env);
    const watcher = spawn(kubectlFor([], env), ['get', 'pods', '-n', 'calico-system', '-w', '--output-watch-events'], { env });
    let output = '';
    watcher.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await eventually(() => output.length > 0 || undefined, 10_000).catch(() => undefined);
      const resources = path.join(path.dirname(cluster.kubeconfigPath), 'cr.yaml');
      fs.writeFileSync(resources, fs.readFileSync(path.join(dir, 'custom-resources.yaml'), 'utf8').replace('192.168.0.0/16', '10.97.0.0/16'));
      await kubectl(['create', '-f', resources], env);
      await eventually(() => (/^ADDED +calico-node-\w+ +0\/1 +/m.test(output) && /^MODIFIED +calico-node-\w+ +1\/1 +Running/m.test(output)) || undefined, 20_000);
    } finally {
      watcher.kill();
    }
  });
});
