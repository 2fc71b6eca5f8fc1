// connectivity at 3 and 500 nodes: a fresh kubeadm test cluster with Calico
// v3.29.0 installed, at its default speed, in a process of its own; then
// `kubectl calico connectivity` in a pipe from its start to the namespace
// gone — its wall time, CPU (user + sys of the kubectl-calico process; the
// test cluster's own CPU is not in it), peak memory, lines printed, and the
// API requests the test cluster logged for it (execs apart). A fresh cluster
// per run, in its own process: the test cluster's garbage collector is busy
// for a minute or two after a namespace of a thousand pods goes, and a
// cluster in this process would not read the command's output meanwhile.
import { BINARY, measure, withClusterProcess, type Measurement } from './measure.ts';

export interface ConnectivityFigures extends Measurement {
  nodes: number;
  requests: number;
  execs: number;
  probes: number;
  passed: boolean;
}

export async function benchConnectivity(nodes: number): Promise<ConnectivityFigures> {
  return withClusterProcess('connectivity', ['--nodes', String(nodes), '--calico', 'v3.29.0'], async (cluster) => {
    const before = cluster.requests().length;
    const run = await measure([BINARY, 'connectivity', '--timeout', '5m'], cluster.env);
    const served = cluster.requests().slice(before);
    const execs = served.filter((e) => e.path.includes('/exec')).length;
    const summary = /(\d+) probes: (\d+) passed, (\d+) failed/.exec(run.stdout);
    return { ...run, nodes, requests: served.length - execs, execs, probes: Number(summary?.[1] ?? 0), passed: run.code === 0 };
  });
}

if (import.meta.main) {
  for (const nodes of process.argv.slice(2).map(Number)) {
    const r = await benchConnectivity(nodes);
    process.stdout.write(`connectivity on ${nodes} nodes: ${r.passed ? 'passed' : `exit ${r.code}`}, ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU, ${r.peakMiB.toFixed(0)} MiB, ${r.lines} lines, ${r.probes} probes, ${r.execs} execs, ${r.requests} other requests\n`);
  }
}
