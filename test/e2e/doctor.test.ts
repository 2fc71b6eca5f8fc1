// Every doctor check made to FAIL or WARN through the test cluster's
// scenarios and fault knobs, on a frozen clock so nothing moves under the test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import type { TestCluster } from '../cluster/cluster.ts';
import type { ClusterOptions } from '../cluster/cluster.ts';
import { ManualClock } from '../cluster/clock.ts';
import type { KubeObject } from '../cluster/types.ts';
import { cleanEnv, kubectl, plugin, SHARED_CALICO, withCluster } from '../helpers.ts';
import { junitErrors } from '../junit.ts';

interface Result {
  id: string;
  status: string;
  finding: string;
  fix?: string;
}

async function doctor(cluster: { kubeconfigPath: string }, ...args: string[]): Promise<{ code: number; byId: Map<string, Result>; stdout: string }> {
  const result = await plugin(['doctor', '-o', 'json', ...args], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
  assert.ok(result.stdout, result.stderr);
  const doc = JSON.parse(result.stdout) as { kind: string; checks: Result[] };
  assert.equal(doc.kind, 'DoctorReport');
  return { code: result.code, byId: new Map(doc.checks.map((c) => [c.id, c])), stdout: result.stdout };
}

function expect(byId: Map<string, Result>, id: string, status: string, finding?: RegExp): void {
  const result = byId.get(id);
  assert.ok(result, `${id} missing`);
  assert.equal(result.status, status, `${id}: ${result.finding}`);
  if (finding) assert.match(result.finding, finding, id);
  if (status === 'FAIL' || status === 'WARN') assert.ok(result.fix, `${id} has a fix`);
}

/** A cluster on a frozen clock; `install` runs the guide's sequence with kubectl and lets the simulation settle. */
async function frozen(options: ClusterOptions & { install?: string }, body: (cluster: TestCluster & { kubeconfigPath: string }, clock: ManualClock) => Promise<void>): Promise<void> {
  const clock = new ManualClock(Date.now());
  await withCluster({ ...options, clock }, async (cluster) => {
    const settle = () => { for (let i = 0; i < 30; i++) clock.advance(1000); };
    settle();
    if (options.install) {
      const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
      assert.equal((await kubectl(['create', '-f', path.join(SHARED_CALICO, 'v3.29.0', 'tigera-operator.yaml')], env)).code, 0);
      settle();
      const file = path.join(path.dirname(cluster.kubeconfigPath), 'cr.yaml');
      fs.writeFileSync(file, fs.readFileSync(path.join(SHARED_CALICO, 'v3.29.0', 'custom-resources.yaml'), 'utf8').replace('cidr: 192.168.0.0/16', `cidr: ${options.install}`));
      assert.equal((await kubectl(['create', '-f', file], env)).code, 0);
      settle();
    }
    await body(cluster, clock);
  });
}

const mutate = (cluster: TestCluster, key: string, namespace: string | undefined, name: string, change: (o: KubeObject) => void, subresource?: 'status') =>
  cluster.api.mutate(cluster.api.registry.byKey(key)!, namespace, name, change, { fieldManager: 'test', ...(subresource ? { subresource } : {}) });

test('a healthy install passes every check; --strict, --check, junit and exit codes', async () => {
  await frozen({ install: '10.97.0.0/16' }, async (cluster) => {
    const { code, byId } = await doctor(cluster);
    assert.equal(code, 0);
    for (const result of byId.values()) assert.equal(result.status, 'PASS', `${result.id}: ${result.finding}`);
    const only = await doctor(cluster, '--check', 'CAL-0701,cal-0901');
    assert.deepEqual([...only.byId.keys()], ['CAL-0701', 'CAL-0901']);
    const unknown = await plugin(['doctor', '--check', 'CAL-9999'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown check CAL-9999: known checks are CAL-0101, CAL-0102, /);
    const table = await kubectl(['calico', 'doctor'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^CATEGORY {7}ID {9}STATUS   CHECK {42}FINDING\nAccess {9}CAL-0101   PASS /);
    assert.match(table.stdout, /\n\d+ passed, 0 warnings, 0 failed, 0 skipped\n$/);
    const junit = await plugin(['doctor', '-o', 'junit'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.match(junit.stdout, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="kubectl calico doctor" tests="\d+" failures="0" errors="0">/);
    assert.deepEqual(await junitErrors(junit.stdout), [], 'valid against the Jenkins JUnit schema');
    assert.match(junit.stdout, /<testcase classname="calico\.doctor\.IP-pools" name="CAL-0701 Pool within kubeadm podSubnet">/);
  });
});

test('before the install: operator, CRDs, Installation, nodes and CoreDNS fail with the cause', async () => {
  await frozen({}, async (cluster) => {
    const { code, byId } = await doctor(cluster);
    assert.equal(code, 1);
    const viaKubectl = await kubectl(['calico', 'doctor'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(viaKubectl.code, 1);
    assert.match(viaKubectl.stdout, /\nOperator {7}CAL-0401   FAIL     tigera-operator namespace/);
    assert.match(viaKubectl.stdout, /\nFixes:\n {2}CAL-0401: kubectl calico init --pod-cidr <pod subnet> && kubectl calico apply\n/);
    expect(byId, 'CAL-0401', 'FAIL', /namespace tigera-operator does not exist/);
    expect(byId, 'CAL-0402', 'FAIL', /deployment tigera-operator\/tigera-operator does not exist/);
    expect(byId, 'CAL-0501', 'FAIL', /no operator\.tigera\.io CRDs/);
    expect(byId, 'CAL-0502', 'FAIL', /no crd\.projectcalico\.org CRDs/);
    expect(byId, 'CAL-0601', 'FAIL', /there is no Installation "default"/);
    expect(byId, 'CAL-0901', 'FAIL', /3 NotReady: kubernetes-master-01, kubernetes-worker-01, kubernetes-worker-02 \(container runtime network not ready: .*cni plugin not initialized\)/);
    expect(byId, 'CAL-0902', 'FAIL', /2 of 2 CoreDNS pods not ready \(Pending: 0\/3 nodes are available: 3 node\(s\) had untolerated taint \{node\.kubernetes\.io\/not-ready: \}/);
    // The pool checks judge the pool init would write: the kubeadm podSubnet, with the default block size.
    expect(byId, 'CAL-0701', 'PASS', /^no Installation yet: the pool init would write is the kubeadm podSubnet 10\.97\.0\.0\/16$/);
    expect(byId, 'CAL-0703', 'PASS', /^no Installation yet: the pool init would write, 10\.97\.0\.0\/16 \(kubeadm podSubnet\), is clear of the service subnet 10\.96\.0\.0\/16 and the node addresses$/);
    expect(byId, 'CAL-0704', 'PASS', /^no Installation yet: the pool init would write, 10\.97\.0\.0\/16 \(kubeadm podSubnet\), has 1024 blocks of \/26 for 3 nodes$/);
  });
});

test('before the install on service-overlap: the pool init would write FAILs CAL-0703, naming both ranges and what to change first', async () => {
  await frozen({ scenario: 'service-overlap' }, async (cluster) => {
    const { code, byId } = await doctor(cluster, '--check', 'CAL-0701,CAL-0703,CAL-0704');
    assert.equal(code, 1);
    expect(byId, 'CAL-0701', 'PASS');
    expect(byId, 'CAL-0703', 'FAIL', /^no Installation yet: the pool init would write, 10\.97\.0\.0\/16 \(kubeadm podSubnet\), overlaps the service subnet 10\.96\.0\.0\/12: pods whose IPs collide with Service ClusterIPs become unreachable$/);
    assert.equal(byId.get('CAL-0703')!.fix, "choose a pod CIDR outside 10.96.0.0/12, and make it kubeadm's podSubnet in place of 10.97.0.0/16 (networking.podSubnet in kube-system/kubeadm-config's ClusterConfiguration: the operator only takes a pool inside the podSubnet), then run kubectl calico init");
    expect(byId, 'CAL-0704', 'PASS');
    // init refuses this very cluster with the same words.
    const init = await kubectl(['calico', 'init', '--manifests-from', path.join(SHARED_CALICO, 'v3.29.0'), '--dir', path.join(path.dirname(cluster.kubeconfigPath), 'calico')], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(init.code, 1);
    assert.equal(init.stderr, `error: the pool 10.97.0.0/16 overlaps the service subnet 10.96.0.0/12: pods whose IPs collide with Service ClusterIPs become unreachable; ${byId.get('CAL-0703')!.fix}\n(--force writes it anyway)\n`);
  });
});

test('a kubeadm-config without podSubnet FAILs CAL-0701, naming the field and how to set it, before and after the install', async () => {
  const dropPodSubnet = (cluster: TestCluster) => mutate(cluster, 'configmaps', 'kube-system', 'kubeadm-config', (o) => {
    const data = o.data as Record<string, string>;
    data.ClusterConfiguration = data.ClusterConfiguration!.replace(/^ {2}podSubnet: .*\n/m, '');
  });
  await frozen({}, async (cluster) => {
    dropPodSubnet(cluster);
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0701', 'FAIL', /^no Installation yet: kube-system\/kubeadm-config has no podSubnet \(networking\.podSubnet in its ClusterConfiguration\): the Tigera operator refuses such a cluster whatever the pool \("kubeadm configuration is missing required podSubnet field"/);
    assert.equal(byId.get('CAL-0701')!.fix, "set networking.podSubnet in kube-system/kubeadm-config's ClusterConfiguration to 10.97.0.0/16 before installing Calico: kubectl edit configmap -n kube-system kubeadm-config (a new cluster: kubeadm init --pod-network-cidr 10.97.0.0/16)");
    expect(byId, 'CAL-0703', 'PASS', /the pool init would write, 10\.97\.0\.0\/16 \(the range of the nodes' podCIDRs\), is clear of/);
  });
  await frozen({ install: '10.97.0.0/16' }, async (cluster) => {
    dropPodSubnet(cluster);
    const { byId } = await doctor(cluster, '--check', 'CAL-0701');
    expect(byId, 'CAL-0701', 'FAIL', /^kube-system\/kubeadm-config has no podSubnet \(networking\.podSubnet in its ClusterConfiguration\)/);
    assert.match(byId.get('CAL-0701')!.fix!, /^set networking\.podSubnet in kube-system\/kubeadm-config's ClusterConfiguration to 10\.97\.0\.0\/16: kubectl edit configmap/);
  });
});

test('unsupported Kubernetes, an operator image ahead of the Installation, CRDs not Established', async () => {
  await frozen({ install: '10.97.0.0/16', kubernetesVersion: 'v1.34.2' }, async (cluster) => {
    mutate(cluster, 'installations.operator.tigera.io', undefined, 'default', (o) => void ((o.status as { calicoVersion: string }).calicoVersion = 'v3.29.7'), 'status');
    mutate(cluster, 'customresourcedefinitions.apiextensions.k8s.io', undefined, 'ippools.crd.projectcalico.org', (o) => {
      (o.status as { conditions: { type: string; status: string }[] }).conditions.find((c) => c.type === 'Established')!.status = 'False';
    }, 'status');
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0201', 'FAIL', /Kubernetes v1\.34\.2 is outside Calico v3\.29\.7's tested versions \(1\.29, 1\.30, 1\.31, 1\.32\)/);
    expect(byId, 'CAL-0202', 'FAIL', /operator quay\.io\/tigera\/operator:v1\.36\.0 is Calico v3\.29\.0, but the Installation reports Calico v3\.29\.7/);
    expect(byId, 'CAL-0502', 'FAIL', /1 crd\.projectcalico\.org CRDs are not Established: ippools\.crd\.projectcalico\.org/);
  });
});

test('another CNI, a manifest calico-node, an untolerated taint, kube-proxy in ipvs mode', async () => {
  await frozen({ install: '10.97.0.0/16' }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const ds = (namespace: string, name: string, labels: Record<string, string>) => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace, labels }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name, image: 'x' }] } } } });
    const file = path.join(path.dirname(cluster.kubeconfigPath), 'others.yaml');
    fs.writeFileSync(file, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-flannel' } }, ds('kube-flannel', 'kube-flannel-ds', { app: 'flannel' }), ds('kube-system', 'calico-node', { 'k8s-app': 'calico-node' })].map((o) => stringify(o)).join('---\n'));
    for (const args of [['create', '-f', file], ['taint', 'nodes', 'kubernetes-worker-02', 'dedicated=infra:NoExecute'], ['patch', 'ds', '-n', 'calico-system', 'calico-node', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/template/spec/tolerations","value":[{"key":"CriticalAddonsOnly","operator":"Exists"}]}]']]) {
      const result = await kubectl(args, env);
      assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
    }
    mutate(cluster, 'configmaps', 'kube-system', 'kube-proxy', (o) => void ((o.data as Record<string, string>)['config.conf'] = 'kind: KubeProxyConfiguration\nmode: ipvs\n'));
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0301', 'FAIL', /another CNI runs alongside Calico: flannel \(daemonset kube-flannel\/kube-flannel-ds\)/);
    expect(byId, 'CAL-0302', 'FAIL', /kube-system\/calico-node \(a manifest install\) runs alongside the Tigera operator/);
    expect(byId, 'CAL-0806', 'FAIL', /^taints calico-node does not tolerate: kubernetes-master-01 \(node-role\.kubernetes\.io\/control-plane:NoSchedule\), kubernetes-worker-02 \(dedicated=infra:NoExecute\)$/);
    expect(byId, 'CAL-1001', 'WARN', /kube-proxy runs in ipvs mode/);
  });
});

test('a crash-looping operator: the Deployment unavailable, the pod with its last exit and log lines', async () => {
  await frozen({ install: '10.97.0.0/16', podFaults: { crashingContainers: ['tigera-operator/tigera-operator/tigera-operator'] } }, async (cluster) => {
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0402', 'FAIL', /deployment tigera-operator has 0\/1 available replicas/);
    expect(byId, 'CAL-0403', 'FAIL', /pod tigera-operator\/tigera-operator-\S+ is in CrashLoopBackOff \(\d+ restarts; last exit 1: tigera-operator: fatal error: cannot start \(simulated crash\)\); last log: .*simulated crash/);
    expect(byId, 'CAL-0601', 'PASS');
    expect(byId, 'CAL-0603', 'WARN', /no TigeraStatus yet/);
  });
});

test('image pulls that fail: DaemonSets name the nodes, pods name the image and registry, TigeraStatus and events report it', async () => {
  await frozen({ install: '10.97.0.0/16', podFaults: { failingImages: ['calico/node:', 'calico/csi:'], crashingContainers: ['calico-system/calico-kube-controllers/calico-kube-controllers'] } }, async (cluster) => {
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0603', 'FAIL', /calico Degraded: Pod calico-system\/\S+ failed to pull container image for: /);
    expect(byId, 'CAL-0602', 'FAIL', /the Installation is Degraded: Pod calico-system\/\S+ failed to pull container image for: /);
    expect(byId, 'CAL-0801', 'FAIL', /daemonset calico-system\/calico-node: 0\/3 ready; no ready calico-node on kubernetes-master-01, kubernetes-worker-01, kubernetes-worker-02/);
    expect(byId, 'CAL-0804', 'FAIL', /daemonset calico-system\/csi-node-driver: 0\/3 ready/);
    expect(byId, 'CAL-0805', 'FAIL', /pod calico-system\/calico-node-\w+: (ErrImagePull|ImagePullBackOff): container calico-node cannot pull image docker\.io\/calico\/node:v3\.29\.0/);
    assert.match(byId.get('CAL-0805')!.fix!, /the nodes cannot pull docker\.io\/calico\/\S+ from docker\.io; .*kubectl calico images --calico-version v3\.29\.0 --registry <your-registry> -o list/);
    expect(byId, 'CAL-1101', 'WARN', /Warning events in the last hour: .*Failed/);
  });
  await frozen({ install: '10.97.0.0/16', podFaults: { crashingContainers: ['calico-system/calico-kube-controllers/calico-kube-controllers', 'calico-system/calico-typha/calico-typha'] } }, async (cluster) => {
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0802', 'FAIL', /deployment calico-system\/calico-typha: 0\/2 ready/);
    expect(byId, 'CAL-0803', 'FAIL', /deployment calico-system\/calico-kube-controllers: 0\/1 ready/);
    expect(byId, 'CAL-0805', 'FAIL', /CrashLoopBackOff: container calico-\S+ keeps exiting \(last exit code 1: .*\); last log: .*simulated crash/);
  });
});

test('IP pools: outside podSubnet, node addresses, podCIDRs, too few blocks, no enabled pool, services, encapsulation', async () => {
  await frozen({ install: '192.168.0.0/16' }, async (cluster) => {
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0701', 'FAIL', /^the pool 192\.168\.0\.0\/16 is outside the cluster's podSubnet 10\.97\.0\.0\/16/);
    assert.equal(byId.get('CAL-0701')!.fix, 'kubectl calico init --pod-cidr 10.97.0.0/16 --overwrite && kubectl calico apply --force');
    expect(byId, 'CAL-0702', 'WARN', /3 node podCIDR\(s\) outside every pool, e\.g\. kubernetes-master-01 10\.97\.0\.0\/24/);
    expect(byId, 'CAL-0703', 'FAIL', /pool 192\.168\.0\.0\/16 contains node kubernetes-master-01's InternalIP 192\.168\.56\.11/);
    expect(byId, 'CAL-0705', 'WARN', /no IPPool yet/);
  });
  await frozen({ install: '10.97.0.0/25' }, async (cluster) => {
    mutate(cluster, 'ippools.crd.projectcalico.org', undefined, 'default-ipv4-ippool', (o) => void ((o.spec as { disabled: boolean }).disabled = true));
    mutate(cluster, 'installations.operator.tigera.io', undefined, 'default', (o) => void ((o.spec as { calicoNetwork: { ipPools: { encapsulation: string }[] } }).calicoNetwork.ipPools[0]!.encapsulation = 'None'));
    mutate(cluster, 'nodes', undefined, 'kubernetes-worker-02', (o) => void ((o.status as { addresses: { type: string; address: string }[] }).addresses[0]!.address = '192.168.57.13'), 'status');
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0701', 'WARN', /^the pool 10\.97\.0\.0\/25 is inside the cluster's podSubnet 10\.97\.0\.0\/16 but smaller/);
    expect(byId, 'CAL-0704', 'FAIL', /pool 10\.97\.0\.0\/25 with block size 26 has 2 blocks for 3 nodes/);
    expect(byId, 'CAL-0705', 'FAIL', /every IP pool is disabled \(default-ipv4-ippool\)/);
    expect(byId, 'CAL-1002', 'WARN', /encapsulation None with nodes in 2 \/24 subnets/);
  });
  await frozen({ scenario: 'service-overlap', install: '10.97.0.0/16' }, async (cluster) => {
    const { byId } = await doctor(cluster);
    expect(byId, 'CAL-0703', 'FAIL', /pool 10\.97\.0\.0\/16 overlaps the service subnet 10\.96\.0\.0\/12: pods whose IPs collide with Service ClusterIPs become unreachable/);
  });
});

test('access: the limited user gets SKIPs naming the permission; a bad token and a dead server FAIL CAL-0101', async () => {
  let kubeconfig = '';
  await frozen({ install: '10.97.0.0/16' }, async (cluster) => {
    kubeconfig = cluster.kubeconfigPath;
    const { code, byId } = await doctor(cluster, '--context', 'viewer@kubernetes');
    expect(byId, 'CAL-0102', 'WARN', /not granted: .*get installations\.operator\.tigera\.io/);
    expect(byId, 'CAL-0601', 'SKIP', /^needs permission: get installations\.operator\.tigera\.io$/);
    expect(byId, 'CAL-0501', 'SKIP', /^needs permission: list customresourcedefinitions\.apiextensions\.k8s\.io$/);
    expect(byId, 'CAL-0901', 'PASS');
    assert.equal(code, 0, 'SKIPs and WARNs do not fail');
    assert.equal((await doctor(cluster, '--context', 'viewer@kubernetes', '--strict')).code, 1, '--strict fails on warnings');
    const badToken = await doctor(cluster, '--token', 'expired');
    expect(badToken.byId, 'CAL-0101', 'FAIL', /You must be logged in to the server \(Unauthorized\)/);
    expect(badToken.byId, 'CAL-0901', 'SKIP', /the API server could not be used/);
  });
  const dead = await doctor({ kubeconfigPath: kubeconfig }, '--request-timeout', '2s');
  expect(dead.byId, 'CAL-0101', 'FAIL', /The connection to the server 127\.0\.0\.1:\d+ was refused/);
  assert.equal(dead.code, 1);
});

test('a slow API server hits --request-timeout instead of hanging', async () => {
  await withCluster({ latencyMs: 2_000 }, async (cluster) => {
    const started = Date.now();
    const { code, byId } = await doctor(cluster, '--request-timeout', '500ms');
    expect(byId, 'CAL-0101', 'FAIL', /did not answer within 0\.5s \(--request-timeout\)/);
    assert.equal(code, 1);
    assert.ok(Date.now() - started < 30_000);
  });
});
