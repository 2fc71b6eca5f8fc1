// Doctor at scale: `kubectl calico doctor` on the large scenario (5,000
// nodes, 50,000 pods, Calico healthy) beside one `kubectl get pods -A -o json`
// against the same cluster; wall time and peak memory (RSS) of each.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/cluster/cluster.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

interface Measurement {
  seconds: number;
  peakMiB: number;
  code: number;
}

/** Runs a command under GNU time for its wall time and maximum resident set size. */
function measure(command: string[], env: NodeJS.ProcessEnv): Promise<Measurement> {
  return new Promise((resolve) => {
    const started = performance.now();
    execFile('/usr/bin/time', ['-f', '%M', ...command], { env, maxBuffer: 1024 * 1024 * 1024 }, (error, _stdout, stderr) => {
      const seconds = (performance.now() - started) / 1000;
      const kib = Number(/(\d+)\s*$/.exec(String(stderr).trim())?.[1] ?? 0);
      resolve({ seconds, peakMiB: kib / 1024, code: error ? Number((error as { code?: number }).code ?? 1) : 0 });
    });
  });
}

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
