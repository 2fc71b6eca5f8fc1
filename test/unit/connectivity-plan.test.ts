// Which probes connectivity plans: the cross-node pair sample (every pair on
// small clusters, a cover of every node both ways plus --max-pairs on large
// ones), the node sample, --test filtering, -l parsing, and the probe counts
// on 500 nodes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crossNodePairs, sampleNodes, SAMPLE_NODES, SCENARIOS, selectScenarios, splitTarget, type PodEnd, type Topology } from '../../src/calico/connectivity/scenarios.ts';
import { formatLabelSelector, nodePlacement, parseLabelSelector } from '../../src/kube/selectors.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { seeded } from '../helpers.ts';

const nodeNames = (n: number) => Array.from({ length: n }, (_, i) => `node-${String(i).padStart(4, '0')}`);

test('small clusters: every ordered pair of distinct nodes', () => {
  const { pairs, total } = crossNodePairs(nodeNames(3), 100, seeded(1));
  assert.equal(total, 6);
  assert.deepEqual(pairs.map((p) => p.join('>')).sort(), ['node-0000>node-0001', 'node-0000>node-0002', 'node-0001>node-0000', 'node-0001>node-0002', 'node-0002>node-0000', 'node-0002>node-0001']);
  assert.equal(crossNodePairs(nodeNames(11), 100, seeded(1)).pairs.length, 110, '110 pairs fit in 11 + 100');
  assert.deepEqual(crossNodePairs(nodeNames(1), 100, seeded(1)).pairs, []);
});

test('large clusters: every node a source and a destination, --max-pairs more, no pair twice, none to itself', () => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 80 }), fc.integer({ min: 0, max: 60 }), fc.integer(), (n, maxPairs, seed) => {
    const nodes = nodeNames(n);
    const { pairs, total } = crossNodePairs(nodes, maxPairs, seeded(Math.abs(seed)));
    assert.equal(total, n * (n - 1));
    assert.equal(pairs.length, Math.min(total, n + maxPairs));
    assert.ok(pairs.every(([a, b]) => a !== b));
    assert.equal(new Set(pairs.map((p) => p.join('>'))).size, pairs.length);
    assert.deepEqual(new Set(pairs.map(([a]) => a)), new Set(nodes));
    assert.deepEqual(new Set(pairs.map(([, b]) => b)), new Set(nodes));
  }), { numRuns: 200 });
  assert.equal(crossNodePairs(nodeNames(500), 100, seeded(7)).pairs.length, 600);
});

test('the node sample: all nodes when they fit, else spread with every subnet in it', () => {
  const nodes = nodeNames(200);
  assert.equal(sampleNodes(nodes.slice(0, 10), new Map(), 50).length, 10);
  const subnets = new Map(nodes.map((n, i) => [n, i === 199 ? '192.168.57.0/24' : '192.168.56.0/24']));
  const sample = sampleNodes(nodes, subnets, 50);
  assert.equal(sample.length, 50);
  assert.ok(sample.includes('node-0199'), 'the lone node of the second subnet is sampled');
  assert.ok(sample.includes('node-0000') && sample.includes('node-0100'));
});

test('--test: regular expressions, comma-separated or repeated, ! to skip', () => {
  const names = (patterns: string[]) => selectScenarios(patterns).map((s) => s.name);
  assert.deepEqual(names([]), SCENARIOS.map((s) => s.name));
  assert.deepEqual(names(['pod-to-pod']), ['pod-to-pod-same-node', 'pod-to-pod-cross-node', 'pod-to-pod-same-node-ipv6', 'pod-to-pod-cross-node-ipv6']);
  assert.deepEqual(names(['pod-to-pod', '!ipv6']), ['pod-to-pod-same-node', 'pod-to-pod-cross-node']);
  assert.deepEqual(names(['^ingress,^egress-default']), ['ingress-default-deny', 'ingress-allow-from-label', 'egress-default-deny']);
  assert.ok(!names(['!ingress|egress']).some((n) => /gress/.test(n)));
  assert.throws(() => selectScenarios(['(']), (e: unknown) => e instanceof UsageError && /^invalid --test "\(": /.test(e.message));
  assert.throws(() => selectScenarios(['nothing-like-this']), /selects no scenario; the scenarios are: pod-to-pod-same-node, /);
});

