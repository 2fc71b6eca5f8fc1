// The BGP and Felix model and calico/node's programs, run directly in a
// calico-node pod of a cluster on a ManualClock: the session states BIRD
// shows for each cause, its 30 s start-up rule as the kubelet's probe meets
// it, peers outside the cluster, tablewriter's wrapping, and which iptables
// backend holds Felix's rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCluster, type TestCluster } from '../cluster/cluster.ts';
import { ManualClock } from '../cluster/clock.ts';
import { bgpRouteLearned, calicoNodePod } from '../cluster/dataplane/calico-node.ts';
import { table } from '../cluster/programs/calico-node.ts';
import { imageContents, NotSimulated, resolveProgram } from '../cluster/programs/index.ts';

const MASTER = 'kubernetes-master-01';
const W1 = 'kubernetes-worker-01';
const W2 = 'kubernetes-worker-02';

async function run(cluster: TestCluster, node: string, ...argv: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const pod = calicoNodePod(cluster.runtime, node)!;
  const container = (pod.spec as { containers: { name: string; image: string }[] }).containers[0]!;
  const image = imageContents(container.image)!;
  const found = resolveProgram(image, argv[0]!);
  assert.ok('program' in found);
  const result = await found.program({ runtime: cluster.runtime, pod, container, image, argv, stdin: async () => Buffer.alloc(0), signal: new AbortController().signal });
  return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode };
}

const bgpRow = (output: string, peer: string) => output.split('\n').find((line) => line.startsWith(`${peer} `));
const time = (clock: ManualClock) => clock.now().toISOString().slice(11, 19);

async function withCalico(body: (cluster: TestCluster, clock: ManualClock) => Promise<void>): Promise<void> {
  const clock = new ManualClock();
  const cluster = await startCluster({ calico: 'v3.29.0', clock });
  try {
    await body(cluster, clock);
  } finally {
    await cluster.stop();
  }
}

test('tablewriter v0.0.5 as calicoctl prints BIRD peers: upper-cased centred headers, cells wrapped at 30 columns for the least raggedness', () => {
  assert.equal(table(['Peer address', 'Peer type', 'State', 'Since', 'Info'], [['10.0.0.3', 'node-to-node mesh', 'start', '09:12:01', 'Active Socket: Connection refused']]), [
    '+--------------+-------------------+-------+----------+--------------------------------+',
    '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |              INFO              |',
    '+--------------+-------------------+-------+----------+--------------------------------+',
    '| 10.0.0.3     | node-to-node mesh | start | 09:12:01 | Active Socket: Connection      |',
    '|              |                   |       |          | refused                        |',
    '+--------------+-------------------+-------+----------+--------------------------------+',
    '',
  ].join('\n'));
});

test('a peer whose calico-node stops: the side that connects is refused, the side that waited saw the connection close; both come back when it runs again', async () => {
  await withCalico(async (cluster, clock) => {
    clock.advance(60_000);
    const pods = cluster.api.registry.byKey('pods')!;
    const master = calicoNodePod(cluster.runtime, MASTER)!;
    const worker = calicoNodePod(cluster.runtime, W2)!;
    cluster.api.delete(pods, 'calico-system', master.metadata.name, { gracePeriodSeconds: 0 });
    cluster.api.delete(pods, 'calico-system', worker.metadata.name, { gracePeriodSeconds: 0 });
    const stopped = time(clock);
    const w1 = (await run(cluster, W1, 'birdcl', 'show', 'protocols')).stdout;
    // worker-01 (.12) connects to the master (.11), and waits for worker-02 (.13) to connect to it.
    assert.equal(bgpRow(w1, 'Mesh_192_168_56_11'), `Mesh_192_168_56_11 BGP      master   start  ${stopped}    Active        Socket: Connection refused`);
    assert.equal(bgpRow(w1, 'Mesh_192_168_56_13'), `Mesh_192_168_56_13 BGP      master   start  ${stopped}    Passive       Socket: Connection closed`);
    assert.equal(bgpRouteLearned(cluster.runtime, W1, MASTER), false);
    assert.deepEqual(await run(cluster, W1, 'calico-node', '-bird-ready'), { stdout: 'calico/node is not ready: BIRD is not ready: BGP not established with 192.168.56.11,192.168.56.13\n', stderr: '', exitCode: 1 });
    for (let i = 0; i < 5; i++) clock.advance(1_000);
    const again = (await run(cluster, W1, 'birdcl', 'show', 'protocols')).stdout;
    assert.match(bgpRow(again, 'Mesh_192_168_56_11')!, /^Mesh_192_168_56_11 BGP {6}master {3}up {5}\d\d:\d\d:\d\d {4}Established {3}$/);
    assert.equal(bgpRouteLearned(cluster.runtime, W1, MASTER), true);
  });
});

