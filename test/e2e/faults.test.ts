// init → apply → wait against a test cluster that fails 10 % of requests
// (500, or 429 with Retry-After), adds latency and drops every watch after
// 2 s: the plugin retries and resumes, and ends with the objects of a clean run.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { ClusterOptions } from '../cluster/cluster.ts';
import { initialized, kubectl, objectSet, seeded, SHARED_CALICO, withCluster } from '../helpers.ts';

async function install(options: ClusterOptions): Promise<{ objects: string[]; installation: unknown; log: { status: number; path: string }[] }> {
  return withCluster(options, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    const apply = await kubectl(['calico', 'apply', '--dir', dir], env);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /^installation\.operator\.tigera\.io\/default created$/m);
    const wait = await kubectl(['calico', 'wait', '--timeout', '45s'], env);
    assert.equal(wait.code, 0, wait.stderr + wait.stdout);
    assert.match(wait.stdout, /\nCalico is ready \([\d.]+s\)\.\n/);
    const installation = cluster.api.store.get('installations.operator.tigera.io', undefined, 'default')?.spec;
    return { objects: objectSet(cluster), installation, log: cluster.requestLog.map((e) => ({ status: e.status, path: e.path })) };
  });
}

test('with 10 % of requests failing, 30 ms latency and watches dropped after 2 s, the install ends like a clean one', async () => {
  const clean = await install({});
  const faulty = await install({ errorRate: 0.1, latencyMs: 30, dropWatchesAfterSeconds: 2, random: seeded(11) });
  const injected = faulty.log.filter((e) => e.status === 500 || e.status === 429);
  assert.ok(injected.length >= 3, `faults were injected (${injected.length})`);
  assert.deepEqual(faulty.objects, clean.objects);
  assert.deepEqual(faulty.installation, clean.installation);
});

test('a server that fails every request ends apply with one clear error after its retries, not a hang', { timeout: 60_000 }, async () => {
  await withCluster({}, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    cluster.faults.errorRate = 1;
    const started = Date.now();
    const apply = await kubectl(['calico', 'apply', '--dir', dir], env);
    assert.equal(apply.code, 1, apply.stdout + apply.stderr);
    // One line naming the object and the server's answer (the last of its retries), no stack trace.
    assert.match(apply.stderr, /^error: applying customresourcedefinition\.apiextensions\.k8s\.io\/\S+: .+\n$/);
    assert.equal(cluster.api.store.list('customresourcedefinitions.apiextensions.k8s.io').length, 0, 'nothing was applied');
    assert.ok(cluster.requestLog.filter((e) => e.status >= 429).length >= 6, 'it retried');
    process.stderr.write(`# a persistently failing server ended apply after ${Date.now() - started} ms\n`);
  });
});

test('upgrade and uninstall retry and resume too: with 10 % of requests failing, the cluster ends as it was before the install', async () => {
  await withCluster({}, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    // init only reads; by now the controllers have made every namespace's default ServiceAccount and root CA.
    const before = objectSet(cluster);
    assert.equal((await kubectl(['calico', 'apply', '--dir', dir, '--wait', '--timeout', '45s'], env)).code, 0);
    Object.assign(cluster.faults, { errorRate: 0.1, latencyMs: 20, dropWatchesAfterMs: 2000, random: seeded(5) });
    const upgrade = await kubectl(['calico', 'upgrade', '--calico-version', 'v3.30.7', '--manifests-from', path.join(SHARED_CALICO, 'v3.30.7'), '--dir', dir, '--wait', '--timeout', '45s'], env);
    assert.equal(upgrade.code, 0, upgrade.stderr + upgrade.stdout);
    assert.equal((cluster.api.store.get('installations.operator.tigera.io', undefined, 'default')?.status as { calicoVersion?: string } | undefined)?.calicoVersion, 'v3.30.7');
    const uninstall = await kubectl(['calico', 'uninstall', '--yes', '--timeout', '45s'], env);
    assert.equal(uninstall.code, 0, uninstall.stderr + uninstall.stdout);
    const injected = cluster.requestLog.filter((e) => e.status === 500 || e.status === 429);
    assert.ok(injected.length >= 3, `faults were injected (${injected.length})`);
    assert.deepEqual(objectSet(cluster), before, 'every object the install, the upgrade and the operator made is gone');
  });
});

test('watches that resume from a resourceVersion the server no longer has (410 Expired) list again and go on', async () => {
  // Pulls take 1.5 s, so the nodes stay NotReady for seconds after apply: the wait's watch is cut several times
  // whatever the machine's speed (with the fast default timings a quick rollout could end before the first cut).
  await withCluster({ latencyMs: 10, timings: { imagePull: 1500 } }, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    // Every watch is cut after 300 ms, and only the last 2 changes can be resumed across: most resumes get 410.
    cluster.api.store.historyLimit = 2;
    cluster.faults.dropWatchesAfterMs = 300;
    const apply = await kubectl(['calico', 'apply', '--dir', dir, '--wait', '--timeout', '45s'], env);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    assert.match(apply.stdout, /\nCalico is ready \([\d.]+s\)\.\n/);
    const lists = (p: string) => cluster.requestLog.filter((e) => e.method === 'GET' && e.path.startsWith(`${p}?`) && !e.path.includes('watch=true')).length;
    const watches = (p: string) => cluster.requestLog.filter((e) => e.path.startsWith(`${p}?`) && e.path.includes('watch=true') && /resourceVersion=\d+/.test(e.path)).length;
    assert.ok(watches('/api/v1/nodes') >= 2, 'the nodes watch resumed from a resourceVersion');
    assert.ok(lists('/api/v1/nodes') >= 2, `the nodes were listed again after a 410 (${lists('/api/v1/nodes')} lists)`);
  });
});
