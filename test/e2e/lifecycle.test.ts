// The rest of the lifecycle through real kubectl against the test cluster:
// upgrade across the v3.30 CRD split and uninstall of everything
// kubectl-calico applied, each run twice, refused when it must be, and
// re-runnable after a failure part-way through.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { startCluster, type TestCluster } from '../cluster/cluster.ts';
import { cleanEnv, initialized, kubectl, kubectlFor, run, SHARED_CALICO, tempDir, withCluster, type Result } from '../helpers.ts';

type Cluster = TestCluster & { kubeconfigPath: string };
type Calico = (...args: string[]) => Promise<Result>;

const CALICO_NAMESPACES = ['calico-system', 'calico-apiserver', 'tigera-operator'];

/** A cluster with Calico v3.29.0 installed by kubectl-calico, as the guide's admin would have it. */
async function installed(cluster: Cluster): Promise<{ calico: Calico; dir: string; env: NodeJS.ProcessEnv }> {
  const { calico, dir, env } = await initialized(cluster);
  // Its own --timeout ends before the test's 60 s process limit, so a stuck install says what is stuck.
  const apply = await calico('apply', '--dir', dir, '--wait', '--timeout', '45s');
  assert.equal(apply.code, 0, apply.stderr + apply.stdout.slice(-3000));
  return { calico, dir, env };
}

/**
 * One cluster with Calico v3.29.0 installed by kubectl-calico, shared by the tests that must leave it as they
 * found it (each asserts that it did: no write, the same folder), so that each does not install it anew.
 */
let unchanging: Promise<{ cluster: Cluster; calico: Calico; dir: string }> | undefined;
const stopUnchanging: (() => Promise<void>)[] = [];
function installedOnce(): Promise<{ cluster: Cluster; calico: Calico; dir: string }> {
  unchanging ??= (async () => {
    const kubeconfigPath = path.join(tempDir('cluster-'), 'kubeconfig');
    const cluster = { ...(await startCluster({ kubeconfigPath })), kubeconfigPath };
    stopUnchanging.push(cluster.stop);
    return { cluster, ...(await installed(cluster)) };
  })();
  return unchanging;
}
after(async () => {
  for (const stop of stopUnchanging) await stop();
});

const upgradeArgs = (dir: string, version = 'v3.30.7') => ['upgrade', '--calico-version', version, '--manifests-from', path.join(SHARED_CALICO, version), '--dir', dir];

/** Every object in the cluster whose managedFields name kubectl-calico. */
function appliedByUs(cluster: Cluster): string[] {
  return cluster.api.store.resources().flatMap((r) => cluster.api.store.list(r)
    .filter((o) => (o.metadata.managedFields ?? []).some((m) => m.manager === 'kubectl-calico'))
    .map((o) => `${r} ${o.metadata.namespace ?? ''}/${o.metadata.name}`));
}

function calicoNamespaces(cluster: Cluster): string[] {
  return cluster.api.store.list('namespaces').map((n) => n.metadata.name).filter((n) => CALICO_NAMESPACES.includes(n));
}

function folderDigest(dir: string): string {
  const hash = createHash('sha256');
  for (const name of fs.readdirSync(dir).sort()) hash.update(name).update(fs.readFileSync(path.join(dir, name)));
  return hash.digest('hex');
}

