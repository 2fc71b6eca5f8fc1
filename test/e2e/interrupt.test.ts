// apply stopped by SIGINT or SIGTERM at ten points (each a line of its own
// output), then run again: the interrupted run exits 130/143 and its report is
// true of the cluster; the re-run converges to what one uninterrupted install leaves.
// Two applies at once converge too.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import type { TestCluster } from '../cluster/cluster.ts';
import { initialized, kubectl, kubectlFor, objectSet, withCluster, type Result } from '../helpers.ts';

const LATENCY = { latencyMs: 20 };

type Env = NodeJS.ProcessEnv;

async function applyAndWait(env: Env, dir: string): Promise<Result> {
  const apply = await kubectl(['calico', 'apply', '--dir', dir], env);
  assert.equal(apply.code, 0, apply.stdout + apply.stderr);
  const wait = await kubectl(['calico', 'wait', '--timeout', '45s'], env);
  assert.equal(wait.code, 0, wait.stdout + wait.stderr);
  return apply;
}

/**
 * Runs apply through kubectl (which execs the plugin, so the signal reaches it) and signals it once its
 * output has `afterLines` lines — or, for 0, as soon as the server has seen its first write.
 */
function interruptedApply(cluster: TestCluster, env: Env, dir: string, afterLines: number, signal: 'SIGINT' | 'SIGTERM'): Promise<Result> {
  const child = spawn(kubectlFor([], env), ['calico', 'apply', '--dir', dir], { env });
  let stdout = '';
  let stderr = '';
  let sent = false;
  const stop = () => {
    if (!sent) child.kill(signal);
    sent = true;
  };
  const firstWrite = afterLines === 0 ? setInterval(() => cluster.requestLog.some((e) => e.method === 'PATCH') && stop(), 2) : undefined;
  child.on('exit', () => clearInterval(firstWrite));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (afterLines > 0 && stdout.split('\n').length > afterLines) stop();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** The store's resource for an apply display name such as `deployment.apps/tigera-operator`. */
function exists(cluster: TestCluster, displayName: string): boolean {
  const [kind, name] = displayName.split('/') as [string, string];
  const [singular, ...group] = kind.split('.');
  const resource = [`${singular}s`, ...group].join('.');
  return [undefined, 'tigera-operator'].some((namespace) => cluster.api.store.get(resource, namespace, name) !== undefined);
}

function listed(report: string, label: string): string[] {
  const line = report.split('\n').find((l) => l.startsWith(`${label}: `));
  const names = line?.slice(label.length + 2);
  return !names || names === 'nothing' ? [] : names.split(', ');
}

let reference: Promise<string[]> | undefined;
/** What one uninterrupted init → apply → wait leaves. */
function uninterrupted(): Promise<string[]> {
  reference ??= withCluster(LATENCY, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    await applyAndWait(env, dir);
    return objectSet(cluster);
  });
  return reference;
}

// The v3.29.0 apply prints 24 CRD lines, the CRD gate, the operator's Namespace, its 4 other objects,
// the operator pod gate, then the Installation and the APIServer (33 lines).
const POINTS: [number, 'SIGINT' | 'SIGTERM', string][] = [
  [0, 'SIGINT', 'as the first writes reach the server'],
  [1, 'SIGTERM', 'after the first CRD'],
  [8, 'SIGINT', 'after 8 CRDs'],
  [17, 'SIGTERM', 'after 17 CRDs'],
  [24, 'SIGINT', 'after the last CRD, before they are Established'],
  [25, 'SIGTERM', 'once the CRDs are Established'],
  [26, 'SIGINT', 'after the operator Namespace'],
  [28, 'SIGTERM', 'in the middle of the operator objects'],
  [30, 'SIGINT', 'while waiting for the operator pod'],
  [31, 'SIGTERM', 'once the operator pod is Ready'],
];

for (const [afterLines, signal, when] of POINTS) {
  test(`${signal} ${when}: exit ${signal === 'SIGINT' ? 130 : 143}, a true report, and a re-run converges`, async () => {
    const expected = await uninterrupted();
    await withCluster(LATENCY, async (cluster) => {
      const { env, dir } = await initialized(cluster);
      const stopped = await interruptedApply(cluster, env, dir, afterLines, signal);
      assert.equal(stopped.code, signal === 'SIGINT' ? 130 : 143, stopped.stdout + stopped.stderr);
      assert.match(stopped.stderr, new RegExp(`^error: interrupted by ${signal}\\napplied: .+\\n(unknown \\(cut off in flight\\): .+\\n)?not applied: .+\\nRe-run "kubectl calico apply" to finish: it converges from any point\\.\\n$`));
      for (const name of listed(stopped.stderr, 'applied')) assert.ok(exists(cluster, name), `${name} is reported applied and is in the cluster`);
      for (const name of listed(stopped.stderr, 'not applied')) assert.ok(!exists(cluster, name), `${name} is reported not applied and is not in the cluster`);
      assert.ok(listed(stopped.stderr, 'not applied').includes('installation.operator.tigera.io/default'));
      const again = await applyAndWait(env, dir);
      for (const name of listed(stopped.stderr, 'applied')) assert.match(again.stdout, new RegExp(`^${name.replaceAll('.', '\\.')} unchanged$`, 'm'), 'what was applied is unchanged by the re-run');
      assert.deepEqual(objectSet(cluster), expected);
    });
  });
}

test('two applies at once both succeed and converge to one install', async () => {
  const expected = await uninterrupted();
  await withCluster(LATENCY, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    const [first, second] = await Promise.all([kubectl(['calico', 'apply', '--dir', dir], env), kubectl(['calico', 'apply', '--dir', dir], env)]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const wait = await kubectl(['calico', 'wait', '--timeout', '45s'], env);
    assert.equal(wait.code, 0, wait.stdout + wait.stderr);
    assert.deepEqual(objectSet(cluster), expected);
    const again = await kubectl(['calico', 'apply', '--dir', dir], env);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, / (created|serverside-applied)$/m, 'a third apply changes nothing');
  });
});
