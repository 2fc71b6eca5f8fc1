// Connectivity as a person probes it: agnhost pods created with kubectl,
// probed with real `kubectl exec` of `/agnhost connect`, curl, dig and
// nslookup, on clusters started with Calico installed; the network's knobs
// are switched live between probes. Every outcome is the model's — the test
// process never opens a socket to a modelled address (asserted at the end of
// each cluster), and kubectl only talks to the API server on 127.0.0.1.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { TestCluster } from '../cluster/cluster.ts';
import { parseOutside } from '../cluster/dataplane/reach.ts';
import { cleanEnv, eventually, kubectl, kubectlFor, run, withCluster, type Result } from '../helpers.ts';

const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
const RELEASE = 'v3.30.7';
/** Cluster time runs 20 times faster: a 3 s connect timeout is 150 ms of the test's time. */
const SPEED = 20;

/** Every address a socket of this process was asked to connect to. */
const dialled: string[] = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  const [first] = args;
  const options = (Array.isArray(first) ? first[0] : first) as { host?: string; path?: string } | number | string;
  dialled.push(typeof options === 'object' && options ? (options.host ?? options.path ?? 'localhost') : String(args[1] ?? 'localhost'));
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

function assertNoModelledSocket(cluster: TestCluster): void {
  const modelled = dialled.filter((host) => !['127.0.0.1', 'localhost', '::1'].includes(host) && !host.startsWith('/'));
  assert.deepEqual(modelled, [], `sockets to modelled addresses in ${cluster.scenario.name}`);
}

function pod(name: string, node: string, labels: Record<string, string> = { app: 'web' }): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels },
    spec: { nodeName: node, containers: [{ name: 'agnhost', image: AGNHOST, args: ['serve-hostname'] }] },
  });
}

const SERVICE = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 9376 }] } });

async function setUp(cluster: TestCluster & { kubeconfigPath: string }, pods: [string, string][]): Promise<{ k: (...args: string[]) => Promise<Result>; ip: (pod: string) => Promise<string> }> {
  const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
  const k = (...args: string[]) => kubectl(args, env);
  const manifest = [...pods.map(([name, node]) => pod(name, node)), SERVICE].join('\n');
  const applied = await run(kubectlFor([], env), ['apply', '-f', '-'], { env, input: manifest });
  assert.equal(applied.code, 0, applied.stderr);
  const ready = await k('wait', '--for=condition=Ready', 'pod', '--all', '--timeout=60s');
  assert.equal(ready.code, 0, ready.stderr);
  const ip = async (name: string) => (await k('get', 'pod', name, '-o', 'jsonpath={.status.podIP}')).stdout;
  return { k, ip };
}

function expectResult(result: Result, code: number, stdout: string | RegExp, stderr: string | RegExp, what: string): void {
  assert.equal(result.code, code, `${what}: exit ${result.code}\n${result.stdout}${result.stderr}`);
  if (typeof stdout === 'string') assert.equal(result.stdout, stdout, what);
  else assert.match(result.stdout, stdout, what);
  if (typeof stderr === 'string') assert.equal(result.stderr, stderr, what);
  else assert.match(result.stderr, stderr, what);
}

const OK = (r: Result, what: string) => expectResult(r, 0, '', '', what);
const TIMEOUT = (r: Result, what: string) => expectResult(r, 1, '', 'TIMEOUT\ncommand terminated with exit code 1\n', what);

