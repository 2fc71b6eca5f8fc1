// BIRD's `show protocols` read by calicoctl's rules (its own test tables,
// calicoctl/commands/node/status_test.go and node/pkg/status/populators/
// peers_test.go, and the facts file's rows), birdcl's output with and without
// reply codes, port-suffixed and IPv6 peer names; Calico's selectors; and the
// sessions the BGP configuration asks for, as confd works them out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BirdOutputError, infoColumn, parsePeerRow, parseShowProtocols, peerAddress } from '../../src/calico/bgp/bird.ts';
import { BgpTopology, splitHostPort, type BgpNode } from '../../src/calico/bgp/topology.ts';
import { parseSelector, SelectorError } from '../../src/calico/selector.ts';

const row = (address: string, type: string, state: string, since: string, bgpState: string, info = '') => ({ address, type, state, since, bgpState, info });
const simple = (output: string, family: 4 | 6 = 4) => parseShowProtocols(output, family).map((p) => row(p.address, p.kind, p.state, p.since, p.bgpState, p.info));

test('calicoctl\'s table of peer lines: kernel, device and a name that only starts like a peer are not peers', () => {
  assert.equal(parsePeerRow('kernel1  Kernel   master   up     2016-11-21', 4), undefined);
  assert.equal(parsePeerRow('device1  Device   master   up     2016-11-21', 4), undefined);
  assert.equal(parsePeerRow('Meshd_172_17_8_102 BGP      master   up     2016-11-21  Established', 4), undefined);
  assert.equal(parsePeerRow('Local_Workload_10_0_0_9 BGP master up 2016-11-21 Established', 4), undefined, 'a local workload peer: calicoctl lists none');
  assert.equal(parsePeerRow('Mesh_172_17_8_102 BGP master up 2016-11-21', 4), undefined, 'fewer than 6 fields');
  assert.deepEqual(parsePeerRow('Mesh_172_17_8_102 BGP      master   up     2016-11-21  Established', 4), { name: 'Mesh_172_17_8_102', kind: 'Mesh', address: '172.17.8.102', state: 'up', since: '2016-11-21', bgpState: 'Established', info: '' });
  assert.deepEqual(parsePeerRow('Node_172_17_80_102 BGP      master   up     2016-11-21  Active    Socket: error', 4), { name: 'Node_172_17_80_102', kind: 'Node', address: '172.17.80.102', state: 'up', since: '2016-11-21', bgpState: 'Active', info: 'Socket: error' });
  assert.deepEqual(parsePeerRow('Global_172_17_8_133 BGP master down 2016-11-2 Failed', 4), { name: 'Global_172_17_8_133', kind: 'Global', address: '172.17.8.133', state: 'down', since: '2016-11-2', bgpState: 'Failed', info: '' });
});

test('the facts file\'s rows: an Established mesh peer, and one whose connection is refused', () => {
  assert.deepEqual(simple('Mesh_172_17_8_102 BGP master up 2016-11-21 Established\nMesh_10_0_0_3 BGP master start 09:12:01 Active Socket: Connection refused\n'), [
    row('172.17.8.102', 'Mesh', 'up', '2016-11-21', 'Established'),
    row('10.0.0.3', 'Mesh', 'start', '09:12:01', 'Active', 'Socket: Connection refused'),
  ]);
  assert.equal(infoColumn({ bgpState: 'Active', info: 'Socket: Connection refused' }), 'Active Socket: Connection refused');
  assert.equal(infoColumn({ bgpState: 'Established', info: '' }), 'Established');
});

