// node status at scale: a --nodes 2000 test cluster with Calico installed
// (above 100 nodes it has three route reflectors and no mesh, as the docs
// advise), `kubectl calico node status` on it — wall time, its CPU (user +
// sys of the kubectl-calico process; the test cluster runs in this process),
// peak memory, lines printed, execs sent — beside the way people ask today:
// a shell loop of `kubectl exec … birdcl show protocols` over the calico-node
// pods, timed over a sample of them (each is a kubectl process and an exec)
// and scaled to every node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/cluster/cluster.ts';
import { measure, type Measurement } from './measure.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BINARY = path.join(ROOT, 'dist', 'kubectl-calico');
/** Pods the shell loop is timed on: at ~0.2 s a kubectl exec, all 2,000 would take minutes. */
const LOOP_SAMPLE = 100;

export interface NodeStatusFigures {
  nodes: number;
  /** Exit 0: every node was asked and found healthy. */
  plugin: Measurement & { execs: number };
  loop: Measurement & { pods: number; perPodSeconds: number };
}

export async function benchNodeStatus(nodes: number): Promise<NodeStatusFigures> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-node-status-'));
  const kubeconfig = path.join(home, 'kubeconfig');
  const cluster = await startCluster({ nodes, calico: 'v3.29.0', kubeconfigPath: kubeconfig });
  try {
    const env = { PATH: '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig };
    const before = cluster.requestLog.length;
    const plugin = await measure([BINARY, 'node', 'status'], env);
    const execs = cluster.requestLog.slice(before).filter((r) => /\/pods\/[^/]+\/exec\b/.test(r.path)).length;
    if (plugin.code !== 0) throw new Error(`node status exited ${plugin.code}: ${plugin.stderr}`);
    const pods = cluster.api.store.list('pods', 'calico-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'calico-node').map((p) => p.metadata.name).slice(0, LOOP_SAMPLE);
    const script = `for p in ${pods.join(' ')}; do kubectl exec -n calico-system "$p" -c calico-node -- birdcl -s /var/run/calico/bird.ctl show protocols; done`;
    await measure(['/usr/bin/kubectl', 'version'], env); // warm kubectl's discovery cache for a fair comparison
    const loop = await measure(['/bin/sh', '-c', script], env);
    return { nodes, plugin: { ...plugin, execs }, loop: { ...loop, pods: pods.length, perPodSeconds: loop.seconds / pods.length } };
  } finally {
    await cluster.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const nodes = Number(process.argv[2] ?? 2000);
  const { plugin, loop } = await benchNodeStatus(nodes);
  process.stdout.write(`node status on ${nodes} nodes: ${plugin.seconds.toFixed(1)} s wall, ${plugin.cpuSeconds.toFixed(2)} s CPU, ${plugin.peakMiB.toFixed(0)} MiB, ${plugin.lines} lines, ${plugin.execs} execs (exit ${plugin.code})\n`);
  process.stdout.write(`kubectl exec birdcl loop: ${loop.seconds.toFixed(1)} s for ${loop.pods} pods (${loop.perPodSeconds.toFixed(2)} s a pod, ≈ ${(loop.perPodSeconds * nodes).toFixed(0)} s for ${nodes})\n`);
}
