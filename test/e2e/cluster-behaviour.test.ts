// The test cluster's simulated operator, kubelets and knobs, seen through real kubectl.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cleanEnv, eventually, kubectl, ROOT, seeded, SHARED_CALICO, tempDir, withCluster, type Result } from '../helpers.ts';

type K = (...args: string[]) => Promise<Result>;

async function install(k: K, dir: string, cidr = '10.97.0.0/16', calico = 'v3.29.0'): Promise<void> {
  assert.equal((await k('create', '-f', path.join(SHARED_CALICO, calico, 'tigera-operator.yaml'))).code, 0);
  const resources = path.join(dir, 'custom-resources.yaml');
  fs.writeFileSync(resources, fs.readFileSync(path.join(SHARED_CALICO, calico, 'custom-resources.yaml'), 'utf8').replace('192.168.0.0/16', cidr));
  assert.equal((await k('create', '-f', resources)).code, 0);
}

const jsonpath = async (k: K, ...args: string[]) => (await k('get', ...args)).stdout;

test('a pool outside the kubeadm podSubnet is rejected by the operator as a Degraded TigeraStatus', async () => {
  await withCluster({}, async (cluster) => {
    const k: K = (...args) => kubectl(args, cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    await install(k, path.dirname(cluster.kubeconfigPath), '192.168.0.0/16');
    const message = await eventually(async () => (await jsonpath(k, 'tigerastatus', 'ippools', '-o', 'jsonpath={.status.conditions[?(@.type=="Degraded")].message}')) || undefined);
    assert.equal(message, "error filling IP pool defaults: Could not resolve CalicoNetwork IPPool and kubeadm configuration: IPPool 192.168.0.0/16 is not within the platform's configured pod network CIDR(s) [10.97.0.0/16]");
    assert.equal(await jsonpath(k, 'tigerastatus', 'calico', '-o', 'jsonpath={.status.conditions[?(@.type=="Degraded")].message}'), 'waiting for enabled IP pools to be created');
    assert.match((await k('get', 'nodes')).stdout, /NotReady/);
  });
});

test('an image that cannot be pulled shows as ErrImagePull/ImagePullBackOff, with events, and degrades calico', async () => {
  await withCluster({ podFaults: { failingImages: ['calico/node:'] } }, async (cluster) => {
    const k: K = (...args) => kubectl(args, cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    await install(k, path.dirname(cluster.kubeconfigPath));
    await eventually(async () => /calico-node-\w+ +0\/1 +(ErrImagePull|ImagePullBackOff) /.test((await k('get', 'pods', '-n', 'calico-system')).stdout) || undefined);
    const degraded = await eventually(async () => (await jsonpath(k, 'tigerastatus', 'calico', '-o', 'jsonpath={.status.conditions[?(@.type=="Degraded")].message}')) || undefined);
    assert.match(degraded, /^Pod calico-system\/calico-node-\w+ failed to pull container image for: calico-node$/);
    const events = (await k('get', 'events', '-n', 'calico-system', '--field-selector', 'reason=Failed')).stdout;
    assert.match(events, /Failed to pull image "docker\.io\/calico\/node:v3\.29\.0": rpc error: code = NotFound/);
  });
});

test('a crashing container goes into CrashLoopBackOff, restarts, and its previous log is readable', async () => {
  await withCluster({ podFaults: { crashingContainers: ['calico-system/calico-kube-controllers/calico-kube-controllers'] }, timings: { backOff: 200 } }, async (cluster) => {
    const k: K = (...args) => kubectl(args, cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    await install(k, path.dirname(cluster.kubeconfigPath));
    const line = await eventually(async () => (await k('get', 'pods', '-n', 'calico-system', '--no-headers')).stdout.split('\n').find((l) => /^calico-kube-controllers-\S+ +0\/1 +CrashLoopBackOff +[1-9]/.test(l)));
    const pod = line.split(/ +/)[0]!;
    const previous = await k('logs', '-n', 'calico-system', pod, '--previous');
    assert.equal(previous.code, 0, previous.stderr);
    assert.match(previous.stdout, /calico-kube-controllers: fatal error: cannot start \(simulated crash\)\n$/);
  });
});

test('a new operator image rolls Calico to its version; deleting the Installation tears it down', async () => {
  await withCluster({}, async (cluster) => {
    const k: K = (...args) => kubectl(args, cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    await install(k, path.dirname(cluster.kubeconfigPath));
    await eventually(async () => (await jsonpath(k, 'installation', 'default', '-o', 'jsonpath={.status.calicoVersion}')) === 'v3.29.0' || undefined, 30_000);
    assert.equal((await k('set', 'image', '-n', 'tigera-operator', 'deployment/tigera-operator', 'tigera-operator=quay.io/tigera/operator:v1.36.16')).code, 0);
    await eventually(async () => {
      const images = await jsonpath(k, 'pods', '-n', 'calico-system', '-l', 'k8s-app=calico-node', '-o', 'jsonpath={.items[*].spec.containers[0].image}');
      const version = await jsonpath(k, 'installation', 'default', '-o', 'jsonpath={.status.calicoVersion}');
      return (images.split(' ').length === 3 && images.split(' ').every((i) => i === 'docker.io/calico/node:v3.29.7') && version === 'v3.29.7') || undefined;
    }, 40_000);
    assert.equal((await k('delete', 'installation', 'default', '--wait=false')).code, 0);
    await eventually(async () => (await k('get', 'namespace', 'calico-system')).code === 1 && (await k('get', 'installation', 'default')).code === 1 || undefined, 30_000);
  });
});

test('paginated lists return what one list returns', async () => {
  await withCluster({}, async (cluster) => {
    const k: K = (...args) => kubectl(args, cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    await eventually(async () => ((await k('get', 'pods', '-A', '--no-headers')).stdout.trim().split('\n').length >= 9) || undefined);
    const whole = await k('get', 'pods', '-A', '-o', 'name');
    const chunked = await k('get', 'pods', '-A', '-o', 'name', '--chunk-size', '2');
    assert.equal(chunked.stdout, whole.stdout);
    assert.ok(cluster.requestLog.some((e) => e.path.includes('continue=')), 'kubectl followed continue tokens');
  });
});

test('npm run cluster: writes the kubeconfig, prints one READY line, logs requests, stops on SIGTERM', async () => {
  const dir = tempDir();
  const kubeconfig = path.join(dir, 'kubeconfig');
  const log = path.join(dir, 'requests.jsonl');
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'node'), ['test/cluster/main.ts', '--scenario', 'service-overlap', '--kubeconfig', kubeconfig, '--kubernetes-version', 'v1.33.1', '--latency-ms', '5', '--request-log', log], { cwd: ROOT });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    await eventually(() => stdout.includes('\n') || undefined, 20_000);
    assert.match(stdout, /^READY https:\/\/127\.0\.0\.1:\d+\n$/);
    const version = await kubectl(['version', '-o', 'json'], cleanEnv({ KUBECONFIG: kubeconfig }));
    assert.equal(JSON.parse(version.stdout).serverVersion.gitVersion, 'v1.33.1');
    const config = await kubectl(['get', 'configmap', '-n', 'kube-system', 'kubeadm-config', '-o', 'jsonpath={.data.ClusterConfiguration}'], cleanEnv({ KUBECONFIG: kubeconfig }));
    assert.match(config.stdout, /serviceSubnet: 10\.96\.0\.0\/12/);
    const entries = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { method: string; path: string; status: number; ms: number });
    assert.ok(entries.some((e) => e.method === 'GET' && e.path.startsWith('/version') && e.status === 200 && e.ms >= 5));
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
});

test('errors knob: some requests fail with 500 or 429 and Retry-After', async () => {
  await withCluster({ errorRate: 0.5, random: seeded(7) }, async (cluster) => {
    for (let i = 0; i < 10; i++) await kubectl(['get', 'nodes', '-v', '0'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    const statuses = new Set(cluster.requestLog.map((e) => e.status));
    assert.ok(statuses.has(500) && statuses.has(429) && statuses.has(200), `got ${[...statuses]}`);
  });
});
