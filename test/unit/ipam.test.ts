// The test cluster's Calico IPAM and its garbage collector, driven in-process
// on a manual clock: allocation order, borrowing, limits and errors, release,
// the object shapes of the releases, and calico-kube-controllers' timing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Api } from '../cluster/api.ts';
import { ManualClock } from '../cluster/clock.ts';
import { startApiServerControllers } from '../cluster/controllers/apiserver.ts';
import { leaveDeletedNodeIpam, parseGoDuration, startCalicoKubeControllers } from '../cluster/controllers/calico-kube-controllers.ts';
import { selectsLabels } from '../cluster/dataplane/calico-selector.ts';
import { autoAssign, cidrName, formatAddress, parseAddress, partialFulfillmentError, releaseBlockAffinity, releaseByHandle, type BlockSpec, type IpamClient } from '../cluster/controllers/ipam.ts';
import { FAST_TIMINGS, Runtime } from '../cluster/controllers/runtime.ts';
import { CALICO_RELEASES, manifestObjects } from '../cluster/install.ts';
import { PodLogs } from '../cluster/logs.ts';
import { Registry } from '../cluster/registry.ts';
import { Store } from '../cluster/store.ts';
import type { KubeObject } from '../cluster/types.ts';

const GROUP = 'crd.projectcalico.org';

function setup({ pools = [{ cidr: '10.97.0.0/16' }], nodes = ['node-a', 'node-b'], release = 'v3.29.0' }: { pools?: { cidr: string; blockSize?: number; nodeSelector?: string; vxlanMode?: string }[]; nodes?: string[]; release?: string } = {}) {
  const clock = new ManualClock();
  const registry = new Registry();
  const api = new Api(new Store(), registry, clock, 31);
  const rt = new Runtime(api, clock, new PodLogs(), FAST_TIMINGS, { failingImages: [], crashingContainers: [] });
  startApiServerControllers(rt);
  for (const name of ['default', 'calico-system']) api.create(registry.byKey('namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { fieldManager: 'test' });
  for (const crd of manifestObjects(path.join(CALICO_RELEASES, release, 'operator-crds.yaml'))) {
    if (crd.kind === 'CustomResourceDefinition') registry.registerCrd(crd as never);
  }
  for (const name of nodes) api.create(registry.byKey('nodes')!, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, zone: name === 'node-a' ? 'east' : 'west' } } }, { fieldManager: 'kubelet' });
  pools.forEach((spec, i) => api.create(registry.byKey(`ippools.${GROUP}`)!, undefined, { apiVersion: `${GROUP}/v1`, kind: 'IPPool', metadata: { name: `pool-${i}` }, spec: { nodeSelector: 'all()', allowedUses: ['Workload', 'Tunnel'], ...spec } }, { fieldManager: 'operator' }));
  const client: IpamClient = { rt, manager: 'calico-ipam', release: Number(release.split('.')[1]) };
  const get = (resource: string, name: string) => api.store.get(`${resource}.${GROUP}`, undefined, name);
  const list = (resource: string) => api.store.list(`${resource}.${GROUP}`);
  const pod = (node: string, name: string, id = name) => autoAssign(client, { num4: 1, num6: 0, handleID: `k8s-pod-network.${id}`, attrs: { namespace: 'default', node, pod: name, timestamp: '2026-11-26 05:00:00 +0000 UTC' }, host: node, use: 'Workload' });
  return { clock, api, rt, client, get, list, pod };
}

const blockOf = (object: KubeObject | undefined) => object?.spec as BlockSpec;

