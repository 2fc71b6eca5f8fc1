// `kubectl calico node status` through real kubectl against the test
// cluster's calico-node (BIRD, Felix, the readiness probes): a healthy mesh
// and its peer rows as BIRD prints them; TCP 179 blocked between two nodes,
// seen from both ends, and doctor naming the same pair from calico-node's
// events; BGP disabled; a kubelet that does not answer (2,000 nodes with
// route reflectors: bench/node-status.ts). On a ManualClock that starts now, so that BIRD's hold
// timer and the probes' period are cluster time and ages stay small.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../cluster/clock.ts';
import type { TestCluster } from '../cluster/cluster.ts';
import { cleanEnv, kubectl, withCluster } from '../helpers.ts';

const MASTER = 'kubernetes-master-01';
const W1 = 'kubernetes-worker-01';
const W2 = 'kubernetes-worker-02';
const IP: Record<string, string> = { [MASTER]: '192.168.56.11', [W1]: '192.168.56.12', [W2]: '192.168.56.13' };

/** calicoctl's reading of birdcl's table: PEER ADDRESS, PEER TYPE, STATE, SINCE, INFO (status.go unmarshalBIRD). */
function calicoctlRows(output: string): string[] {
  const types: Record<string, string> = { Global: 'global', Mesh: 'node-to-node mesh', Node: 'node specific' };
  return output.split('\n').map((l) => l.trim().split(/\s+/)).flatMap((c) => {
    const name = /^(Global|Node|Mesh)_(.+)$/.exec(c[0] ?? '');
    return c.length >= 6 && c[1] === 'BGP' && name ? [[name[2]!.replaceAll('_', '.'), types[name[1]!], c[3], c[4], c.slice(5).join(' ')].join(' | ')] : [];
  });
}

function setup(cluster: TestCluster & { kubeconfigPath: string }) {
  const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
  const k = (...args: string[]) => kubectl(args, env);
  const calico = (...args: string[]) => k('calico', ...args);
  const pod = async (node: string) => (await k('get', 'pods', '-n', 'calico-system', '-l', 'k8s-app=calico-node', '--field-selector', `spec.nodeName=${node}`, '-o', 'jsonpath={.items[0].metadata.name}')).stdout;
  const bird = async (node: string) => (await k('exec', '-n', 'calico-system', await pod(node), '-c', 'calico-node', '--', 'birdcl', '-s', '/var/run/calico/bird.ctl', 'show', 'protocols')).stdout;
  return { k, calico, pod, bird };
}

const settle = (clock: ManualClock, seconds: number) => {
  for (let i = 0; i < seconds; i++) clock.advance(1_000);
};

