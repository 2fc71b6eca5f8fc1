// wait and status at scale: a fresh kubeadm test cluster of N nodes, the
// install applied with `kubectl calico apply`, then `kubectl calico wait` in
// a pipe until every pod and node is ready — its CPU (user + sys of the
// kubectl-calico process; the test cluster runs in this process), wall time,
// peak memory, lines printed and the watch events it received — and then
// `kubectl calico status` on the ready cluster.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/cluster/cluster.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BINARY = path.join(ROOT, 'dist', 'kubectl-calico');
const SHARED = path.resolve(ROOT, '..', 'shared', 'calico', 'v3.29.0');

export interface Run {
  seconds: number;
  cpuSeconds: number;
  peakMiB: number;
  lines: number;
  code: number;
  stderr: string;
}

/** Runs the binary under GNU time: wall, user + sys, peak RSS, and the lines it printed on stdout. */
function measure(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const started = performance.now();
    execFile('/usr/bin/time', ['-f', 'TIME %U %S %M', BINARY, ...args], { env, maxBuffer: 1024 * 1024 * 1024 }, (error, stdout, stderr) => {
      const [, user = '0', sys = '0', kib = '0'] = /TIME (\S+) (\S+) (\d+)\s*$/.exec(String(stderr)) ?? [];
      resolve({
        seconds: (performance.now() - started) / 1000,
        cpuSeconds: Number(user) + Number(sys),
        peakMiB: Number(kib) / 1024,
        lines: String(stdout).split('\n').length - 1,
        code: error ? Number((error as { code?: number }).code ?? 1) : 0,
        stderr: String(stderr),
      });
    });
  });
}

export interface RolloutFigures {
  nodes: number;
  wait: Run & { events: number; megabytes: number };
  status: Run;
}

export async function benchRollout(nodes: number): Promise<RolloutFigures> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rollout-'));
  const kubeconfig = path.join(home, 'kubeconfig');
  const cluster = await startCluster({ nodes, kubeconfigPath: kubeconfig });
  try {
    const env = { PATH: `${path.dirname(BINARY)}:/usr/bin:/bin`, HOME: home, KUBECONFIG: kubeconfig, XDG_CACHE_HOME: path.join(home, 'cache') };
    const dir = path.join(home, 'calico');
    const init = await measure(['init', '--manifests-from', SHARED, '--dir', dir], env);
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const apply = await measure(['apply', '--dir', dir], env);
    if (apply.code !== 0) throw new Error(`apply failed: ${apply.stderr}`);
    // -v 4: the watches say what they received, list by list.
    const wait = await measure(['wait', '--timeout', '10m', '-v', '4'], env);
    if (wait.code !== 0) throw new Error(`wait failed: ${wait.stderr}`);
    const received = [...wait.stderr.matchAll(/watched \S+(?: \(table rows\))?: (\d+) events, (\d+) bytes/g)];
    const events = received.reduce((sum, m) => sum + Number(m[1]), 0);
    const megabytes = received.reduce((sum, m) => sum + Number(m[2]), 0) / 1e6;
    const status = await measure(['status'], env);
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