test('a node claims a block of its own, affinity confirmed, and hands out its addresses in order, each counted on its handle', () => {
  const { get, list, pod } = setup();
  const first = pod('node-a', 'web-1');
  const second = pod('node-a', 'web-2');
  assert.equal(first.error, undefined);
  const [affinity] = list('blockaffinities');
  const cidr = (affinity!.spec as { cidr: string }).cidr;
  assert.match(cidr, /^10\.97\.\d+\.\d+\/26$/);
  assert.equal(affinity!.metadata.name, `node-a-${cidrName(cidr)}`);
  assert.deepEqual(affinity!.spec, { cidr, deleted: 'false', node: 'node-a', state: 'confirmed' });
  const block = blockOf(get('ipamblocks', cidrName(cidr)));
  const base = cidr.split('/')[0]!;
  assert.deepEqual([first.v4!.ips, second.v4!.ips], [[base], [formatAddress(4, parseAddress(base).value + 1n)]]);
  assert.equal(block.affinity, 'host:node-a');
  assert.deepEqual(block.allocations.slice(0, 3), [0, 1, null]);
  assert.equal(block.allocations.length, 64);
  assert.deepEqual(block.unallocated.slice(0, 2), [2, 3]);
  assert.deepEqual(block.attributes[1], { handle_id: 'k8s-pod-network.web-2', secondary: { namespace: 'default', node: 'node-a', pod: 'web-2', timestamp: '2026-11-26 05:00:00 +0000 UTC' } });
  assert.equal(block.sequenceNumberForAllocation['1'], block.sequenceNumber - 1, 'each allocation keeps the sequence number its write moved on from');
  assert.deepEqual(get('ipamhandles', 'k8s-pod-network.web-1')!.spec, { block: { [cidr]: 1 }, deleted: false, handleID: 'k8s-pod-network.web-1' });
  assert.deepEqual(get('ipamconfigs', 'default')!.spec, { strictAffinity: false, autoAllocateBlocks: true });
  pod('node-b', 'api-1');
  assert.equal(list('ipamblocks').length, 2, 'another node claims another block');
});

test('release by handle frees the address to the end of the free list and deletes the handle; the affine block stays', () => {
  const { client, get, list, pod } = setup();
  pod('node-a', 'web-1');
  pod('node-a', 'web-2');
  assert.equal(releaseByHandle(client, 'k8s-pod-network.web-1'), true);
  const block = blockOf(list('ipamblocks')[0]);
  assert.deepEqual(block.allocations.slice(0, 2), [null, 0], 'the remaining allocation now points at the only attribute left');
  assert.equal(block.attributes.length, 1);
  assert.equal(block.unallocated.at(-1), 0);
  assert.equal(get('ipamhandles', 'k8s-pod-network.web-1'), undefined);
  assert.equal(releaseByHandle(client, 'k8s-pod-network.web-1'), false, 'a second DEL finds no handle');
  const third = pod('node-a', 'web-3');
  assert.match(third.v4!.ips[0]!, /\.\d+$/);
  assert.notEqual(third.v4!.ips[0], block.cidr.split('/')[0], 'a released address is handed out last');
});

test('a full block leads to another; maxBlocksPerHost stops claiming with the IPAM error', () => {
  const { api, get, list, pod } = setup({ pools: [{ cidr: '10.97.0.0/24', blockSize: 30 }] });
  for (let i = 0; i < 5; i++) assert.equal(pod('node-a', `web-${i}`).error, undefined);
  assert.equal(list('blockaffinities').length, 2, 'four addresses per /30 block: the fifth needs a second block');
  api.mutate(api.registry.byKey(`ipamconfigs.${GROUP}`)!, undefined, 'default', (o) => void Object.assign(o.spec as object, { strictAffinity: true, maxBlocksPerHost: 2 }), { fieldManager: 'kubectl' });
  for (let i = 5; i < 8; i++) pod('node-a', `web-${i}`);
  const limited = pod('node-a', 'web-8');
  assert.equal(limited.error, 'cannot allocate new block due to per host block limit');
  assert.equal(partialFulfillmentError(limited.v4!), 'Assigned 0 out of 1 requested IPv4 addresses; Need to allocate an IPAM block but could not - limit of 2 blocks reached for this node');
  assert.equal(get('ipamhandles', 'k8s-pod-network.web-8'), undefined);
});

