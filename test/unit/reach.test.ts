// The reachability model on a table of cases: a control plane and a worker
// on 192.168.56.0/24, two workers on 192.168.57.0/24, agnhost serve-hostname
// pods on each, a Service in front of one; each case sets the pool's
// encapsulation and the network's faults and asks reach() what a probe sees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Api } from '../cluster/api.ts';
import { ManualClock } from '../cluster/clock.ts';
import { FAST_TIMINGS, Runtime } from '../cluster/controllers/runtime.ts';
import { exchange, resolvConf, resolvConfText, searchList, UPSTREAM_HOST } from '../cluster/dataplane/dns.ts';
import { noNetworkFaults, type NetworkFaults } from '../cluster/dataplane/faults.ts';
import { reach, setOutside, type Source } from '../cluster/dataplane/reach.ts';
import { PodLogs } from '../cluster/logs.ts';
import { Registry } from '../cluster/registry.ts';
import { Store } from '../cluster/store.ts';
import type { KubeObject } from '../cluster/types.ts';

const NODES: [string, string][] = [['m', '192.168.56.11/24'], ['w1', '192.168.56.12/24'], ['w2', '192.168.57.12/24'], ['w3', '192.168.57.13/24']];
const PODS: [string, string, string][] = [['pm', 'm', '10.97.0.2'], ['p1', 'w1', '10.97.1.2'], ['p1b', 'w1', '10.97.1.3'], ['p2', 'w2', '10.97.2.2'], ['p3', 'w3', '10.97.3.2']];
const RUNNING = { phase: 'Running', containerStatuses: [{ state: { running: {} } }] };

/** A stored object from its fields: the store needs only what these tests read. */
function object(value: Record<string, unknown> & { metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }): KubeObject {
  return { apiVersion: 'v1', kind: 'X', ...value, metadata: { uid: value.metadata.name, resourceVersion: '', creationTimestamp: '2026-11-26T05:00:00Z', ...value.metadata } };
}

function calicoNode(node: string, ip: string): KubeObject {
  return object({
    metadata: { name: `calico-node-${node}`, namespace: 'calico-system', labels: { 'k8s-app': 'calico-node' } },
    spec: { nodeName: node, hostNetwork: true, containers: [{ name: 'calico-node', image: 'quay.io/calico/node:v3.30.7' }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'calico-node', state: { running: {} } }], podIP: ip },
  });
}

