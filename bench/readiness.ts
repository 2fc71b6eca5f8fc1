// Readiness detection: from the moment the test cluster makes the last
// condition true (observed in-process from its store) to the moment
// `kubectl calico wait` exits; beside it, what the guide's
// `watch kubectl get pods` (a 2 s period) gives, measured the same way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster, type TestCluster } from '../test/cluster/cluster.ts';
import type { KubeObject } from '../test/cluster/types.ts';
import { exitTime, median, sleep, timeRun } from './measure.ts';

function ready(cluster: TestCluster): boolean {
  const store = cluster.api.store;
  const conditionTrue = (o: KubeObject, type: string) => ((o.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
  const pods = [...store.list('pods', 'calico-system'), ...store.list('pods', 'calico-apiserver'), ...store.list('pods', 'tigera-operator')];
  const statuses = store.list('tigerastatuses.operator.tigera.io');
  return pods.length >= 12 && pods.every((p) => conditionTrue(p, 'Ready')) && statuses.length >= 3 && statuses.every((s) => conditionTrue(s, 'Available') && !conditionTrue(s, 'Degraded'))
    && store.list('nodes').every((n) => conditionTrue(n, 'Ready'));
}

async function once(root: string, detector: 'wait' | 'watch'): Promise<number> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ready-'));
  const kubeconfig = path.join(home, 'kubeconfig');
  // Slower than the test default so the detector is already waiting when the cluster gets ready.
  const cluster = await startCluster({ kubeconfigPath: kubeconfig, timings: { imagePull: 600, containerStart: 300, readiness: 500 } });
  const env = { PATH: '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig };
  try {
    let readyAt = 0;
    cluster.api.store.subscribe(() => {
      if (!readyAt && ready(cluster)) readyAt = performance.now();
    });
    const binary = path.join(root, 'dist', 'kubectl-calico');
    if ((await timeRun(binary, ['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.resolve(root, '..', 'shared', 'calico', 'v3.29.0'), '--dir', path.join(home, 'calico')], env)).code !== 0) throw new Error('init failed');
    if ((await timeRun(binary, ['apply', '--dir', path.join(home, 'calico')], env)).code !== 0) throw new Error('apply failed');
    if (detector === 'wait') {
      const { exited } = exitTime(binary, ['wait', '--timeout', '60s'], env);
      const { at, code } = await exited;
      if (code !== 0 || !readyAt) throw new Error('wait failed');
      return at - readyAt;
    }
    await sleep(Math.random() * 2000); // watch's period starts at an arbitrary moment
    for (;;) {
      const pods = await timeRun('/usr/bin/kubectl', ['get', 'pods', '-n', 'calico-system', '--no-headers'], env);
      const nodes = await timeRun('/usr/bin/kubectl', ['get', 'nodes', '--no-headers'], env);
      const lines = [...pods.stdout.trim().split('\n'), ...nodes.stdout.trim().split('\n')];
      if (readyAt && lines.every((l) => / (Running|Ready) /.test(l) && !/ 0\/| NotReady /.test(l))) return performance.now() - readyAt;
      await sleep(2000);
    }
  } finally {
    await cluster.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

export async function benchReadiness(root: string, runs = 7): Promise<{ wait: number; watch: number }> {
  const wait: number[] = [];
  const watch: number[] = [];
  for (let i = 0; i < runs; i++) {
    wait.push(await once(root, 'wait'));
    if (i < 4) watch.push(await once(root, 'watch'));
  }
  return { wait: median(wait), watch: watch.reduce((a, b) => a + b, 0) / watch.length };
}
