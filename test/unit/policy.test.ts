// The policy model: what Calico's Felix lets through, for Kubernetes
// NetworkPolicies and Calico (Global)NetworkPolicies, on an in-memory cluster
// with Calico installed (every calico-node Running, so every Felix programs
// policy unless a test makes it stuck). Objects go in through cluster.api,
// as kubectl would send them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster } from '../cluster/cluster.ts';
import { policyVerdict, type Endpoint, type Flow, type PolicyVerdict } from '../cluster/dataplane/policy.ts';
import type { KubeObject, NewObject } from '../cluster/types.ts';

const MASTER = 'kubernetes-master-01';
const WORKER1 = 'kubernetes-worker-01';
const WORKER2 = 'kubernetes-worker-02';

/** One cluster with Calico for the whole file; each test works in namespaces of its own and removes its global objects. */
let cluster: TestCluster;
before(async () => {
  cluster = await startCluster({ calico: 'v3.29.0' });
});
after(() => cluster.stop());

let serial = 0;

function create(object: NewObject): KubeObject {
  const [group] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : [''];
  const type = cluster.api.registry.byKind(group!, object.kind);
  assert.ok(type, `no ${object.kind} in ${object.apiVersion}`);
  return cluster.api.create(type, object.metadata.namespace, object, { fieldManager: 'kubectl-client-side-apply' });
}

function remove(object: KubeObject): void {
  const [group] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : [''];
  cluster.api.delete(cluster.api.registry.byKind(group!, object.kind)!, object.metadata.namespace, object.metadata.name);
}

/** A fresh namespace (`name-N`) with these labels. */
function namespace(name: string, labels: Record<string, string> = {}): string {
  const ns = `${name}-${++serial}`;
  create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } });
  return ns;
}

interface PodOptions {
  node?: string;
  serviceAccount?: string;
  ports?: { name: string; containerPort: number; protocol?: string }[];
  hostNetwork?: boolean;
}