test('install v3.29.0 → upgrade v3.30.7 --wait → status Available → uninstall --yes leaves nothing; every step twice is safe', async () => {
  await withCluster({}, async (cluster) => {
    const { calico, dir } = await installed(cluster);
    const crds29 = cluster.api.store.list('customresourcedefinitions.apiextensions.k8s.io').length;

    const upgrade = await calico(...upgradeArgs(dir), '--wait', '--timeout', '45s');
    assert.equal(upgrade.code, 0, upgrade.stderr + upgrade.stdout);
    assert.match(upgrade.stdout, /^Upgrading Calico v3\.29\.0 to v3\.30\.7 on Kubernetes v1\.31\.3 \(pools from .*kubectl-calico\.yaml\)$/m);
    // The new order: the CRD bundle, then the operator, then its new pod.
    const order = ['customresourcedefinition.apiextensions.k8s.io/goldmanes.operator.tigera.io created', 'waited: 32 CustomResourceDefinitions Established', 'rolebinding.rbac.authorization.k8s.io/tigera-operator-secrets created', 'deployment.apps/tigera-operator serverside-applied', 'waited: pod tigera-operator/'];
    const positions = order.map((line) => upgrade.stdout.indexOf(line));
    assert.ok(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!)), `in order: ${positions}\n${upgrade.stdout}`);
    assert.match(upgrade.stdout, /^not applied: goldmane\.operator\.tigera\.io\/default, whisker\.operator\.tigera\.io\/default \(new in v3\.30\.7; "kubectl calico apply --dir \S+" creates them\)$/m);
    assert.match(upgrade.stdout, /\nCalico is ready \([\d.]+s\)\.\n/);
    assert.equal(parse(fs.readFileSync(path.join(dir, 'kubectl-calico.yaml'), 'utf8')).calicoVersion, 'v3.30.7', 'the folder moved to v3.30.7');
    const pods = cluster.api.store.list('pods', 'calico-system');
    assert.ok(pods.length > 0 && pods.every((p) => (p.spec as { containers: { image: string }[] }).containers.every((c) => c.image.endsWith(':v3.30.7'))), 'every component runs v3.30.7');

    const again = await calico(...upgradeArgs(dir));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Calico v3\.30\.7 is installed already; applying its CRDs and operator again/);
    assert.doesNotMatch(again.stdout, / (created|serverside-applied)$/m, 'a second upgrade changes nothing');

    const status = await calico('status');
    assert.equal(status.code, 0, status.stdout);
    assert.match(status.stdout, /^Calico v3\.30\.7: Available\n/);
    assert.ok(cluster.api.store.list('customresourcedefinitions.apiextensions.k8s.io').length > crds29);

    const uninstall = await calico('uninstall', '--yes', '--dir', dir);
    assert.equal(uninstall.code, 0, uninstall.stderr + uninstall.stdout);
    assert.match(uninstall.stdout, /^installation\.operator\.tigera\.io "default" deleted$/m);
    const steps = ['installation.operator.tigera.io "default" deleted', 'waited: 2 custom resources and Calico\'s namespaces gone', 'deployment.apps "tigera-operator" deleted', 'namespace "tigera-operator" deleted', 'waited: the operator gone'];
    const at = steps.map((line) => uninstall.stdout.indexOf(`${line}\n`));
    assert.ok(at.every((p, i) => p >= 0 && (i === 0 || p > at[i - 1]!)), `custom resources, then the operator: ${at}\n${uninstall.stdout}`);
    assert.match(uninstall.stdout, /^waited: 32 CustomResourceDefinitions gone$/m);
    assert.match(uninstall.stdout, /^kubernetes-worker-01 +False +CalicoIsUp +Calico is running on this node$/m);
    assert.match(uninstall.stdout, /\/etc\/cni\/net\.d\/10-calico\.conflist/);
    assert.deepEqual(appliedByUs(cluster), [], 'nothing kubectl-calico applied is left, CRDs of both versions included');
    assert.deepEqual(calicoNamespaces(cluster), []);
    assert.ok(!fs.existsSync(path.join(dir, '.kubectl-calico-applied.json')), 'the record of what was applied went with it');

    const twice = await calico('uninstall', '--yes');
    assert.equal(twice.code, 0, twice.stderr);
    assert.match(twice.stdout, /^Nothing to uninstall: no object applied by kubectl-calico is left in this cluster\.\n$/);
  });
});

