// `kubectl calico status`, its tables checked byte for byte against real
// kubectl on a frozen clock (ages cannot tick between the two).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ManualClock } from '../cluster/clock.ts';
import { BINARY, cleanEnv, DIST, eventually, kubectl, plugin, SHARED_CALICO, tempDir, withCluster, type Result } from '../helpers.ts';

async function createCalico(env: NodeJS.ProcessEnv, dir: string): Promise<void> {
  assert.equal((await kubectl(['create', '-f', path.join(SHARED_CALICO, 'v3.29.0', 'tigera-operator.yaml')], env)).code, 0);
  const resources = path.join(dir, 'cr.yaml');
  fs.writeFileSync(resources, fs.readFileSync(path.join(SHARED_CALICO, 'v3.29.0', 'custom-resources.yaml'), 'utf8').replace('192.168.0.0/16', '10.97.0.0/16'));
  assert.equal((await kubectl(['create', '-f', resources], env)).code, 0);
}

/** Runs the manual clock until the simulated cluster has nothing left to do. */
function settle(clock: ManualClock): void {
  for (let i = 0; i < 20; i++) clock.advance(1_000);
}

/** The lines under `title:` up to the next section's title (a section may hold several tables, an empty line apart). */
function section(output: string, title: string): string {
  const start = output.indexOf(`\n${title}:\n`);
  assert.ok(start >= 0, `no "${title}" section in:\n${output}`);
  const rest = output.slice(start + title.length + 3);
  const end = rest.search(/\n\n(?=[A-Z][A-Za-z -]*:)/);
  return end < 0 ? rest : rest.slice(0, end + 1);
}

test('status tables are byte-identical to kubectl get (workloads, TigeraStatus; with --all pods and nodes), normal and -o wide', async () => {
  const clock = new ManualClock();
  await withCluster({ clock }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    settle(clock);
    await createCalico(env, path.dirname(cluster.kubeconfigPath));
    settle(clock);
    for (const wide of [false, true]) {
      const flags = wide ? ['-o', 'wide'] : [];
      const ours = await plugin(['status', ...flags], env);
      assert.equal(ours.code, 0, ours.stdout + ours.stderr);
      assert.equal(section(ours.stdout, 'TigeraStatus'), (await kubectl(['get', 'tigerastatus', ...flags], env)).stdout);
      for (const ns of ['tigera-operator', 'calico-system', 'calico-apiserver']) {
        assert.equal(section(ours.stdout, `Workloads in ${ns}`), (await kubectl(['get', 'daemonsets,deployments', '-n', ns, ...flags], env)).stdout, ns);
      }
      assert.match(ours.stdout, /\nNodes: 3 Ready\n$/, 'a healthy cluster ends with one line for its nodes');
      assert.ok(!ours.stdout.includes('Pods in'), 'no pod tables without --all');
      const all = await plugin(['status', '--all', ...flags], env);
      assert.equal(section(all.stdout, 'Pods in calico-system'), (await kubectl(['get', 'pods', '-n', 'calico-system', ...flags], env)).stdout);
      assert.equal(section(all.stdout, 'Nodes'), (await kubectl(['get', 'nodes', ...flags], env)).stdout);
    }
  });
});