test('with reply codes (the control socket, birdcl -v): calicoctl\'s scanner, its errors, and nothing after the end', () => {
  const table = `0001 BIRD 1.5.0 ready.
2002-name     proto    table    state  since       info
1002-kernel1  Kernel   master   up     2016-11-21
 device1  Device   master   up     2016-11-21
 direct1  Direct   master   up     2016-11-21
 Mesh_172_17_8_102 BGP      master   up     2016-11-21  Established
 Global_172_17_8_103 BGP      master   up     2016-11-21  Established
 Node_172_17_8_104 BGP      master   down     2016-11-21  Failed  Socket: error
0000
We never get here
`;
  assert.deepEqual(simple(table), [
    row('172.17.8.102', 'Mesh', 'up', '2016-11-21', 'Established'),
    row('172.17.8.103', 'Global', 'up', '2016-11-21', 'Established'),
    row('172.17.8.104', 'Node', 'down', '2016-11-21', 'Failed', 'Socket: error'),
  ]);
  assert.throws(() => parseShowProtocols('0001 BIRD 1.5.0 ready.\n2002-name     proto    table    state  foo       info\n1002-kernel1  Kernel   master   up     2016-11-21\n0000\n', 4), BirdOutputError);
  assert.throws(() => parseShowProtocols('0001 BIRD 1.5.0 ready.\n2002-name     proto    table    state  since       info\n1002-kernel1  Kernel   master   up     2016-11-21\n device1  Device   master   up     2016-11-21\n9000\n', 4), /unexpected output line from BIRD: 9000/);
  // birdcl -v prints continuation rows with five spaces and never the end code.
  const verbose = '0001 BIRD v0.3.3+birdv1.6.8 ready.\n2002-name     proto    table    state  since       info\n1002-static1  Static   master   up     11:54:23    \n     kernel1  Kernel   master   up     11:54:23    \n     Mesh_192_168_56_11 BGP      master   up     11:54:23    Established   \n     Mesh_192_168_56_13 BGP      master   start  11:58:23    Passive       BGP Error: Hold timer expired\n';
  assert.deepEqual(simple(verbose), [row('192.168.56.11', 'Mesh', 'up', '11:54:23', 'Established'), row('192.168.56.13', 'Mesh', 'start', '11:58:23', 'Passive', 'BGP Error: Hold timer expired')]);
});

test('without reply codes (birdcl as run in the pod): the hello and the headings as plain lines', () => {
  const output = `BIRD v0.3.3+birdv1.6.8 ready.
name     proto    table    state  since       info
static1  Static   master   up     11:54:23    
kernel1  Kernel   master   up     11:54:23    
device1  Device   master   up     11:54:23    
direct1  Direct   master   up     11:54:23    
Mesh_192_168_56_11 BGP      master   up     11:54:23    Established   
Mesh_192_168_56_13 BGP      master   start  11:58:23    Connect       BGP Error: Hold timer expired
`;
  assert.deepEqual(simple(output), [row('192.168.56.11', 'Mesh', 'up', '11:54:23', 'Established'), row('192.168.56.13', 'Mesh', 'start', '11:58:23', 'Connect', 'BGP Error: Hold timer expired')]);
  assert.deepEqual(simple('BIRD v0.3.3+birdv1.6.8 ready.\nname     proto    table    state  since       info\nstatic1  Static   master   up     11:54:23\n'), [], 'no peers: BIRD6 without an IPv6 address');
  assert.throws(() => parseShowProtocols('BIRD v0.3.3 ready.\nname proto table state when info\n', 4), /unknown BIRD table output format/);
  assert.deepEqual(simple('BIRD 1.6.8 ready.\r\nname     proto    table    state  since       info\r\nMesh_10_0_0_2 BGP master up 09:00:00 Established\r\n'), [row('10.0.0.2', 'Mesh', 'up', '09:00:00', 'Established')], 'CRLF');
});

