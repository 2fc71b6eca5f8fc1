// wait and status at scale: a fresh kubeadm test cluster of N nodes, the
// install applied with `kubectl calico apply`, then `kubectl calico wait` in
// a pipe until every pod and node is ready — its CPU (user + sys of the
// kubectl-calico process; the test cluster runs in this process), wall time,
// peak memory, lines printed and the watch events it received — and then
// `kubectl calico status` on the ready cluster.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/cluster/cluster.ts';
import { measure, type Measurement } from './measure.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BINARY = path.join(ROOT, 'dist', 'kubectl-calico');
const SHARED = path.resolve(ROOT, '..', 'shared', 'calico', 'v3.29.0');

export interface RolloutFigures {
  nodes: number;
  wait: Measurement & { events: number; megabytes: number };
  status: Measurement;
}

export async function benchRollout(nodes: number): Promise<RolloutFigures> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rollout-'));
  const kubeconfig = path.join(home, 'kubeconfig');
  const cluster = await startCluster({ nodes, kubeconfigPath: kubeconfig });
  try {
    const env = { PATH: `${path.dirname(BINARY)}:/usr/bin:/bin`, HOME: home, KUBECONFIG: kubeconfig, XDG_CACHE_HOME: path.join(home, 'cache') };
    const dir = path.join(home, 'calico');
    const run = (args: string[]) => measure([BINARY, ...args], env);
    const init = await run(['init', '--manifests-from', SHARED, '--dir', dir]);
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const apply = await run(['apply', '--dir', dir]);
    if (apply.code !== 0) throw new Error(`apply failed: ${apply.stderr}`);
    // -v 4: the watches say what they received, list by list.
    const wait = await run(['wait', '--timeout', '10m', '-v', '4']);
    if (wait.code !== 0) throw new Error(`wait failed: ${wait.stderr}`);
    const received = [...wait.stderr.matchAll(/watched \S+(?: \(table rows\))?: (\d+) events, (\d+) bytes/g)];
    const events = received.reduce((sum, m) => sum + Number(m[1]), 0);
    const megabytes = received.reduce((sum, m) => sum + Number(m[2]), 0) / 1e6;
    const status = await run(['status']);
    return { nodes, wait: { ...wait, events, megabytes }, status };
  } finally {
    await cluster.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const nodes = Number(process.argv[2] ?? 2000);
  const { wait, status } = await benchRollout(nodes);
  process.stdout.write(`wait on ${nodes} nodes: ${wait.seconds.toFixed(1)} s wall, ${wait.cpuSeconds.toFixed(2)} s CPU, ${wait.peakMiB.toFixed(0)} MiB, ${wait.lines} lines, ${wait.events} watch events (${wait.megabytes.toFixed(1)} MB)\n`);
  process.stdout.write(`status: ${status.seconds.toFixed(2)} s wall, ${status.cpuSeconds.toFixed(2)} s CPU, ${status.peakMiB.toFixed(0)} MiB, ${status.lines} lines\n`);
}