test('upgrade refuses a downgrade, an untested Kubernetes (unless --force), a cluster without Calico and an edited folder, touching nothing', async () => {
  await withCluster({}, async (cluster) => {
    const home = tempDir('lifecycle-');
    const bare = await kubectl(['calico', ...upgradeArgs(path.join(home, 'none'))], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath, HOME: home }));
    assert.equal(bare.code, 1);
    assert.equal(bare.stderr, 'error: Calico is not installed in this cluster, so there is nothing to upgrade: install it with "kubectl calico init" and "kubectl calico apply"\n');
  });
  {
    const { cluster, calico, dir } = await installedOnce();
    const folder = folderDigest(dir);
    const revision = cluster.api.store.revision();
    const usage: [string[], string][] = [
      [['upgrade', '--dir', dir], 'error: required flag "--calico-version" not set: name the release to upgrade to, such as v3.30.7\n'],
      [['upgrade', '--calico-version', 'latest', '--dir', dir], 'error: invalid --calico-version "latest": expected a release such as v3.30.7\n'],
      [['upgrade', '--calico-version', 'v3.30.7', '--dry-run=maybe', '--dir', dir], 'error: invalid --dry-run "maybe": expected none, client or server\n'],
      [['uninstall', '--yes', '--timeout', 'soon'], 'error: invalid value "soon" for --timeout: expected a duration such as 30s, 2m or 1h\n'],
    ];
    for (const [args, message] of usage) {
      const result = await calico(...args);
      assert.deepEqual([result.code, result.stderr], [2, message], args.join(' '));
    }
    const downgrade = await calico('upgrade', '--calico-version', 'v3.28.2', '--dir', dir);
    assert.equal(downgrade.code, 1, downgrade.stderr);
    assert.equal(downgrade.stderr, 'error: Calico v3.29.0 is installed; v3.28.2 would be a downgrade, which the Tigera operator does not support\n');
    const untested = await calico(...upgradeArgs(dir, 'v3.32.1'));
    assert.equal(untested.code, 1);
    assert.equal(untested.stderr, 'error: Calico v3.32.1 is tested on Kubernetes 1.34, 1.35, 1.36, not 1.31; --calico-version v3.30.7 is; refusing to upgrade (--force upgrades anyway)\n');
    const forced = await calico(...upgradeArgs(dir, 'v3.32.1'), '--force', '--dry-run=server');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /^Warning: Calico v3\.32\.1 is tested on Kubernetes 1\.34, 1\.35, 1\.36, not 1\.31/m);
    const unknown = await calico('upgrade', '--calico-version', 'v3.33.0', '--manifests-from', path.join(SHARED_CALICO, 'v3.32.1'), '--insecure-skip-verify', '--dry-run=client', '--dir', dir);
    assert.equal(unknown.code, 0, unknown.stderr);
    assert.match(unknown.stderr, /^Warning: kubectl-calico does not know which Kubernetes versions Calico v3\.33\.0 is tested on; check its release notes against Kubernetes v1\.31\.3$/m);
    fs.appendFileSync(path.join(dir, 'custom-resources.yaml'), '# my note\n');
    const edited = await calico(...upgradeArgs(dir));
    assert.equal(edited.code, 1);
    assert.match(edited.stderr, /^error: custom-resources\.yaml in \S+ was edited since init; upgrade writes the folder again from the new release and cannot carry that edit over/);
    assert.equal(edited.stderr.split('\n').length, 2, 'one line');
    fs.writeFileSync(path.join(dir, 'custom-resources.yaml'), fs.readFileSync(path.join(dir, 'custom-resources.yaml'), 'utf8').replace('# my note\n', ''));
    assert.equal(folderDigest(dir), folder, 'the folder is as init wrote it');
    assert.equal(cluster.api.store.revision(), revision, 'nothing reached the cluster');
  }
});

test('upgrade without the folder carries the Installation\'s images: UseDefault is the default registry, a value the operator cannot use is one error naming the field', async () => {
  await withCluster({}, async (cluster) => {
    const { calico, env, dir: initDir } = await installed(cluster);
    const home = path.dirname(initDir);
    const patch = (spec: object) => kubectl(['patch', 'installation', 'default', '--type', 'merge', '-p', JSON.stringify({ spec })], env);
    assert.equal((await patch({ registry: 'UseDefault', imagePath: 'UseDefault', imagePrefix: 'UseDefault' })).code, 0);
    const bad = path.join(home, 'bad');
    assert.equal((await patch({ registry: 'https://mirror.example.com' })).code, 0);
    const refused = await calico(...upgradeArgs(bad));
    assert.equal(refused.code, 1, refused.stdout);
    assert.equal(refused.stderr, 'error: the Installation\'s spec.registry "https://mirror.example.com" is not one the operator can use: a registry has no scheme (drop "https://"); expected a registry host with an optional port and path, such as registry.example.com:5000 or registry.example.com/mirror; correct it (kubectl edit installation default) or pass --dir with the folder init wrote\n');
    assert.equal(fs.existsSync(bad), false, 'nothing was written');

    assert.equal((await patch({ registry: 'UseDefault' })).code, 0);
    const dir = path.join(home, 'from-cluster');
    const upgrade = await calico(...upgradeArgs(dir), '-o', 'json');
    assert.equal(upgrade.code, 0, upgrade.stderr);
    const doc = JSON.parse(upgrade.stdout);
    assert.deepEqual([doc.poolsFrom, doc.images], ['installation.operator.tigera.io/default', undefined], 'no mirror to carry');
    assert.match(fs.readFileSync(path.join(dir, 'tigera-operator.yaml'), 'utf8'), /\n\s+image: quay\.io\/tigera\/operator:v1\.38\.\d+\n/);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'custom-resources.yaml'), 'utf8'), /registry:|imagePath:|imagePrefix:|UseDefault/);
    const operator = await kubectl(['get', 'deployment', 'tigera-operator', '-n', 'tigera-operator', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'], env);
    assert.match(operator.stdout, /^quay\.io\/tigera\/operator:v1\.38\.\d+$/);
  });
});

