// Doctor at scale: `kubectl calico doctor` on the large scenario (5,000
// nodes, 50,000 pods, Calico healthy) beside one `kubectl get pods -A -o json`
// against the same cluster; wall time and peak memory (RSS) of each.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/cluster/cluster.ts';
import { measure, type Measurement } from './measure.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export async function benchDoctor(): Promise<{ doctor: Measurement; kubectl: Measurement; requests: number }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-doctor-'));
  const kubeconfig = path.join(home, 'kubeconfig');
  const cluster = await startCluster({ scenario: 'large', kubeconfigPath: kubeconfig });
  try {
    const env = { PATH: '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig };
    await measure(['/usr/bin/kubectl', 'version'], env); // warm kubectl's discovery cache for a fair comparison
    const before = cluster.requestLog.length;
    const doctor = await measure([path.join(ROOT, 'dist', 'kubectl-calico'), 'doctor'], env);
    const requests = cluster.requestLog.length - before;
    const kubectl = await measure(['/usr/bin/kubectl', 'get', 'pods', '-A', '-o', 'json'], env);
    return { doctor, kubectl, requests };
  } finally {
    await cluster.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { doctor, kubectl, requests } = await benchDoctor();
  process.stdout.write(`doctor: ${doctor.seconds.toFixed(2)} s, ${doctor.peakMiB.toFixed(0)} MiB peak, ${requests} requests (exit ${doctor.code})\n`);
  process.stdout.write(`kubectl get pods -A -o json: ${kubectl.seconds.toFixed(2)} s, ${kubectl.peakMiB.toFixed(0)} MiB peak\n`);
}