test('node status: a healthy mesh is 2/2 everywhere with BIRD\'s rows; blocked TCP 179 between two workers is that pair, from both ends, and doctor names it from events; a kubelet that does not answer is a finding', async () => {
  const clock = new ManualClock(Date.now());
  await withCluster({ calico: 'v3.29.0', clock }, async (cluster) => {
    const { calico, k, bird } = setup(cluster);
    const healthy = await calico('node', 'status');
    assert.equal(healthy.code, 0, healthy.stderr + healthy.stdout);
    assert.equal(healthy.stdout, [
      'BGP: node-to-node mesh, AS 64512',
      'IP pools: 10.97.0.0/16 VXLANCrossSubnet (VXLAN: Felix programs the pod routes)',
      '',
      'NODE                   FELIX   BIRD    PEERS ESTABLISHED   MESSAGE',
      `${MASTER}   Ready   Ready   2/2                 `,
      `${W1}   Ready   Ready   2/2                 `,
      `${W2}   Ready   Ready   2/2                 `,
      '',
      '3 nodes: 3 healthy',
      '',
    ].join('\n'));

    // Named nodes: every peer row, the same as calicoctl reads from BIRD's own text.
    const named = await calico('node', 'status', '--nodes', `${W1},${W2}`);
    assert.equal(named.code, 0, named.stderr);
    for (const node of [W1, W2]) {
      const section = named.stdout.split(`\nIPv4 BGP peers of ${node}:\n`)[1]!.split('\n\n')[0]!.trim().split('\n');
      assert.equal(section[0], 'PEER ADDRESS    PEER TYPE           STATE   SINCE      INFO');
      assert.deepEqual(section.slice(1).map((l) => l.split(/ {2,}/).join(' | ')), calicoctlRows(await bird(node)), node);
    }
    const json = JSON.parse((await calico('node', 'status', '-o', 'json')).stdout);
    assert.equal(json.kind, 'NodeStatus');
    assert.deepEqual(json.nodes.map((n: { name: string; sessions: object }) => [n.name, n.sessions]), [MASTER, W1, W2].map((n) => [n, { established: 2, total: 2 }]));
    assert.deepEqual(json.nodes[1].peers.map((p: { peerAddress: string; peerNode: string; peerType: string }) => [p.peerAddress, p.peerNode, p.peerType]), [[IP[MASTER], MASTER, 'node-to-node mesh'], [IP[W2], W2, 'node-to-node mesh']]);

    // TCP 179 dropped between the workers: after BIRD's hold timer both ends show their session down.
    cluster.runtime.network.drops.push({ traffic: 'bgp', between: [[W1, W2]] });
    settle(clock, 241);
    const blocked = await calico('node', 'status');
    assert.equal(blocked.code, 1, blocked.stderr);
    const lines = blocked.stdout.split('\n');
    assert.match(lines.find((l) => l.startsWith(MASTER))!, / 2\/2 +$/);
    assert.match(lines.find((l) => l.startsWith(W1))!, new RegExp(` 1/2 +not Established: ${IP[W2]!.replaceAll('.', '\\.')} \\(Passive\\)$`));
    assert.match(lines.find((l) => l.startsWith(W2))!, new RegExp(` 1/2 +not Established: ${IP[W1]!.replaceAll('.', '\\.')} \\(Connect\\)$`));
    const down = blocked.stdout.split('\nSessions not Established:\n')[1]!.split('\n\n')[0]!.split('\n').slice(1);
    assert.deepEqual(down.map((l) => l.split(/ {2,}/).slice(0, 2).join(' ')), [`${W1} ${IP[W2]}`, `${W2} ${IP[W1]}`], 'exactly those two sessions');
    const findings = JSON.parse((await calico('node', 'status', '-o', 'json')).stdout).findings as { kind: string; nodes: string[]; message: string; cause: string; impact: string }[];
    assert.deepEqual(findings.map((f) => [f.kind, f.nodes]), [['session-down', [W1, W2]]]);
    assert.match(findings[0]!.message, new RegExp(`^BGP session between ${W1} \\(${IP[W1]}\\) and ${W2} \\(${IP[W2]}\\) is not Established: ${W1} sees Passive BGP Error: Hold timer expired; ${W2} sees Connect BGP Error: Hold timer expired$`));
    assert.match(findings[0]!.cause, /TCP 179 is blocked between 192\.168\.56\.12 and 192\.168\.56\.13/);
    assert.match(findings[0]!.impact, /only BIRD's readiness/);
    assert.match(blocked.stdout, /\nProblems:\n- BGP session between kubernetes-worker-01 .*\n {4}cause: {2}usually TCP 179 .*\n {4}breaks: only BIRD's readiness.*\n {4}fix: {4}allow TCP 179 between 192\.168\.56\.12 and 192\.168\.56\.13, both ways; then kubectl calico node status --nodes kubernetes-worker-01,kubernetes-worker-02\n/);

    // Doctor cannot exec: calico-node restarting on both workers meets the blocked session in its first 30 s, and
    // its readiness probe's Unhealthy events name the peer.
    assert.equal((await k('delete', 'pods', '-n', 'calico-system', '-l', 'k8s-app=calico-node', '--field-selector', `spec.nodeName!=${MASTER}`, '--wait=false')).code, 0);
    settle(clock, 20);
    const doctor = await calico('doctor', '--check', 'CAL-1301', '-o', 'json');
    const bgpCheck = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'CAL-1301');
    assert.equal(bgpCheck.status, 'WARN', doctor.stdout);
    assert.match(bgpCheck.finding, new RegExp(`^BGP not established between ${W1} and ${W2} \\(both ends, last \\d+s ago\\), from calico-node's Unhealthy events; with VXLAN pools this affects BIRD's readiness only$`));
    assert.match(bgpCheck.fix, /kubectl calico node status --nodes kubernetes-worker-01,kubernetes-worker-02$/);

    // A kubelet the API server cannot reach: that node is a finding, the others are asked.
    cluster.runtime.network.drops = [];
    settle(clock, 60);
    cluster.faults.unreachableKubelets.set(W2, 'i/o timeout');
    const unreachable = await calico('node', 'status', '-o', 'json');
    assert.equal(unreachable.code, 1);
    const doc = JSON.parse(unreachable.stdout);
    assert.deepEqual(doc.findings.map((f: { kind: string; nodes: string[] }) => [f.kind, f.nodes]), [['kubelet-unreachable', [W2]]]);
    assert.match(doc.findings[0].message, /^the API server cannot reach the kubelet of kubernetes-worker-02, so calico-node there could not be asked \(dial tcp 192\.168\.56\.13:10250: i\/o timeout\)$/);
    assert.deepEqual(doc.nodes.map((n: { name: string; healthy: boolean }) => [n.name, n.healthy]), [[MASTER, true], [W1, true], [W2, false]]);
  });
});

test('node status with BGP disabled in the Installation: Felix only; bad input is one error line', async () => {
  const clock = new ManualClock(Date.now());
  await withCluster({ calico: 'v3.29.0', clock }, async (cluster) => {
    const { calico, k } = setup(cluster);
    assert.equal((await k('patch', 'installation', 'default', '--type', 'merge', '-p', '{"spec":{"calicoNetwork":{"bgp":"Disabled"}}}')).code, 0);
    settle(clock, 60);
    const status = await calico('node', 'status');
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.equal(status.stdout, [
      'BGP: Disabled in the Installation (spec.calicoNetwork.bgp): BIRD does not run; Felix only.',
      'IP pools: 10.97.0.0/16 VXLANCrossSubnet',
      '',
      'NODE                   FELIX   MESSAGE',
      `${MASTER}   Ready   `,
      `${W1}   Ready   `,
      `${W2}   Ready   `,
      '',
      '3 nodes: 3 healthy',
      '',
    ].join('\n'));
    const picked = await calico('node', 'status', '-l', 'node-role.kubernetes.io/control-plane');
    assert.match(picked.stdout, new RegExp(`\nNODE +FELIX +MESSAGE\n${MASTER} +Ready +\n\n1 node: 1 healthy\n$`));
    for (const [args, message] of [
      [['--nodes', 'nope'], /^error: --nodes: node "nope" not found\n$/],
      [['--nodes', W1, '-l', 'node-role.kubernetes.io/control-plane'], /^error: --nodes: node "kubernetes-worker-01" not found among the nodes matching -l node-role\.kubernetes\.io\/control-plane\n$/],
      [['-l', 'zone=mars'], /^error: no node matches -l zone=mars\n$/],
      [['--nodes', 'a,,b'], /^error: invalid --nodes "a,,b": expected node names separated by commas\n/],
      [['-l', 'a in (b'], /^error: invalid --selector "a in \(b": /],
      [['-o', 'table'], /^error: unable to match a printer suitable for the output format "table", allowed formats are: wide,json,yaml\n$/],
      [['--timeout', '0'], /^error: invalid value "0" for --timeout/],
    ] as const) {
      const result = await calico('node', 'status', ...args);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.code, /not found|no node matches/.test(result.stderr) ? 1 : 2, args.join(' '));
      assert.equal(result.stdout, '');
    }
  });
});