test('upgrade --dry-run=server checks the new release with the API server, changing neither the cluster nor the folder', async () => {
  {
    const { cluster, calico, dir } = await installedOnce();
    const folder = folderDigest(dir);
    const revision = cluster.api.store.revision();
    const result = await calico(...upgradeArgs(dir), '--dry-run=server', '-o', 'json');
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.kind, 'UpgradeResult');
    assert.deepEqual([doc.from, doc.to, doc.dryRun], ['v3.29.0', 'v3.30.7', 'server']);
    assert.deepEqual(doc.ipPools, [{ cidr: '10.97.0.0/16', blockSize: 26, encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()' }]);
    assert.ok(doc.objects.some((o: { name: string; action: string }) => o.name === 'deployment.apps/tigera-operator' && o.action === 'serverside-applied'));
    assert.equal(cluster.api.store.revision(), revision);
    assert.equal(folderDigest(dir), folder);
  }
});

test('an upgrade that fails part-way says what was applied; the re-run finishes it', async () => {
  await withCluster({}, async (cluster) => {
    const { calico, dir } = await installed(cluster);
    cluster.faults.failing = (method, p) => method === 'PATCH' && p.includes('/deployments/tigera-operator');
    const failed = await calico(...upgradeArgs(dir));
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^error: applying deployment\.apps\/tigera-operator: .*injected fault.*\napplied: customresourcedefinition\.apiextensions\.k8s\.io\/.*rolebinding\.rbac\.authorization\.k8s\.io\/tigera-operator-secrets.*\nnot applied: deployment\.apps\/tigera-operator\n$/s);
    cluster.faults.failing = undefined;
    const again = await calico(...upgradeArgs(dir), '--wait', '--timeout', '45s');
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.match(again.stdout, /^deployment\.apps\/tigera-operator serverside-applied$/m);
    assert.match((await calico('status')).stdout, /^Calico v3\.30\.7: Available\n/);
  });
});

test('uninstall needs --yes without a terminal, and asks on one', async () => {
  await withCluster({}, async (cluster) => {
    const { calico, env } = await installed(cluster);
    const revision = cluster.api.store.revision();
    const piped = await calico('uninstall');
    assert.equal(piped.code, 2);
    assert.equal(piped.stderr, 'error: uninstall removes Calico and every pod loses its network: pass --yes to confirm (stdin is not a terminal, so it cannot ask)\n');
    // script(1) gives kubectl calico a terminal; the answer is typed into it.
    const terminal = (answer: string) => run('/bin/sh', ['-c', `printf '${answer}\\n' | script -qec 'kubectl calico uninstall --timeout 45s' /dev/null`], { env });
    const no = await terminal('n');
    assert.equal(no.code, 1, no.stdout);
    assert.match(no.stdout, /This deletes \d+ objects kubectl-calico applied and with them Calico: every pod loses its network until another CNI is installed\. Deleting the CRDs deletes every Calico resource with them \(IP pools, network policies\); --keep-crds keeps them\.\r?\nUninstall Calico\? \[y\/N\] /);
    assert.match(no.stdout, /error: uninstall cancelled: nothing was deleted/);
    assert.equal(cluster.api.store.revision(), revision, 'nothing was deleted');
    const yes = await terminal('y');
    assert.equal(yes.code, 0, yes.stdout);
    assert.deepEqual(appliedByUs(cluster), []);
  });
});

test('uninstall keeps what another tool also manages, naming it, and --keep-crds keeps the CRDs', async () => {
  await withCluster({}, async (cluster) => {
    const { calico, env } = await installed(cluster);
    assert.equal((await kubectl(['label', 'clusterrole', 'tigera-operator', 'team=netops'], env)).code, 0);
    const result = await calico('uninstall', '--yes', '--keep-crds', '-o', 'json');
    assert.equal(result.code, 0, result.stderr);
    const objects = JSON.parse(result.stdout).objects as { name: string; action: string; note?: string }[];
    assert.deepEqual(objects.find((o) => o.name === 'clusterrole.rbac.authorization.k8s.io/tigera-operator'), { name: 'clusterrole.rbac.authorization.k8s.io/tigera-operator', action: 'kept', dryRun: 'none', note: 'also managed by kubectl-label' });
    assert.ok(objects.filter((o) => o.name.startsWith('customresourcedefinition')).every((o) => o.action === 'kept' && o.note === '--keep-crds'));
    assert.deepEqual(appliedByUs(cluster).filter((o) => !o.startsWith('customresourcedefinitions') && !o.startsWith('clusterroles.')), []);
    assert.ok(cluster.api.store.get('clusterroles.rbac.authorization.k8s.io', undefined, 'tigera-operator'));
    assert.equal(cluster.api.store.list('customresourcedefinitions.apiextensions.k8s.io').length, 24);
    assert.deepEqual(calicoNamespaces(cluster), []);
  });
});

test('an uninstall that fails part-way says what was deleted; the re-run finishes it', async () => {
  await withCluster({}, async (cluster) => {
    const { calico } = await installed(cluster);
    cluster.faults.failing = (method, p) => method === 'DELETE' && p.includes('/customresourcedefinitions/ippools.');
    const failed = await calico('uninstall', '--yes');
    assert.equal(failed.code, 1, failed.stdout);
    assert.match(failed.stderr, /^error: deleting customresourcedefinition\.apiextensions\.k8s\.io\/ippools\.crd\.projectcalico\.org: .*injected fault.*\ndeleted: installation\.operator\.tigera\.io\/default, apiserver\.operator\.tigera\.io\/default, deployment\.apps\/tigera-operator, .*namespace\/tigera-operator, .*\nnot deleted: customresourcedefinition\.apiextensions\.k8s\.io\/ippools\.crd\.projectcalico\.org\nRe-run "kubectl calico uninstall" to continue: it starts again from what is in the cluster\.\n$/);
    cluster.faults.failing = undefined;
    const again = await calico('uninstall', '--yes');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io "ippools\.crd\.projectcalico\.org" deleted$/m);
    assert.deepEqual(appliedByUs(cluster), []);
  });
});

