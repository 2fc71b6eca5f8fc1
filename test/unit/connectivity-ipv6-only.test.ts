// connectivity on an IPv6-only cluster (pods, Services and nodes with IPv6
// addresses only). The test cluster cannot make one (it has IPv4-only and
// dual-stack), so the planning, the lookups and the diagnosis are tested
// here: the IPv6 scenarios run, the IPv4 ones say why they do not, names
// are looked up as AAAA records, the policy and host probes use the pods'
// IPv6 addresses (they ran `dig … undefined` and failed), and a loss
// across nodes is diagnosed from the nodes' IPv6 networks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from '../../src/calico/cidr.ts';
import { diagnose } from '../../src/calico/connectivity/diagnosis.ts';
import { nodeNetworks, readFacts, type DataplaneFacts } from '../../src/calico/connectivity/facts.ts';
import { runProbes, type Execute, type ProbeResult } from '../../src/calico/connectivity/probe.ts';
import { probedPairs } from '../../src/calico/connectivity/report.ts';
import { SCENARIOS, type Probe, type Topology } from '../../src/calico/connectivity/scenarios.ts';
import { KubeClient, type ClientSettings, type RawResponse } from '../../src/kube/client.ts';
import { seeded } from '../helpers.ts';

const NODES = ['node-a', 'node-b', 'node-c'];
const PLAN = { maxPairs: 100, externalTarget: 'example.com:443', random: seeded(1) };

function topology(dualStack: boolean): Topology {
  const ips = (i: number, last: number) => [...(dualStack ? [`10.97.${i}.${last}`] : []), `fd00:10:97:${i}::${last}`];
  return {
    nodes: NODES,
    echo: new Map(NODES.map((n, i) => [n, { pod: `echo-${n}`, node: n, ips: ips(i, 5) }])),
    client: new Map(NODES.map((n, i) => [n, { pod: `client-${n}`, node: n, ips: ips(i, 6) }])),
    hosts: [{ pod: 'host-node-a', node: 'node-a', ips: [...(dualStack ? ['192.168.56.11'] : []), 'fd00:56::11'] }, { pod: 'host-node-b', node: 'node-b', ips: [...(dualStack ? ['192.168.56.12'] : []), 'fd00:56::12'] }],
    service: { name: 'echo', ips: [...(dualStack ? ['10.96.0.20'] : []), 'fd00:10:96::20'], port: 80 },
    subnets: new Map(NODES.map((n) => [n, dualStack ? '192.168.56.0/24' : 'fd00:56::/64'])),
  };
}

function plan(t: Topology): { skipped: Record<string, string>; probes: Map<string, Probe[]> } {
  const skipped: Record<string, string> = {};
  const probes = new Map<string, Probe[]>();
  for (const s of SCENARIOS) {
    const why = s.unavailable?.(t, PLAN);
    if (why) skipped[s.name] = why;
    else probes.set(s.name, s.probes(t, PLAN));
  }
  return { skipped, probes };
}

test('IPv6-only: the IPv4 scenarios say why they do not run, the IPv6 ones and the rest probe IPv6 addresses, names as AAAA', () => {
  const { skipped, probes } = plan(topology(false));
  const why = 'no IPv4 pod addresses (an IPv6-only cluster: the -ipv6 scenarios probe it)';
  assert.deepEqual(skipped, { 'pod-to-pod-same-node': why, 'pod-to-pod-cross-node': why, 'pod-to-service': why });
  for (const [name, list] of probes) {
    assert.ok(list.length > 0, `${name} plans probes`);
    for (const p of list) {
      assert.ok(!p.command.includes('undefined'), `${name}: ${p.command.join(' ')}`);
      if (p.to.ip && p.to.kind !== 'external') assert.match(p.to.ip, /:/, `${name} goes to an IPv6 address`);
      assert.match(p.from.ip, /:/, `${name} leaves from an IPv6 address`);
      if (p.command[0] === 'dig') assert.equal(p.command.at(-1), 'AAAA', `${name} asks for the AAAA record`);
    }
  }
  const deny = probes.get('ingress-default-deny')![0]!;
  assert.deepEqual([deny.command, deny.requires], [['/agnhost', 'connect', '[fd00:10:97:0::5]:9376', '--timeout=1s'], { scenario: 'pod-to-pod-same-node-ipv6', node: 'node-a' }]);
  assert.deepEqual(probes.get('node-to-pod')![0]!.command, ['/agnhost', 'connect', '[fd00:10:97:0::5]:9376', '--timeout=2s']);
  assert.deepEqual(probes.get('pod-to-node')![0]!.to.ip, 'fd00:56::12');
  assert.deepEqual(probes.get('pod-to-kubernetes-default')![0]!.command, ['dig', '+search', '+short', '+time=2', '+tries=1', 'kubernetes.default', 'AAAA']);
  // The summary's "6 of 6 cross-node pairs" counts the IPv6 ones (it said 0).
  const done = [...probes.values()].flat().map((p): ProbeResult => ({ ...p, result: 'PASS', detail: 'connected', attempts: 1, seconds: 1 }));
  assert.equal(probedPairs(done), 6);
});

