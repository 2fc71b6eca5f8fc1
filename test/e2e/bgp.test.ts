// calico-node's BIRD and Felix through real `kubectl exec`, as a real
// cluster prints them: birdcl's tables and reply codes, calico-node's health
// checks and status, the kubelet's readiness probe and its Unhealthy events,
// and what a firewall between the nodes changes (TCP 179: BIRD, and with IPIP
// the routes; TCP 5473: Felix) and what it does not (VXLAN routes). On a
// ManualClock: BIRD's hold timer (240 s), its 30 s start-up rule and the
// probe's period (30 s) are cluster time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestCluster } from '../cluster/cluster.ts';
import { ManualClock } from '../cluster/clock.ts';
import { policyProgrammed } from '../cluster/dataplane/calico-node.ts';
import { cleanEnv, kubectl, withCluster, type Result } from '../helpers.ts';

const MASTER = 'kubernetes-master-01';
const W1 = 'kubernetes-worker-01';
const W2 = 'kubernetes-worker-02';
const IP: Record<string, string> = { [MASTER]: '192.168.56.11', [W1]: '192.168.56.12', [W2]: '192.168.56.13' };
const SOCKET = '/var/run/calico/bird.ctl';

interface Peer {
  ip: string;
  type: string;
  state: string;
  since: string;
  info: string;
}

/** calicoctl node status's parse of `show protocols` (calicoctl/commands/node/status.go): BGP rows with a Global|Node|Mesh name. */
function calicoctlPeers(output: string): Peer[] {
  const types: Record<string, string> = { Global: 'global', Mesh: 'node-to-node mesh', Node: 'node specific' };
  return output.split('\n').map((line) => line.trim().split(/\s+/)).flatMap((columns) => {
    const name = /^(Global|Node|Mesh)_(.+)$/.exec(columns[0] ?? '');
    if (columns.length < 6 || columns[1] !== 'BGP' || !name) return [];
    return [{ ip: name[2]!.replaceAll('_', '.'), type: types[name[1]!]!, state: columns[3]!, since: columns[4]!, info: columns.slice(5).join(' ') }];
  });
}

async function setup(cluster: TestCluster & { kubeconfigPath: string }) {
  const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
  const k = (...args: string[]) => kubectl(args, env);
  const rows = (await k('get', 'pods', '-n', 'calico-system', '-l', 'k8s-app=calico-node', '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.metadata.name}{"\\n"}{end}')).stdout.trim().split('\n');
  const pods = new Map(rows.map((row) => row.split(' ') as [string, string]));
  const exec = (node: string, ...argv: string[]) => k('exec', '-n', 'calico-system', pods.get(node)!, '-c', 'calico-node', '--', ...argv);
  /** When calico-node (so BIRD) started on `node`, as BIRD prints a time of day. */
  const started = async (node: string) => (await k('get', 'pod', '-n', 'calico-system', pods.get(node)!, '-o', 'jsonpath={.status.containerStatuses[0].state.running.startedAt}')).stdout.slice(11, 19);
  return { k, exec, pods, started };
}

function expectExit(result: Result, code: number, stdout: string, stderr = ''): void {
  assert.equal(result.stdout, stdout);
  assert.equal(result.stderr, stderr);
  assert.equal(result.code, code);
}

const time = (clock: ManualClock) => clock.now().toISOString().slice(11, 19);

