// Policies through real kubectl against the test cluster with Calico
// installed: apply of Kubernetes NetworkPolicies and a Calico
// GlobalNetworkPolicy, what get and describe show, which resource
// `networkpolicy` means when Calico's CRD of the same name exists, and the
// verdicts the applied objects lead to.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { policyVerdict, type Endpoint } from '../cluster/dataplane/policy.ts';
import { cleanEnv, kubectl, withCluster } from '../helpers.ts';

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-frontend
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  ingress:
  - from:
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - port: 8080
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata:
  name: deny-all-but-dns
spec:
  namespaceSelector: kubernetes.io/metadata.name == "shop"
  types:
  - Egress
  egress:
  - action: Allow
    protocol: UDP
    destination:
      selector: k8s-app == "kube-dns"
      ports: [53]
  - action: Allow
    protocol: TCP
    destination:
      selector: k8s-app == "kube-dns"
      ports: [53]
  - action: Deny
`;

test('kubectl apply, get and describe of NetworkPolicies and a GlobalNetworkPolicy; `networkpolicy` means networking.k8s.io', async () => {
  await withCluster({ calico: 'v3.29.0' }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const k = (...args: string[]) => kubectl(args, env);
    const file = path.join(path.dirname(cluster.kubeconfigPath), 'policies.yaml');
    fs.writeFileSync(file, MANIFESTS);

    const applied = await k('apply', '-f', file);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, [
      'namespace/shop created',
      'networkpolicy.networking.k8s.io/default-deny created',
      'networkpolicy.networking.k8s.io/allow-frontend created',
      'globalnetworkpolicy.crd.projectcalico.org/deny-all-but-dns created',
      '',
    ].join('\n'));
    // kubectl diffs the atomic ingress list against the live one, where the server defaulted protocol: TCP.
    const again = await k('apply', '-f', file);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^networkpolicy\.networking\.k8s\.io\/default-deny unchanged\nnetworkpolicy\.networking\.k8s\.io\/allow-frontend configured$/m);
    const ports = await k('get', 'netpol', 'allow-frontend', '-n', 'shop', '-o', 'jsonpath={.spec.ingress[0].ports}');
    assert.deepEqual(JSON.parse(ports.stdout), [{ port: 8080, protocol: 'TCP' }]);

    for (const name of ['networkpolicy', 'networkpolicies', 'netpol']) {
      const got = await k('get', name, '-n', 'shop');
      assert.equal(got.code, 0, got.stderr);
      const lines = got.stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'NAME             POD-SELECTOR   AGE', name);
      assert.match(lines[1]!, /^allow-frontend   app=web        \d+s$/);
      assert.match(lines[2]!, /^default-deny     <none>         \d+s$/);
    }
    const calicoKind = await k('get', 'networkpolicies.crd.projectcalico.org', '-A');
    assert.equal(calicoKind.code, 0, calicoKind.stderr);
    assert.match(calicoKind.stderr, /^No resources found$/m, 'the Kubernetes policies are not stored as Calico ones');
    const gnp = await k('get', 'globalnetworkpolicies', '-o', 'name');
    assert.equal(gnp.stdout, 'globalnetworkpolicy.crd.projectcalico.org/deny-all-but-dns\n');

    const yaml = await k('get', 'netpol', 'default-deny', '-n', 'shop', '-o', 'jsonpath={.spec}');
    assert.deepEqual(JSON.parse(yaml.stdout), { podSelector: {}, policyTypes: ['Ingress'] });

    const described = await k('describe', 'networkpolicy', 'allow-frontend', '-n', 'shop');
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /^Name: +allow-frontend$/m);
    assert.match(described.stdout, /^ {2}PodSelector: +app=web$/m);
    assert.match(described.stdout, /^ {4}To Port: 8080\/TCP$/m);
    assert.match(described.stdout, /^ {6}PodSelector: role=frontend$/m);
    assert.match(described.stdout, /^ {2}Policy Types: Ingress$/m);

    const invalid = path.join(path.dirname(cluster.kubeconfigPath), 'invalid.yaml');
    fs.writeFileSync(invalid, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: both\n  namespace: shop\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n      podSelector: {}\n');
    const refused = await k('apply', '-f', invalid);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /The NetworkPolicy "both" is invalid: spec\.ingress\[0\]\.from\[0\]: Forbidden: may not specify both ipBlock and another peer/);

    // What the applied objects do, as the reachability model will ask.
    const api = cluster.api;
    const pod = (name: string, labels: Record<string, string>, node: string, ip: string): Endpoint => ({
      ip, node, pod: api.create(api.registry.byKey('pods')!, 'shop', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop', labels }, spec: { nodeName: node, containers: [{ name: 'agnhost', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52' }] } }, { fieldManager: 'test' }),
    });
    const web = pod('web', { app: 'web' }, 'kubernetes-worker-01', '10.97.1.10');
    const frontend = pod('frontend', { role: 'frontend' }, 'kubernetes-worker-02', '10.97.2.10');
    const coredns = api.store.list('pods', 'kube-system').find((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns')!;
    const dns: Endpoint = { ip: '10.97.0.5', node: (coredns.spec as { nodeName: string }).nodeName, pod: coredns };
    const verdict = (src: Endpoint, dst: Endpoint, protocol: 'TCP' | 'UDP', port: number) => policyVerdict(cluster.runtime, { src, dst, protocol, port });
    assert.deepEqual(verdict(frontend, dns, 'UDP', 53), { allowed: true, by: 'egress of shop/frontend: GlobalNetworkPolicy deny-all-but-dns, egress rule 1 (Allow)' });
    assert.deepEqual(verdict(frontend, web, 'TCP', 8080), { allowed: false, by: 'egress of shop/frontend: GlobalNetworkPolicy deny-all-but-dns, egress rule 3 (Deny)' });
    assert.deepEqual(verdict(dns, web, 'TCP', 8080), { allowed: false, by: "ingress of shop/web: no rule of NetworkPolicy shop/allow-frontend, NetworkPolicy shop/default-deny allows it (the default tier's end drops it)" });

    const deleted = await k('delete', 'globalnetworkpolicy', 'deny-all-but-dns');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(verdict(frontend, web, 'TCP', 8080), { allowed: true, by: 'ingress of shop/web: NetworkPolicy shop/allow-frontend, ingress rule 1 (Allow)' });
  });
});
