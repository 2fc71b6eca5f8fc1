// Shared by the connectivity e2e tests: the command as a user runs it, its
// report, and what it left in the test cluster.
import assert from 'node:assert/strict';
import type { ClusterOptions, TestCluster } from './cluster/cluster.ts';
import { ManualClock } from './cluster/clock.ts';
import { cleanEnv, plugin, withCluster } from './helpers.ts';

export const NS = 'calico-connectivity';
/** Below the test runner's 60 s limit: a stuck run says what is stuck. */
export const TIMEOUT = ['--timeout', '45s'];

export interface Report {
  kind: string;
  namespace: string;
  image: string;
  nodes: { selected: number; probed: number; notProbed: { node: string; reason: string }[] };
  pairs: { probed: number; total: number };
  scenarios: { name: string; summary: string; result: string; reason?: string; probes: Record<string, number> }[];
  probes: { scenario: string; from: { pod: string; node: string; ip: string; host: boolean }; to: { kind: string; pod?: string; node?: string; ip?: string; name?: string; port?: number }; expect: string; result: string; detail: string }[];
  findings: { id: string; severity: string; cause: string; nodes: string[]; fix: string; scenarios: string[] }[];
  cleanup: string;
}

/** kubectl calico connectivity -o json as a user runs it; the document and the exit code. */
export async function connectivity(cluster: { kubeconfigPath: string }, ...args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const result = await plugin(['connectivity', '-o', 'json', ...TIMEOUT, ...args], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
  assert.ok(result.stdout, `no report: ${result.stderr}`);
  return { code: result.code, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
}

/** What is left of the test's namespace and everything in it. */
export function leftovers(cluster: TestCluster, namespace = NS): string[] {
  return cluster.api.store.resources().flatMap((r) => cluster.api.store.list(r).filter((o) => o.metadata.namespace === namespace || (r === 'namespaces' && o.metadata.name === namespace)).map((o) => `${r} ${o.metadata.name}`));
}

type Cluster = TestCluster & { kubeconfigPath: string };

/**
 * A cluster on a ManualClock, for faults that take minutes of cluster time to show (BIRD's 240 s hold timer,
 * three failed readiness probes 30 s apart): `pass(ms)` lets that time go by a second at a time (the model's
 * promises settle between the steps); `running(work)` moves time at 5× wall speed while the command runs.
 * Every run must leave nothing behind.
 */
export async function slowFault(options: ClusterOptions, body: (cluster: Cluster, pass: (ms: number) => Promise<void>, running: <T>(work: Promise<T>) => Promise<T>) => Promise<void>): Promise<void> {
  const clock = new ManualClock();
  const pass = async (ms: number) => {
    for (let at = 0; at < ms; at += 1000) {
      clock.advance(1000);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const running = async <T>(work: Promise<T>): Promise<T> => {
    const ticker = setInterval(() => clock.advance(100), 20);
    try {
      return await work;
    } finally {
      clearInterval(ticker);
    }
  };
  await withCluster({ ...options, clock }, async (cluster) => {
    await body(cluster, pass, running);
    assert.deepEqual(leftovers(cluster), [], 'nothing is left behind');
  });
}