test('an uninstall the operator cannot finish (it crash-loops) ends at --timeout naming the finalizer; with the operator back a re-run finishes', async () => {
  await withCluster({}, async (cluster) => {
    const { calico, env } = await installed(cluster);
    // The operator crash-loops from its next start on.
    cluster.runtime.faults.crashingContainers.push('tigera-operator/tigera-operator/tigera-operator');
    assert.equal((await kubectl(['delete', 'pod', '-n', 'tigera-operator', '-l', 'name=tigera-operator', '--wait=false'], env)).code, 0);
    const stuck = await calico('uninstall', '--yes', '--timeout', '3s');
    assert.equal(stuck.code, 124, stuck.stderr);
    assert.match(stuck.stderr, /^error: uninstall did not finish within 3s \(--timeout\); still there:\n  installations\/default: Terminating since \S+, waiting for finalizers tigera\.io\/operator-cleanup \(the operator removes it once calico-system is gone: is the tigera-operator pod running\?\)\n  namespaces\/calico-apiserver: not being deleted\n  namespaces\/calico-system: not being deleted\ndeleted: installation\.operator\.tigera\.io\/default, apiserver\.operator\.tigera\.io\/default\nnot deleted: deployment\.apps\/tigera-operator, .*\nRe-run "kubectl calico uninstall" to continue: it starts again from what is in the cluster\.\n$/);
    cluster.runtime.faults.crashingContainers.length = 0;
    assert.equal((await kubectl(['delete', 'pod', '-n', 'tigera-operator', '-l', 'name=tigera-operator', '--wait=false'], env)).code, 0);
    const again = await calico('uninstall', '--yes', '--timeout', '45s');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(appliedByUs(cluster), []);
    assert.deepEqual(calicoNamespaces(cluster), []);
  });
});

test('uninstall --dry-run=server lists what it would delete and changes nothing', async () => {
  {
    const { cluster, calico } = await installedOnce();
    const revision = cluster.api.store.revision();
    const sent = cluster.requestLog.length;
    const result = await calico('uninstall', '--dry-run=server');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^installation\.operator\.tigera\.io "default" deleted \(server dry run\)$/m);
    assert.match(result.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io "ippools\.crd\.projectcalico\.org" deleted \(server dry run\)$/m);
    assert.doesNotMatch(result.stdout, /^waited:/m);
    assert.equal(cluster.api.store.revision(), revision);
    const deletes = cluster.requestLog.slice(sent).filter((e) => e.method === 'DELETE');
    assert.ok(deletes.length > 0 && deletes.every((e) => e.path.includes('dryRun=All')));
  }
});