test('BIRD\'s first 30 s: a restarted calico-node with a peer it cannot reach fails its first probe (every peer must be up), then passes once one peer is enough', async () => {
  await withCalico(async (cluster, clock) => {
    cluster.runtime.network.drops.push({ traffic: 'bgp', between: [[W1, W2]] });
    clock.advance(1_000);
    cluster.api.delete(cluster.api.registry.byKey('pods')!, 'calico-system', calicoNodePod(cluster.runtime, W1)!.metadata.name, { gracePeriodSeconds: 0 });
    for (let i = 0; i < 10; i++) clock.advance(100);
    const pod = calicoNodePod(cluster.runtime, W1)!;
    const ready = () => (cluster.api.store.get('pods', 'calico-system', pod.metadata.name)!.status as { containerStatuses: { ready: boolean }[] }).containerStatuses[0]!.ready;
    const events = () => cluster.api.store.list('events', 'calico-system').filter((e) => (e.involvedObject as { name: string }).name === pod.metadata.name && e.reason === 'Unhealthy').map((e) => `${e.message} ×${e.count}`);
    assert.equal(ready(), false);
    assert.deepEqual(events(), ['Readiness probe failed: calico/node is not ready: BIRD is not ready: BGP not established with 192.168.56.13\n ×1']);
    clock.advance(30_000);
    assert.equal(ready(), true, 'past 30 s the master\'s session is enough');
    assert.equal((await run(cluster, W1, 'calico-node', '-bird-ready', '-felix-ready')).exitCode, 0);
  });
});

test('a global BGPPeer outside the cluster: every node tries it (Connect, nothing answers); a day later BIRD prints dates', async () => {
  await withCalico(async (cluster, clock) => {
    cluster.api.create(cluster.api.registry.byKey('bgppeers.crd.projectcalico.org')!, undefined, {
      apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPPeer', metadata: { name: 'my-global-peer' }, spec: { peerIP: '192.20.30.40', asNumber: 64567 },
    }, { fieldManager: 'calicoctl' });
    clock.advance(21 * 3600_000);
    const output = (await run(cluster, MASTER, 'birdcl', 'show', 'protocols')).stdout;
    assert.equal(bgpRow(output, 'Global_192_20_30_40'), 'Global_192_20_30_40 BGP      master   start  2026-11-26  Connect       ');
    assert.match(bgpRow(output, 'Mesh_192_168_56_12')!, / up {5}2026-11-26  Established {3}$/);
    assert.equal((await run(cluster, MASTER, 'calico-node', '-bird-ready')).exitCode, 0, 'past 30 s one Established peer is enough');
  });
});

test('Felix writes its rules through one iptables backend: the other one\'s save prints nothing; ipsets and nft list the same state', async () => {
  await withCalico(async (cluster) => {
    const nft = await run(cluster, W1, 'iptables-save');
    assert.match(nft.stdout, /^# Generated by iptables-save v1\.8\.8 \(nf_tables\) on Thu Nov 26 05:00:\d\d 2026\n\*raw\n:PREROUTING ACCEPT \[0:0\]\n:OUTPUT ACCEPT \[0:0\]\n:cali-OUTPUT - \[0:0\]\n/);
    assert.match(nft.stdout, /\n-A FORWARD -m comment --comment "cali:[\w-]{16}" -j cali-FORWARD\n/);
    assert.match(nft.stdout, /\n-A cali-nat-outgoing -m comment --comment "cali:[\w-]{16}" -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully\n/);
    assert.equal((await run(cluster, W1, 'iptables-nft-save')).stdout, nft.stdout.replaceAll('iptables-save v1.8.8', 'iptables-nft-save v1.8.8'));
    assert.deepEqual(await run(cluster, W1, 'iptables-legacy-save'), { stdout: '', stderr: '', exitCode: 0 });
    assert.match((await run(cluster, W1, 'nft', '-n', '-a', 'list', 'ruleset')).stdout, /^table ip raw \{ # handle 1\n\tchain PREROUTING \{ # handle 2\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tcounter packets 0 bytes 0 jump cali-PREROUTING comment "cali:[\w-]{16}" # handle 3\n/);
    const ipsets = (await run(cluster, W1, 'ipset', 'list', 'cali40all-ipam-pools')).stdout;
    assert.match(ipsets, /^Name: cali40all-ipam-pools\nType: hash:net\nRevision: 7\nHeader: family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x[0-9a-f]{8}\nSize in memory: \d+\nReferences: 1\nNumber of entries: 1\nMembers:\n10\.97\.0\.0\/16\n$/);
    assert.deepEqual(await run(cluster, W1, 'ipset', 'list', 'nope'), { stdout: '', stderr: 'ipset v7.11: The set with the given name does not exist\n', exitCode: 1 });

    cluster.api.create(cluster.api.registry.byKey('felixconfigurations.crd.projectcalico.org')!, undefined, {
      apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { iptablesBackend: 'Legacy' },
    }, { fieldManager: 'calicoctl' });
    assert.equal((await run(cluster, W1, 'iptables-save')).stdout, '');
    assert.match((await run(cluster, W1, 'iptables-legacy-save', '-c')).stdout, /^# Generated by iptables-legacy-save v1\.8\.8 \(legacy\) on .*\n\*raw\n[^]*\n\[0:0\] -A PREROUTING -m comment --comment "cali:[\w-]{16}" -j cali-PREROUTING\n/);
    assert.equal((await run(cluster, W1, 'nft', 'list', 'ruleset')).stdout, '');
    await assert.rejects(run(cluster, W1, 'ip', 'route', 'get', '10.0.0.1'), NotSimulated);
  });
});