/** BlockAffinities as Calico IPAM writes them (one /26 per node), unless the IPAM model already has. */
function blocks(cluster: TestCluster): Record<string, string> {
  const type = cluster.api.registry.byKey('blockaffinities.crd.projectcalico.org')!;
  const byNode: Record<string, string> = {};
  for (const a of cluster.api.store.list(type.key)) byNode[(a.spec as { node: string }).node] ??= (a.spec as { cidr: string }).cidr;
  if (Object.keys(byNode).length > 0) return byNode;
  [MASTER, W1, W2].forEach((node, i) => {
    byNode[node] = `10.97.${i * 64 / 256 | 0}.${(i * 64) % 256}/26`;
    cluster.api.create(type, undefined, { apiVersion: 'crd.projectcalico.org/v1', kind: 'BlockAffinity', metadata: { name: `${node}-${byNode[node]!.replace(/[./]/g, '-')}` }, spec: { node, cidr: byNode[node], state: 'confirmed', deleted: 'false' } }, { fieldManager: 'calico-node' });
  });
  return byNode;
}

test('a 3-node mesh as BIRD and calico-node print it; blocked TCP 179 takes BIRD and its readiness down after the hold timer, VXLAN routes stay and IPIP routes go; blocked Typha takes Felix down; a stuck Felix stays Ready', async () => {
  const clock = new ManualClock();
  await withCluster({ calico: 'v3.29.0', clock }, async (cluster) => {
    const { k, exec, pods, started } = await setup(cluster);
    const upAt = (a: string, b: string) => Promise.all([started(a), started(b)]).then(([x, y]) => (x > y ? x : y));

    // Healthy: every node peers with the two others, Established, as BIRD prints it and calicoctl parses it.
    for (const node of [MASTER, W1, W2]) {
      const boot = await started(node);
      const others = [MASTER, W1, W2].filter((n) => n !== node);
      const mesh = await Promise.all(others.map(async (o) => `Mesh_${IP[o]!.replaceAll('.', '_')} BGP      master   up     ${await upAt(node, o)}    Established   \n`));
      const protocols = await exec(node, 'birdcl', '-s', SOCKET, 'show', 'protocols');
      expectExit(protocols, 0, [
        'BIRD v0.3.3+birdv1.6.8 ready.\n',
        'name     proto    table    state  since       info\n',
        ...['static1  Static ', 'kernel1  Kernel ', 'device1  Device ', 'direct1  Direct '].map((p) => `${p}  master   up     ${boot}    \n`),
        ...mesh,
      ].join(''));
      assert.deepEqual(calicoctlPeers(protocols.stdout).map((p) => `${p.ip} ${p.type} ${p.state} ${p.info}`), others.map((o) => `${IP[o]} node-to-node mesh up Established`));
      expectExit(await exec(node, 'birdcl', 'show', 'protocols'), 0, protocols.stdout, '');
      expectExit(await exec(node, 'calico-node', '-bird-ready', '-felix-ready'), 0, '');
    }
    const boot = await started(W1);
    const verbose = await exec(W1, 'birdcl', '-v', '-s', SOCKET, 'show', 'protocols');
    assert.match(verbose.stdout, /^0001 BIRD v0\.3\.3\+birdv1\.6\.8 ready\.\n2002-name     proto    table    state  since       info\n1002-static1  Static   master   up     \d\d:\d\d:\d\d    \n {5}kernel1  Kernel /);
    assert.ok(!verbose.stdout.includes('0000'), 'the end of a reply is never printed');
    expectExit(await exec(W1, 'birdcl', '-s', SOCKET, 'show', 'status'), 0, [
      'BIRD v0.3.3+birdv1.6.8 ready.', 'BIRD v0.3.3+birdv1.6.8', 'Router ID is 192.168.56.12', `Current server time is 2026-11-26 ${time(clock)}`,
      `Last reboot on 2026-11-26 ${boot}`, `Last reconfiguration on 2026-11-26 ${await upAt(W1, W2) > await upAt(W1, MASTER) ? await upAt(W1, W2) : await upAt(W1, MASTER)}`, 'Daemon is up and running', '',
    ].join('\n'));
    expectExit(await exec(W1, 'birdcl6', '-s', '/var/run/calico/bird6.ctl', 'show', 'protocols'), 0, [
      'BIRD v0.3.3+birdv1.6.8 ready.\n', 'name     proto    table    state  since       info\n',
      ...['static1  Static ', 'kernel1  Kernel ', 'device1  Device ', 'direct1  Direct '].map((p) => `${p}  master   up     ${boot}    \n`),
    ].join(''), '');
    expectExit(await exec(W1, 'birdcl', '-s', '/var/run/bird/bird.ctl', 'show', 'protocols'), 1, '', 'Unable to connect to server control socket (/var/run/bird/bird.ctl): No such file or directory\ncommand terminated with exit code 1\n');
    expectExit(await exec(W1, 'birdcl', '-s', SOCKET, 'sh', 'proto'), 0, (await exec(W1, 'birdcl', 'show', 'protocols')).stdout, '');
    expectExit(await exec(W1, 'birdcl', '-s', SOCKET, 'shutdown-now'), 0, 'BIRD v0.3.3+birdv1.6.8 ready.\nNo such command. Press `?\' for help.\n');
    const status = await exec(W1, 'calico-node', '-show-status');
    assert.equal(status.code, 0);
    assert.ok(status.stdout.includes([
      '\nbird v4 BGP peers',
      '+---------------+-----------+-------+----------+-------------+',
      '| PEER ADDRESS  | PEER TYPE | STATE |  SINCE   |  BGPSTATE   |',
      '+---------------+-----------+-------+----------+-------------+',
      `| 192.168.56.11 | Mesh      | up    | ${await upAt(W1, MASTER)} | Established |`,
      `| 192.168.56.13 | Mesh      | up    | ${await upAt(W1, W2)} | Established |`,
      '+---------------+-----------+-------+----------+-------------+\n',
    ].join('\n')), status.stdout);
    assert.match(status.stdout, /\nbird v6 BGP peers\n\+-+\+-+\+-+\+-+\+-+\+\n\| PEER ADDRESS \| PEER TYPE \| STATE \| SINCE \| BGPSTATE \|\n(\+-+){5}\+\n(\+-+){5}\+\n/);

    const byNode = blocks(cluster);
    const vxlanRoutes = (await exec(W1, 'ip', 'route')).stdout;
    for (const node of [MASTER, W2]) assert.ok(vxlanRoutes.includes(`${byNode[node]} via ${IP[node]} dev eth0 proto 80 onlink\n`), vxlanRoutes);
    assert.ok(vxlanRoutes.includes(`blackhole ${byNode[W1]} proto 80\n`), vxlanRoutes);

    // TCP 179 dropped between the workers: their session lives until the hold timer runs out, then both ends show it down.
    cluster.runtime.network.drops.push({ traffic: 'bgp', between: [[W1, W2]] });
    assert.deepEqual(calicoctlPeers((await exec(W1, 'birdcl', 'show', 'protocols')).stdout).map((p) => p.info), ['Established', 'Established']);
    const blocked = clock.now().getTime();
    clock.advance(241_000);
    // The model looks at the knobs every second: the hold timer started within a second of the change.
    const expired = [0, 1000].map((late) => new Date(blocked + late + 240_000).toISOString().slice(11, 19));
    // 192.168.56.12 < 192.168.56.13: worker-01 waits for worker-02 to connect (`passive on`); worker-02's attempts go unanswered.
    const w1 = (await exec(W1, 'birdcl', 'show', 'protocols')).stdout;
    const since = /Mesh_192_168_56_13 BGP {6}master {3}start  (\S+) {4}Passive {7}BGP Error: Hold timer expired\n$/.exec(w1)?.[1];
    assert.ok(since && expired.includes(since), w1);
    const w2 = (await exec(W2, 'birdcl', 'show', 'protocols')).stdout;
    assert.ok(w2.endsWith(`Mesh_192_168_56_12 BGP      master   start  ${since}    Connect       BGP Error: Hold timer expired\n`), w2);
    assert.deepEqual(calicoctlPeers(w2).map((p) => `${p.ip} ${p.state} ${p.info}`), ['192.168.56.11 up Established', '192.168.56.12 start Connect BGP Error: Hold timer expired']);
    // Past BIRD's first 30 s one Established peer is enough: still ready.
    expectExit(await exec(W2, 'calico-node', '-bird-ready', '-felix-ready'), 0, '');

    // TCP 179 dropped everywhere: no peer left, not ready; after three failed probes (30 s apart) the pods are unready.
    cluster.runtime.network.drops = [{ traffic: 'bgp' }];
    clock.advance(241_000);
    const notReady = 'calico/node is not ready: BIRD is not ready: BGP not established with 192.168.56.11,192.168.56.13\n';
    expectExit(await exec(W1, 'calico-node', '-bird-ready', '-felix-ready'), 1, notReady, 'command terminated with exit code 1\n');
    expectExit(await exec(W1, 'calico-node', '-felix-ready'), 0, '');
    clock.advance(90_000);
    const ready = await k('get', 'pods', '-n', 'calico-system', '-l', 'k8s-app=calico-node', '-o', 'jsonpath={range .items[*]}{.status.containerStatuses[0].ready}{" "}{end}');
    assert.equal(ready.stdout, 'false false false ');
    const events = await k('get', 'events', '-n', 'calico-system', '--field-selector', `reason=Unhealthy,involvedObject.name=${pods.get(W1)}`, '-o', 'jsonpath={range .items[*]}{.type} {.source.component} {.involvedObject.fieldPath}: {.message}{end}');
    assert.equal(events.stdout, `Warning kubelet spec.containers{calico-node}: Readiness probe failed: ${notReady}`);
    assert.match((await k('get', 'nodes', '--no-headers')).stdout, /^(kubernetes-\S+ +Ready .*\n){3}$/, 'BIRD gates no node: pod networking goes on');
    // With the docs' VXLANCrossSubnet pool Felix programs the routes: BGP down changes none of them.
    assert.equal((await exec(W1, 'ip', 'route')).stdout, vxlanRoutes);
    // With IPIP BIRD programs them: no session, no route to the other nodes' blocks.
    cluster.api.mutate(cluster.api.registry.byKey('ippools.crd.projectcalico.org')!, undefined, 'default-ipv4-ippool', (pool) => {
      Object.assign(pool.spec as object, { ipipMode: 'Always', vxlanMode: 'Never' });
    }, { fieldManager: 'operator' });
    const ipipDown = (await exec(W1, 'ip', 'route')).stdout;
    assert.ok(ipipDown.includes(`blackhole ${byNode[W1]} proto bird\n`), ipipDown);
    assert.ok(!ipipDown.includes(byNode[MASTER]!) && !ipipDown.includes(byNode[W2]!), ipipDown);

    // The firewall opens: sessions come up at once, the routes return over tunl0, the next probe makes the pods Ready.
    cluster.runtime.network.drops = [];
    clock.advance(1_000);
    const reopened = time(clock);
    assert.deepEqual(calicoctlPeers((await exec(W1, 'birdcl', 'show', 'protocols')).stdout).map((p) => `${p.state} ${p.since} ${p.info}`), [`up ${reopened} Established`, `up ${reopened} Established`]);
    const ipipUp = (await exec(W1, 'ip', 'route')).stdout;
    for (const node of [MASTER, W2]) assert.ok(ipipUp.includes(`${byNode[node]} via ${IP[node]} dev tunl0 proto bird onlink\n`), ipipUp);
    clock.advance(30_000);
    assert.equal((await k('get', 'pods', '-n', 'calico-system', '-l', 'k8s-app=calico-node', '-o', 'jsonpath={range .items[*]}{.status.containerStatuses[0].ready}{" "}{end}')).stdout, 'true true true ');

    // TCP 5473 dropped: Felix syncs from Typha, which runs on the workers; the control plane reaches none.
    cluster.runtime.network.drops = [{ traffic: 'typha' }];
    clock.advance(1_000);
    expectExit(await exec(MASTER, 'calico-node', '-bird-ready', '-felix-ready'), 1, 'calico/node is not ready: felix is not ready: readiness probe reporting 503\n', 'command terminated with exit code 1\n');
    expectExit(await exec(W1, 'calico-node', '-felix-ready'), 0, '');
    cluster.runtime.network.drops = [];

    // A stuck Felix still answers its health checks: calico-node stays Ready while policy is not programmed there.
    cluster.runtime.network.felixStuck = [W1];
    clock.advance(120_000);
    expectExit(await exec(W1, 'calico-node', '-bird-ready', '-felix-ready'), 0, '');
    assert.equal((await k('get', 'pod', '-n', 'calico-system', pods.get(W1)!, '-o', 'jsonpath={.status.containerStatuses[0].ready}')).stdout, 'true');
    assert.equal(policyProgrammed(cluster.runtime, W1), false);
    assert.equal(policyProgrammed(cluster.runtime, W2), true);
  });
});