test('CRDs of every version go: v3.30.7 → v3.32.1 (which drops two policy CRDs) on Kubernetes v1.34.2, then uninstall', async () => {
  await withCluster({ kubernetesVersion: 'v1.34.2' }, async (cluster) => {
    const { calico, dir } = await initialized(cluster, 'v3.30.7');
    assert.equal((await calico('apply', '--dir', dir, '--wait', '--timeout', '45s')).code, 0);
    const upgrade = await calico(...upgradeArgs(dir, 'v3.32.1'), '--wait', '--timeout', '45s', '-o', 'json');
    assert.equal(upgrade.code, 0, upgrade.stderr);
    const doc = JSON.parse(upgrade.stdout);
    assert.deepEqual([doc.kind, doc.from, doc.to, doc.notApplied], ['UpgradeResult', 'v3.30.7', 'v3.32.1', []], 'stdout is one document; the wait went to stderr');
    assert.match(upgrade.stderr, /Calico is ready/);
    const crds = cluster.api.store.list('customresourcedefinitions.apiextensions.k8s.io').map((c) => c.metadata.name);
    assert.ok(crds.includes('baselineadminnetworkpolicies.policy.networking.k8s.io') && crds.includes('clusternetworkpolicies.policy.networking.k8s.io'), 'v3.30.7\'s and v3.32.1\'s CRDs are both there');
    const uninstall = await calico('uninstall', '--yes');
    assert.equal(uninstall.code, 0, uninstall.stderr);
    assert.match(uninstall.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io "baselineadminnetworkpolicies\.policy\.networking\.k8s\.io" deleted$/m);
    assert.deepEqual(appliedByUs(cluster), []);
    assert.deepEqual(cluster.api.store.list('customresourcedefinitions.apiextensions.k8s.io'), []);
  });
});

test('SIGINT during uninstall exits 130 saying what was and was not deleted; a re-run finishes', async () => {
  await withCluster({ latencyMs: 20 }, async (cluster) => {
    const { env } = await installed(cluster);
    const stopped = await new Promise<Result>((resolve) => {
      const child = spawn(kubectlFor([], env), ['calico', 'uninstall', '--yes'], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('deployment.apps "tigera-operator" deleted')) child.kill('SIGINT');
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    assert.equal(stopped.code, 130, stopped.stdout + stopped.stderr);
    assert.match(stopped.stderr, /^error: interrupted by SIGINT\ndeleted: installation\.operator\.tigera\.io\/default, apiserver\.operator\.tigera\.io\/default, deployment\.apps\/tigera-operator.*\nnot deleted: .*customresourcedefinition\.apiextensions\.k8s\.io\/ippools\.crd\.projectcalico\.org.*\nRe-run "kubectl calico uninstall" to continue/);
    const again = await kubectl(['calico', 'uninstall', '--yes'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(appliedByUs(cluster), []);
    assert.deepEqual(calicoNamespaces(cluster), []);
  });
});

test('--dry-run=client prints what upgrade would apply and uninstall would delete, without a write', async () => {
  {
    const { cluster, calico, dir } = await installedOnce();
    const folder = folderDigest(dir);
    const writes = () => cluster.requestLog.filter((e) => e.method !== 'GET').length;
    const before = writes();
    const upgrade = await calico(...upgradeArgs(dir), '--dry-run=client');
    assert.equal(upgrade.code, 0, upgrade.stderr);
    assert.match(upgrade.stdout, /^deployment\.apps\/tigera-operator serverside-applied \(dry run\)$/m);
    const uninstall = await calico('uninstall', '--dry-run=client', '-o', 'yaml');
    assert.equal(uninstall.code, 0, uninstall.stderr);
    const doc = parse(uninstall.stdout);
    assert.equal(doc.kind, 'UninstallResult');
    assert.ok(doc.objects.some((o: { name: string; action: string; dryRun: string }) => o.name === 'namespace/tigera-operator' && o.action === 'deleted' && o.dryRun === 'client'));
    assert.equal(writes(), before, 'no request but reads');
    assert.equal(folderDigest(dir), folder);
  }
});