test('status: not installed, in progress, healthy and degraded — first line and exit code in every format', async () => {
  const clock = new ManualClock();
  await withCluster({ clock, podFaults: { failingImages: ['calico/csi:'] } }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    settle(clock);
    const expect = async (firstLine: RegExp, state: string, code: number) => {
      const text = await plugin(['status'], env);
      assert.match(text.stdout.split('\n')[0]!, firstLine);
      assert.equal(text.code, code);
      const json = JSON.parse((await plugin(['status', '-o', 'json'], env)).stdout);
      assert.equal(json.kind, 'Status');
      assert.equal(json.state, state);
      const yaml = parse((await plugin(['status', '-o', 'yaml'], env)).stdout);
      assert.equal(yaml.state, state);
      return { text, json };
    };
    const none = await expect(/^Calico: Not installed$/, 'Not installed', 1);
    assert.match(none.text.stdout, /Install it with "kubectl calico init/);
    await createCalico(env, path.dirname(cluster.kubeconfigPath));
    clock.advance(200);
    await expect(/^Calico v3\.29\.0: Progressing$/, 'Progressing', 1);
    clock.advance(5_000);
    const degraded = await expect(/^Calico v3\.29\.0: Degraded — Pod calico-system\/csi-node-driver-\w+ failed to pull container image for: calico-csi$/, 'Degraded', 1);
    assert.match(degraded.json.message, /failed to pull container image for: calico-csi/);
    assert.match(degraded.text.stdout, /\nPods not ready: 3\nWORKLOAD +PODS +REASON +MESSAGE\ndaemonset\/csi-node-driver +3 +ImagePullBackOff +container calico-csi cannot pull image docker\.io\/calico\/csi:v3\.29\.0/);
    assert.deepEqual(degraded.json.podsNotReady.map((g: { workload: string; reason: string; pods: string[] }) => [g.workload, g.reason, g.pods.length]), [['daemonset/csi-node-driver', 'ImagePullBackOff', 3]]);
  });
  const healthy = new ManualClock();
  await withCluster({ clock: healthy }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    settle(healthy);
    await createCalico(env, path.dirname(cluster.kubeconfigPath));
    settle(healthy);
    const text = await plugin(['status'], env);
    assert.equal(text.code, 0, text.stdout);
    assert.equal(text.stdout.split('\n')[0], 'Calico v3.29.0: Available');
    assert.match(text.stdout, /\nOperator: {5}tigera-operator 1\/1 ready, quay\.io\/tigera\/operator:v1\.36\.0\n/);
    assert.match(text.stdout, /\nIP pool: {6}default-ipv4-ippool 10\.97\.0\.0\/16, block size 26, VXLANCrossSubnet, NAT outgoing Enabled, node selector all\(\)\n/);
    const json = JSON.parse((await plugin(['status', '-o', 'json'], env)).stdout);
    assert.equal(json.calicoVersion, 'v3.29.0');
    assert.deepEqual(json.installation.ipPools[0], { name: 'default-ipv4-ippool', cidr: '10.97.0.0/16', blockSize: 26, encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()' });
    assert.equal(json.pods.length, 11);
    assert.deepEqual(Object.keys(json.pods[0]), ['namespace', 'name', 'ready', 'status', 'restarts', 'age', 'ip', 'node', 'nominatedNode', 'readinessGates']);
    assert.equal(json.nodes.length, 3);
    assert.deepEqual(json.workloads.map((w: { namespace: string; kind: string; name: string }) => `${w.kind} ${w.namespace}/${w.name}`), ['Deployment tigera-operator/tigera-operator', 'DaemonSet calico-system/calico-node', 'DaemonSet calico-system/csi-node-driver', 'Deployment calico-system/calico-kube-controllers', 'Deployment calico-system/calico-typha', 'Deployment calico-apiserver/calico-apiserver']);
    assert.deepEqual(json.podsNotReady, []);
    assert.ok(!JSON.stringify(json).includes('\x1b'));
  });
});

test('colour only on request: NO_COLOR and a pipe give plain text, FORCE_COLOR colours, --no-color wins', async () => {
  await withCluster({}, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const plain = await plugin(['status'], { ...env, NO_COLOR: '1' });
    assert.ok(!plain.stdout.includes('\x1b['));
    const piped = await plugin(['status'], env);
    assert.ok(!piped.stdout.includes('\x1b['));
    const forced = await plugin(['status'], { ...env, FORCE_COLOR: '1' });
    assert.match(forced.stdout, /^Calico: \x1b\[33mNot installed\x1b\[39m\n/);
    const off = await plugin(['status', '--no-color'], { ...env, FORCE_COLOR: '1' });
    assert.ok(!off.stdout.includes('\x1b['));
  });
});

test('status -w in a pipe prints a line when a count moves and when the state changes, and exits 130 on Ctrl-C', async () => {
  await withCluster({}, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const child = spawn(BINARY, ['status', '-w'], { env });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await eventually(() => out.includes('Calico: Not installed') || undefined);
      await createCalico(env, path.dirname(cluster.kubeconfigPath));
      await eventually(() => /\d\d:\d\d:\d\d daemonset\/calico-node: 3\/3 ready\n/.test(out) || undefined, 20_000);
      await eventually(() => /\d\d:\d\d:\d\d Calico v3\.29\.0: Available\n/.test(out) || undefined, 20_000);
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 130);
  });
});

test('completion: scripts for four shells, and kubectl completes through kubectl_complete-calico', async () => {
  for (const shell of ['bash', 'zsh', 'fish', 'powershell']) {
    const script = await plugin(['completion', shell]);
    assert.equal(script.code, 0);
    assert.match(script.stdout, /kubectl-calico __complete/);
  }
  assert.equal((await plugin(['completion', 'tcsh'])).code, 2);
  const bin = tempDir();
  fs.copyFileSync(path.join(DIST, 'kubectl-calico'), path.join(bin, 'kubectl-calico'));
  fs.chmodSync(path.join(bin, 'kubectl-calico'), 0o755);
  fs.symlinkSync(path.join(bin, 'kubectl-calico'), path.join(bin, 'kubectl_complete-calico'));
  await withCluster({}, async (cluster) => {
    const env = { PATH: `${bin}:/usr/bin`, HOME: tempDir(), KUBECONFIG: cluster.kubeconfigPath };
    const complete = (...words: string[]): Promise<Result> => kubectl(['__complete', 'calico', ...words], env);
    assert.match((await complete('sta')).stdout, /^status\tShow Calico's state at a glance\n:4\n$/);
    assert.match((await complete('status', '--o')).stdout, /^--output\t/);
    assert.equal((await complete('status', '--context', '')).stdout, 'kubernetes-admin@kubernetes\nviewer@kubernetes\ncert-admin@kubernetes\n:4\n');
    assert.equal((await complete('completion', 'f')).stdout, 'fish\n:4\n');
    assert.match((await complete('ipam', '')).stdout, /^show\tHow full each IP pool is, as calicoctl ipam show counts it\ncheck\tFind leaked addresses .*\n:4\n$/);
    assert.match((await complete('node', '')).stdout, /^status\tFelix, BIRD and the BGP sessions of every node, .*\n:4\n$/);
    assert.match((await complete('ipam', 'show', '--sh')).stdout, /^--show-blocks\t/);
    assert.match((await complete('ima')).stdout, /^images\tList the images a Calico release deploys, and their names in a mirror\n:4\n$/);
    assert.deepEqual((await complete('init', '--image-')).stdout.split('\n').map((l) => l.split('\t')[0]), ['--image-path', '--image-prefix', '--image-pull-secret', '--image-set', ':4', '']);
    assert.match((await complete('upgrade', '--image')).stdout, /^--image-set\tThe new release's digests/);
  });
});