test('IPv6 names, and the port suffix confd gives a peer on another port than 179', () => {
  assert.deepEqual(simple('0001 BIRD 1.5.0 ready.\n2002-name     proto    table    state  since       info\n1002-kernel1  Kernel   master   up     2016-11-21\n Mesh_2001_20__8 BGP      master   up     2016-11-21  Established\n0000\n', 6), [row('2001:20::8', 'Mesh', 'up', '2016-11-21', 'Established')]);
  assert.deepEqual(simple('Mesh_fd80_24e2_f998_72d7__2 BGP master up 10:00:00 Established\n', 6), [row('fd80:24e2:f998:72d7::2', 'Mesh', 'up', '10:00:00', 'Established')]);
  const v4 = parsePeerRow('Node_10_0_0_1_port_1790 BGP master start 10:00:00 Active Socket: Connection refused', 4)!;
  assert.deepEqual([v4.kind, v4.address, v4.port, peerAddress(v4)], ['Node', '10.0.0.1', 1790, '10.0.0.1:1790']);
  const v6 = parsePeerRow('Global_fd00_10_96__1_port_1790 BGP master up 10:00:00 Established', 6)!;
  assert.deepEqual([v6.kind, v6.address, v6.port, peerAddress(v6)], ['Global', 'fd00:10:96::1', 1790, '[fd00:10:96::1]:1790']);
  assert.equal(peerAddress({ address: '10.0.0.1' }), '10.0.0.1');
});

test('Calico selectors: all(), has(), ==, !=, in, not in, contains, starts/ends with, !, &&, || and parentheses', () => {
  const labels = { 'route-reflector': 'true', zone: 'a', 'kubernetes.io/hostname': 'rr-1', role: 'infra-edge' };
  const cases: [string, boolean][] = [
    ['all()', true], ['', true], ['global()', true], ['has(route-reflector)', true], ['!has(route-reflector)', false],
    ["zone == 'a'", true], ['zone == "b"', false], ["zone != 'b'", true], ["missing != 'x'", true], ["zone in {'a', 'b'}", true],
    ["zone not in {'a'}", false], ["missing not in {'a'}", true], ["missing in {'a'}", false], ["role contains 'edge'", true],
    ["role starts with 'infra'", true], ["role ends with 'core'", false], ["has(route-reflector) && zone == 'b'", false],
    ["has(route-reflector) && (zone == 'b' || zone == 'a')", true], ["kubernetes.io/hostname == 'rr-1'", true], ["!(zone == 'a')", false],
  ];
  for (const [selector, expected] of cases) assert.equal(parseSelector(selector)(labels), expected, selector);
  for (const bad of ['zone ==', 'has(zone', "zone = 'a'", "zone == 'a' &&", "zone in {'a' 'b'}", 'foo bar']) assert.throws(() => parseSelector(bad), SelectorError, bad);
});

const node = (name: string, ipv4: string | undefined, extra: Partial<BgpNode> = {}): BgpNode => ({ name, labels: { 'kubernetes.io/hostname': name }, ...(ipv4 ? { ipv4 } : {}), ...extra });
const summary = (t: BgpTopology, name: string, family: 4 | 6 = 4) => t.expected(name, family).map((p) => `${p.kind}_${p.address}${p.port ? `:${p.port}` : ''}${p.node ? `(${p.node})` : ''}`);

test('expected sessions: the node-to-node mesh, with route reflectors left out of it, and nodes without an address', () => {
  const nodes = [node('a', '10.0.0.1'), node('b', '10.0.0.2'), node('c', '10.0.0.3'), node('d', undefined)];
  const mesh = new BgpTopology(nodes, { nodeToNodeMesh: true, asNumber: '64512' }, []);
  assert.deepEqual(summary(mesh, 'a'), ['Mesh_10.0.0.2(b)', 'Mesh_10.0.0.3(c)']);
  assert.deepEqual(summary(mesh, 'd'), [], 'no BGP address: calico-node has not run, BIRD has no configuration');
  assert.equal(mesh.nodeAt('10.0.0.3'), 'c');
  const off = new BgpTopology(nodes, { nodeToNodeMesh: false, asNumber: '64512' }, []);
  assert.deepEqual(summary(off, 'a'), []);
  const withReflector = new BgpTopology([...nodes, node('rr', '10.0.0.9', { routeReflectorClusterID: '224.0.0.1' })], { nodeToNodeMesh: true, asNumber: '64512' }, []);
  assert.deepEqual(summary(withReflector, 'a'), ['Mesh_10.0.0.2(b)', 'Mesh_10.0.0.3(c)']);
  assert.deepEqual(summary(withReflector, 'rr'), [], 'a reflector is in no mesh');
  assert.deepEqual(withReflector.routeReflectors(), ['rr']);
});