for (const release of ['v3.29.0', 'v3.31.7']) {
  test(`bgp: Disabled (${release}): no BIRD; calico-node's probe is felix-only; birdcl and the BIRD checks fail as they do without a socket`, async () => {
    const clock = new ManualClock();
    await withCluster({ calico: release, clock }, async (cluster) => {
      const { k } = await setup(cluster);
      assert.equal((await k('patch', 'installation', 'default', '--type', 'merge', '-p', '{"spec":{"calicoNetwork":{"bgp":"Disabled"}}}')).code, 0);
      for (let i = 0; i < 60; i++) clock.advance(1_000);
      const template = await k('get', 'daemonset', '-n', 'calico-system', 'calico-node', '-o', 'jsonpath={.spec.template.spec.containers[0].readinessProbe}');
      assert.deepEqual(JSON.parse(template.stdout), { exec: { command: ['/bin/calico-node', '-felix-ready'] }, failureThreshold: 3, periodSeconds: 30, successThreshold: 1, timeoutSeconds: 10 });
      const { exec } = await setup(cluster);
      const error = release === 'v3.29.0' ? 'Error' : 'error';
      expectExit(await exec(W1, 'birdcl', '-s', SOCKET, 'show', 'protocols'), 1, '', `Unable to connect to server control socket (${SOCKET}): No such file or directory\ncommand terminated with exit code 1\n`);
      expectExit(await exec(W1, 'birdcl6', 'show', 'protocols'), 1, '', 'Unable to connect to server control socket (/var/run/calico/bird6.ctl): No such file or directory\ncommand terminated with exit code 1\n');
      expectExit(await exec(W1, 'calico-node', '-felix-ready'), 0, '');
      expectExit(await exec(W1, 'calico-node', '-bird-ready'), 1, `calico/node is not ready: BIRD is not ready: ${error} querying BIRD: unable to connect to BIRDv4 socket: dial unix /var/run/bird/bird.ctl: connect: no such file or directory\n`, 'command terminated with exit code 1\n');
      expectExit(await exec(W1, 'calico-node', '-bird-live'), 1, 'calico/node is not ready: bird/confd is not live: exit status 1\n', 'command terminated with exit code 1\n');
      const status = await exec(W1, 'calico-node', '-show-status');
      assert.match(status.stdout, /^Error getting birdStatus: Error querying BIRD: unable to connect to BIRDv4 socket: dial unix \/var\/run\/bird\/bird\.ctl: connect: no such file or directory\nError getting bird BGP peers: /);
      assert.equal((await k('get', 'pods', '-n', 'calico-system', '-l', 'k8s-app=calico-node', '-o', 'jsonpath={range .items[*]}{.status.containerStatuses[0].ready}{" "}{end}')).stdout, 'true true true ');
    });
  });
}