/** A pod bound to a node, and the endpoint it is with `ip`. */
function pod(ns: string, name: string, labels: Record<string, string>, ip: string, options: PodOptions = {}): Endpoint {
  const node = options.node ?? WORKER1;
  const object = create({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels },
    spec: {
      nodeName: node,
      ...(options.serviceAccount ? { serviceAccountName: options.serviceAccount } : {}),
      ...(options.hostNetwork ? { hostNetwork: true } : {}),
      containers: [{ name: 'agnhost', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', ...(options.ports ? { ports: options.ports } : {}) }],
    },
  });
  return { ip, node, pod: object };
}

const host = (node: string, ip: string): Endpoint => ({ ip, node, pod: undefined });
const outside = (ip: string): Endpoint => ({ ip, node: undefined, pod: undefined });

function verdict(src: Endpoint, dst: Endpoint, port: number, protocol: Flow['protocol'] = 'TCP'): PolicyVerdict {
  return policyVerdict(cluster.runtime, { src, dst, protocol, port });
}

function assertAllowed(v: PolicyVerdict, by?: RegExp, why = ''): void {
  assert.ok('allowed' in v && v.allowed, `expected allowed, got ${JSON.stringify(v)} ${why}`);
  if (by) assert.match(v.by ?? '', by, why);
}

function assertDenied(v: PolicyVerdict, by: RegExp, why = ''): void {
  assert.ok('allowed' in v && !v.allowed, `expected denied, got ${JSON.stringify(v)} ${why}`);
  assert.match(v.by, by, why);
}

function assertUnjudgeable(v: PolicyVerdict, why: RegExp): void {
  assert.ok('unjudgeable' in v, `expected unjudgeable, got ${JSON.stringify(v)}`);
  assert.match(v.unjudgeable, why);
}

function networkPolicy(ns: string, name: string, spec: Record<string, unknown>): KubeObject {
  return create({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
}

function calico(kind: string, name: string, spec: Record<string, unknown>, ns?: string, labels?: Record<string, string>): KubeObject {
  return create({ apiVersion: 'crd.projectcalico.org/v1', kind, metadata: { name, ...(ns ? { namespace: ns } : {}), ...(labels ? { labels } : {}) }, spec });
}

/** Runs `body`, then deletes the cluster-wide objects it made, so other tests do not see them. */
function withGlobal(objects: KubeObject[], body: () => void): void {
  try {
    body();
  } finally {
    for (const object of objects) remove(object);
  }
}

describe('Kubernetes NetworkPolicy', () => {
  test('without policy everything is allowed; a default-deny blocks ingress; an allow rule re-opens it for its peers and ports only', () => {
    const ns = namespace('shop');
    const web = pod(ns, 'web', { app: 'web' }, '10.97.1.10', { node: WORKER2 });
    const frontend = pod(ns, 'frontend', { role: 'frontend' }, '10.97.1.11');
    const other = pod(ns, 'other', { role: 'other' }, '10.97.1.12');
    assert.deepEqual(verdict(frontend, web, 8080), { allowed: true });

    networkPolicy(ns, 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] });
    assertDenied(verdict(frontend, web, 8080), new RegExp(`^ingress of ${ns}/web: no rule of NetworkPolicy ${ns}/default-deny allows it \\(the default tier's end drops it\\)$`));
    assertAllowed(verdict(web, outside('8.8.8.8'), 443), undefined);

    networkPolicy(ns, 'allow-frontend', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'frontend' } } }], ports: [{ port: 8080 }] }] });
    assertAllowed(verdict(frontend, web, 8080), new RegExp(`^ingress of ${ns}/web: NetworkPolicy ${ns}/allow-frontend, ingress rule 1 \\(Allow\\)$`));
    assertDenied(verdict(frontend, web, 9090), /no rule of NetworkPolicy .*\/allow-frontend, NetworkPolicy .*\/default-deny allows it/);
    assertDenied(verdict(frontend, web, 8080, 'UDP'), /default tier's end/);
    assertDenied(verdict(other, web, 8080), /default tier's end/);
    assertDenied(verdict(outside('203.0.113.7'), web, 8080), /default tier's end/);
  });

  test('a peer podSelector matches pods of the policy\'s namespace only; namespaceSelector, alone or with a podSelector, matches by namespace labels', () => {
    const ns = namespace('api');
    const blue = namespace('blue', { team: 'blue' });
    const red = namespace('red', { team: 'red' });
    const server = pod(ns, 'server', { app: 'server' }, '10.97.2.10');
    const sameNs = pod(ns, 'client', { role: 'client' }, '10.97.2.11');
    const blueClient = pod(blue, 'client', { role: 'client' }, '10.97.2.12');
    const blueOther = pod(blue, 'other', { role: 'other' }, '10.97.2.13');
    const redClient = pod(red, 'client', { role: 'client' }, '10.97.2.14');

    networkPolicy(ns, 'clients-here', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }] });
    assertAllowed(verdict(sameNs, server, 80));
    assertDenied(verdict(blueClient, server, 80), /default tier's end/);

    networkPolicy(ns, 'blue-clients', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } }, podSelector: { matchLabels: { role: 'client' } } }] }] });
    assertAllowed(verdict(blueClient, server, 80), /blue-clients/);
    assertDenied(verdict(blueOther, server, 80), /default tier's end/);
    assertDenied(verdict(redClient, server, 80), /default tier's end/);

    networkPolicy(ns, 'red-namespace', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': red } } }] }] });
    assertAllowed(verdict(redClient, server, 80), /red-namespace/);
    assertDenied(verdict(blueOther, server, 80), /default tier's end/);
    assertDenied(verdict(host(MASTER, '192.168.56.11'), server, 80), /default tier's end/, 'a namespaceSelector matches pods, not hosts');
  });

  test('ipBlock with except matches by address, pods\' addresses included', () => {
    const ns = namespace('ipblock');
    const other = namespace('elsewhere');
    const db = pod(ns, 'db', { app: 'db' }, '10.97.3.10');
    networkPolicy(ns, 'from-ten', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] });
    assertAllowed(verdict(outside('10.2.3.4'), db, 5432), /from-ten/);
    assertDenied(verdict(outside('10.1.2.3'), db, 5432), /default tier's end/);
    assertAllowed(verdict(pod(other, 'client', {}, '10.97.3.11'), db, 5432), /from-ten/);
    assertDenied(verdict(pod(other, 'excepted', {}, '10.1.0.9'), db, 5432), /default tier's end/);
    assertDenied(verdict(host(WORKER2, '192.168.56.13'), db, 5432), /default tier's end/);
  });

  test('ports: endPort makes a range, a named port resolves against the destination\'s container ports, a protocol alone opens all its ports', () => {
    const ns = namespace('ports');
    const client = pod(ns, 'client', { role: 'client' }, '10.97.4.11');
    const server = pod(ns, 'server', { app: 'server' }, '10.97.4.10', { ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }] });
    networkPolicy(ns, 'ranges', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ ports: [{ port: 8000, endPort: 8010 }, { port: 'http' }] }, { ports: [{ port: 'dns', protocol: 'UDP' }, { protocol: 'SCTP' }] }] });
    assertAllowed(verdict(client, server, 8005));
    assertAllowed(verdict(client, server, 8010));
    assertDenied(verdict(client, server, 8011), /default tier's end/);
    assertAllowed(verdict(client, server, 8080), /ranges, ingress rule 1 \(Allow\)$/);
    assertDenied(verdict(client, server, 8080, 'UDP'), /default tier's end/, 'the named port http is TCP');
    assertAllowed(verdict(client, server, 5353, 'UDP'), /ranges, ingress rule 2 \(Allow\)$/, 'rules are numbered as in the Kubernetes policy');
    assertDenied(verdict(client, server, 5353), /default tier's end/);
    assertAllowed(verdict(client, server, 9999, 'SCTP'));
  });

  test('policyTypes and empty lists: ingress absent or [] denies, [{}] allows all, from: [] is from anyone; an Egress-only policy leaves ingress alone', () => {
    const ns = namespace('types');
    const a = pod(ns, 'a', { app: 'a' }, '10.97.5.10');
    const b = pod(ns, 'b', { app: 'b' }, '10.97.5.11');
    const c = pod(ns, 'c', { app: 'c' }, '10.97.5.12');
    const d = pod(ns, 'd', { app: 'd' }, '10.97.5.13');
    const client = pod(ns, 'client', {}, '10.97.5.20');
    networkPolicy(ns, 'a-none', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress'] });
    networkPolicy(ns, 'b-empty', { podSelector: { matchLabels: { app: 'b' } }, ingress: [] });
    networkPolicy(ns, 'c-all', { podSelector: { matchLabels: { app: 'c' } }, ingress: [{}] });
    networkPolicy(ns, 'd-egress', { podSelector: { matchLabels: { app: 'd' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.97.5.20/32' } }] }] });
    assertDenied(verdict(client, a, 80), /a-none/);
    assertDenied(verdict(client, b, 80), /b-empty/);
    assertAllowed(verdict(client, c, 80), /c-all, ingress rule 1/);
    assertAllowed(verdict(outside('198.51.100.1'), c, 1), /c-all/);
    assertAllowed(verdict(client, d, 80), undefined);
    assertAllowed(verdict(d, client, 80), /d-egress, egress rule 1/);
    assertDenied(verdict(d, a, 80), new RegExp(`^egress of ${ns}/d: no rule of NetworkPolicy ${ns}/d-egress allows it`));

    networkPolicy(ns, 'from-anyone', { podSelector: { matchLabels: { app: 'a' } }, ingress: [{ from: [], ports: [{ port: 443 }] }] });
    assertAllowed(verdict(outside('198.51.100.1'), a, 443), /from-anyone/);
    assertDenied(verdict(outside('198.51.100.1'), a, 80), /default tier's end/);
  });

  test('egress default-deny with DNS allowed: UDP and TCP 53 to the CoreDNS pods pass, nothing else leaves', () => {
    const ns = namespace('locked');
    const client = pod(ns, 'client', {}, '10.97.6.10');
    const web = pod(ns, 'web', { app: 'web' }, '10.97.6.11');
    const coredns = cluster.api.store.list('pods', 'kube-system').find((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns')!;
    const dns: Endpoint = { ip: '10.97.0.5', node: (coredns.spec as { nodeName: string }).nodeName, pod: coredns };
    networkPolicy(ns, 'default-deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
    networkPolicy(ns, 'allow-dns', {
      podSelector: {}, policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }],
    });
    assertAllowed(verdict(client, dns, 53, 'UDP'), new RegExp(`^egress of ${ns}/client: NetworkPolicy ${ns}/allow-dns, egress rule 1 \\(Allow\\)$`));
    assertAllowed(verdict(client, dns, 53, 'TCP'), /allow-dns, egress rule 1/);
    assertDenied(verdict(client, dns, 80), /^egress of .*\/client: no rule of NetworkPolicy .*\/allow-dns, NetworkPolicy .*\/default-deny-egress allows it/);
    assertDenied(verdict(client, outside('8.8.8.8'), 53, 'UDP'), /default tier's end/);
    assertDenied(verdict(client, web, 80), /^egress of /);
    assert.deepEqual(verdict(outside('198.51.100.9'), web, 80), { allowed: true }, 'Egress policies leave ingress alone');
  });
});

describe('Calico policies', () => {
  test('a GlobalNetworkPolicy that denies all but DNS: UDP/TCP 53 to kube-dns pass, the rest is denied by its Deny rule', () => {
    const ns = namespace('app');
    const client = pod(ns, 'client', {}, '10.97.7.10');
    const web = pod(ns, 'web', { app: 'web' }, '10.97.7.11', { node: WORKER2 });
    const coredns = cluster.api.store.list('pods', 'kube-system').find((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns')!;
    const dns: Endpoint = { ip: '10.97.0.5', node: MASTER, pod: coredns };
    const gnp = calico('GlobalNetworkPolicy', 'deny-all-but-dns', {
      namespaceSelector: `kubernetes.io/metadata.name == "${ns}"`,
      types: ['Egress'],
      egress: [
        { action: 'Allow', protocol: 'UDP', destination: { selector: 'k8s-app == "kube-dns"', ports: [53] } },
        { action: 'Allow', protocol: 'TCP', destination: { selector: 'k8s-app == "kube-dns"', ports: [53] } },
        { action: 'Deny' },
      ],
    });
    withGlobal([gnp], () => {
      assertAllowed(verdict(client, dns, 53, 'UDP'), new RegExp(`^egress of ${ns}/client: GlobalNetworkPolicy deny-all-but-dns, egress rule 1 \\(Allow\\)$`));
      assertAllowed(verdict(client, dns, 53, 'TCP'), /egress rule 2 \(Allow\)/);
      assertDenied(verdict(client, web, 80), new RegExp(`^egress of ${ns}/client: GlobalNetworkPolicy deny-all-but-dns, egress rule 3 \\(Deny\\)$`));
      assertDenied(verdict(client, outside('8.8.8.8'), 53, 'UDP'), /egress rule 3 \(Deny\)/);
      assertAllowed(verdict(dns, web, 80), undefined, 'kube-system is not selected, and the policy has no ingress type');
    });
  });

  test('a GlobalNetworkPolicy written without types governs both directions (Felix reads no types as both)', () => {
    const ns = namespace('untyped');
    const a = pod(ns, 'a', {}, '10.97.8.10');
    const b = pod(ns, 'b', {}, '10.97.8.11');
    const gnp = calico('GlobalNetworkPolicy', 'egress-dns-only', {
      selector: `projectcalico.org/namespace == "${ns}"`,
      egress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [53] } }],
    });
    withGlobal([gnp], () => {
      assertDenied(verdict(outside('198.51.100.2'), b, 80), new RegExp(`^ingress of ${ns}/b: no rule of GlobalNetworkPolicy egress-dns-only allows it`));
      assertDenied(verdict(a, b, 80), /^egress of /);
      assertAllowed(verdict(a, outside('8.8.8.8'), 53, 'UDP'));
    });
  });

  test('order: lower first; a Deny at order 100 beats a Kubernetes allow (1000), a Deny at 2000 comes too late; Log goes on to the next rule', () => {
    const ns = namespace('order');
    const server = pod(ns, 'server', { app: 'server' }, '10.97.9.10');
    const bad = pod(ns, 'bad', { role: 'bad' }, '10.97.9.11');
    const good = pod(ns, 'good', { role: 'good' }, '10.97.9.12');
    const late = pod(ns, 'late', { role: 'late' }, '10.97.9.13');
    networkPolicy(ns, 'allow-all', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{}] });
    calico('NetworkPolicy', 'deny-bad', { order: 100, selector: 'app == "server"', types: ['Ingress'], ingress: [{ action: 'Log', source: { selector: 'has(role)' } }, { action: 'Deny', source: { selector: 'role == "bad"' } }] }, ns);
    calico('NetworkPolicy', 'deny-late', { order: 2000, selector: 'app == "server"', types: ['Ingress'], ingress: [{ action: 'Deny', source: { selector: 'role == "late"' } }] }, ns);
    assertDenied(verdict(bad, server, 80), new RegExp(`^ingress of ${ns}/server: Calico NetworkPolicy ${ns}/deny-bad, ingress rule 2 \\(Deny\\)$`));
    assertAllowed(verdict(good, server, 80), new RegExp(`NetworkPolicy ${ns}/allow-all, ingress rule 1 \\(Allow\\)`));
    assertAllowed(verdict(late, server, 80), /allow-all/);
  });

  test('policies of equal order that decide differently are refused; deciding alike they are not', () => {
    const ns = namespace('tie');
    const server = pod(ns, 'server', { app: 'server' }, '10.97.10.10');
    const client = pod(ns, 'client', {}, '10.97.10.11');
    networkPolicy(ns, 'allow-all', { podSelector: {}, ingress: [{}] });
    calico('NetworkPolicy', 'also-allow', { order: 1000, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Allow' }] }, ns);
    assertAllowed(verdict(client, server, 80), /allow-all|also-allow/);
    calico('NetworkPolicy', 'deny-at-1000', { order: 1000, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Deny' }] }, ns);
    assertUnjudgeable(verdict(client, server, 80), /have the same order and decide differently/);
  });

  test('Calico NetworkPolicy: selector limited to its namespace, serviceAccountSelector and serviceAccounts, notSelector, nets and notPorts', () => {
    const ns = namespace('calico');
    const other = namespace('calico-other');
    create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'frontend', namespace: ns, labels: { tier: 'front' } } });
    const server = pod(ns, 'server', { app: 'server' }, '10.97.11.10');
    const front = pod(ns, 'front', { app: 'front' }, '10.97.11.11', { serviceAccount: 'frontend' });
    const plain = pod(ns, 'plain', { app: 'plain' }, '10.97.11.12');
    const elsewhere = pod(other, 'front', { app: 'front' }, '10.97.11.13', { serviceAccount: 'frontend' });
    calico('NetworkPolicy', 'by-account', {
      selector: 'app == "server"', types: ['Ingress'],
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { serviceAccounts: { names: ['frontend'] } }, destination: { ports: ['8000:9000'], notPorts: [8443] } },
        { action: 'Allow', protocol: 'TCP', source: { serviceAccounts: { selector: 'tier == "front"' }, notSelector: 'app == "front"' }, destination: { ports: [22] } },
        { action: 'Allow', protocol: 'UDP', source: { nets: ['198.51.100.0/24'], notNets: ['198.51.100.128/25'] } },
      ],
    }, ns);
    assertAllowed(verdict(front, server, 8080), /by-account, ingress rule 1/);
    assertDenied(verdict(front, server, 8443), /default tier's end/);
    assertDenied(verdict(plain, server, 8080), /default tier's end/);
    assertDenied(verdict(elsewhere, server, 8080), /default tier's end/, 'service accounts of the policy\'s namespace only');
    assertDenied(verdict(front, server, 22), /default tier's end/, 'notSelector excludes app=front');
    assertAllowed(verdict(outside('198.51.100.7'), server, 53, 'UDP'), /ingress rule 3/);
    assertDenied(verdict(outside('198.51.100.200'), server, 53, 'UDP'), /default tier's end/);

    calico('NetworkPolicy', 'accounts-only', { selector: 'all()', serviceAccountSelector: 'tier == "front"', types: ['Egress'], egress: [{ action: 'Deny' }] }, ns);
    assertDenied(verdict(front, plain, 80), /accounts-only, egress rule 1 \(Deny\)/);
    assertAllowed(verdict(plain, front, 80), undefined);
  });

  test('selectors see namespace labels (pcns.) and network sets; a rule selector never matches a host or the world', () => {
    const ns = namespace('sets', { env: 'prod' });
    const client = pod(ns, 'client', {}, '10.97.12.10');
    const blocked = calico('GlobalNetworkSet', 'blocked', { nets: ['203.0.113.0/24'] }, undefined, { role: 'blocked' });
    const gnp = calico('GlobalNetworkPolicy', 'block-sets', {
      namespaceSelector: 'env == "prod"', types: ['Egress'],
      egress: [{ action: 'Deny', destination: { selector: 'role == "blocked"' } }, { action: 'Deny', protocol: 'TCP', destination: { selector: 'all()' } }, { action: 'Allow' }],
    });
    withGlobal([gnp, blocked], () => {
      assertDenied(verdict(client, outside('203.0.113.5'), 443), /block-sets, egress rule 1 \(Deny\)/);
      assertDenied(verdict(client, pod(ns, 'peer', {}, '10.97.12.11'), 443), /block-sets, egress rule 2 \(Deny\)/, 'all() matches every workload');
      assertAllowed(verdict(client, outside('198.51.100.1'), 443), /block-sets, egress rule 3 \(Allow\)/);
      assertAllowed(verdict(client, host(WORKER2, '192.168.56.13'), 443), /egress rule 3/);
    });
  });

  test('doNotTrack and preDNAT policies are for host endpoints only; applyOnForward alone is an ordinary policy for pods', () => {
    const ns = namespace('untracked');
    const a = pod(ns, 'a', {}, '10.97.21.10');
    const b = pod(ns, 'b', {}, '10.97.21.11');
    const selector = `projectcalico.org/namespace == "${ns}"`;
    const untracked = calico('GlobalNetworkPolicy', 'untracked-deny', { selector, doNotTrack: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] });
    const preDNAT = calico('GlobalNetworkPolicy', 'pre-dnat-deny', { selector, preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] });
    withGlobal([untracked, preDNAT], () => assert.deepEqual(verdict(a, b, 80), { allowed: true }));
    const forward = calico('GlobalNetworkPolicy', 'forward-deny', { selector, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] });
    withGlobal([forward], () => assertDenied(verdict(a, b, 80), /GlobalNetworkPolicy forward-deny, ingress rule 1 \(Deny\)/));
  });

  test('a policy Felix would reject (a selector that does not parse) is treated as missing', () => {
    const ns = namespace('invalid');
    const a = pod(ns, 'a', {}, '10.97.13.10');
    const b = pod(ns, 'b', {}, '10.97.13.11');
    calico('NetworkPolicy', 'broken', { selector: 'app = "b"', types: ['Ingress'] }, ns);
    calico('NetworkPolicy', 'broken-rule', { selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Allow', source: { namespaceSelector: 'has(' } }] }, ns);
    calico('NetworkPolicy', 'ports-without-protocol', { selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Allow', destination: { ports: [80] } }] }, ns);
    assert.deepEqual(verdict(a, b, 80), { allowed: true });
    // The processor drops a policy-level namespaceSelector that does not parse from the selector, and Felix keeps the policy.
    const quirk = calico('GlobalNetworkPolicy', 'bad-namespace-selector', { selector: `projectcalico.org/namespace == "${ns}"`, namespaceSelector: 'team ==', types: ['Ingress'], ingress: [{ action: 'Deny' }] });
    withGlobal([quirk], () => assertDenied(verdict(a, b, 80), /bad-namespace-selector, ingress rule 1 \(Deny\)/));
  });
});

describe('what the model refuses to judge', () => {
  test('a policy in another tier, by spec.tier or (before v3.32) by its name\'s prefix, when it selects the endpoint', () => {
    const ns = namespace('tiers');
    const a = pod(ns, 'a', { app: 'a' }, '10.97.14.10');
    const b = pod(ns, 'b', { app: 'b' }, '10.97.14.11');
    calico('NetworkPolicy', 'security.block', { tier: 'security', selector: 'app == "b"', types: ['Ingress'], ingress: [{ action: 'Deny' }] }, ns);
    assertUnjudgeable(verdict(a, b, 80), new RegExp(`^ingress of ${ns}/b: Calico NetworkPolicy ${ns}/security.block selects it and is in tier "security" \\(its spec.tier is "security"\\); tiers other than default are not modelled$`));
    assert.deepEqual(verdict(b, a, 80), { allowed: true }, 'a tier that selects neither end changes nothing');
    calico('NetworkPolicy', 'platform.allow', { selector: 'app == "a"', types: ['Ingress'], ingress: [{ action: 'Allow' }] }, ns);
    assertUnjudgeable(verdict(b, a, 80), /tier "platform" \(Calico v3\.29–v3\.31 take the tier from the name's prefix \("platform\."\)\)/);
  });

  test('a Pass rule that matches, and a default tier whose defaultAction is Pass', () => {
    const ns = namespace('pass');
    const a = pod(ns, 'a', { app: 'a' }, '10.97.15.10');
    const b = pod(ns, 'b', { app: 'b' }, '10.97.15.11');
    calico('NetworkPolicy', 'hand-over', { selector: 'app == "b"', types: ['Ingress'], ingress: [{ action: 'Pass', protocol: 'TCP', destination: { ports: [80] } }] }, ns);
    assertUnjudgeable(verdict(a, b, 80), /hand-over, ingress rule 1: Pass hands the flow to the next tier/);
    assertDenied(verdict(a, b, 81), /default tier's end/, 'a Pass rule that does not match is no Pass');
    const tier = calico('Tier', 'default', { order: 1000000, defaultAction: 'Pass' });
    withGlobal([tier], () => assertUnjudgeable(verdict(a, b, 81), /the default tier's defaultAction is Pass/));
  });

  test('HostEndpoints on a node the flow starts or ends on, and admin network policies', () => {
    const ns = namespace('hep');
    const a = pod(ns, 'a', {}, '10.97.16.10', { node: WORKER1 });
    const b = pod(ns, 'b', {}, '10.97.16.11', { node: WORKER2 });
    const c = pod(ns, 'c', {}, '10.97.16.12', { node: MASTER });
    const hep = calico('HostEndpoint', 'worker-02-eth0', { node: WORKER2, interfaceName: 'eth0', expectedIPs: ['192.168.56.13'] });
    withGlobal([hep], () => {
      assertUnjudgeable(verdict(a, b, 80), new RegExp(`^HostEndpoint worker-02-eth0 on node ${WORKER2}: host endpoint policy is not modelled$`));
      assert.deepEqual(verdict(a, c, 80), { allowed: true });
    });
    const anp = create({ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'cluster-guard' }, spec: { priority: 10, subject: { namespaces: {} }, ingress: [] } });
    withGlobal([anp], () => assertUnjudgeable(verdict(a, c, 80), /AdminNetworkPolicy cluster-guard exist; the admin tiers they make are not modelled/));
  });

  test('HTTP and service matches and source ports, when the rest of the rule matches', () => {
    const ns = namespace('alp');
    const a = pod(ns, 'a', {}, '10.97.17.10');
    const b = pod(ns, 'b', {}, '10.97.17.11');
    calico('NetworkPolicy', 'http', { selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] }, http: { methods: ['GET'] } }, { action: 'Allow', protocol: 'TCP', source: { ports: [5000] } }] }, ns);
    assertUnjudgeable(verdict(a, b, 8080), /http, ingress rule 1: its HTTP match needs the application layer policy/);
    assertUnjudgeable(verdict(a, b, 80), /ingress rule 2: a flow's source port is ephemeral/);
    assertDenied(verdict(a, b, 80, 'UDP'), /default tier's end/);
  });
});

describe('where policy is enforced', () => {
  test('a host reaches pods on its own node unpoliced, but is policed from another node; a hostNetwork pod is its host', () => {
    const ns = namespace('hosts');
    const web = pod(ns, 'web', { app: 'web' }, '10.97.18.10', { node: WORKER1 });
    networkPolicy(ns, 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    assert.deepEqual(verdict(host(WORKER1, '192.168.56.12'), web, 80), { allowed: true });
    assertDenied(verdict(host(WORKER2, '192.168.56.13'), web, 80), /^ingress of .*\/web/);
    const hostPod = pod(ns, 'node-agent', {}, '192.168.56.12', { node: WORKER1, hostNetwork: true });
    assert.deepEqual(verdict(hostPod, web, 80), { allowed: true });
    assertDenied(verdict(web, hostPod, 80), /^egress of .*\/web/, 'the pod\'s egress still applies');
    assert.deepEqual(verdict(host(WORKER2, '192.168.56.13'), hostPod, 22), { allowed: true }, 'hosts have no workload policy');
  });

  test('a stuck Felix keeps enforcing what it had: policies written after it got stuck do not reach its node until it recovers', () => {
    const ns = namespace('stuck');
    const client = pod(ns, 'client', {}, '10.97.19.10', { node: MASTER });
    const onHealthy = pod(ns, 'healthy', { app: 'web' }, '10.97.19.11', { node: WORKER1 });
    const onStuck = pod(ns, 'stuck', { app: 'web' }, '10.97.19.12', { node: WORKER2 });
    const deny = networkPolicy(ns, 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] });
    assertDenied(verdict(client, onStuck, 80), /default-deny/);
    cluster.runtime.network.felixStuck.push(WORKER2);
    try {
      networkPolicy(ns, 'allow-web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] });
      assertAllowed(verdict(client, onHealthy, 80), /allow-web/);
      assertDenied(verdict(client, onStuck, 80), /no rule of NetworkPolicy .*\/default-deny allows it/);
      remove(deny);
      assertDenied(verdict(client, onStuck, 80), /default-deny/, 'a deleted policy stays on the stuck node too');
      const late = namespace('stuck-late');
      const lateServer = pod(late, 'server', {}, '10.97.19.13', { node: WORKER2 });
      networkPolicy(late, 'deny-late', { podSelector: {}, policyTypes: ['Ingress'] });
      assert.deepEqual(verdict(client, lateServer, 80), { allowed: true }, 'a deny written while stuck is not enforced there');
    } finally {
      cluster.runtime.network.felixStuck.splice(cluster.runtime.network.felixStuck.indexOf(WORKER2), 1);
    }
    assertAllowed(verdict(client, onStuck, 80), /allow-web/);
  });

  test('a verdict lists no pods, whatever it looks at', () => {
    const ns = namespace('cost');
    const a = pod(ns, 'a', { app: 'a' }, '10.97.20.10');
    const b = pod(ns, 'b', { app: 'b' }, '10.97.20.11', { node: WORKER2 });
    networkPolicy(ns, 'allow-a', { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }] }] });
    const store = cluster.api.store;
    const list = store.list.bind(store);
    const listed: string[] = [];
    store.list = (key, ...rest) => {
      listed.push(key);
      return list(key, ...rest);
    };
    try {
      for (let i = 0; i < 200; i++) assertAllowed(verdict(a, b, 80), /allow-a/);
    } finally {
      store.list = list;
    }
    assert.deepEqual(listed, []);
  });
});
