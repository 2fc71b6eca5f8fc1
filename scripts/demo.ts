// npm run demo: the install guide's whole sequence, done by the plugin,
// through real kubectl, against the embedded test cluster — what a user
// sees, without needing a cluster — then proof that the pod network works
// (connectivity, node status, IPAM), and the rest of the lifecycle: an
// upgrade across the v3.30 CRD split and an uninstall. The cluster is
// stopped at the end.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/cluster/cluster.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const shared = path.resolve(ROOT, '..', 'shared', 'calico');
const from = (version: string) => (fs.existsSync(path.join(shared, version)) ? ['--manifests-from', path.join(shared, version)] : []);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-calico-demo-'));
const kubeconfig = path.join(work, 'kubeconfig');
const cluster = await startCluster({ scenario: 'kubeadm-3-nodes', kubeconfigPath: kubeconfig });
const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: work, PATH: `${path.join(ROOT, 'dist')}:${process.env.PATH}` };

function run(args: string[]): Promise<number> {
  process.stdout.write(`\n$ kubectl ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn('kubectl', args, { env, cwd: work, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

let failed = 0;
try {
  process.stdout.write(`A kubeadm cluster (v1.31.3, podSubnet 10.97.0.0/16) is running at ${cluster.url}; its nodes have no CNI yet.\n`);
  for (const args of [
    ['get', 'nodes'],
    ['calico', 'init', '--pod-cidr', '10.97.0.0/16', ...from('v3.29.0')],
    ['calico', 'apply'],
    ['calico', 'wait'],
    ['calico', 'status'],
    ['calico', 'connectivity'],
    ['calico', 'node', 'status'],
    ['calico', 'ipam', 'show', '--show-blocks'],
    ['calico', 'upgrade', '--calico-version', 'v3.30.7', ...from('v3.30.7'), '--wait'],
    ['calico', 'status'],
    ['calico', 'uninstall', '--yes'],
    ['get', 'namespaces'],
  ]) {
    const code = await run(args);
    if (code !== 0 && args[0] === 'calico') {
      failed = code;
      break;
    }
  }
} finally {
  await cluster.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed);
