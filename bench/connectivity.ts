// connectivity at 3 and 500 nodes: a fresh kubeadm test cluster with Calico
// v3.29.0 installed, at its default speed, in a process of its own; then
// `kubectl calico connectivity` in a pipe from its start to the namespace
// gone — its wall time, CPU (user + sys of the kubectl-calico process; the
// test cluster's own CPU is not in it), peak memory, lines printed, and the
// API requests the test cluster logged for it (execs apart). A fresh cluster
// per run, in its own process: the test cluster's garbage collector is busy
// for a minute or two after a namespace of a thousand pods goes, and a
// cluster in this process would not read the command's output meanwhile.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measure, type Measurement } from './measure.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BINARY = path.join(ROOT, 'dist', 'kubectl-calico');
const NODE = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');

export interface ConnectivityFigures extends Measurement {
  nodes: number;
  requests: number;
  execs: number;
  probes: number;
  passed: boolean;
}

export async function benchConnectivity(nodes: number): Promise<ConnectivityFigures> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-connectivity-'));
  const kubeconfig = path.join(home, 'kubeconfig');
  const requestLog = path.join(home, 'requests.jsonl');
  const cluster = spawn(NODE, [path.join(ROOT, 'test', 'cluster', 'main.ts'), '--nodes', String(nodes), '--calico', 'v3.29.0', '--kubeconfig', kubeconfig, '--request-log', requestLog], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      cluster.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('READY ')) resolve();
      });
      cluster.on('exit', (code) => reject(new Error(`the test cluster exited (${code}) before it was ready`)));
    });
    const env = { PATH: `${path.dirname(BINARY)}:/usr/bin:/bin`, HOME: home, KUBECONFIG: kubeconfig };
    const before = fs.readFileSync(requestLog, 'utf8').split('\n').filter(Boolean).length;
    const run = await measure([BINARY, 'connectivity', '--timeout', '5m'], env);
    const served = fs.readFileSync(requestLog, 'utf8').split('\n').filter(Boolean).slice(before).map((line) => JSON.parse(line) as { path: string; user?: string });
    const execs = served.filter((e) => e.path.includes('/exec')).length;
    const summary = /(\d+) probes: (\d+) passed, (\d+) failed/.exec(run.stdout);
    return { ...run, nodes, requests: served.length - execs, execs, probes: Number(summary?.[1] ?? 0), passed: run.code === 0 };
  } finally {
    cluster.kill('SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  for (const nodes of process.argv.slice(2).map(Number)) {
    const r = await benchConnectivity(nodes);
    process.stdout.write(`connectivity on ${nodes} nodes: ${r.passed ? 'passed' : `exit ${r.code}`}, ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU, ${r.peakMiB.toFixed(0)} MiB, ${r.lines} lines, ${r.probes} probes, ${r.execs} execs, ${r.requests} other requests\n`);
  }
}
