// What node status concludes from what it gathered, and how it prints it:
// a down session as one finding per pair told from both ends, a node without
// calico-node as one finding (not one per peer missing it), a node with no
// session at all as one, refusals grouped; what each breaks by the pools'
// encapsulation; the text capped on 2,000 nodes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeStatusFindings } from '../../src/calico/bgp/findings.ts';
import type { BgpFacts, NodeResult, NodeStatusSnapshot, PeerRow } from '../../src/calico/bgp/node-status.ts';
import { machineNodeStatus, renderNodeStatus } from '../../src/calico/bgp/view.ts';
import { palette } from '../../src/print/color.ts';

const IP: Record<string, string> = { m: '10.0.0.1', w1: '10.0.0.2', w2: '10.0.0.3' };
const nameOf = (ip: string) => Object.keys(IP).find((n) => IP[n] === ip);

function peer(to: string, bgpState = 'Established', info = ''): PeerRow {
  const address = IP[to] ?? to;
  return { name: `Mesh_${address.replaceAll('.', '_')}`, kind: 'Mesh', address, state: bgpState === 'Established' ? 'up' : 'start', since: '10:00:00', bgpState, info, family: 4, ...(nameOf(address) ? { peerNode: nameOf(address)! } : {}), expected: true };
}

function node(name: string, peers: PeerRow[], extra: Partial<NodeResult> = {}): NodeResult {
  const established = peers.filter((p) => p.bgpState === 'Established').length;
  const result: NodeResult = { name, pod: `calico-node-${name}`, addresses: { ipv4: IP[name] }, felix: { ready: true, message: '' }, bird: { ready: true, message: '' }, birdErrors: [], peers, missing: [], sessions: { established, total: peers.length }, healthy: false, ...extra };
  result.healthy = !result.problem && result.felix?.ready === true && result.bird?.ready !== false && peers.every((p) => p.bgpState === 'Established') && result.missing.length === 0;
  return result;
}

const bgp = (routing: 'vxlan' | 'bgp' = 'vxlan', extra: Partial<BgpFacts> = {}): BgpFacts => ({ enabled: true, nodeToNodeMesh: true, asNumber: '64512', routeReflectors: [], ipv6: false, routing: { ipv4: routing }, pools: [{ name: 'default-ipv4-ippool', cidr: '10.97.0.0/16', encapsulation: routing === 'vxlan' ? 'VXLANCrossSubnet' : 'IPIP', disabled: false }], ...extra });

function snapshot(nodes: NodeResult[], facts = bgp(), picked = false): NodeStatusSnapshot {
  return { bgp: facts, nodes, picked, nodeAddresses: Object.fromEntries(Object.entries(IP).map(([n, ip]) => [n, { ipv4: ip }])) };
}

const colors = palette(false);
const text = (s: NodeStatusSnapshot, wide = false) => renderNodeStatus({ ...s, findings: nodeStatusFindings(s) }, { wide, colors });

test('a healthy mesh: no finding, 2/2 on every node, no peer rows unless nodes are named', () => {
  const s = snapshot(['m', 'w1', 'w2'].map((n) => node(n, Object.keys(IP).filter((o) => o !== n).map((o) => peer(o)))));
  assert.deepEqual(nodeStatusFindings(s), []);
  assert.equal(text(s), [
    'BGP: node-to-node mesh, AS 64512',
    'IP pools: 10.97.0.0/16 VXLANCrossSubnet (VXLAN: Felix programs the pod routes)',
    '',
    'NODE   FELIX   BIRD    PEERS ESTABLISHED   MESSAGE',
    'm      Ready   Ready   2/2                 ',
    'w1     Ready   Ready   2/2                 ',
    'w2     Ready   Ready   2/2                 ',
    '',
    '3 nodes: 3 healthy',
    '',
  ].join('\n'));
  const named = text({ ...s, nodes: [s.nodes[1]!], picked: true }, true);
  assert.ok(named.includes([
    'IPv4 BGP peers of w1:',
    'PEER ADDRESS   PEER TYPE           STATE   SINCE      INFO          PEER NODE',
    '10.0.0.1       node-to-node mesh   up      10:00:00   Established   m',
    '10.0.0.3       node-to-node mesh   up      10:00:00   Established   w2',
  ].join('\n')), named);
});