test('expected sessions: route reflectors by BGPPeers (clients to reflectors, reflectors to everyone by the reverse peering)', () => {
  const rr = (name: string, ip: string) => node(name, ip, { routeReflectorClusterID: '244.0.0.1', labels: { 'route-reflector': 'true' } });
  const nodes = [node('w1', '10.0.0.1'), node('w2', '10.0.0.2'), rr('rr1', '10.0.0.8'), rr('rr2', '10.0.0.9')];
  const t = new BgpTopology(nodes, { nodeToNodeMesh: false, asNumber: '64512' }, [{ name: 'peer-with-route-reflectors', nodeSelector: 'all()', peerSelector: 'route-reflector == "true"' }]);
  assert.deepEqual(summary(t, 'w1'), ['Node_10.0.0.8(rr1)', 'Node_10.0.0.9(rr2)']);
  assert.deepEqual(summary(t, 'rr1'), ['Node_10.0.0.9(rr2)', 'Node_10.0.0.1(w1)', 'Node_10.0.0.2(w2)']);
  const manual = new BgpTopology(nodes, { nodeToNodeMesh: false, asNumber: '64512' }, [{ name: 'p', nodeSelector: 'all()', peerSelector: 'route-reflector == "true"', reversePeering: 'Manual' }]);
  assert.deepEqual(summary(manual, 'rr1'), ['Node_10.0.0.9(rr2)'], 'no reverse peering: the reflectors peer only where a BGPPeer says so');
});

test('expected sessions: global and node-specific BGPPeers by address, with ports, and the global one winning', () => {
  const nodes = [node('a', '10.0.0.1'), node('b', '10.0.0.2', { labels: { rack: 'r2' } })];
  const t = new BgpTopology(nodes, { nodeToNodeMesh: true, asNumber: '64512' }, [
    { name: 'tor', peerIP: '192.0.2.1', asNumber: 64513 },
    { name: 'tor-again-for-a', node: 'a', peerIP: '192.0.2.1', asNumber: 64513 },
    { name: 'rack-router', nodeSelector: "rack == 'r2'", peerIP: '192.0.2.2:1790', asNumber: 64514 },
    { name: 'v6', node: 'a', peerIP: '[2001:db8::1]:179', asNumber: 64515 },
  ]);
  assert.deepEqual(summary(t, 'a'), ['Mesh_10.0.0.2(b)', 'Global_192.0.2.1'], 'the node-specific peering to the global peer\'s address is left out; the IPv6 one is BIRD6\'s');
  assert.deepEqual(summary(t, 'a', 6), [], 'a has no IPv6 address: BIRD6 has no configuration');
  assert.deepEqual(summary(t, 'b'), ['Mesh_10.0.0.1(a)', 'Global_192.0.2.1', 'Node_192.0.2.2:1790']);
  const toNode = new BgpTopology(nodes, { nodeToNodeMesh: false, asNumber: '64512', listenPort: 1790 }, [{ name: 'a-to-b', node: 'a', peerIP: '10.0.0.2' }]);
  assert.deepEqual(summary(toNode, 'a'), ['Node_10.0.0.2:1790(b)'], 'a peer that is a Calico node on a listenPort');
  assert.deepEqual(summary(toNode, 'b'), ['Node_10.0.0.1:1790(a)'], 'and its reverse peering');
  assert.deepEqual(splitHostPort('[fd00::1]:1790'), { host: 'fd00::1', port: 1790 });
  assert.deepEqual(splitHostPort('fd00::1'), { host: 'fd00::1' });
  assert.deepEqual(splitHostPort('10.0.0.1'), { host: '10.0.0.1' });
});