test('without a free block a node borrows from another node\'s; strict affinity refuses; an exhausted pool says so', () => {
  const { api, list, pod } = setup({ pools: [{ cidr: '10.97.0.0/29', blockSize: 30 }], nodes: ['node-a', 'node-b', 'node-c'] });
  pod('node-a', 'a-1');
  pod('node-b', 'b-1');
  const borrowed = pod('node-c', 'c-1');
  assert.equal(borrowed.error, undefined);
  assert.equal(list('blockaffinities').length, 2, 'node-c has no block of its own');
  const lender = list('ipamblocks').map(blockOf).find((b) => b.attributes.some((a) => a.secondary?.node === 'node-c'))!;
  assert.notEqual(lender.affinity, 'host:node-c', 'the address is borrowed');
  api.mutate(api.registry.byKey(`ipamconfigs.${GROUP}`)!, undefined, 'default', (o) => void ((o.spec as { strictAffinity: boolean }).strictAffinity = true), { fieldManager: 'kubectl' });
  const strict = pod('node-c', 'c-2');
  assert.equal(strict.error, undefined, 'a short assignment is not an error');
  assert.equal(partialFulfillmentError(strict.v4!), 'Assigned 0 out of 1 requested IPv4 addresses; No more free affine blocks and strict affinity enabled');
  api.mutate(api.registry.byKey(`ipamconfigs.${GROUP}`)!, undefined, 'default', (o) => void ((o.spec as { strictAffinity: boolean }).strictAffinity = false), { fieldManager: 'kubectl' });
  for (let i = 2; i <= 6; i++) assert.equal(partialFulfillmentError(pod('node-c', `c-${i}`).v4!), undefined, `c-${i}`);
  assert.equal(partialFulfillmentError(pod('node-c', 'c-7').v4!), 'Assigned 0 out of 1 requested IPv4 addresses; No IPs available in pools: [10.97.0.0/29]');
});

test('a block that lost its affinity goes when its last address does; releasing an affinity of an empty block deletes both', () => {
  const { client, get, list, pod } = setup();
  pod('node-a', 'web-1');
  const cidr = blockOf(list('ipamblocks')[0]).cidr;
  assert.equal(releaseBlockAffinity(client, 'node-a', cidr, true), 'not-empty');
  assert.equal(releaseBlockAffinity(client, 'node-a', cidr, false), 'released');
  assert.equal(list('blockaffinities').length, 0);
  assert.equal(blockOf(get('ipamblocks', cidrName(cidr))).affinity, undefined);
  releaseByHandle(client, 'k8s-pod-network.web-1');
  assert.equal(list('ipamblocks').length, 0);
  pod('node-b', 'api-1');
  const other = blockOf(list('ipamblocks')[0]).cidr;
  releaseByHandle(client, 'k8s-pod-network.api-1');
  assert.equal(releaseBlockAffinity(client, 'node-b', other, true), 'released');
  assert.deepEqual([list('ipamblocks').length, list('blockaffinities').length], [0, 0]);
});

test('pools are chosen by their nodeSelector; a node no pool selects gets the IPAM error', () => {
  const { pod } = setup({ pools: [{ cidr: '10.97.0.0/24', nodeSelector: 'zone == "east"' }, { cidr: '10.98.0.0/24', nodeSelector: "zone in {'west'} && kubernetes.io/hostname != 'node-c'" }], nodes: ['node-a', 'node-b', 'node-c'] });
  assert.match(pod('node-a', 'a').v4!.ips[0]!, /^10\.97\./);
  assert.match(pod('node-b', 'b').v4!.ips[0]!, /^10\.98\./);
  assert.equal(pod('node-c', 'c').error, 'no configured Calico pools for node node-c');
  assert.equal(selectsLabels('!has(zone) || zone not in {"east", "west"}', { zone: 'north' }), true);
  assert.equal(selectsLabels('zone starts with "ea" && zone ends with "st" && zone contains "as"', { zone: 'east' }), true);
});

