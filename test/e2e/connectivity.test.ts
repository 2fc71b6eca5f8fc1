// kubectl calico connectivity on the test cluster: a healthy install passes
// every scenario and leaves nothing behind, in every output form (the JUnit
// valid against the Jenkins schema); Ctrl-C, a second Ctrl-C and --timeout;
// a re-run over a killed run's leftovers; the permissions it needs, named
// before anything is created, and the ClusterRole that is exactly enough;
// bad input. The data-plane faults and their findings: connectivity-faults.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { BINARY, cleanEnv, kubectl, plugin, ROOT, tempDir, UNPULLABLE, withCluster, type Result } from '../helpers.ts';
import { junitErrors } from '../junit.ts';
import { connectivity, leftovers, NS, TIMEOUT, type Report } from '../connectivity.ts';

const OPTIONAL = new Set(['pod-to-external', 'pod-to-pod-same-node-ipv6', 'pod-to-pod-cross-node-ipv6', 'pod-to-service-ipv6']);

test('a healthy install passes every scenario, in every form, and nothing is left behind; --keep and a re-run reuse the namespace', async () => {
  await withCluster({ calico: 'v3.29.0', outside: [{ ip: '203.0.113.10', listeners: [{ port: 443, protocol: 'TCP', server: 'other' }] }] }, async (cluster) => {
    const { code, report, stderr } = await connectivity(cluster);
    assert.equal(report.kind, 'ConnectivityReport');
    for (const s of report.scenarios) assert.equal(s.result, OPTIONAL.has(s.name) ? 'SKIP' : 'PASS', `${s.name}: ${JSON.stringify(report.probes.filter((p) => p.scenario === s.name && p.result !== 'PASS'))}`);
    assert.equal(code, 0, stderr);
    assert.deepEqual(report.findings, []);
    assert.deepEqual(report.nodes, { selected: 3, probed: 3, notProbed: [] });
    assert.deepEqual(report.pairs, { probed: 6, total: 6 });
    const cross = report.probes.filter((p) => p.scenario === 'pod-to-pod-cross-node');
    assert.equal(cross.length, 6);
    for (const p of cross) {
      assert.match(p.from.pod, /^client-/);
      assert.match(p.to.pod!, /^echo-/);
      assert.notEqual(p.from.node, p.to.node);
      assert.match(p.to.ip!, /^10\.97\./);
    }
    assert.equal(report.cleanup, 'deleted');
    assert.deepEqual(leftovers(cluster), [], 'the namespace and everything in it are gone');
    assert.match(stderr, /namespace\/calico-connectivity created\n/);

    const junit = await plugin(['connectivity', '-o', 'junit', ...TIMEOUT, '--test', 'pod-to-pod,!ipv6'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(junit.code, 0, junit.stderr);
    assert.deepEqual(await junitErrors(junit.stdout), []);
    assert.match(junit.stdout, /<testsuite name="calico-connectivity" tests="2" failures="0" errors="0" skipped="0"/);
    assert.match(junit.stdout, /<testcase classname="calico\.connectivity" name="pod-to-pod-cross-node" time="[\d.]+"><system-out>6\/6 probes passed: /);

    // As a user sees it: through kubectl, in a pipe; the table, the summary, then what was removed.
    const table = await kubectl(['calico', 'connectivity', ...TIMEOUT, '--keep', '--test', '!ingress|egress'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /\nSCENARIO {21}FROM {15}TO +RESULT   DETAIL\npod-to-pod-same-node {9}3 nodes {12}same node +PASS     3\/3 probes passed\n/);
    assert.match(table.stdout, /\n\d+ scenarios: \d+ passed, 0 failed, \d+ skipped; \d+ probes: \d+ passed, 0 failed, 0 not run; 3 of 3 nodes probed, 6 of 6 cross-node pairs \([\d.]+s\)\.\n/);
    assert.match(table.stdout, /\nKept namespace calico-connectivity \(--keep\); delete it with: kubectl delete namespace calico-connectivity\n$/);
    assert.ok(leftovers(cluster).includes(`namespaces ${NS}`));
    // A re-run takes over what the kept run left.
    const again = await connectivity(cluster, '--test', 'pod-to-pod-same-node');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /namespace\/calico-connectivity reused \(an earlier run's\)\n/);
    assert.deepEqual(leftovers(cluster), []);

    // Some nodes, by name or by label; YAML.
    const two = await connectivity(cluster, '--nodes', 'kubernetes-master-01,kubernetes-worker-02', '--test', 'pod-to-pod');
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual([two.report.nodes.selected, two.report.pairs], [2, { probed: 2, total: 2 }]);
    assert.ok(two.report.probes.every((p) => [p.from.node, p.to.node].every((n) => n === 'kubernetes-master-01' || n === 'kubernetes-worker-02')));
    const one = await plugin(['connectivity', '-o', 'yaml', ...TIMEOUT, '-l', 'kubernetes.io/hostname=kubernetes-worker-01', '--test', 'pod-to-pod'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(one.code, 0, one.stderr);
    const doc = parseYaml(one.stdout) as Report & { apiVersion: string };
    assert.deepEqual([doc.apiVersion, doc.kind, doc.nodes.selected], ['kubectl-calico/v1alpha1', 'ConnectivityReport', 1]);
    assert.deepEqual(doc.scenarios.find((s) => s.name === 'pod-to-pod-cross-node'), { name: 'pod-to-pod-cross-node', summary: doc.scenarios.find((s) => s.name === 'pod-to-pod-cross-node')!.summary, result: 'SKIP', reason: 'only one node is probed', probes: { passed: 0, failed: 0, errors: 0, skipped: 0 } });
    const unknown = await plugin(['connectivity', ...TIMEOUT, '--nodes', 'kubernetes-worker-09'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'error: --nodes: node "kubernetes-worker-09" not found\nNothing was created.\n']);

    // Outside the cluster, only with --external-target: what answers there passes, what does not fails as it is.
    const outside = await connectivity(cluster, '--test', 'pod-to-external', '--external-target', '203.0.113.10:443');
    assert.equal(outside.code, 0, outside.stderr);
    assert.deepEqual(outside.report.scenarios.map((s) => [s.name, s.result]), [['pod-to-external', 'PASS']]);
    const nowhere = await connectivity(cluster, '--test', 'pod-to-external', '--external-target', '203.0.113.99:443');
    assert.equal(nowhere.code, 1);
    assert.deepEqual(nowhere.report.findings.map((f) => f.id), ['outside-unreachable']);
    assert.match(nowhere.report.findings[0]!.cause, /^pods on kubernetes-master-01, kubernetes-worker-01 and kubernetes-worker-02 cannot reach 203\.0\.113\.99:443 outside the cluster \(3 of 3 probes; e\.g\. TIMEOUT\); default-ipv4-ippool natOutgoing true: the nodes' own way out/);

    // A run killed outright leaves its namespace; the next run takes it over and removes it.
    await new Promise<void>((resolve) => {
      const child = spawn(BINARY, ['connectivity', ...TIMEOUT], { env: cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }) });
      child.stdout.on('data', (chunk: Buffer) => {
        if (/pods: [1-9]\d*\/8 ready/.test(chunk.toString())) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    assert.ok(leftovers(cluster).includes(`namespaces ${NS}`), 'SIGKILL leaves the namespace');
    const after = await connectivity(cluster, '--test', 'pod-to-pod');
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(leftovers(cluster), []);
  });
});

/** Runs the binary, sending `signal` once `ready` matches what it has printed (and again for each further match of `again`). */
function interrupted(cluster: { kubeconfigPath: string }, args: string[], ready: RegExp, again?: RegExp): Promise<Result> {
  const child = spawn(BINARY, ['connectivity', ...args], { env: cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }) });
  let stdout = '';
  let stderr = '';
  let sent = 0;
  const check = () => {
    const text = stdout + stderr;
    if (sent === 0 && ready.test(text)) {
      sent++;
      child.kill('SIGINT');
    } else if (sent === 1 && again?.test(text.slice(text.search(ready)))) {
      sent++;
      child.kill('SIGINT');
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    check();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    check();
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

test('Ctrl-C cleans up and exits 130; a second Ctrl-C stops the clean-up at once and names the command; --timeout cleans up and exits 124', async () => {
  await withCluster({ calico: 'v3.29.0', latencyMs: 20 }, async (cluster) => {
    const first = await interrupted(cluster, TIMEOUT, /pods: \d+\/8 ready/);
    assert.equal(first.code, 130, first.stderr);
    assert.match(first.stderr, /^error: interrupted by SIGINT\nEverything the test created was removed \(namespace calico-connectivity\)\.\n$/m);
    assert.deepEqual(leftovers(cluster), []);

    // A namespace that will not go: a finalizer another controller would remove.
    const hold = setInterval(() => {
      const ns = cluster.api.store.get('namespaces', undefined, NS);
      if (ns && !(ns.metadata.finalizers ?? []).includes('example.com/hold')) {
        cluster.api.mutate(cluster.api.registry.byKey('namespaces')!, undefined, NS, (o) => void (o.metadata.finalizers = [...(o.metadata.finalizers ?? []), 'example.com/hold']), { fieldManager: 'test' });
      }
    }, 5);
    const twice = await interrupted(cluster, TIMEOUT, /pods: \d+\/8 ready/, /cleaning up/);
    clearInterval(hold);
    assert.equal(twice.code, 130, twice.stderr);
    assert.match(twice.stderr, /clean-up stopped \(interrupted by SIGINT\): namespace calico-connectivity may be left; remove it with: kubectl delete namespace calico-connectivity\n$/);
    cluster.api.mutate(cluster.api.registry.byKey('namespaces')!, undefined, NS, (o) => void (o.metadata.finalizers = []), { fieldManager: 'test' });

    // Every request 200 ms late: a 2 s budget runs out part-way (after the namespace is made: six round trips in).
    cluster.faults.latencyMs = 200;
    const timedOut = await plugin(['connectivity', '--timeout', '2s'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    cluster.faults.latencyMs = 20;
    assert.equal(timedOut.code, 124, timedOut.stderr);
    // Which phase 2 s reach depends on the machine's speed: any is named, as the run names it.
    assert.match(timedOut.stderr, /^error: connectivity did not finish within 2s \(--timeout\): still running: (deploying|probing|applying the [\w-]+ policies)\S*.*\nEverything the test created was removed \(namespace calico-connectivity\)\.\n$/m);
    assert.deepEqual(leftovers(cluster), []);
  });
});

/** The ClusterRole that is exactly enough for connectivity (the README prints the same, between <!-- rbac:connectivity --> marks). */
const CONNECTIVITY_ROLE = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubectl-calico-connectivity
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [nodes]
  verbs: [list]
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [get, create]
- apiGroups: [""]
  resources: [services]
  verbs: [create, patch]
- apiGroups: [""]
  resources: [events]
  verbs: [list]
- apiGroups: [apps]
  resources: [daemonsets]
  verbs: [create, patch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, create, patch, delete]
- apiGroups: [crd.projectcalico.org]
  resources: [ippools]
  verbs: [list]
- apiGroups: [operator.tigera.io]
  resources: [installations]
  verbs: [get]
`;

test('the README\'s ClusterRole is exactly what connectivity needs; without pods/exec it names the permission and creates nothing', async () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- rbac:connectivity -->\n```yaml\n([\s\S]*?)```\n<!-- \/rbac:connectivity -->/.exec(readme);
  if (block) assert.equal(block[1], CONNECTIVITY_ROLE, 'the README prints the role this test binds');
  await withCluster({ calico: 'v3.29.0', kubernetesVersion: 'v1.35.0' }, async (cluster) => {
    const role = parseYaml(CONNECTIVITY_ROLE) as { metadata: { name: string }; rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    const write = { fieldManager: 'test' };
    const bind = (user: string, rules: object[]) => {
      const name = `connectivity-${user}`;
      cluster.api.create(cluster.api.registry.byKey('clusterroles.rbac.authorization.k8s.io')!, undefined, { ...role, metadata: { name }, rules } as never, write);
      cluster.api.create(cluster.api.registry.byKey('clusterrolebindings.rbac.authorization.k8s.io')!, undefined, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }] }, write);
      return cluster.addUser(user);
    };
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });

    // Nothing in the role is spare: without any one of its verbs the run stops before anything is created, naming it.
    for (const [i, rule] of role.rules.entries()) {
      for (const verb of rule.verbs) {
        const user = `without-${rule.resources[0]!.replace('/', '-')}-${verb}`;
        const token = bind(user, role.rules.map((r, j) => (j === i ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r)));
        const result = await plugin(['connectivity', '--token', token, ...TIMEOUT], env);
        assert.equal(result.code, 1, user);
        assert.match(result.stderr, new RegExp(`^error: connectivity needs permissions that are not granted: (.*, )?${verb} ${rule.resources[0]!.replace('/', '\\/')}(\\.\\S+)?( in namespace \\S+)?(, .*)?; nothing was created\\n$`), user);
      }
    }
    assert.deepEqual(leftovers(cluster), []);

    const noExec = bind('no-exec', role.rules.filter((r) => !r.resources.includes('pods/exec')));
    const before = cluster.requestLog.length;
    const refused = await plugin(['connectivity', '--token', noExec, ...TIMEOUT], env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'error: connectivity needs permissions that are not granted: get pods/exec in namespace calico-connectivity, create pods/exec in namespace calico-connectivity, get pods/exec in namespace calico-system, create pods/exec in namespace calico-system; nothing was created\n');
    assert.equal(refused.stdout, '');
    const sent = cluster.requestLog.slice(before).filter((e) => e.method !== 'GET' && !e.path.endsWith('/selfsubjectaccessreviews'));
    assert.deepEqual(sent, [], 'nothing but access reviews was sent');
    assert.deepEqual(leftovers(cluster), []);

    const exact = bind('exact', role.rules);
    const allowed = await plugin(['connectivity', '--token', exact, '-o', 'json', ...TIMEOUT, '--test', '!external|ipv6'], env);
    assert.doesNotMatch(allowed.stderr, /not granted|forbidden/i);
    const report = JSON.parse(allowed.stdout) as Report;
    assert.deepEqual(report.scenarios.filter((s) => s.result !== 'PASS'), []);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual(leftovers(cluster), []);
  });
});

test('an image the nodes cannot pull: the run ends, says so and how to mirror it, and removes what it made', async () => {
  await withCluster({ calico: 'v3.29.0', podFaults: { failingImages: [UNPULLABLE] } }, async (cluster) => {
    const result = await plugin(['connectivity', '--image', `${UNPULLABLE}:2.52`, ...TIMEOUT], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: no connectivity pod became ready: \S+ on kubernetes-\S+: ImagePullBackOff: container agnhost cannot pull image example\.invalid\/unpullable:2\.52.*\nEverything the test created was removed \(namespace calico-connectivity\)\.\n$/m);
    assert.deepEqual(leftovers(cluster), []);
  });
});

test('bad input is one error line, exit 2, before anything is sent', async () => {
  const home = tempDir('connectivity-bad-');
  const env = cleanEnv({ HOME: home, KUBECONFIG: path.join(home, 'missing') });
  const cases: [string[], RegExp][] = [
    [['-o', 'wide'], /^error: unable to match a printer suitable for the output format "wide", allowed formats are: table,json,yaml,junit\n$/],
    [['--test', '('], /^error: invalid --test "\(": .*\n$/],
    [['--test', 'nothing-like-this'], /^error: --test nothing-like-this selects no scenario; the scenarios are: pod-to-pod-same-node, /],
    [['--namespace', 'Not_A_Namespace'], /^error: invalid --namespace "Not_A_Namespace": a namespace is a DNS label/],
    [['--max-pairs', 'many'], /^error: invalid --max-pairs "many": expected a whole number\n$/],
    [['--external-target', 'example.com'], /^error: invalid --external-target "example\.com": expected HOST:PORT/],
    [['-l', 'zone in (a'], /^error: invalid --selector "zone in \(a": /],
    [['--nodes', 'a,,b'], /^error: invalid --nodes "a,,b": expected node names separated by commas\n$/],
    [['--timeout', 'soon'], /^error: invalid value "soon" for --timeout: /],
  ];
  for (const [args, message] of cases) {
    const result = await plugin(['connectivity', ...args], env);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
    assert.equal(result.stdout, '');
  }
});