test('TCP 179 blocked between two workers: one finding naming the pair, from both ends, and what it breaks by encapsulation', () => {
  const nodes = [
    node('m', [peer('w1'), peer('w2')]),
    node('w1', [peer('m'), peer('w2', 'Passive', 'BGP Error: Hold timer expired')]),
    node('w2', [peer('m'), peer('w1', 'Connect', 'BGP Error: Hold timer expired')]),
  ];
  const findings = nodeStatusFindings(snapshot(nodes));
  assert.equal(findings.length, 1);
  assert.deepEqual(findings[0]!.nodes, ['w1', 'w2']);
  assert.equal(findings[0]!.kind, 'session-down');
  assert.equal(findings[0]!.message, 'BGP session between w1 (10.0.0.2) and w2 (10.0.0.3) is not Established: w1 sees Passive BGP Error: Hold timer expired; w2 sees Connect BGP Error: Hold timer expired');
  assert.match(findings[0]!.cause!, /TCP 179 is blocked between 10\.0\.0\.2 and 10\.0\.0\.3/);
  assert.match(findings[0]!.impact!, /only BIRD's readiness/);
  assert.match(nodeStatusFindings(snapshot(nodes, bgp('bgp')))[0]!.impact!, /pod traffic between w1 and w2/);
  const out = text(snapshot(nodes));
  assert.ok(out.includes('w1     Ready   Ready   1/2                 not Established: 10.0.0.3 (Passive)\n'), out);
  assert.ok(out.includes('Sessions not Established:\nNODE   PEER ADDRESS   PEER TYPE           STATE   SINCE      INFO\nw1     10.0.0.3       node-to-node mesh   start   10:00:00   Passive BGP Error: Hold timer expired\n'), out);
  assert.ok(out.endsWith('3 nodes: 1 healthy, 2 with problems\n'), out);
});

test('a node without calico-node is one finding; its peers\' refused sessions are part of it', () => {
  const nodes = [
    node('m', [peer('w1'), peer('w2', 'Active', 'Socket: Connection refused')]),
    node('w1', [peer('m'), peer('w2', 'Active', 'Socket: Connection refused')]),
    node('w2', [], { problem: { kind: 'pod-not-running', message: 'calico-node pod calico-node-w2 is CrashLoopBackOff' }, felix: undefined, bird: undefined, pod: 'calico-node-w2' }),
  ];
  const findings = nodeStatusFindings(snapshot(nodes));
  assert.deepEqual(findings.map((f) => [f.kind, f.nodes]), [['calico-node-not-running', ['w2']]]);
  assert.equal(findings[0]!.message, 'calico-node is not running on w2: calico-node pod calico-node-w2 is CrashLoopBackOff; 2 nodes see their session with it down');
});

test('a node with no session up at all is one finding; refusals of pods/exec are one whatever the pod; an unreachable kubelet is named', () => {
  const isolated = [
    node('m', [peer('w1'), peer('w2', 'Connect')]),
    node('w1', [peer('m'), peer('w2', 'Connect')]),
    node('w2', [peer('m', 'Passive'), peer('w1', 'Passive')]),
  ];
  assert.deepEqual(nodeStatusFindings(snapshot(isolated)).map((f) => [f.kind, f.nodes, f.message]), [['node-isolated', ['w2'], 'w2 (10.0.0.3) has no Established BGP session with any of its 2 peers']]);
  const forbidden = (n: string) => node(n, [], { problem: { kind: 'forbidden', message: `running calico-node in calico-system/calico-node-${n} (container calico-node): forbidden: running commands needs "get" and "create" on "pods/exec" in the namespace "calico-system" (pods "calico-node-${n}" is forbidden: User "viewer" cannot get resource "pods/exec" in API group "" in the namespace "calico-system")` }, felix: undefined, bird: undefined });
  const refused = nodeStatusFindings(snapshot(['m', 'w1', 'w2'].map(forbidden)));
  assert.equal(refused.length, 1);
  assert.equal(refused[0]!.kind, 'exec-forbidden');
  assert.match(refused[0]!.message, /^calico-node could not be asked on 3 nodes: forbidden: running commands needs "get" and "create" on "pods\/exec" in the namespace "calico-system"/);
  const unreachable = node('w2', [], { problem: { kind: 'kubelet-unreachable', message: 'running calico-node in calico-system/calico-node-x (container calico-node): the API server cannot reach the node\'s kubelet: Internal error occurred: error sending request: Post "https://10.0.0.3:10250/exec/calico-system/calico-node-x/calico-node?command=calico-node": dial tcp 10.0.0.3:10250: i/o timeout' }, felix: undefined, bird: undefined });
  const f = nodeStatusFindings(snapshot([node('m', [peer('w1'), peer('w2')]), node('w1', [peer('m'), peer('w2')]), unreachable]));
  assert.deepEqual(f.map((x) => [x.kind, x.message]), [['kubelet-unreachable', 'the API server cannot reach the kubelet of w2, so calico-node there could not be asked (dial tcp 10.0.0.3:10250: i/o timeout)']]);
});

test('readiness messages, an outside router, a session nobody asked for, and BGP disabled', () => {
  const felix = node('m', [peer('w1'), peer('w2')], { felix: { ready: false, message: 'calico/node is not ready: felix is not ready: readiness probe reporting 503' } });
  const tor: PeerRow = { name: 'Global_192_0_2_1', kind: 'Global', address: '192.0.2.1', state: 'start', since: '10:00:00', bgpState: 'Active', info: 'Socket: Connection refused', family: 4, expected: true };
  const stale: PeerRow = { ...peer('10.0.0.99'), expected: false };
  const findings = nodeStatusFindings(snapshot([felix, node('w1', [peer('m'), peer('w2'), tor]), node('w2', [peer('m'), peer('w1'), stale])]));
  assert.deepEqual(findings.map((f) => f.kind), ['felix-not-ready', 'external-peer-down', 'session-unexpected']);
  assert.match(findings[0]!.cause!, /Typha \(TCP 5473/);
  assert.equal(findings[1]!.message, 'w1\'s BGP session with 192.0.2.1 (global peer, outside the cluster) is Active (Socket: Connection refused)');
  assert.match(findings[2]!.message, /^BIRD on w2 has a mesh session with 10\.0\.0\.99, which is no node of the cluster/);
  const dual = bgp('vxlan', { ipv6: true, routing: { ipv4: 'vxlan', ipv6: 'bgp' }, pools: [...bgp().pools, { name: 'default-ipv6-ippool', cidr: 'fd00:10:97::/48', encapsulation: 'None', disabled: false }] });
  assert.ok(text(snapshot([node('m', [peer('w1'), peer('w2')])], dual)).startsWith('BGP: node-to-node mesh, AS 64512\nIP pools: 10.97.0.0/16 VXLANCrossSubnet, fd00:10:97::/48 None (IPv4 pod routes: Felix, VXLAN; IPv6 pod routes: BGP)\n'));
  const disabled = snapshot(['m', 'w1'].map((n) => node(n, [], { bird: undefined })), bgp('vxlan', { enabled: false }));
  assert.deepEqual(nodeStatusFindings(disabled), []);
  assert.equal(text(disabled), 'BGP: Disabled in the Installation (spec.calicoNetwork.bgp): BIRD does not run; Felix only.\nIP pools: 10.97.0.0/16 VXLANCrossSubnet\n\nNODE   FELIX   MESSAGE\nm      Ready   \nw1     Ready   \n\n2 nodes: 2 healthy\n');
});

test('2,000 nodes: ten rows, problems first, the rest counted; the document keeps every node', () => {
  const many = Array.from({ length: 2000 }, (_, i) => node(`node-${String(i).padStart(4, '0')}`, [peer('rr1', i === 7 || i === 1500 ? 'Connect' : 'Established')].map((p) => ({ ...p, address: '10.0.9.1', peerNode: 'rr1' }))));
  const s = snapshot(many, bgp('vxlan', { nodeToNodeMesh: false, routeReflectors: ['rr1', 'rr2', 'rr3'] }));
  const out = text(s);
  const lines = out.split('\n');
  assert.ok(lines.length < 60, `${lines.length} lines`);
  assert.equal(lines[3], 'NODE        FELIX   BIRD    PEERS ESTABLISHED   MESSAGE');
  assert.match(lines[4]!, /^node-0007 .* 0\/1 .* not Established: 10\.0\.9\.1 \(Connect\)$/);
  assert.match(lines[5]!, /^node-1500 /);
  assert.ok(out.includes('… and 1990 more nodes, all healthy (--nodes NAME,… or -o json shows them)\n'), out);
  assert.ok(out.startsWith('BGP: no node-to-node mesh, route reflectors rr1, rr2, rr3, AS 64512\n'), out);
  const doc = machineNodeStatus({ ...s, findings: nodeStatusFindings(s) }) as { nodes: unknown[]; summary: object };
  assert.equal(doc.nodes.length, 2000);
  assert.deepEqual(doc.summary, { nodes: 2000, healthy: 1998, unhealthy: 2, sessions: { established: 1998, total: 2000 } });
});