test('IPv6: /122 blocks named as libcalico-go names them, addresses printed as Go prints them; dual-stack handles count both blocks', () => {
  const { client, get, list } = setup({ pools: [{ cidr: '10.97.0.0/16' }, { cidr: 'fd00:10:97::/48', blockSize: 122 }] });
  const both = autoAssign(client, { num4: 1, num6: 1, handleID: 'k8s-pod-network.dual', attrs: { namespace: 'default', node: 'node-a', pod: 'dual' }, host: 'node-a', use: 'Workload' });
  const v6 = both.v6!.ips[0]!;
  assert.match(v6, /^fd00:10:97:[0-9a-f:]+$/);
  const block = list('ipamblocks').map(blockOf).find((b) => b.cidr.includes(':'))!;
  assert.match(block.cidr, /\/122$/);
  assert.equal(block.allocations.length, 64);
  assert.ok(get('ipamblocks', block.cidr.replace(/[.:/]/g, '-')));
  assert.deepEqual(Object.keys((get('ipamhandles', 'k8s-pod-network.dual')!.spec as { block: object }).block).length, 2);
  assert.equal(formatAddress(6, parseAddress('fd00:0:0:1::').value), 'fd00:0:0:1::');
  assert.equal(formatAddress(6, parseAddress('fd00::1:0:0:1').value), 'fd00::1:0:0:1');
  assert.equal(formatAddress(6, parseAddress('fd00:10:0:0:1:0:0:1').value), 'fd00:10::1:0:0:1', 'the first of two equally long runs is compressed');
  assert.equal(cidrName('fd00:10:97::40/122'), 'fd00-10-97--40-122');
});

test('the shapes of later releases: type host (3.30), labels (3.31), affinityClaimTime and the IPAMConfig kubevirt default (3.32)', () => {
  const { list, get, pod } = setup({ release: 'v3.32.1' });
  pod('node-a', 'web-1');
  const affinity = list('blockaffinities')[0]!;
  assert.equal((affinity.spec as { type: string }).type, 'host');
  assert.deepEqual(Object.keys(affinity.metadata.labels ?? {}), ['projectcalico.org/affinity-type', 'projectcalico.org/hostname-hash', 'projectcalico.org/ip-version']);
  assert.match(affinity.metadata.labels!['projectcalico.org/hostname-hash']!, /^[A-Z2-7]{52}$/);
  assert.match(blockOf(list('ipamblocks')[0]).affinityClaimTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal((get('ipamconfigs', 'default')!.spec as { kubeVirtVMAddressPersistence: string }).kubeVirtVMAddressPersistence, 'Enabled');
});

/** calico-kube-controllers' pod, Running, as its kubelet would report it. */
function runKubeControllers(api: Api): void {
  const pods = api.registry.byKey('pods')!;
  api.create(pods, 'calico-system', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'calico-kube-controllers-x', namespace: 'calico-system', labels: { 'k8s-app': 'calico-kube-controllers' } }, spec: { nodeName: 'node-a', containers: [{ name: 'calico-kube-controllers', image: 'docker.io/calico/kube-controllers:v3.29.0' }] } }, { fieldManager: 'test' });
  api.mutate(pods, 'calico-system', 'calico-kube-controllers-x', (p) => void (p.status = { phase: 'Running' }), { fieldManager: 'kubelet', subresource: 'status' });
}

