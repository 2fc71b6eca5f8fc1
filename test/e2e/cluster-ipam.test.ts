// Calico IPAM in the test cluster, seen through real kubectl: the
// allocations of the running pods and of the nodes' tunnels in the objects
// Calico writes, release on deletion, leaks and the garbage collector, a
// deleted node's leftovers, borrowing, strict affinity and an exhausted pool
// (with the kubelet's events), and dual-stack.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../cluster/clock.ts';
import { startCluster } from '../cluster/cluster.ts';
import { parseAddress, parseCidr } from '../cluster/controllers/ipam.ts';
import type { KubeObject } from '../cluster/types.ts';
import { cleanEnv, kubectl, withCluster, type Result } from '../helpers.ts';

type K = (...args: string[]) => Promise<Result>;

const client = (kubeconfig: string): K => (...args) => kubectl(args, cleanEnv({ KUBECONFIG: kubeconfig }));

/** Runs the manual clock for `seconds` of cluster time, a second at a time. */
function settle(clock: ManualClock, seconds = 20): void {
  for (let i = 0; i < seconds; i++) clock.advance(1_000);
}

async function items(k: K, ...resource: string[]): Promise<KubeObject[]> {
  const result = await k('get', ...resource, '-o', 'json');
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).items;
}

interface Block {
  cidr: string;
  affinity?: string;
  allocations: (number | null)[];
  attributes: { handle_id?: string; secondary?: Record<string, string> }[];
}

interface Allocation {
  ip: string;
  block: Block;
  handle: string;
  attrs: Record<string, string>;
}