test('dual-stack is unchanged: IPv4 for policy, hosts and names (A records), every scenario planned', () => {
  const { skipped, probes } = plan(topology(true));
  assert.deepEqual(skipped, {});
  assert.deepEqual(probes.get('pod-to-service-dns')![0]!.command, ['dig', '+search', '+short', '+time=2', '+tries=1', 'echo']);
  const deny = probes.get('ingress-default-deny')![0]!;
  assert.deepEqual([deny.to.ip, deny.requires?.scenario], ['10.97.0.5', 'pod-to-pod-same-node']);
  assert.equal(probes.get('node-to-pod')![0]!.from.ip, '192.168.56.12');
});

test('a name on IPv6-only: dig for the AAAA record, then agnhost to the IPv6 address found', async () => {
  const byName = plan(topology(false)).probes.get('pod-to-service-dns')![0]!;
  const commands: string[][] = [];
  const execute: Execute = async ({ command }) => {
    commands.push(command);
    return { exitCode: 0, stdout: command[0] === 'dig' ? 'fd00:10:96::20\n' : '', stderr: '', droppedBytes: { stdout: 0, stderr: 0 } };
  };
  const [result] = await runProbes(execute, [byName], { signal: new AbortController().signal });
  assert.deepEqual(commands, [['dig', '+search', '+short', '+time=2', '+tries=1', 'echo', 'AAAA'], ['/agnhost', 'connect', '[fd00:10:96::20]:80', '--timeout=2s']]);
  assert.deepEqual([result!.result, result!.detail], ['PASS', 'resolved fd00:10:96::20, connected']);
});

const node = (name: string, v6: string) => ({ metadata: { name, annotations: { 'projectcalico.org/IPv6Address': `${v6}/64` } }, status: { addresses: [{ type: 'InternalIP', address: v6 }] } });
const OBJECTS = [node('node-a', 'fd00:56::11'), node('node-b', 'fd00:56::12'), node('node-c', 'fd00:57::13')];

test('IPv6-only nodes: their networks come from projectcalico.org/IPv6Address, and VXLAN lost between them is named, not unexplained', () => {
  const networks = nodeNetworks(OBJECTS);
  assert.deepEqual(networks.get('node-c'), { name: 'node-c', internalIP: 'fd00:57::13', subnet: undefined, ipv6: 'fd00:57::13', subnet6: 'fd00:57::/64' });
  const facts: DataplaneFacts = {
    pools: [{ name: 'default-ipv6-ippool', cidr: parseCidr('fd00:10:97::/48', 'pool'), vxlanMode: 'CrossSubnet', ipipMode: 'Never', natOutgoing: true }],
    nodes: networks,
    calicoNodes: new Map(NODES.map((n) => [n, { pod: `calico-node-${n}`, ready: true, message: '' }])),
    bgpDown: new Map(),
    coreDNS: { ready: 2, total: 2, problems: [], nodes: [] },
  };
  const t = topology(false);
  const probes = [...plan(t).probes.values()].flat().filter((p) => p.scenario.startsWith('pod-to-pod'));
  // node-c is on another subnet: VXLAN to and from it is dropped.
  const results: ProbeResult[] = probes.map((p) => {
    const lost = p.to.node !== p.from.node && (p.from.node === 'node-c') !== (p.to.node === 'node-c');
    return { ...p, result: lost ? 'FAIL' : 'PASS', detail: lost ? 'TIMEOUT' : 'connected', attempts: 1, seconds: 1 };
  });
  const findings = diagnose({ results, facts, notReady: [], notScheduled: [], namespace: 'calico-connectivity' });
  assert.deepEqual(findings.map((f) => f.id), ['vxlan-blocked']);
  assert.match(findings[0]!.cause, /^UDP 4789 \(VXLAN\) is dropped between fd00:56::\/64 and fd00:57::\/64: pods on node-a and node-b \(fd00:56::\/64\) and pods on node-c \(fd00:57::\/64\) cannot reach each other, while pods on the same node can/);
});

/** An API server with the lists readFacts reads: calico-node not Ready on node-a, BIRD6 naming node-b's address. */
class Lists extends KubeClient {
  constructor() {
    super({ server: 'https://lists.invalid', contextName: 'lists', userName: 'lists' } as ClientSettings);
  }
  override async request(path: string): Promise<RawResponse> {
    const items = path.endsWith('/calico-system/pods') ? [{ metadata: { name: 'calico-node-a' }, spec: { nodeName: 'node-a' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] } }]
      : path.endsWith('/calico-system/events') ? [{ involvedObject: { name: 'calico-node-a' }, message: 'Readiness probe failed: calico/node is not ready: BIRD6 is not ready: BGP not established with fd00:56::12', lastTimestamp: '2026-01-01T00:00:00Z', metadata: {} }]
        : [];
    return { statusCode: 200, headers: {}, body: Buffer.from(JSON.stringify({ items })) };
  }
}

test('BIRD6 names its peers by IPv6 address: the events\' peers are nodes, as with IPv4', async () => {
  const facts = await readFacts(new Lists(), nodeNetworks(OBJECTS), new AbortController().signal);
  assert.deepEqual([...facts.bgpDown], [['node-a', new Set(['node-b'])]]);
});