test('the garbage collector: a leak goes at the first sync after leakGracePeriod (15m, created by kube-controllers; a quiet cluster syncs every 7m30s), not while stopped, and the grace restarts with it', () => {
  const { api, rt, clock, get, list, pod } = setup();
  startCalicoKubeControllers(rt);
  pod('node-a', 'gone');
  pod('node-a', 'kept');
  const podType = api.registry.byKey('pods')!;
  const ip = (name: string) => blockOf(list('ipamblocks')[0]).attributes.some((a) => a.secondary?.pod === name);
  api.create(podType, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kept', namespace: 'default' }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'x' }] } }, { fieldManager: 'test' });
  runKubeControllers(api);
  clock.advance(1_000);
  const kcc = api.store.get(`kubecontrollersconfigurations.${GROUP}`, undefined, 'default')!;
  assert.equal((kcc.spec as { controllers: { node: { leakGracePeriod: string } } }).controllers.node.leakGracePeriod, '15m0s');
  assert.deepEqual((kcc.status as { runningConfig: { controllers: object } }).runningConfig.controllers, { node: { hostEndpoint: { autoCreate: 'Disabled' }, leakGracePeriod: '15m0s', syncLabels: 'Disabled' } });
  clock.advance(16 * 60_000);
  assert.ok(ip('gone'), 'the sync at 15m finds it a candidate for exactly the grace period, not longer');
  clock.advance(7 * 60_000);
  assert.ok(!ip('gone'), 'released by the sync at 22m30s');
  assert.ok(ip('kept'), 'an address whose pod exists stays');
  assert.equal(get('ipamhandles', 'k8s-pod-network.gone'), undefined);

  pod('node-a', 'gone-2');
  rt.ipamFaults.gcStopped = true;
  clock.advance(60 * 60_000);
  assert.ok(ip('gone-2'), 'nothing is collected while the collector is stopped');
  rt.ipamFaults.gcStopped = false;
  clock.advance(16 * 60_000);
  assert.ok(ip('gone-2'), 'a restarted collector counts the grace period afresh');
  clock.advance(7 * 60_000);
  assert.ok(!ip('gone-2'));
});

test('the garbage collector honours a changed leakGracePeriod, and 0 turns collection off', () => {
  const { api, rt, clock, list, pod } = setup();
  startCalicoKubeControllers(rt);
  runKubeControllers(api);
  clock.advance(1_000);
  const kcc = api.registry.byKey(`kubecontrollersconfigurations.${GROUP}`)!;
  const setGrace = (grace: string) => api.mutate(kcc, undefined, 'default', (o) => void ((o.spec as { controllers: { node: { leakGracePeriod: string } } }).controllers.node.leakGracePeriod = grace), { fieldManager: 'kubectl' });
  setGrace('1m');
  clock.advance(1_000);
  pod('node-a', 'gone');
  clock.advance(3 * 60_000);
  assert.equal(blockOf(list('ipamblocks')[0]).attributes.length, 0, 'gone after a minute');
  setGrace('0s');
  clock.advance(1_000);
  pod('node-a', 'gone-2');
  clock.advance(60 * 60_000);
  assert.equal(blockOf(list('ipamblocks')[0]).attributes.length, 1);
  assert.deepEqual([parseGoDuration('15m0s'), parseGoDuration('1h30m'), parseGoDuration('500ms'), parseGoDuration('0')], [900_000, 5_400_000, 500, 0]);
});

test('the garbage collector cleans up after a deleted node at once: its addresses, its affinities and its emptied blocks', () => {
  const { api, rt, clock, list } = setup({ pools: [{ cidr: '10.97.0.0/16', vxlanMode: 'CrossSubnet' }] });
  startCalicoKubeControllers(rt);
  leaveDeletedNodeIpam(rt, 'node-gone');
  const block = blockOf(list('ipamblocks')[0]);
  assert.equal(block.affinity, 'host:node-gone');
  assert.deepEqual(block.attributes.map((a) => a.handle_id?.replace(/\.[0-9a-f]{64}$/, '.<id>')), ['vxlan-tunnel-addr-node-gone', 'k8s-pod-network.<id>']);
  assert.match(block.attributes[1]!.secondary!.pod!, /^csi-node-driver-[b-df-hj-np-tv-z2-9]{5}$/);
  runKubeControllers(api);
  clock.advance(1_000);
  assert.deepEqual([list('ipamblocks').length, list('blockaffinities').length, list('ipamhandles').length], [0, 0, 0]);
});

test('an empty block of a node that has others loses its affinity after the grace period; a node\'s only block stays', () => {
  const { api, rt, clock, client, list, pod } = setup({ pools: [{ cidr: '10.97.0.0/24', blockSize: 30 }] });
  startCalicoKubeControllers(rt);
  const pods = api.registry.byKey('pods')!;
  for (let i = 0; i < 5; i++) {
    pod('node-a', `web-${i}`);
    api.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${i}`, namespace: 'default' }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'x' }] } }, { fieldManager: 'test' });
  }
  assert.equal(list('ipamblocks').length, 2);
  releaseByHandle(client, 'k8s-pod-network.web-4');
  runKubeControllers(api);
  clock.advance(16 * 60_000);
  assert.equal(list('ipamblocks').length, 2, 'empty for the grace period, not longer');
  clock.advance(7 * 60_000);
  assert.equal(list('ipamblocks').length, 1, 'the emptied second block went');
  for (let i = 0; i < 4; i++) releaseByHandle(client, `k8s-pod-network.web-${i}`);
  clock.advance(40 * 60_000);
  assert.equal(list('ipamblocks').length, 1, 'the last block of a node is kept');
});