/** Every allocation recorded in the IPAM blocks. */
async function allocations(k: K): Promise<Allocation[]> {
  return (await items(k, 'ipamblocks')).flatMap((b) => {
    const block = b.spec as Block;
    const cidr = parseCidr(block.cidr);
    return block.allocations.flatMap((index, ordinal) => {
      if (index === null) return [];
      const attribute = block.attributes[index]!;
      const value = cidr.base + BigInt(ordinal);
      const ip = cidr.family === 4 ? [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.') : undefined;
      return [{ ip: ip ?? v6(value), block, handle: attribute.handle_id!, attrs: attribute.secondary ?? {} }];
    });
  });
}

/** An IPv6 address as a comparable text: the full eight groups. */
function v6(value: bigint): string {
  return Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

const key = (ip: string) => (ip.includes(':') ? v6(parseAddress(ip).value) : ip);

/**
 * Checks that every running pod's addresses and every node's tunnel
 * address are allocated as Calico allocates them, each counted on its
 * handle; returns the allocations nothing in the cluster accounts for, and
 * those borrowed from another node's block.
 */
async function check(k: K): Promise<{ unaccounted: Allocation[]; borrowed: Allocation[] }> {
  const all = await allocations(k);
  const byIP = new Map(all.map((a) => [key(a.ip), a]));
  const handles = new Map((await items(k, 'ipamhandles')).map((h) => [h.metadata.name, h.spec as { handleID: string; block: Record<string, number> }]));
  const accounted = new Set<Allocation>();
  for (const pod of await items(k, 'pods', '-A')) {
    const spec = pod.spec as { hostNetwork?: boolean; nodeName: string };
    const podIPs = ((pod.status as { podIPs?: { ip: string }[] }).podIPs ?? []).map((p) => p.ip);
    if (spec.hostNetwork || podIPs.length === 0) continue;
    const id = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const handle = `k8s-pod-network.${pod.metadata.annotations?.['cni.projectcalico.org/containerID']}`;
    assert.equal(pod.metadata.annotations?.['cni.projectcalico.org/podIPs'], podIPs.map((ip) => `${ip}/${ip.includes(':') ? 128 : 32}`).join(','), id);
    for (const ip of podIPs) {
      const a = byIP.get(key(ip));
      assert.ok(a, `${id}'s ${ip} is allocated`);
      assert.equal(a.handle, handle, `${id}'s ${ip} is under the handle of its sandbox`);
      assert.deepEqual([a.attrs.namespace, a.attrs.pod, a.attrs.node], [pod.metadata.namespace, pod.metadata.name, spec.nodeName], id);
      assert.match(a.attrs.timestamp!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
      assert.ok(handles.get(handle)?.block[a.block.cidr], `${handle} counts ${a.block.cidr}`);
      accounted.add(a);
    }
  }
  for (const node of await items(k, 'nodes')) {
    const ip = node.metadata.annotations?.['projectcalico.org/IPv4VXLANTunnelAddr'];
    assert.ok(ip, `${node.metadata.name} has a VXLAN tunnel address`);
    const a = byIP.get(ip)!;
    assert.deepEqual([a.handle, a.attrs], [`vxlan-tunnel-addr-${node.metadata.name}`, { node: node.metadata.name, type: 'vxlanTunnelAddress' }]);
    assert.ok(handles.get(a.handle)?.block[a.block.cidr]);
    accounted.add(a);
  }
  return {
    unaccounted: all.filter((a) => !accounted.has(a)),
    borrowed: [...accounted].filter((a) => a.block.affinity !== `host:${a.attrs.node}`),
  };
}

/** What an allocation is for, and where: `<handle> <namespace>/<pod or tunnel type> on <node> in <block affinity>`, sandbox ids elided. */
const describe = (list: Allocation[]) => list.map((a) => `${a.handle.replace(/\.[0-9a-f]{64}$/, '.<id>')} ${a.attrs.namespace ?? ''}/${a.attrs.pod?.replace(/-\w{5}$/, '-<suffix>') ?? a.attrs.type} on ${a.attrs.node} in ${a.block.affinity ?? 'no affinity'}`).sort();

const GHOST = [
  'k8s-pod-network.<id> calico-system/csi-node-driver-<suffix> on kubernetes-worker-09 in host:kubernetes-worker-09',
  'vxlan-tunnel-addr-kubernetes-worker-09 /vxlanTunnelAddress on kubernetes-worker-09 in host:kubernetes-worker-09',
];

test('kubectl get ipamblocks,blockaffinities,ipamhandles show the running pods\' allocations; deletion releases; a leak stays while the collector is stopped and goes after leakGracePeriod once it runs; a deleted node\'s block goes at once', async () => {
  const clock = new ManualClock();
  await withCluster({ clock, calico: 'v3.29.0', deletedNodes: ['kubernetes-worker-09'], ipamFaults: { gcStopped: true, leakingPods: ['default/leaky'] } }, async (cluster) => {
    const k = client(cluster.kubeconfigPath);
    const table = await k('get', 'ipamblocks,blockaffinities,ipamhandles');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME +AGE\nipamblock\.crd\.projectcalico\.org\/10-97-\d+-\d+-26 /);
    assert.match(table.stdout, /\nblockaffinity\.crd\.projectcalico\.org\/kubernetes-master-01-10-97-\d+-\d+-26 /);
    assert.match(table.stdout, /\nipamhandle\.crd\.projectcalico\.org\/vxlan-tunnel-addr-kubernetes-worker-02 /);
    assert.equal((table.stdout.match(/^ipamhandle\.crd\.projectcalico\.org\/k8s-pod-network\.[0-9a-f]{64} /gm) ?? []).length, 9, 'csi-node-driver ×3, coredns ×2, calico-apiserver ×2, calico-kube-controllers, the deleted node\'s pod');
    const yaml = await k('get', 'ipamblock', (await items(k, 'ipamblocks')).find((b) => (b.spec as Block).affinity === 'host:kubernetes-worker-01')!.metadata.name, '-o', 'yaml');
    // The tunnel address first (calico-node starts before the node's pods), then the pods'.
    assert.match(yaml.stdout, /\nspec:\n {2}affinity: host:kubernetes-worker-01\n {2}allocations:\n {2}- 0\n {2}- 1\n(?: {2}- \d+\n)* {2}- null\n/);
    assert.match(yaml.stdout, /\n {2}attributes:\n {2}- handle_id: vxlan-tunnel-addr-kubernetes-worker-01\n {4}secondary:\n {6}node: kubernetes-worker-01\n {6}type: vxlanTunnelAddress\n {2}- handle_id: k8s-pod-network\.[0-9a-f]{64}\n {4}secondary:\n {6}namespace: [a-z-]+\n {6}node: kubernetes-worker-01\n {6}pod: [a-z0-9-]+\n {6}timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC\n/);
    assert.match(yaml.stdout, /\n {2}cidr: 10\.97\.\d+\.\d+\/26\n {2}deleted: false\n {2}sequenceNumber: \d+\n {2}sequenceNumberForAllocation:\n {4}"0": \d+\n {4}"1": \d+\n(?: {4}"\d+": \d+\n)* {2}strictAffinity: false\n {2}unallocated:\n(?: {2}- \d+\n)+$/);

    const start = await check(k);
    assert.deepEqual(describe(start.unaccounted), GHOST, 'only the deleted node\'s leftovers are no running pod\'s or node\'s');
    assert.deepEqual(start.borrowed, []);
    assert.match((await k('get', 'blockaffinities', '-o', 'name')).stdout, /\/kubernetes-worker-09-10-97-/, 'the deleted node is still affine to a block');

    assert.equal((await k('run', 'web', '--image', 'nginx')).code, 0);
    assert.equal((await k('run', 'leaky', '--image', 'nginx')).code, 0);
    settle(clock);
    assert.deepEqual(describe((await check(k)).unaccounted), GHOST, 'the new pods\' addresses are theirs');
    for (const pod of ['web', 'leaky']) assert.equal((await k('delete', 'pod', pod, '--wait=false')).code, 0);
    settle(clock, 60);
    assert.equal((await k('get', 'pods', '-o', 'name')).stdout, '', 'both pods are gone');
    const leaked = (await check(k)).unaccounted.filter((a) => a.attrs.node !== 'kubernetes-worker-09');
    assert.deepEqual(leaked.map((a) => `${a.attrs.namespace}/${a.attrs.pod}`), ['default/leaky'], 'web\'s address was released; leaky\'s DEL never reached IPAM');
    assert.equal((await k('get', 'ipamhandle', leaked[0]!.handle, '-o', 'jsonpath={.spec.handleID}')).stdout, leaked[0]!.handle);

    settle(clock, 30 * 60);
    const leak = describe(leaked)[0]!;
    assert.match(leak, /^k8s-pod-network\.<id> default\/leaky on (kubernetes-worker-0[12]) in host:\1$/);
    assert.deepEqual(describe((await check(k)).unaccounted), [...GHOST, leak].sort(), 'nothing is collected while calico-kube-controllers\' collector is stopped');
    cluster.runtime.ipamFaults.gcStopped = false;
    settle(clock, 2);
    assert.deepEqual(describe((await check(k)).unaccounted), [leak], 'the deleted node\'s addresses went at once');
    assert.doesNotMatch((await k('get', 'blockaffinities,ipamblocks', '-o', 'name')).stdout, /kubernetes-worker-09/, 'and with them its affinity and block');
    assert.equal((await k('get', 'kubecontrollersconfiguration', 'default', '-o', 'jsonpath={.spec.controllers.node.leakGracePeriod}')).stdout, '15m0s');
    settle(clock, 16 * 60);
    assert.equal((await check(k)).unaccounted.length, 1, 'a leak is a candidate for the grace period first');
    settle(clock, 7 * 60);
    assert.deepEqual((await check(k)).unaccounted, [], 'collected at the first sync after leakGracePeriod');
    assert.equal((await k('get', 'ipamhandle', leaked[0]!.handle)).code, 1);
  });
});

test('a small pool: addresses borrowed from another node\'s block, then exhaustion — pods ContainerCreating with the kubelet\'s FailedCreatePodSandBox; strict affinity refuses to borrow', async () => {
  const clock = new ManualClock();
  // 32 addresses in four /29 blocks: the install takes three blocks and 11 addresses.
  await withCluster({ clock, calico: 'v3.29.0', ipPool: { cidr: '10.97.0.0/27', blockSize: 29 } }, async (cluster) => {
    const k = client(cluster.kubeconfigPath);
    assert.equal((await k('create', 'deployment', 'web', '--image', 'nginx', '--replicas', '24')).code, 0);
    settle(clock, 30);
    const { unaccounted, borrowed } = await check(k);
    assert.deepEqual(unaccounted, []);
    assert.ok(borrowed.length >= 1, 'a node with no free block of its own borrowed');
    assert.ok(borrowed.every((a) => a.block.affinity?.startsWith('host:')), 'from blocks other nodes own');
    const pods = (await k('get', 'pods', '-l', 'app=web', '--no-headers')).stdout.trim().split('\n');
    assert.equal(pods.filter((l) => / 1\/1 +Running /.test(l)).length, 21);
    const stuck = pods.filter((l) => / 0\/1 +ContainerCreating /.test(l)).map((l) => l.split(/ +/)[0]!);
    assert.equal(stuck.length, 3);
    const events = async (pod: string) => (await items(k, 'events', '--field-selector', `involvedObject.name=${pod},reason=FailedCreatePodSandBox`)).map((e) => ({ message: e.message as string, count: e.count as number }));
    const first = await events(stuck[0]!);
    assert.match(first[0]!.message, /^Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "[0-9a-f]{64}": plugin type="calico" failed \(add\): failed to request IPv4 addresses: Assigned 0 out of 1 requested IPv4 addresses; No IPs available in pools: \[10\.97\.0\.0\/27\]$/);
    settle(clock, 60);
    const retried = await events(stuck[0]!);
    assert.equal(retried.length, 10, 'an event per attempt (each a new sandbox) for nine, then client-go combines the rest into one');
    assert.equal(new Set(retried.map((e) => /sandbox "(\w+)"/.exec(e.message)![1])).size, 10);
    assert.deepEqual(retried.slice(0, 9).map((e) => e.count), Array(9).fill(1));
    const combined = retried.find((e) => e.message.startsWith('(combined from similar events): Failed to create pod sandbox: '));
    assert.ok(combined && combined.count > 1, 'the combined event counts on');

    assert.equal((await k('patch', 'ipamconfig', 'default', '--type', 'merge', '-p', '{"spec":{"strictAffinity":true}}')).code, 0);
    assert.equal((await k('delete', 'pod', stuck[0]!, '--wait=false')).code, 0);
    settle(clock, 20);
    const replacement = (await k('get', 'pods', '-l', 'app=web', '--no-headers')).stdout.trim().split('\n').filter((l) => / 0\/1 +ContainerCreating /.test(l)).map((l) => l.split(/ +/)[0]!).find((p) => !stuck.includes(p))!;
    assert.match((await events(replacement))[0]!.message, /plugin type="calico" failed \(add\): failed to request IPv4 addresses: Assigned 0 out of 1 requested IPv4 addresses; No more free affine blocks and strict affinity enabled$/);

    // Under strict affinity a pod waits for an address of its own node's blocks; with borrowing back, any free one does.
    assert.equal((await k('patch', 'ipamconfig', 'default', '--type', 'merge', '-p', '{"spec":{"strictAffinity":false}}')).code, 0);
    assert.equal((await k('patch', 'deployment', 'web', '-p', '{"spec":{"replicas":18}}')).code, 0);
    settle(clock, 30);
    assert.equal((await k('get', 'pods', '-l', 'app=web', '--no-headers')).stdout.trim().split('\n').filter((l) => / 1\/1 +Running /.test(l)).length, 18, 'scaled down, every pod has an address again');
    assert.deepEqual((await check(k)).unaccounted, []);
  });
});

test('--calico with a pool too small for the install stops at once with the pod whose sandbox failed, not after the install\'s time limit', async () => {
  await assert.rejects(startCluster({ calico: 'v3.29.0', ipPool: { cidr: '10.97.0.0/29', blockSize: 30 } }), /^Error: Calico v3\.29\.0 did not come up: pod [\w-]+\/[\w-]+: Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "\w+": plugin type="calico" failed \(add\): failed to request IPv4 addresses: Assigned 0 out of 1 requested IPv4 addresses; No IPs available in pools: \[10\.97\.0\.0\/29\]$/);
});

test('dual-stack (v3.32.1): pods get an address of each family from /26 and /122 blocks, one handle counting both; the shapes of 3.32', async () => {
  await withCluster({ calico: 'v3.32.1', dualStack: true }, async (cluster) => {
    const k = client(cluster.kubeconfigPath);
    const podIPs = (await k('get', 'pods', '-n', 'calico-system', '-l', 'k8s-app=csi-node-driver', '-o', 'jsonpath={range .items[*]}{.status.podIPs[*].ip}{"\\n"}{end}')).stdout.trim().split('\n');
    assert.equal(podIPs.length, 3);
    for (const line of podIPs) assert.match(line, /^10\.97\.\d+\.\d+ fd00:10:97:[0-9a-f:]+$/);
    const { unaccounted } = await check(k);
    assert.deepEqual(unaccounted, []);
    const blocks = (await k('get', 'ipamblocks', '-o', 'name')).stdout;
    assert.match(blocks, /^ipamblock\.crd\.projectcalico\.org\/fd00-10-97-[0-9a-f-]+-122$/m);
    const handle = (await items(k, 'ipamhandles')).find((h) => h.metadata.name.startsWith('k8s-pod-network.'))!;
    assert.deepEqual(Object.keys((handle.spec as { block: object }).block).map((c) => c.split('/')[1]), ['26', '122']);
    const affinity = (await items(k, 'blockaffinities'))[0]!;
    assert.equal((affinity.spec as { type: string }).type, 'host');
    assert.ok(affinity.metadata.labels?.['projectcalico.org/hostname-hash']);
    assert.equal((await k('get', 'ippools.crd.projectcalico.org', '-o', 'name')).stdout, 'ippool.crd.projectcalico.org/default-ipv4-ippool\nippool.crd.projectcalico.org/default-ipv6-ippool\n');
    assert.equal((await k('get', 'configmap', '-n', 'kube-system', 'kubeadm-config', '-o', 'jsonpath={.data.ClusterConfiguration}')).stdout.match(/podSubnet: .*/)![0], 'podSubnet: 10.97.0.0/16,fd00:10:97::/48');
  });
});