function cluster() {
  const clock = new ManualClock();
  const store = new Store();
  const api = new Api(store, new Registry(), clock, 31);
  const rt = new Runtime(api, clock, new PodLogs(), FAST_TIMINGS, { failingImages: [], crashingContainers: [] });
  for (const [name, cidr] of NODES) {
    rt.setHostAddress(name, cidr);
    // calico-node's start-up writes the node's BGP address: what BIRD peers with.
    store.put('nodes', object({ metadata: { name, annotations: { 'projectcalico.org/IPv4Address': cidr } }, status: { addresses: [{ type: 'InternalIP', address: cidr.split('/')[0] }] } }));
    store.put('pods', calicoNode(name, cidr.split('/')[0]!));
  }
  for (const [name, node, ip] of PODS) {
    store.put('pods', object({
      metadata: { name, namespace: 'default' },
      spec: { nodeName: node, containers: [{ name: 'agnhost', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', args: ['serve-hostname'] }] },
      status: { ...RUNNING, podIP: ip },
    }));
  }
  store.put('services', object({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.1.5', ports: [{ port: 80, protocol: 'TCP', targetPort: 9376 }] } }));
  store.put('services', object({ metadata: { name: 'empty', namespace: 'default' }, spec: { clusterIP: '10.96.1.6', ports: [{ port: 80, protocol: 'TCP' }] } }));
  store.put('endpointslices.discovery.k8s.io', object({
    metadata: { name: 'web-abcde', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4', ports: [{ name: '', port: 9376, protocol: 'TCP' }], endpoints: [{ addresses: ['10.97.2.2'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'w2' }],
  }));
  setOutside(rt, [{ ip: '203.0.113.10', listeners: [{ port: 443, protocol: 'TCP', server: 'other' }] }]);
  return { rt, store };
}

const POOLS = {
  VXLANCrossSubnet: { vxlanMode: 'CrossSubnet', ipipMode: 'Never' },
  VXLAN: { vxlanMode: 'Always', ipipMode: 'Never' },
  IPIP: { vxlanMode: 'Never', ipipMode: 'Always' },
  IPIPCrossSubnet: { vxlanMode: 'Never', ipipMode: 'CrossSubnet' },
  None: { vxlanMode: 'Never', ipipMode: 'Never' },
};

interface Case {
  name: string;
  pool?: keyof typeof POOLS;
  natOutgoing?: boolean;
  faults?: Partial<NetworkFaults>;
  /** calico-node pods that are not running. */
  down?: string[];
  from: string;
  to: string;
  port?: number;
  protocol?: 'TCP' | 'UDP';
  expect: 'delivered' | 'refused' | 'timeout';
  /** For a delivered probe: the pod that answered. */
  answeredBy?: string;
}

const ALL_BGP = { drops: [{ traffic: 'bgp' as const }] };

const CASES: Case[] = [
  { name: 'same node', from: 'p1', to: 'p1b', expect: 'delivered', answeredBy: 'p1b' },
  { name: 'same subnet, other node: unencapsulated under VXLANCrossSubnet', from: 'pm', to: 'p1', expect: 'delivered' },
  { name: 'across subnets: VXLAN', from: 'p1', to: 'p2', expect: 'delivered' },
  { name: 'a port nothing listens on is refused', from: 'p1', to: 'p2', port: 80, expect: 'refused' },
  { name: 'UDP to a TCP-only server is refused (ICMP port unreachable)', from: 'p1', to: 'p2', protocol: 'UDP', expect: 'refused' },
  { name: 'default pool, BGP blocked: Felix programs the routes, traffic flows', faults: ALL_BGP, from: 'p1', to: 'p2', expect: 'delivered' },
  { name: 'default pool, BGP blocked, same subnet: still Felix routes', faults: ALL_BGP, from: 'pm', to: 'p1', expect: 'delivered' },
  { name: 'VXLAN blocked: cross-subnet traffic is lost', faults: { drops: [{ traffic: 'vxlan' }] }, from: 'p1', to: 'p2', expect: 'timeout' },
  { name: 'VXLAN blocked: same-subnet traffic is not encapsulated', faults: { drops: [{ traffic: 'vxlan' }] }, from: 'p2', to: 'p3', expect: 'delivered' },
  { name: 'VXLAN blocked between one pair only', faults: { drops: [{ traffic: 'vxlan', between: [['w1', 'w3']] }] }, from: 'p1', to: 'p2', expect: 'delivered' },
  { name: 'VXLAN blocked for that pair', faults: { drops: [{ traffic: 'vxlan', between: [['w3', 'w1']] }] }, from: 'p1', to: 'p3', expect: 'timeout' },
  { name: 'source/destination check: same-subnet cross-node traffic is lost', faults: { sourceDestCheck: true }, from: 'pm', to: 'p1', expect: 'timeout' },
  { name: 'source/destination check: VXLAN across subnets carries node addresses', faults: { sourceDestCheck: true }, from: 'p1', to: 'p2', expect: 'delivered' },
  { name: 'source/destination check: same node never touches the underlay', faults: { sourceDestCheck: true }, from: 'p1', to: 'p1b', expect: 'delivered' },
  { name: 'VXLAN Always: encapsulated in the same subnet too', pool: 'VXLAN', faults: { drops: [{ traffic: 'vxlan' }] }, from: 'pm', to: 'p1', expect: 'timeout' },
  { name: 'IPIP: cross-node traffic flows', pool: 'IPIP', from: 'p1', to: 'p2', expect: 'delivered' },
  { name: 'IPIP, BGP blocked: no routes', pool: 'IPIP', faults: ALL_BGP, from: 'p1', to: 'p2', expect: 'timeout' },
  { name: 'IPIP, BGP blocked: same node is local', pool: 'IPIP', faults: ALL_BGP, from: 'p1', to: 'p1b', expect: 'delivered' },
  { name: 'IPIP, protocol 4 blocked', pool: 'IPIP', faults: { drops: [{ traffic: 'ipip' }] }, from: 'pm', to: 'p1', expect: 'timeout' },
  { name: 'IPIP ignores a UDP 4789 block', pool: 'IPIP', faults: { drops: [{ traffic: 'vxlan' }] }, from: 'p1', to: 'p2', expect: 'delivered' },
  { name: 'IPIPCrossSubnet same subnet: unencapsulated, BGP still needed', pool: 'IPIPCrossSubnet', faults: ALL_BGP, from: 'pm', to: 'p1', expect: 'timeout' },
  { name: 'IPIPCrossSubnet same subnet: the source/destination check drops it', pool: 'IPIPCrossSubnet', faults: { sourceDestCheck: true }, from: 'pm', to: 'p1', expect: 'timeout' },
  { name: 'IPIPCrossSubnet across subnets: IPIP passes the check', pool: 'IPIPCrossSubnet', faults: { sourceDestCheck: true }, from: 'p1', to: 'p2', expect: 'delivered' },
  { name: 'no encapsulation, BGP blocked', pool: 'None', faults: ALL_BGP, from: 'p1', to: 'p2', expect: 'timeout' },
  { name: 'no encapsulation, source/destination check', pool: 'None', faults: { sourceDestCheck: true }, from: 'p1', to: 'p2', expect: 'timeout' },
  { name: 'Felix not ready at the destination', down: ['w2'], from: 'p1', to: 'p2', expect: 'timeout' },
  { name: 'Felix not ready at the source', down: ['w1'], from: 'p1', to: 'p1b', expect: 'timeout' },
  { name: 'Service ClusterIP through its endpoint', from: 'p1', to: '10.96.1.5', port: 80, expect: 'delivered', answeredBy: 'p2' },
  { name: 'Service ClusterIP, VXLAN to the endpoint blocked', faults: { drops: [{ traffic: 'vxlan' }] }, from: 'p1', to: '10.96.1.5', port: 80, expect: 'timeout' },
  { name: 'Service without endpoints: kube-proxy rejects', from: 'p1', to: '10.96.1.6', port: 80, expect: 'refused' },
  { name: 'Service port it does not have', from: 'p1', to: '10.96.1.5', port: 81, expect: 'timeout' },
  { name: 'a pool address no pod has', from: 'p1', to: '10.97.2.99', expect: 'timeout' },
  { name: 'host to a remote pod (VXLAN)', from: 'node:w1', to: 'p2', expect: 'delivered' },
  { name: 'host to a same-subnet pod, source/destination check', faults: { sourceDestCheck: true }, from: 'node:m', to: 'p1', expect: 'timeout' },
  { name: 'pod to a node: the kubelet', from: 'p1', to: '192.168.57.12', port: 10250, expect: 'delivered' },
  { name: 'pod to a node, masqueraded: the check does not apply', faults: { sourceDestCheck: true }, from: 'p1', to: '192.168.56.11', port: 10250, expect: 'delivered' },
  { name: 'pod to a node without natOutgoing, source/destination check', natOutgoing: false, faults: { sourceDestCheck: true }, from: 'p1', to: '192.168.56.11', port: 10250, expect: 'timeout' },
  { name: 'pod to a node: BIRD on 179', from: 'p1', to: '192.168.57.12', port: 179, expect: 'delivered' },
  { name: 'pod to a node port nothing listens on', from: 'p1', to: '192.168.57.12', port: 22, expect: 'refused' },
  { name: 'host to host needs no Calico', down: ['w1', 'w2'], from: 'node:w1', to: '192.168.57.12', port: 10250, expect: 'delivered' },
  { name: 'outside: a listed address, NAT outgoing', from: 'p1', to: '203.0.113.10', port: 443, expect: 'delivered' },
  { name: 'outside: a port it does not serve', from: 'p1', to: '203.0.113.10', port: 80, expect: 'refused' },
  { name: 'outside: an unlisted address', from: 'p1', to: '198.51.100.7', port: 443, expect: 'timeout' },
  { name: 'outside without natOutgoing: no answer comes back', natOutgoing: false, from: 'p1', to: '203.0.113.10', port: 443, expect: 'timeout' },
];

test('reach(): the data plane model on a table of cases', () => {
  for (const c of CASES) {
    const { rt, store } = cluster();
    const modes = POOLS[c.pool ?? 'VXLANCrossSubnet'];
    store.put('ippools.crd.projectcalico.org', object({ metadata: { name: 'default-ipv4-ippool' }, spec: { cidr: '10.97.0.0/16', natOutgoing: c.natOutgoing ?? true, ...modes } }));
    rt.network = { ...noNetworkFaults(), ...c.faults };
    for (const node of c.down ?? []) {
      const pod = store.get('pods', 'calico-system', `calico-node-${node}`)!;
      store.put('pods', { ...pod, status: { phase: 'Pending' } });
    }
    const source: Source = c.from.startsWith('node:') ? { node: c.from.slice(5) } : { pod: store.get('pods', 'default', c.from)! };
    const address = PODS.find(([name]) => name === c.to)?.[2] ?? c.to;
    const result = reach(rt, source, address, c.port ?? 9376, c.protocol ?? 'TCP');
    assert.equal(result.outcome, c.expect, `${c.name}: ${'why' in result ? result.why : 'delivered'}`);
    if (c.answeredBy && result.outcome === 'delivered') assert.equal(result.to.pod?.metadata.name, c.answeredBy, c.name);
  }
});

test('reach(): a probe costs index look-ups, not a walk of the cluster (500 nodes, 5,000 probes)', () => {
  const { rt, store } = cluster();
  store.put('ippools.crd.projectcalico.org', object({ metadata: { name: 'default-ipv4-ippool' }, spec: { cidr: '10.97.0.0/16', natOutgoing: true, ...POOLS.VXLANCrossSubnet } }));
  for (let i = 0; i < 500; i++) {
    const name = `n${i}`;
    rt.setHostAddress(name, `192.168.${60 + (i >> 8)}.${i & 255}/16`);
    store.put('nodes', object({ metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: `192.168.${60 + (i >> 8)}.${i & 255}` }] } }));
    store.put('pods', calicoNode(name, `192.168.${60 + (i >> 8)}.${i & 255}`));
    for (let j = 0; j < 10; j++) {
      store.put('pods', object({ metadata: { name: `${name}-${j}`, namespace: 'default' }, spec: { nodeName: name, containers: [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', args: ['pause'] }] }, status: { ...RUNNING, podIP: `10.97.${100 + (i >> 4)}.${(i & 15) * 16 + j}` } }));
    }
  }
  const from = { pod: store.get('pods', 'default', 'p1')! };
  let refused = 0;
  for (let k = 0; k < 5000; k++) {
    const i = k % 500;
    const result = reach(rt, from, `10.97.${100 + (i >> 4)}.${(i & 15) * 16 + (k % 10)}`, 80, 'TCP');
    if (result.outcome === 'refused') refused++;
  }
  // Every probe takes the whole path (Felix, routes, policy) to a pause container, which listens on nothing.
  assert.equal(refused, 5000);
});

test('cluster DNS: the kubelet\'s resolv.conf per dnsPolicy, the search list, and what CoreDNS answers through the data plane', () => {
  const { rt, store } = cluster();
  rt.api.serviceCIDRs = ['10.96.0.0/16'];
  store.put('ippools.crd.projectcalico.org', object({ metadata: { name: 'default-ipv4-ippool' }, spec: { cidr: '10.97.0.0/16', natOutgoing: true, ...POOLS.VXLANCrossSubnet } }));
  setOutside(rt, [UPSTREAM_HOST]);
  store.put('namespaces', object({ metadata: { name: 'default' } }));
  store.put('pods', object({ metadata: { name: 'coredns-1', namespace: 'kube-system' }, spec: { nodeName: 'm', containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3' }] }, status: { ...RUNNING, podIP: '10.97.0.9' } }));
  store.put('services', object({ metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] } }));
  store.put('endpointslices.discovery.k8s.io', object({
    metadata: { name: 'kube-dns-abcde', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns' } },
    ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }], endpoints: [{ addresses: ['10.97.0.9'], conditions: { ready: true } }],
  }));
  store.put('services', object({ metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ port: 5432, protocol: 'TCP' }] } }));
  store.put('endpointslices.discovery.k8s.io', object({
    metadata: { name: 'db-abcde', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
    ports: [{ name: '', port: 5432, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.97.1.2'], hostname: 'db-0', conditions: { ready: true } }, { addresses: ['10.97.2.2'], conditions: { ready: false } }],
  }));
  const p1 = store.get('pods', 'default', 'p1')!;
  const withSpec = (spec: object) => ({ ...p1, spec: { ...(p1.spec as object), ...spec } });
  assert.equal(resolvConfText(resolvConf(rt, p1)), 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  assert.equal(resolvConfText(resolvConf(rt, withSpec({ hostNetwork: true }))), `nameserver ${UPSTREAM_HOST.ip}\n`, 'hostNetwork with ClusterFirst falls back to the node\'s');
  assert.equal(resolvConf(rt, withSpec({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' })).nameservers[0], '10.96.0.10');
  assert.deepEqual(resolvConf(rt, withSpec({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['example.org'], options: [{ name: 'ndots', value: '2' }] } })), { nameservers: ['1.1.1.1'], search: ['example.org'], ndots: 2 });
  const conf = resolvConf(rt, p1);
  assert.deepEqual(searchList(conf, 'kubernetes.default'), ['kubernetes.default.default.svc.cluster.local.', 'kubernetes.default.svc.cluster.local.', 'kubernetes.default.cluster.local.', 'kubernetes.default.']);
  assert.deepEqual(searchList({ ...conf, ndots: 1 }, 'example.com'), ['example.com.', 'example.com.default.svc.cluster.local.', 'example.com.svc.cluster.local.', 'example.com.cluster.local.']);
  assert.deepEqual(searchList(conf, 'web.default.svc.cluster.local.'), ['web.default.svc.cluster.local.']);

  const ask = (name: string, qtype: 'A' | 'AAAA' = 'A') => {
    const result = exchange(rt, { pod: p1 }, '10.96.0.10', name, qtype);
    assert.equal(result.outcome, 'answer', name);
    const { message } = result as Extract<typeof result, { outcome: 'answer' }>;
    return [message.rcode, message.aa, message.ra, message.answer.map((r) => r.data), message.authority.map((r) => `${r.name} ${r.type}`)];
  };
  assert.deepEqual(ask('web.default.svc.cluster.local.'), ['NOERROR', true, false, ['10.96.1.5'], []]);
  assert.deepEqual(ask('web.default.svc.cluster.local.', 'AAAA'), ['NOERROR', true, false, [], ['cluster.local. SOA']], 'an IPv4 Service has no AAAA: no data');
  assert.deepEqual(ask('db.default.svc.cluster.local.'), ['NOERROR', true, false, ['10.97.1.2'], []], 'headless: the ready endpoints');
  assert.deepEqual(ask('db-0.db.default.svc.cluster.local.'), ['NOERROR', true, false, ['10.97.1.2'], []], 'an endpoint by its hostname');
  assert.deepEqual(ask('kubernetes.default.default.svc.cluster.local.'), ['NXDOMAIN', true, false, [], ['cluster.local. SOA']]);
  assert.deepEqual(ask('default.svc.cluster.local.'), ['NOERROR', true, false, [], ['cluster.local. SOA']], 'a namespace is an empty non-terminal');
  assert.deepEqual(ask('10-97-1-2.default.pod.cluster.local.'), ['NOERROR', true, false, ['10.97.1.2'], []], 'pods insecure');
  assert.deepEqual(ask('kubernetes.default.'), ['NXDOMAIN', false, true, [], ['. SOA']], 'forwarded: the upstream knows no such top-level domain');
  rt.network = { ...noNetworkFaults(), drops: [{ traffic: 'vxlan' }] };
  assert.equal(exchange(rt, { pod: p1 }, '10.96.0.10', 'web.default.svc.cluster.local.', 'A').outcome, 'answer', 'CoreDNS on the same subnet: no VXLAN');
  assert.equal(exchange(rt, { pod: store.get('pods', 'default', 'p2')! }, '10.96.0.10', 'web.default.svc.cluster.local.', 'A').outcome, 'timeout', 'DNS crosses the data plane too');
  store.put('endpointslices.discovery.k8s.io', { ...store.get('endpointslices.discovery.k8s.io', 'kube-system', 'kube-dns-abcde')!, endpoints: [{ addresses: ['10.97.0.9'], conditions: { ready: false, serving: false } }] });
  assert.equal(exchange(rt, { pod: p1 }, '10.96.0.10', 'web.default.svc.cluster.local.', 'A').outcome, 'refused', 'no ready CoreDNS: kube-proxy rejects');
});

/**
 * The same cluster made dual-stack as the scenarios make it: each node also
 * on fd00:192:168:56::/64 or fd00:192:168:57::/64 (its IPv6 BGP address,
 * what BIRD6 meshes over), each pod an address of fd00:10:97::/48 too, the
 * Service an IPv6 ClusterIP with an IPv6 EndpointSlice.
 */
function dualStack(v6Pool: keyof typeof POOLS) {
  const { rt, store } = cluster();
  const v6 = (ip: string) => {
    const [, , c, d] = ip.split('.');
    return `fd00:192:168:${c}::${Number(d).toString(16)}`;
  };
  for (const [name, cidr] of NODES) {
    const address = v6(cidr.split('/')[0]!);
    rt.setHostAddress6(name, `${address}/64`);
    const node = store.get('nodes', undefined, name)!;
    store.put('nodes', { ...node, metadata: { ...node.metadata, annotations: { ...node.metadata.annotations, 'projectcalico.org/IPv6Address': `${address}/64` } }, status: { addresses: [{ type: 'InternalIP', address: cidr.split('/')[0] }, { type: 'InternalIP', address }] } });
  }
  for (const [name, , ip] of PODS) {
    const pod = store.get('pods', 'default', name)!;
    const [, , c, d] = ip.split('.');
    store.put('pods', { ...pod, status: { ...RUNNING, podIP: ip, podIPs: [{ ip }, { ip: `fd00:10:97:${c}::${d}` }] } });
  }
  const web = store.get('services', 'default', 'web')!;
  store.put('services', { ...web, spec: { ...web.spec as object, clusterIPs: ['10.96.1.5', 'fd00:10:96::5'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' } });
  store.put('endpointslices.discovery.k8s.io', object({
    metadata: { name: 'web-v6xyz', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv6', ports: [{ name: '', port: 9376, protocol: 'TCP' }], endpoints: [{ addresses: ['fd00:10:97:2::2'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'w2' }],
  }));
  store.put('ippools.crd.projectcalico.org', object({ metadata: { name: 'default-ipv4-ippool' }, spec: { cidr: '10.97.0.0/16', natOutgoing: true, ...POOLS.VXLANCrossSubnet } }));
  store.put('ippools.crd.projectcalico.org', object({ metadata: { name: 'default-ipv6-ippool' }, spec: { cidr: 'fd00:10:97::/48', natOutgoing: false, ...POOLS[v6Pool] } }));
  return { rt, store };
}

const V6_CASES: (Omit<Case, 'pool'> & { pool?: keyof typeof POOLS })[] = [
  { name: 'IPv6 same node', pool: 'None', from: 'p1', to: 'fd00:10:97:1::3', expect: 'delivered', answeredBy: 'p1b' },
  { name: 'IPv6 unencapsulated, same subnet: BIRD6 routes', pool: 'None', from: 'pm', to: 'fd00:10:97:1::2', expect: 'delivered', answeredBy: 'p1' },
  { name: 'IPv6 unencapsulated, across subnets: BIRD6 routes', pool: 'None', from: 'p1', to: 'fd00:10:97:2::2', expect: 'delivered', answeredBy: 'p2' },
  { name: 'IPv6 unencapsulated, BGP blocked: no route', pool: 'None', faults: ALL_BGP, from: 'p1', to: 'fd00:10:97:2::2', expect: 'timeout' },
  { name: 'IPv6 unencapsulated, BGP blocked, same node', pool: 'None', faults: ALL_BGP, from: 'p1', to: 'fd00:10:97:1::3', expect: 'delivered' },
  { name: 'IPv4 VXLAN with BGP blocked still flows beside it', pool: 'None', faults: ALL_BGP, from: 'p1', to: '10.97.2.2', expect: 'delivered' },
  { name: 'IPv6 BGP blocked between one pair only', pool: 'None', faults: { drops: [{ traffic: 'bgp', between: [['w1', 'w2']] }] }, from: 'p1', to: 'fd00:10:97:3::2', expect: 'delivered' },
  { name: 'IPv6 unencapsulated, source/destination check', pool: 'None', faults: { sourceDestCheck: true }, from: 'p1', to: 'fd00:10:97:2::2', expect: 'timeout' },
  { name: 'IPv6 VXLAN, BGP blocked: Felix routes', pool: 'VXLAN', faults: ALL_BGP, from: 'p1', to: 'fd00:10:97:2::2', expect: 'delivered' },
  { name: 'IPv6 VXLAN, UDP 4789 blocked', pool: 'VXLAN', faults: { drops: [{ traffic: 'vxlan' }] }, from: 'p1', to: 'fd00:10:97:2::2', expect: 'timeout' },
  { name: 'IPv6 VXLANCrossSubnet, same subnet under the check: unencapsulated, dropped', pool: 'VXLANCrossSubnet', faults: { sourceDestCheck: true }, from: 'pm', to: 'fd00:10:97:1::2', expect: 'timeout' },
  { name: 'IPv6 VXLANCrossSubnet across the IPv6 subnets passes the check', pool: 'VXLANCrossSubnet', faults: { sourceDestCheck: true }, from: 'p1', to: 'fd00:10:97:2::2', expect: 'delivered' },
  { name: 'the IPv6 ClusterIP through the IPv6 EndpointSlice', pool: 'None', from: 'p1', to: 'fd00:10:96::5', port: 80, expect: 'delivered', answeredBy: 'p2' },
  { name: 'the IPv6 ClusterIP, BGP blocked to its endpoint', pool: 'None', faults: ALL_BGP, from: 'p1', to: 'fd00:10:96::5', port: 80, expect: 'timeout' },
  { name: 'host to a remote pod over IPv6', pool: 'None', from: 'node:w1', to: 'fd00:10:97:2::2', expect: 'delivered' },
  { name: 'pod to a node\'s IPv6 address: the kubelet', pool: 'None', from: 'p1', to: 'fd00:192:168:57::c', port: 10250, expect: 'delivered' },
];

test('reach(): IPv6 on a dual-stack cluster, by the IPv6 pool\'s encapsulation and BIRD6\'s sessions', () => {
  for (const c of V6_CASES) {
    const { rt, store } = dualStack(c.pool ?? 'None');
    rt.network = { ...noNetworkFaults(), ...c.faults };
    const source: Source = c.from.startsWith('node:') ? { node: c.from.slice(5) } : { pod: store.get('pods', 'default', c.from)! };
    const result = reach(rt, source, c.to, c.port ?? 9376, c.protocol ?? 'TCP');
    assert.equal(result.outcome, c.expect, `${c.name}: ${'why' in result ? result.why : 'delivered'}`);
    if (result.outcome === 'delivered') {
      if (c.answeredBy) assert.equal(result.to.pod?.metadata.name, c.answeredBy, c.name);
      const family = c.to.includes(':') ? /:/ : /^\d+\./;
      assert.match(result.to.ip, family, `${c.name}: answered at an address of the destination's family`);
      assert.match(result.from.ip, family, `${c.name}: from an address of that family`);
    }
  }
});
