// Calico IPAM judged from its objects, as calicoctl's ipam show and ipam
// check judge it: usage per pool and block (borrowed addresses included),
// leaks before and after leakGracePeriod (a name a StatefulSet reused hides
// none; a dual-stack pod's second address and a node's tunnel address are
// held), blocks of deleted nodes, blocks outside the enabled pools, addresses
// pods hold that IPAM never gave, handles, inconsistent blocks, full pools;
// and the report calicoctl ipam release reads, byte for byte in Go's shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetwork } from '../../src/calico/cidr.ts';
import { countText } from '../../src/calico/ipam/counts.ts';
import { checkIpam, validateBlock, type CheckInput } from '../../src/calico/ipam/check.ts';
import { readBlocks, type Affinity, type Block, type Handle, type IpamNode, type PodAddress, type Pool } from '../../src/calico/ipam/read.ts';
import { calicoctlReport } from '../../src/calico/ipam/report.ts';
import { ipamUsage } from '../../src/calico/ipam/usage.ts';
import { humanAge, parseGoTime } from '../../src/print/age.ts';
import { KubeClient, type ClientSettings, type RawResponse } from '../../src/kube/client.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const ago = (minutes: number) => {
  const iso = new Date(NOW - minutes * 60_000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} +0000 UTC`;
};

interface Owner {
  ordinal: number;
  handle?: string;
  pod?: string;
  namespace?: string;
  node?: string;
  type?: string;
  minutes?: number;
}

function block(cidr: string, node: string | undefined, owners: Owner[]): Block {
  const network = parseNetwork(cidr)!;
  const size = Number(1n << BigInt((network.family === 4 ? 32 : 128) - network.prefix));
  const allocations: (number | null)[] = Array(size).fill(null);
  const attributes = owners.map((o, i) => {
    allocations[o.ordinal] = i;
    const secondary: Record<string, string> = {};
    if (o.namespace) secondary.namespace = o.namespace;
    if (o.pod) secondary.pod = o.pod;
    secondary.node = o.node ?? node ?? '';
    if (o.type) secondary.type = o.type;
    if (o.minutes !== undefined) secondary.timestamp = ago(o.minutes);
    return { ...(o.handle ? { handle_id: o.handle } : {}), secondary };
  });
  const unallocated = allocations.flatMap((a, i) => (a === null ? [i] : []));
  return { name: cidr.replace(/[./:]/g, '-'), cidr, network, ...(node ? { affinity: `host:${node}` } : {}), allocations, unallocated, attributes, sequenceNumberForAllocation: Object.fromEntries(owners.map((o) => [String(o.ordinal), '1764158400000000001'])) };
}

const pool = (name: string, cidr: string, blockSize = 26, extra: Partial<Pool> = {}): Pool => ({ name, cidr, network: parseNetwork(cidr), blockSize, disabled: false, nodeSelector: 'all()', ...extra });
const ipamNode = (name: string, tunnels: string[] = []): IpamNode => ({ name, labels: { 'kubernetes.io/hostname': name }, tunnelAddresses: tunnels });

function input(over: Partial<CheckInput>): CheckInput {
  return {
    pools: [pool('default-ipv4-ippool', '10.97.0.0/16')], blocks: [], affinities: [], nodes: [ipamNode('a'), ipamNode('b')], pods: [],
    leakGrace: { ms: 15 * 60_000, text: '15m0s' }, now: NOW, podHolds: async () => undefined, confirmLimit: 100, ...over,
  };
}

test('usage per pool and per block as calicoctl counts it: in use = size - unallocated; borrowed = allocated to another node', () => {
  const blocks = [
    block('10.97.0.0/26', 'a', [{ ordinal: 0, handle: 'vxlan-tunnel-addr-a', type: 'vxlanTunnelAddress' }, { ordinal: 1, handle: 'h1', pod: 'p1', namespace: 'default' }, { ordinal: 2, handle: 'h2', pod: 'p2', namespace: 'default', node: 'b' }]),
    block('10.97.0.64/26', 'b', [{ ordinal: 0, handle: 'h3', pod: 'p3', namespace: 'default' }]),
    block('10.200.0.0/26', 'b', [{ ordinal: 0, handle: 'h4', pod: 'p4', namespace: 'default' }]),
  ];
  const usage = ipamUsage([pool('default-ipv4-ippool', '10.97.0.0/16')], blocks, [ipamNode('a'), ipamNode('b'), ipamNode('c')]);
  const [u] = usage.pools;
  assert.deepEqual([u!.blocks.length, u!.blocksPossible, u!.addressesInUse, u!.addressesPossible], [2, 1024n, 4n, 65536n]);
  assert.deepEqual(u!.blocks, [{ cidr: '10.97.0.0/26', node: 'a', inUse: 3, size: 64, borrowed: 1 }, { cidr: '10.97.0.64/26', node: 'b', inUse: 1, size: 64, borrowed: 0 }]);
  assert.deepEqual(u!.nodesWithoutBlock, ['c']);
  assert.deepEqual(usage.orphanedBlocks, [{ cidr: '10.200.0.0/26', node: 'b', inUse: 1, size: 64, borrowed: 0 }]);
  const v6 = ipamUsage([pool('v6', 'fd00:10:97::/48', 122)], [], [ipamNode('a')]).pools[0]!;
  assert.deepEqual([v6.blocksPossible, v6.addressesPossible], [2n ** 74n, 2n ** 80n], 'IPv6 pools count exactly');
});

test('leaks: younger than leakGracePeriod WARN, older FAIL; a StatefulSet\'s reused pod name hides none; tunnel and dual-stack addresses are held', async () => {
  const blocks = [
    block('10.97.0.0/26', 'a', [
      { ordinal: 0, handle: 'vxlan-tunnel-addr-a', type: 'vxlanTunnelAddress', minutes: 600 },
      { ordinal: 1, handle: 'k8s-pod-network.run', pod: 'running', namespace: 'default', minutes: 300 },
      { ordinal: 2, handle: 'k8s-pod-network.old', pod: 'web-0', namespace: 'shop', minutes: 120 },
      { ordinal: 3, handle: 'k8s-pod-network.new', pod: 'web-0', namespace: 'shop', minutes: 1 },
      { ordinal: 4, handle: 'k8s-pod-network.young', pod: 'gone', namespace: 'default', minutes: 5 },
      { ordinal: 5, handle: 'k8s-pod-network.creating', pod: 'creating', namespace: 'default', minutes: 0 },
    ]),
    block('fd00:10:97::/122', 'a', [{ ordinal: 1, handle: 'k8s-pod-network.run', pod: 'running', namespace: 'default', minutes: 300 }]),
  ];
  const pods: PodAddress[] = [{ name: 'running', ip: '10.97.0.1', status: 'Running' }, { name: 'web-0', ip: '10.97.0.3', status: 'Running' }];
  const asked: string[] = [];
  const check = await checkIpam(input({
    pools: [pool('v4', '10.97.0.0/16'), pool('v6', 'fd00:10:97::/48', 122)], blocks, pods, nodes: [ipamNode('a', ['10.97.0.0']), ipamNode('b')],
    podHolds: async (namespace, name) => {
      asked.push(`${namespace}/${name}`);
      return name === 'web-0' ? ['10.97.0.3'] : name === 'creating' ? ['10.97.0.5'] : undefined;
    },
  }));
  assert.deepEqual(asked.sort(), ['default/creating', 'default/gone', 'shop/web-0'], 'only suspects are looked up, once per pod');
  const byIP = Object.fromEntries(check.allocations.map((a) => [a.ip, [a.inUse, a.owners]]));
  assert.deepEqual(byIP, {
    '10.97.0.0': [true, ['Node(a)']], '10.97.0.1': [true, ['Workload(default/running)']], '10.97.0.2': [false, null], '10.97.0.3': [true, ['Workload(shop/web-0)']],
    '10.97.0.4': [false, null], '10.97.0.5': [true, ['Workload(default/creating)']], 'fd00:10:97::1': [true, ['Workload(default/running)']],
  });
  assert.deepEqual(check.findings.map((f) => [f.id, f.status, f.count, f.oldest]), [['leaked-addresses', 'FAIL', 1, '120m'], ['young-leaks', 'WARN', 1, '5m']]);
  assert.deepEqual(check.findings[0]!.items, [{ ADDRESS: '10.97.0.2', HANDLE: 'k8s-pod-network.old', OWNER: 'shop/web-0', NODE: 'a', ALLOCATED: '120m ago' }]);
  assert.match(check.findings[0]!.message, /^1 leaked address: allocated, held by no pod or node, older than leakGracePeriod \(15m0s\)/);
  assert.match(check.findings[0]!.fix, /calicoctl ipam release --from-report report\.json/);

  const off = await checkIpam(input({ blocks, pods, nodes: [ipamNode('a', ['10.97.0.0'])], leakGrace: { ms: undefined, text: '0s: leak collection is off' } }));
  assert.deepEqual(off.findings.filter((f) => f.id.includes('leak')).map((f) => [f.id, f.count]), [['leaked-addresses', 3]], 'no collector: every leak FAILs');
  const gcOfDeletedNode = await checkIpam(input({ blocks: [block('10.97.1.0/26', 'a', [{ ordinal: 0, handle: 'vxlan-tunnel-addr-gone', type: 'vxlanTunnelAddress', node: 'gone', minutes: 30 }])] }));
  assert.equal(gcOfDeletedNode.findings[0]!.items[0]!.OWNER, 'vxlanTunnelAddress of gone');
});

test('blocks read before the pods (doctor): a suspect its pod does not hold is a leak only while its block, read again, still holds it', async () => {
  const blocks = [
    block('10.97.0.0/26', 'a', [
      { ordinal: 1, handle: 'k8s-pod-network.still', pod: 'still', namespace: 'default', minutes: 120 },
      { ordinal: 2, handle: 'k8s-pod-network.released', pod: 'released', namespace: 'default', minutes: 120 },
      { ordinal: 3, handle: 'k8s-pod-network.web-0-old', pod: 'web-0', namespace: 'shop', minutes: 120 },
    ]),
    block('10.97.0.64/26', 'b', [{ ordinal: 1, handle: 'k8s-pod-network.deleted-block', pod: 'gone', namespace: 'default', minutes: 120 }]),
    block('10.97.0.128/26', 'b', [{ ordinal: 1, handle: 'k8s-pod-network.held', pod: 'held', namespace: 'default', minutes: 120 }]),
  ];
  // Since the read: "released" let its address go, web-0 was recreated with a new one (its old one reused under another handle), and the second block is gone.
  const now = structuredClone(blocks[0]!);
  now.allocations[2] = null;
  now.attributes[2] = { handle_id: 'k8s-pod-network.web-0-new', secondary: { pod: 'web-0', namespace: 'shop' } };
  const rechecked: string[] = [];
  const check = await checkIpam(input({
    blocks,
    podHolds: async (_namespace, name) => (name === 'web-0' ? ['10.97.0.9'] : name === 'held' ? ['10.97.0.129'] : undefined),
    recheck: async (name) => {
      rechecked.push(name);
      return name === blocks[0]!.name ? now : undefined;
    },
  }));
  assert.deepEqual(rechecked.sort(), [blocks[0]!.name, blocks[1]!.name], 'each block with an unheld suspect, once; not the block whose pod holds its address');
  assert.deepEqual(check.findings.map((f) => [f.id, f.items.map((i) => i.ADDRESS)]), [['leaked-addresses', ['10.97.0.1']]]);
});

test('blocks of deleted nodes, blocks outside the enabled pools, addresses without an allocation, handles, inconsistent blocks', async () => {
  const affinities: Affinity[] = [{ name: 'gone-10-97-2-0-26', node: 'gone', cidr: '10.97.2.0/26', state: 'confirmed', created: new Date(NOW - 3 * 3600_000).toISOString() }, { name: 'a-10-97-0-0-26', node: 'a', cidr: '10.97.0.0/26' }];
  const blocks = [
    block('10.97.0.0/26', 'a', [{ ordinal: 1, handle: 'h-a', pod: 'pa', namespace: 'default', minutes: 10 }]),
    block('10.97.2.0/26', 'gone', []),
    block('10.98.0.0/26', 'a', [{ ordinal: 1, handle: 'h-old-pool', pod: 'po', namespace: 'default', minutes: 10 }]),
    block('10.99.0.0/26', 'b', [{ ordinal: 1, handle: 'h-no-pool', pod: 'pn', namespace: 'default', minutes: 10 }]),
  ];
  const broken = block('10.97.3.0/26', 'b', []);
  broken.unallocated = broken.unallocated.slice(1);
  const handles: Handle[] = ['h-a', 'h-old-pool', 'h-no-pool', 'k8s-pod-network.orphan'].map((id) => ({ name: id, handleID: id, uid: `uid-${id}`, resourceVersion: '42', created: new Date(NOW - 60_000).toISOString() }));
  const pods: PodAddress[] = ['pa', 'po', 'pn'].map((name, i) => ({ name, ip: ['10.97.0.1', '10.98.0.1', '10.99.0.1'][i]!, status: 'Running' })).concat([{ name: 'stray', ip: '10.97.9.9', status: 'Running' }, { name: 'host', ip: '192.168.56.11', status: 'Running' }]);
  const check = await checkIpam(input({
    pools: [pool('default-ipv4-ippool', '10.97.0.0/16'), pool('old', '10.98.0.0/16', 26, { disabled: true })],
    blocks: [...blocks, broken, block('10.97.4.0/26', 'b', [{ ordinal: 0, handle: 'h-missing', pod: 'pm', namespace: 'default', minutes: 1 }])],
    affinities, handles, pods: [...pods, { name: 'pm', ip: '10.97.4.0', status: 'Running' }],
  }));
  assert.deepEqual(check.findings.map((f) => [f.id, f.status, f.count]), [
    ['stale-affinities', 'FAIL', 1], ['outside-pools', 'FAIL', 1], ['in-use-not-allocated', 'FAIL', 1], ['invalid-blocks', 'FAIL', 1],
    ['outside-pools', 'WARN', 1], ['leaked-handles', 'WARN', 1], ['missing-handles', 'WARN', 1],
  ]);
  const find = (id: string, status?: string) => check.findings.find((f) => f.id === id && (!status || f.status === status))!;
  assert.deepEqual(find('stale-affinities').items, [{ BLOCK: '10.97.2.0/26', NODE: 'gone', ALLOCATED: '0', AGE: '3h' }]);
  assert.equal(find('stale-affinities').message, '1 block affine to node gone, which no longer exists: no other node can claim it');
  assert.deepEqual(find('outside-pools', 'WARN').items, [{ BLOCK: '10.98.0.0/26', NODE: 'a', ALLOCATED: '1', POOL: 'old (disabled)' }]);
  assert.deepEqual(find('outside-pools', 'FAIL').items, [{ BLOCK: '10.99.0.0/26', NODE: 'b', ALLOCATED: '1', POOL: '<none>' }]);
  assert.deepEqual(find('in-use-not-allocated').items, [{ ADDRESS: '10.97.9.9', POD: 'stray' }]);
  assert.deepEqual(check.leakedHandles.map((h) => h.handleID), ['k8s-pod-network.orphan']);
  assert.deepEqual(find('missing-handles').items, [{ HANDLE: 'h-missing', ADDRESSES: '10.97.4.0' }]);
  assert.equal(find('invalid-blocks').items[0]!.PROBLEM, 'expected 64 addresses in this block, but Unallocated (63) + Allocated (0) = 63');
  assert.equal(validateBlock(block('10.97.5.0/26', 'a', [{ ordinal: 3, handle: 'x' }])), undefined);
});

test('full pools: every address in use FAILs; fewer free blocks than nodes without one WARNs', async () => {
  const tiny = pool('tiny', '10.97.0.0/28', 30);
  const full = ['10.97.0.0/30', '10.97.0.4/30', '10.97.0.8/30', '10.97.0.12/30'].map((cidr, i) => block(cidr, ['a', 'b', 'c', 'a'][i], [0, 1, 2, 3].map((ordinal) => ({ ordinal, handle: `h${cidr}${ordinal}`, pod: `p${cidr}${ordinal}`, namespace: 'default', minutes: 1 }))));
  const pods = full.flatMap((b) => b.allocations.map((_, o) => ({ name: `p${b.cidr}${o}`, ip: `10.97.0.${Number(b.cidr.split('.')[3]!.split('/')[0]) + o}`, status: 'Running' })));
  const exhausted = await checkIpam(input({ pools: [tiny], blocks: full, pods, nodes: ['a', 'b', 'c'].map((n) => ipamNode(n)) }));
  assert.deepEqual(exhausted.findings.map((f) => [f.id, f.status]), [['pool-exhausted', 'FAIL']]);
  assert.match(exhausted.findings[0]!.message, /^IP pool tiny \(10\.97\.0\.0\/28\) is exhausted: all 16 addresses are in use, so new pods get none \("failed to request IPv4 addresses"\)$/);
  const short = await checkIpam(input({ pools: [pool('small', '10.97.0.0/27', 28)], blocks: [block('10.97.0.0/28', 'a', [])], nodes: ['a', 'b', 'c'].map((n) => ipamNode(n)) }));
  assert.deepEqual(short.findings.map((f) => [f.id, f.status, f.count]), [['blocks-short', 'WARN', 2]]);
  assert.match(short.findings[0]!.message, /^IP pool small has 1 free block for 2 nodes without one \(b, c\)/);
});

test('the report calicoctl ipam release reads: Go\'s field order and indent, addresses sorted, sequence numbers exact', async () => {
  const check = await checkIpam(input({
    blocks: [block('10.97.0.0/26', 'a', [{ ordinal: 10, handle: 'k8s-pod-network.x', pod: 'gone', namespace: 'default', minutes: 30 }, { ordinal: 2, handle: 'k8s-pod-network.y', pod: 'here', namespace: 'default', node: 'b', minutes: 30 }])],
    pods: [{ name: 'here', ip: '10.97.0.2', status: 'Running' }],
    handles: [{ name: 'k8s-pod-network.z', handleID: 'k8s-pod-network.z', uid: '6d0e', resourceVersion: '77' }, { name: 'k8s-pod-network.x', handleID: 'k8s-pod-network.x', uid: 'u', resourceVersion: '1' }, { name: 'k8s-pod-network.y', handleID: 'k8s-pod-network.y', uid: 'u', resourceVersion: '1' }],
  }));
  const text = calicoctlReport('v3.29.0', { clusterGUID: 'b2c1', clusterType: 'k8s,operator,bgp,kubeadm', datastoreReady: true, resourceVersion: '1234' }, check.allocations, check.leakedHandles);
  assert.equal(text, `{
  "version": "v3.29.0",
  "clusterGUID": "b2c1",
  "datastoreLocked": false,
  "clusterInformationRevision": "1234",
  "clusterType": "k8s,operator,bgp,kubeadm",
  "allocations": {
    "10.97.0.10": [
      {
        "ip": "10.97.0.10",
        "handle": "k8s-pod-network.x",
        "sequenceNumber": 1764158400000000001,
        "pod": "gone",
        "namespace": "default",
        "node": "a",
        "creationTimestamp": "${ago(30)}",
        "inUse": false,
        "owners": null
      }
    ],
    "10.97.0.2": [
      {
        "ip": "10.97.0.2",
        "handle": "k8s-pod-network.y",
        "sequenceNumber": 1764158400000000001,
        "pod": "here",
        "namespace": "default",
        "node": "b",
        "creationTimestamp": "${ago(30)}",
        "inUse": true,
        "borrowed": true,
        "owners": [
          "Workload(default/here)"
        ]
      }
    ]
  },
  "leakedHandles": [
    {
      "ID": "k8s-pod-network.z",
      "UID": "6d0e",
      "Revision": "77"
    }
  ]
}`);
  const locked = JSON.parse(calicoctlReport('v3.29.0', { clusterGUID: 'g', clusterType: '', datastoreReady: false, resourceVersion: '1' }, [], []));
  assert.equal(locked.datastoreLocked, true);
  assert.equal('leakedHandles' in locked, false, 'omitempty');
});

test('sequence numbers beyond 2^53 are read exactly; Go\'s time stamps and kubectl\'s ages', async () => {
  class Stub extends KubeClient {
    override async request(): Promise<RawResponse> {
      return { statusCode: 200, headers: { date: 'Thu, 26 Nov 2026 12:00:00 GMT' }, body: Buffer.from('{"items":[{"metadata":{"name":"10-97-0-0-26"},"spec":{"cidr":"10.97.0.0/26","allocations":[0],"unallocated":[],"attributes":[{"handle_id":"h"}],"sequenceNumber":1764158400123456789,"sequenceNumberForAllocation":{"0":1764158400123456788}}}],"metadata":{}}') };
    }
  }
  const { blocks, serverTime } = await readBlocks(new Stub({ server: 'https://stub.invalid' } as ClientSettings));
  assert.equal(blocks[0]!.sequenceNumberForAllocation['0'], '1764158400123456788');
  assert.equal(serverTime, NOW);
  assert.equal(parseGoTime('2026-11-26 05:00:00.123456789 +0000 UTC'), Date.parse('2026-11-26T05:00:00.123Z'));
  assert.equal(parseGoTime('2026-11-26 07:00:00 +0200 CEST m=+12.5'), Date.parse('2026-11-26T05:00:00Z'));
  assert.equal(parseGoTime('yesterday'), undefined);
  assert.deepEqual([45_000, 330_000, 7_200_000, 27_000_000, 100 * 3600_000, 30 * 86_400_000, 800 * 86_400_000].map(humanAge), ['45s', '5m30s', '120m', '7h30m', '4d4h', '30d', '2y70d']);
});

test('counts for people: every IPv4 count in digits; IPv6 pools\' powers of two as 2^N; anything else huge in three digits', () => {
  assert.deepEqual([0n, 65536n, 2n ** 32n, 9_999_999_999n].map(countText), ['0', '65536', '4294967296', '9999999999']);
  assert.deepEqual([2n ** 34n, 2n ** 74n, 2n ** 80n, 2n ** 128n].map(countText), ['2^34', '2^74', '2^80', '2^128']);
  assert.deepEqual([2n ** 74n - 3n, 2n ** 80n + 1n, 99_950_000_000n, 12_000_000_000n].map(countText), ['1.89e+22', '1.21e+24', '1e+11', '1.2e+10']);
});
