// Apply: `kubectl calico apply` of the v3.29.0 manifests beside the guide's
// `kubectl create -f tigera-operator.yaml`, polling `kubectl get pods` every
// 0.2 s until the operator runs, and `kubectl create -f custom-resources.yaml`;
// each on a fresh kubeadm-3-nodes cluster with 20 ms added to every request
// and a cold discovery cache (a fresh HOME for kubectl).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/cluster/cluster.ts';
import { sleep, timeRun } from './measure.ts';

export interface ApplyFigures {
  ms: number;
  requests: number;
}

const SHARED = (root: string) => path.resolve(root, '..', 'shared', 'calico', 'v3.29.0');

async function withCluster<T>(body: (env: NodeJS.ProcessEnv, home: string, requests: () => number) => Promise<T>): Promise<T> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-apply-'));
  const kubeconfig = path.join(home, 'kubeconfig');
  const cluster = await startCluster({ scenario: 'kubeadm-3-nodes', kubeconfigPath: kubeconfig, latencyMs: 20 });
  try {
    await sleep(500);
    const start = cluster.requestLog.length;
    return await body({ PATH: `${path.join(home, 'bin')}:/usr/bin:/bin`, HOME: home, KUBECONFIG: kubeconfig }, home, () => cluster.requestLog.length - start);
  } finally {
    await cluster.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

export async function benchPluginApply(root: string): Promise<ApplyFigures> {
  return withCluster(async (env, home, requests) => {
    fs.mkdirSync(path.join(home, 'bin'));
    fs.symlinkSync(path.join(root, 'dist', 'kubectl-calico'), path.join(home, 'bin', 'kubectl-calico'));
    const init = await timeRun('/usr/bin/kubectl', ['calico', 'init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', SHARED(root), '--dir', path.join(home, 'calico')], env);
    if (init.code !== 0) throw new Error('init failed');
    const before = requests();
    const apply = await timeRun('/usr/bin/kubectl', ['calico', 'apply', '--dir', path.join(home, 'calico')], env);
    if (apply.code !== 0) throw new Error(`apply failed: ${apply.stdout}`);
    return { ms: apply.ms, requests: requests() - before };
  });
}

export async function benchGuideApply(root: string): Promise<ApplyFigures> {
  return withCluster(async (env, home, requests) => {
    const resources = path.join(home, 'custom-resources.yaml');
    fs.writeFileSync(resources, fs.readFileSync(path.join(SHARED(root), 'custom-resources.yaml'), 'utf8').replace('192.168.0.0/16', '10.97.0.0/16'));
    const started = performance.now();
    const create = await timeRun('/usr/bin/kubectl', ['create', '-f', path.join(SHARED(root), 'tigera-operator.yaml')], env);
    if (create.code !== 0) throw new Error('kubectl create failed');
    for (;;) {
      const pods = await timeRun('/usr/bin/kubectl', ['get', 'pods', '-n', 'tigera-operator', '--no-headers'], env);
      if (/ Running /.test(pods.stdout)) break;
      await sleep(200);
    }
    const custom = await timeRun('/usr/bin/kubectl', ['create', '-f', resources], env);
    if (custom.code !== 0) throw new Error('kubectl create of the custom resources failed');
    return { ms: performance.now() - started, requests: requests() };
  });
}
