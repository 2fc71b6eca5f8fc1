// Doctor's BGP check reads no BIRD: it names node pairs from calico-node's
// Unhealthy events (`BGP not established with …`), leaving out complaints
// about a peer whose calico-node had not started yet and lone complaints that
// were not repeated, and judges by the pools' encapsulation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHECKS } from '../../src/calico/doctor/checks.ts';
import { Facts } from '../../src/calico/doctor/facts.ts';
import { KubeClient, type ClientSettings, type RawResponse } from '../../src/kube/client.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();

/** An API server answering GETs from `objects` by path (query left out), 404 for the rest, its Date at NOW. */
class TableKube extends KubeClient {
  readonly objects: Record<string, unknown>;
  constructor(objects: Record<string, unknown>) {
    super({ server: 'https://table.invalid', contextName: 'table', userName: 'table' } as ClientSettings);
    this.objects = objects;
  }
  override async request(path: string): Promise<RawResponse> {
    const found = this.objects[path];
    return { statusCode: found ? 200 : 404, headers: { date: new Date(NOW).toUTCString() }, body: Buffer.from(JSON.stringify(found ?? { kind: 'Status', code: 404 })) };
  }
}

const NODES = { m: '10.0.0.1', w1: '10.0.0.2', w2: '10.0.0.3' };

function cluster(events: { node: string; pod: string; peers: string[]; minutesAgo: number; count?: number }[], starts: Record<string, number>, vxlan = true, unready: string[] = []) {
  return new TableKube({
    '/version': { gitVersion: 'v1.31.3' },
    '/apis/operator.tigera.io/v1/installations/default': { metadata: { name: 'default' }, spec: { calicoNetwork: { bgp: 'Enabled' } } },
    '/apis/crd.projectcalico.org/v1/ippools': { items: [{ metadata: { name: 'default-ipv4-ippool' }, spec: { cidr: '10.97.0.0/16', ...(vxlan ? { vxlanMode: 'CrossSubnet', ipipMode: 'Never' } : { ipipMode: 'Always', vxlanMode: 'Never' }) } }] },
    '/api/v1/nodes': { items: Object.entries(NODES).map(([name, ip]) => ({ metadata: { name, annotations: { 'projectcalico.org/IPv4Address': `${ip}/24` } } })) },
    '/api/v1/namespaces/calico-system/pods': { items: Object.keys(NODES).map((node) => ({ metadata: { name: `calico-node-${node}`, namespace: 'calico-system' }, spec: { nodeName: node }, status: { phase: 'Running', containerStatuses: [{ name: 'calico-node', ready: !unready.includes(node), state: { running: { startedAt: at(starts[node] ?? 60) } } }] } })) },
    '/api/v1/namespaces/calico-system/events': {
      items: events.map((e, i) => ({
        metadata: { name: `e${i}`, namespace: 'calico-system' }, involvedObject: { kind: 'Pod', name: e.pod, namespace: 'calico-system' }, reason: 'Unhealthy', type: 'Warning', count: e.count ?? 1,
        message: `Readiness probe failed: calico/node is not ready: BIRD is not ready: BGP not established with ${e.peers.map((p) => NODES[p as keyof typeof NODES] ?? p).join(',')}\n`,
        lastTimestamp: at(e.minutesAgo), source: { component: 'kubelet', host: e.node },
      })),
    },
  });
}

const bgpCheck = CHECKS.find((c) => c.id === 'CAL-1301')!;

test('a pair both ends complained of is named; complaints about a peer not yet started are start-up noise', async () => {
  const both = await bgpCheck.run(new Facts(cluster([{ node: 'w1', pod: 'calico-node-w1', peers: ['w2'], minutesAgo: 2 }, { node: 'w2', pod: 'calico-node-w2', peers: ['w1'], minutesAgo: 2 }], { w1: 3, w2: 3 })));
  assert.equal(both.status, 'WARN');
  assert.match(both.finding, /^BGP not established between w1 and w2 \(both ends, last 2m ago\), from calico-node's Unhealthy events; with VXLAN pools this affects BIRD's readiness only$/);
  assert.match((both as { fix: string }).fix, /kubectl calico node status --nodes w1,w2$/);
  const ipip = await bgpCheck.run(new Facts(cluster([{ node: 'w1', pod: 'calico-node-w1', peers: ['w2'], minutesAgo: 2 }, { node: 'w2', pod: 'calico-node-w2', peers: ['w1'], minutesAgo: 2 }], { w1: 3, w2: 3 }, false)));
  assert.equal(ipip.status, 'FAIL');
  // m started 30 minutes ago and complained of w1 and w2, which started after its probe: a rollout, not a network fault.
  const noise = await bgpCheck.run(new Facts(cluster([{ node: 'm', pod: 'calico-node-m', peers: ['w1', 'w2'], minutesAgo: 30 }], { m: 30, w1: 29, w2: 29 })));
  assert.equal(noise.status, 'PASS');
  const lone = await bgpCheck.run(new Facts(cluster([{ node: 'm', pod: 'calico-node-m', peers: ['w1'], minutesAgo: 5 }], { m: 5, w1: 50 })));
  assert.equal(lone.status, 'PASS', 'a lone complaint, not repeated, while the pod is ready again');
  const repeated = await bgpCheck.run(new Facts(cluster([{ node: 'm', pod: 'calico-node-m', peers: ['w1'], minutesAgo: 5, count: 4 }], { m: 6, w1: 50 })));
  assert.match(repeated.finding, /^BGP not established between m and w1 \(m's probe, last 5m ago\)/);
  const stillUnready = await bgpCheck.run(new Facts(cluster([{ node: 'm', pod: 'calico-node-m', peers: ['w1', '192.0.2.1'], minutesAgo: 1 }], { m: 2, w1: 50 }, true, ['m'])));
  assert.match(stillUnready.finding, /between m and w1 \(m's probe, last 60s ago\); m and 192\.0\.2\.1 \(outside the cluster, last 60s ago\)/);
  const old = await bgpCheck.run(new Facts(cluster([{ node: 'w1', pod: 'calico-node-w1', peers: ['w2'], minutesAgo: 90 }, { node: 'w2', pod: 'calico-node-w2', peers: ['w1'], minutesAgo: 90 }], { w1: 91, w2: 91 })));
  assert.equal(old.status, 'PASS', 'older than an hour');
});
