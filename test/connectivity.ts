// Shared by the connectivity e2e tests: the command as a user runs it, its
// report, and what it left in the test cluster.
import assert from 'node:assert/strict';
import type { TestCluster } from './cluster/cluster.ts';
import { cleanEnv, plugin } from './helpers.ts';

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