test('kubeadm-two-subnets with the default pool (VXLANCrossSubnet): Services, DNS, and each fault breaking only what it breaks', { timeout: 240_000 }, async () => {
  await withCluster({ scenario: 'kubeadm-two-subnets', calico: RELEASE, speed: SPEED, outside: parseOutside(['203.0.113.10:443']) }, async (cluster) => {
    // a and a2 on worker-01, b on worker-02 (both 192.168.57.0/24), m on the control plane (192.168.56.0/24).
    const { k, ip } = await setUp(cluster, [['a', 'kubernetes-worker-01'], ['a2', 'kubernetes-worker-01'], ['b', 'kubernetes-worker-02'], ['m', 'kubernetes-master-01']]);
    const [a2, b, m] = [await ip('a2'), await ip('b'), await ip('m')];
    const probe = (from: string, to: string) => k('exec', from, '--', '/agnhost', 'connect', `${to}:9376`, '--timeout=3s');

    OK(await probe('a', a2), 'same node');
    OK(await probe('a', b), 'same subnet, other node');
    OK(await probe('a', m), 'across subnets');
    expectResult(await k('exec', 'a', '--', '/agnhost', 'connect', `${b}:9377`, '--timeout=3s'), 1, '', 'REFUSED\ncommand terminated with exit code 1\n', 'a closed port');

    // Services and DNS, as kubectl shows them and as probes meet them.
    const svc = await k('get', 'svc', 'web', '--no-headers');
    assert.match(svc.stdout, /^web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP\s+\d+s\n$/);
    const clusterIP = (await k('get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}')).stdout;
    assert.ok(!['10.96.0.1', '10.96.0.10'].includes(clusterIP) && !clusterIP.startsWith('10.96.0.'), `a dynamic ClusterIP comes from above the reserved band: ${clusterIP}`);
    const slices = await k('get', 'endpointslices', '-l', 'kubernetes.io/service-name=web');
    // Four pods: kube-apiserver's printer shows three addresses and counts the rest.
    assert.match(slices.stdout, /^NAME +ADDRESSTYPE   PORTS   ENDPOINTS +AGE\nweb-[a-z0-9]{5}   IPv4          9376    (\d+\.\d+\.\d+\.\d+,){2}\d+\.\d+\.\d+\.\d+ \+ 1 more\.\.\. +\d+s\n$/);
    const dnsSlices = await k('get', 'endpointslices', '-n', 'kube-system', '-o', 'jsonpath={.items[0].endpoints[*].conditions.ready}');
    assert.equal(dnsSlices.stdout, 'true true');
    OK(await k('exec', 'a', '--', '/agnhost', 'connect', `${clusterIP}:80`, '--timeout=3s'), 'the Service by ClusterIP');
    OK(await k('exec', 'a', '--', '/agnhost', 'connect', 'web:80', '--timeout=3s'), 'the Service by its short name (search list)');
    OK(await k('exec', 'm', '--', '/agnhost', 'connect', 'web.default.svc.cluster.local:80', '--timeout=3s'), 'the Service by its full name');
    expectResult(await k('exec', 'a', '--', 'curl', '-sS', '--connect-timeout', '2', '--max-time', '10', 'http://web/'), 0, /^(a|a2|b|m)$/, '', 'curl through the Service answers a pod name');
    expectResult(await k('exec', 'a', '--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://${b}:9376/`), 0, '200', '', 'curl -w %{http_code}');
    expectResult(await k('exec', 'a', '--', 'curl', '-sS', `http://${b}:80/`), 7, '', `curl: (7) Failed to connect to ${b} port 80 after 0 ms: Couldn't connect to server\ncommand terminated with exit code 7\n`, 'curl to a closed port');
    expectResult(await k('exec', 'a', '--', 'curl', '-sS', 'http://nope/'), 6, '', 'curl: (6) Could not resolve host: nope\ncommand terminated with exit code 6\n', 'curl to a name nobody has');
    expectResult(await k('exec', 'a', '--', '/agnhost', 'connect', 'nope:80', '--timeout=3s'), 1, '', 'DNS: lookup nope on 10.96.0.10:53: no such host\ncommand terminated with exit code 1\n', 'connect to a name nobody has');
    expectResult(await k('exec', 'a', '--', 'cat', '/etc/resolv.conf'), 0, 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n', '', "the pod's resolv.conf");
    expectResult(await k('exec', 'a', '--', 'nslookup', 'kubernetes.default'), 0, 'Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n', '', 'nslookup uses the search list');
    const dig = await k('exec', 'a', '--', 'dig', 'kubernetes.default');
    expectResult(dig, 0, /;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: \d+\n;; flags: qr rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1\n/, '', 'dig does not use the search list');
    assert.match(dig.stdout, /^;kubernetes\.default\.\t\tIN\tA$/m);
    assert.match(dig.stdout, /^\.\t\t\t30\tIN\tSOA\ta\.root-servers\.net\. nstld\.verisign-grs\.com\. \d{10} 1800 900 604800 86400$/m);
    expectResult(await k('exec', 'a', '--', 'dig', '+short', 'web.default.svc.cluster.local'), 0, `${clusterIP}\n`, '', 'dig +short');
    expectResult(await k('exec', 'a', '--', 'dig', '+search', '+short', 'kubernetes.default'), 0, '10.96.0.1\n', '', 'dig +search');
    expectResult(await k('exec', 'a', '--', 'nslookup', 'nope'), 1, "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n** server can't find nope: NXDOMAIN\n\n", 'command terminated with exit code 1\n', 'nslookup of a name nobody has');

    // Outside the cluster only what --outside lists answers; pods reach it masqueraded (the pool's natOutgoing).
    OK(await k('exec', 'a', '--', '/agnhost', 'connect', '203.0.113.10:443', '--timeout=3s'), 'a listed outside address');
    expectResult(await k('exec', 'a', '--', '/agnhost', 'connect', '203.0.113.10:80', '--timeout=3s'), 1, '', 'REFUSED\ncommand terminated with exit code 1\n', 'a port the outside address does not serve');
    TIMEOUT(await k('exec', 'a', '--', '/agnhost', 'connect', '198.51.100.7:443', '--timeout=3s'), 'an address nothing outside has');

    // BGP blocked: BIRD cannot peer, but the VXLAN pool's routes are Felix's.
    cluster.runtime.network.drops = [{ traffic: 'bgp' }];
    OK(await probe('a', b), 'BGP blocked, same subnet');
    OK(await probe('a', m), 'BGP blocked, across subnets');

    // UDP 4789 blocked: only traffic that crosses subnets is encapsulated, and lost.
    cluster.runtime.network.drops = [{ traffic: 'vxlan' }];
    TIMEOUT(await probe('a', m), 'VXLAN blocked, across subnets');
    TIMEOUT(await probe('m', b), 'VXLAN blocked, across subnets, the other way');
    OK(await probe('a', b), 'VXLAN blocked, same subnet');
    OK(await probe('a', a2), 'VXLAN blocked, same node');

    // A cloud's source/destination check: unencapsulated pod traffic between nodes is lost.
    cluster.runtime.network.drops = [];
    cluster.runtime.network.sourceDestCheck = true;
    TIMEOUT(await probe('a', b), 'source/destination check, same subnet');
    OK(await probe('a', m), 'source/destination check, across subnets (VXLAN carries node addresses)');
    OK(await probe('a', a2), 'source/destination check, same node');
    cluster.runtime.network.sourceDestCheck = false;

    // CoreDNS crashing: its pods never get Ready, kube-proxy rejects DNS; the Service's own IP still works.
    cluster.runtime.faults.crashingContainers.push('kube-system/coredns/coredns');
    assert.equal((await k('delete', 'pod', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '--wait=false')).code, 0);
    await eventually(() => {
      const pods = cluster.api.store.list('pods', 'kube-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns' && !p.metadata.deletionTimestamp);
      return pods.length > 0 && pods.every((p) => ((p.status as { containerStatuses?: { restartCount: number }[] }).containerStatuses?.[0]?.restartCount ?? 0) > 0);
    });
    const dnsEndpoints = await k('get', 'endpointslices', '-n', 'kube-system', '-l', 'kubernetes.io/service-name=kube-dns', '-o', 'jsonpath={.items[*].endpoints[*].conditions.ready}');
    assert.match(dnsEndpoints.stdout, /^false false$/, 'crash-looping CoreDNS pods are endpoints that are not ready');
    const refused = await k('exec', 'a', '--', '/agnhost', 'connect', 'web:80', '--timeout=3s');
    expectResult(refused, 1, '', /^DNS: lookup web on 10\.96\.0\.10:53: read udp \d+\.\d+\.\d+\.\d+:\d+->10\.96\.0\.10:53: read: connection refused\ncommand terminated with exit code 1\n$/, 'DNS with CoreDNS down');
    expectResult(await k('exec', 'a', '--', 'nslookup', 'web'), 1, ';; connection timed out; no servers could be reached\n\n', 'command terminated with exit code 1\n', 'nslookup with CoreDNS down (BIND 9.16 waits out an ICMP refusal)');
    expectResult(await k('exec', 'a', '--', 'curl', '-sS', 'http://web/'), 6, '', 'curl: (6) Could not resolve host: web\ncommand terminated with exit code 6\n', 'curl with CoreDNS down');
    OK(await k('exec', 'a', '--', '/agnhost', 'connect', `${clusterIP}:80`, '--timeout=3s'), 'the Service IP with CoreDNS down');
    assertNoModelledSocket(cluster);
  });
});

test('an IPIP pool: routes come from BGP, so blocked TCP 179 breaks cross-node traffic once BIRD drops the sessions (same node still works)', { timeout: 240_000 }, async () => {
  // Fast: a session a firewall cuts stays Established until BIRD's 240 s hold timer runs out.
  await withCluster({ calico: RELEASE, encapsulation: 'IPIP', speed: 100 }, async (cluster) => {
    const pool = cluster.api.store.get('ippools.crd.projectcalico.org', undefined, 'default-ipv4-ippool')?.spec as { ipipMode?: string; vxlanMode?: string };
    assert.deepEqual([pool.ipipMode, pool.vxlanMode], ['Always', 'Never']);
    const { k, ip } = await setUp(cluster, [['a', 'kubernetes-worker-01'], ['a2', 'kubernetes-worker-01'], ['b', 'kubernetes-worker-02']]);
    const [a2, b] = [await ip('a2'), await ip('b')];
    const probe = (to: string) => k('exec', 'a', '--', '/agnhost', 'connect', `${to}:9376`, '--timeout=3s');
    OK(await probe(b), 'IPIP, cross-node');
    const calicoNode = cluster.api.store.list('pods', 'calico-system').find((p) => p.metadata.labels?.['k8s-app'] === 'calico-node' && (p.spec as { nodeName?: string }).nodeName === 'kubernetes-worker-01')!.metadata.name;
    const sessions = async () => (await k('exec', '-n', 'calico-system', calicoNode, '-c', 'calico-node', '--', 'birdcl', '-s', '/var/run/calico/bird.ctl', 'show', 'protocols')).stdout;
    cluster.runtime.network.drops = [{ traffic: 'bgp' }];
    OK(await probe(b), 'IPIP, BGP blocked, before the hold timer runs out');
    await eventually(async () => (/Hold timer expired/.test(await sessions()) ? true : undefined));
    TIMEOUT(await probe(b), 'IPIP, BGP blocked, cross-node');
    OK(await probe(a2), 'IPIP, BGP blocked, same node');
    cluster.runtime.network.drops = [{ traffic: 'ipip' }];
    await eventually(async () => (!/Hold timer expired|Connect|Active|Passive/.test(await sessions()) ? true : undefined));
    TIMEOUT(await probe(b), 'IPIP, protocol 4 blocked');
    cluster.runtime.network.drops = [];
    OK(await probe(b), 'IPIP, nothing blocked again');
    assertNoModelledSocket(cluster);
  });
});

test('a default-deny NetworkPolicy blocks, an allow rule re-opens; a Calico GlobalNetworkPolicy denying all but DNS lets DNS through', { timeout: 240_000 }, async () => {
  await withCluster({ calico: RELEASE, speed: SPEED }, async (cluster) => {
    const { k, ip } = await setUp(cluster, [['a', 'kubernetes-worker-01'], ['b', 'kubernetes-worker-02']]);
    const b = await ip('b');
    const apply = (policy: object) => run(kubectlFor([], { KUBECONFIG: cluster.kubeconfigPath }), ['apply', '-f', '-'], { env: cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }), input: JSON.stringify(policy) });
    OK(await k('exec', 'a', '--', '/agnhost', 'connect', `${b}:9376`, '--timeout=3s'), 'before any policy');
    assert.equal((await apply({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } })).code, 0);
    TIMEOUT(await k('exec', 'a', '--', '/agnhost', 'connect', `${b}:9376`, '--timeout=3s'), 'default deny ingress');
    assert.equal((await apply({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-web' }, spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 9376 }] }] } })).code, 0);
    OK(await k('exec', 'a', '--', '/agnhost', 'connect', `${b}:9376`, '--timeout=3s'), 'allowed again by the allow rule');
    assert.equal((await k('delete', 'networkpolicy', 'deny-all', 'allow-web')).code, 0);
    // Calico's own policy, as crd.projectcalico.org/v1 stores it: egress only to CoreDNS on 53, everything else denied.
    const dns = { selector: "k8s-app == 'kube-dns'", namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] };
    assert.equal((await apply({
      apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-all-but-dns' },
      spec: { selector: "app == 'web'", types: ['Egress'], egress: [{ action: 'Allow', protocol: 'UDP', destination: dns }, { action: 'Allow', protocol: 'TCP', destination: dns }, { action: 'Deny' }] },
    })).code, 0);
    const lookup = await k('exec', 'a', '--', 'nslookup', 'kubernetes.default');
    assert.equal(lookup.code, 0, lookup.stdout + lookup.stderr);
    assert.match(lookup.stdout, /Name:\tkubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1\n/);
    TIMEOUT(await k('exec', 'a', '--', '/agnhost', 'connect', `${b}:9376`, '--timeout=3s'), 'everything but DNS denied');
    assertNoModelledSocket(cluster);
  });
});