test('--external-target and -l are checked before anything runs', () => {
  assert.deepEqual(splitTarget('example.com:443'), { host: 'example.com', port: 443 });
  assert.deepEqual(splitTarget('[2001:db8::1]:80'), { host: '2001:db8::1', port: 80 });
  for (const bad of ['example.com', 'example.com:0', 'a:b:c', ':80', 'host:70000']) assert.throws(() => splitTarget(bad), UsageError, bad);
  const selector = parseLabelSelector('node-role.kubernetes.io/worker,zone in (a,b),tier!=db,!gpu,kubernetes.io/os=linux');
  assert.deepEqual(nodePlacement(selector), {
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    matchExpressions: [
      { key: 'node-role.kubernetes.io/worker', operator: 'Exists' },
      { key: 'zone', operator: 'In', values: ['a', 'b'] },
      { key: 'tier', operator: 'NotIn', values: ['db'] },
      { key: 'gpu', operator: 'DoesNotExist' },
    ],
  });
  assert.equal(formatLabelSelector(selector), 'node-role.kubernetes.io/worker,zone in (a,b),tier!=db,!gpu,kubernetes.io/os=linux');
  assert.deepEqual(parseLabelSelector(''), []);
  for (const bad of ['a in (b', '=x', 'a=b=c', 'bad key=1', 'a=-x-']) assert.throws(() => parseLabelSelector(bad), UsageError, bad);
});

function topology(n: number): Topology {
  const nodes = nodeNames(n);
  const end = (prefix: string, i: number, node: string): PodEnd => ({ pod: `${prefix}-${i}`, node, ips: [`10.${Math.floor(i / 250)}.${i % 250}.${prefix === 'echo' ? 1 : 2}`] });
  return {
    nodes,
    echo: new Map(nodes.map((node, i) => [node, end('echo', i, node)])),
    client: new Map(nodes.map((node, i) => [node, end('client', i, node)])),
    hosts: [{ pod: 'host-a', node: nodes[0]!, ips: ['192.168.0.1'] }, { pod: 'host-b', node: nodes[1]!, ips: ['192.168.0.2'] }],
    service: { name: 'echo', ips: ['10.96.0.20'], port: 80 },
    subnets: new Map(nodes.map((node) => [node, '192.168.0.0/16'])),
  };
}

test('on 500 nodes the probes stay bounded: a probe per node where the node matters, samples elsewhere', () => {
  const t = topology(500);
  const plan = { maxPairs: 100, externalTarget: '203.0.113.10:443', random: seeded(3) };
  const counts = Object.fromEntries(SCENARIOS.filter((s) => !s.unavailable?.(t, plan)).map((s) => [s.name, s.probes(t, plan).length]));
  assert.deepEqual(counts, {
    'pod-to-pod-same-node': 500,
    'pod-to-pod-cross-node': 600,
    'pod-to-service': 500,
    'pod-to-service-dns': SAMPLE_NODES,
    'pod-to-kubernetes-default': SAMPLE_NODES,
    'pod-to-node': 500,
    'node-to-pod': 500,
    'pod-to-external': SAMPLE_NODES,
    'ingress-default-deny': SAMPLE_NODES,
    'ingress-allow-from-label': SAMPLE_NODES,
    'egress-default-deny': SAMPLE_NODES,
    'egress-allow-dns': SAMPLE_NODES,
  });
  const hostProbes = SCENARIOS.find((s) => s.name === 'node-to-pod')!.probes(t, plan);
  assert.ok(hostProbes.every((p) => p.from.node !== p.to.node), 'a host probes pods on other nodes');
  assert.deepEqual(new Set(hostProbes.map((p) => p.from.pod)), new Set(['host-a', 'host-b']), 'both hosts are used');
});

test('probe commands: agnhost connect with a timeout, dig with the search path', () => {
  const t = topology(3);
  const plan = { maxPairs: 100, externalTarget: undefined, random: seeded(1) };
  const probe = (name: string) => SCENARIOS.find((s) => s.name === name)!.probes(t, plan)[0]!;
  assert.deepEqual(probe('pod-to-pod-same-node').command, ['/agnhost', 'connect', '10.0.0.1:9376', '--timeout=2s']);
  assert.deepEqual(probe('pod-to-service-dns').command, ['dig', '+search', '+short', '+time=2', '+tries=1', 'echo'], 'by name: looked up first, then connected to');
  assert.deepEqual(probe('ingress-default-deny').command, ['/agnhost', 'connect', '10.0.0.1:9376', '--timeout=1s']);
  assert.deepEqual(probe('ingress-default-deny').requires, { scenario: 'pod-to-pod-same-node', node: 'node-0000' });
  assert.deepEqual(probe('egress-allow-dns').command, ['dig', '+search', '+short', '+time=2', '+tries=1', 'kubernetes.default']);
  assert.equal(SCENARIOS.find((s) => s.name === 'pod-to-external')!.unavailable!(t, plan), 'no --external-target given');
  const v6 = { ...t, echo: new Map([...t.echo].map(([n, e]) => [n, { ...e, ips: [...e.ips, 'fd00::1'] }])) };
  assert.deepEqual(SCENARIOS.find((s) => s.name === 'pod-to-pod-same-node-ipv6')!.probes(v6, plan)[0]!.command, ['/agnhost', 'connect', '[fd00::1]:9376', '--timeout=2s']);
});