test('node status with an IPv6 pool: BIRD6 is asked too (birdcl6 on its own socket), its mesh over the nodes\' IPv6 addresses shown as calicoctl shows it; blocked TCP 179 downs the sessions of both families', async () => {
  const clock = new ManualClock(Date.now());
  await withCluster({ calico: 'v3.32.1', dualStack: true, clock }, async (cluster) => {
    const { calico, k, pod } = setup(cluster);
    const sent = cluster.requestLog.length;
    const status = await calico('node', 'status', '--nodes', W1);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    const execs = cluster.requestLog.slice(sent).filter((r) => r.path.includes('/exec?')).map((r) => new URLSearchParams(r.path.split('?')[1]).getAll('command').join(' '));
    assert.ok(execs.includes('birdcl6 -s /var/run/calico/bird6.ctl show protocols'), execs.join('\n'));
    assert.match(status.stdout, /\(IPv4 pod routes: Felix, VXLAN; IPv6 pod routes: BGP\)\n/);
    // The dual-stack nodes have IPv6 addresses (fd00:192:168:56::b for .11): BIRD6 meshes over them, as on a real cluster.
    assert.match(status.stdout, new RegExp(`\\n${W1} +Ready +Ready +4/4 +\\n`));
    assert.match(status.stdout, new RegExp(`\\nIPv4 BGP peers of ${W1}:\\nPEER ADDRESS +PEER TYPE +STATE +SINCE +INFO\\n192\\.168\\.56\\.11 +node-to-node mesh +up +\\S+ +Established\\n192\\.168\\.56\\.13 +node-to-node mesh +up +\\S+ +Established\\n\\nIPv6 BGP peers of ${W1}:\\nPEER ADDRESS +PEER TYPE +STATE +SINCE +INFO\\nfd00:192:168:56::b +node-to-node mesh +up +\\S+ +Established\\nfd00:192:168:56::d +node-to-node mesh +up +\\S+ +Established\\n`));
    const bird6 = (await k('exec', '-n', 'calico-system', await pod(W1), '-c', 'calico-node', '--', 'birdcl6', '-s', '/var/run/calico/bird6.ctl', 'show', 'protocols')).stdout;
    assert.match(bird6, /\nMesh_fd00_192_168_56__b BGP +master +up +\S+ +Established +\nMesh_fd00_192_168_56__d BGP +master +up +\S+ +Established +\n/);
    const doc = JSON.parse((await calico('node', 'status', '-o', 'json')).stdout);
    assert.deepEqual([doc.bgp.ipv6, doc.bgp.routing], [true, { ipv4: 'vxlan', ipv6: 'bgp' }]);
    assert.ok(doc.nodes.every((n: { bird6?: { ready: boolean } }) => n.bird6?.ready === true), JSON.stringify(doc.nodes.map((n: { bird6?: object }) => n.bird6)));

    // TCP 179 dropped between the workers: after the hold timer, the pair's IPv4 and IPv6 sessions are both down.
    cluster.runtime.network.drops.push({ traffic: 'bgp', between: [[W1, W2]] });
    settle(clock, 241);
    const blocked = await calico('node', 'status');
    assert.equal(blocked.code, 1, blocked.stderr);
    const lines = blocked.stdout.split('\n');
    assert.match(lines.find((l) => l.startsWith(MASTER))!, / 4\/4 +$/);
    assert.match(lines.find((l) => l.startsWith(W1))!, / 2\/4 +not Established: /);
    const down = blocked.stdout.split('\nSessions not Established:\n')[1]!.split('\n\n')[0]!.split('\n').slice(1);
    assert.deepEqual(down.map((l) => l.split(/ {2,}/).slice(0, 2).join(' ')).sort(), [`${W1} ${IP[W2]}`, `${W1} fd00:192:168:56::d`, `${W2} ${IP[W1]}`, `${W2} fd00:192:168:56::c`]);
  });
});
