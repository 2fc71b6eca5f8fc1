// npm run -s cluster -- --scenario kubeadm-3-nodes --kubeconfig ./test-cluster.kubeconfig [...]
// Runs a test cluster in the foreground: writes the kubeconfig, prints one
// line `READY <server-url>`, and stops cleanly on SIGINT or SIGTERM.
import { parseArgs } from 'node:util';
import { startCluster } from './cluster.ts';
import { parseDrop } from './dataplane/faults.ts';
import { parseOutside } from './dataplane/reach.ts';
import { SCENARIOS } from './scenarios.ts';

const USAGE = `usage: npm run -s cluster -- --scenario NAME --kubeconfig FILE [--nodes N] [--dual-stack] [--calico v3.29.0 [--encapsulation IPIP|IPIPCrossSubnet|VXLAN|VXLANCrossSubnet|None]] [--kubernetes-version v1.31.3]
       [--ip-pool CIDR] [--block-size N] [--deleted-node NODE]... [--leak-addresses NS/POD-PREFIX]... [--ipam-gc-stopped]
       [--latency-ms N] [--error-rate P] [--drop-watches-after S] [--speed X] [--request-log FILE]
       [--failing-image SUBSTRING]... [--registry-only HOST[:PORT]] [--crashing-container NS/POD-PREFIX/CONTAINER]... [--unreachable-kubelet NODE]...
       [--drop bgp|vxlan|ipip|typha[:NODE,NODE[;NODE,NODE]...]]... [--source-dest-check] [--felix-stuck NODE]...
       [--outside IP[:PORT[/tcp|udp]]]...
scenarios: ${Object.keys(SCENARIOS).join(', ')}`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'kubeadm-3-nodes' },
      kubeconfig: { type: 'string' },
      nodes: { type: 'string' },
      calico: { type: 'string' },
      encapsulation: { type: 'string' },
      outside: { type: 'string', multiple: true },
      'dual-stack': { type: 'boolean', default: false },
      'ip-pool': { type: 'string' },
      'block-size': { type: 'string' },
      'deleted-node': { type: 'string', multiple: true },
      'leak-addresses': { type: 'string', multiple: true },
      'ipam-gc-stopped': { type: 'boolean', default: false },
      'kubernetes-version': { type: 'string', default: 'v1.31.3' },
      'latency-ms': { type: 'string', default: '0' },
      'error-rate': { type: 'string', default: '0' },
      'drop-watches-after': { type: 'string' },
      speed: { type: 'string', default: '1' },
      'request-log': { type: 'string' },
      'failing-image': { type: 'string', multiple: true },
      'registry-only': { type: 'string' },
      'crashing-container': { type: 'string', multiple: true },
      'unreachable-kubelet': { type: 'string', multiple: true },
      drop: { type: 'string', multiple: true },
      'source-dest-check': { type: 'boolean', default: false },
      'felix-stuck': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!values.kubeconfig) fail('--kubeconfig FILE is required');
const number = (flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) fail(`--${flag} must be a non-negative number, not "${text}"`);
  return value;
};

try {
  const cluster = await startCluster({
    scenario: values.scenario,
    nodes: number('nodes', values.nodes),
    calico: values.calico,
    encapsulation: values.encapsulation,
    outside: parseOutside(values.outside ?? []),
    dualStack: values['dual-stack'],
    ...(values['ip-pool'] || values['block-size'] ? { ipPool: { ...(values['ip-pool'] ? { cidr: values['ip-pool'] } : {}), ...(values['block-size'] ? { blockSize: number('block-size', values['block-size']) } : {}) } } : {}),
    deletedNodes: values['deleted-node'],
    ipamFaults: { leakingPods: values['leak-addresses'] ?? [], gcStopped: values['ipam-gc-stopped'] },
    kubernetesVersion: values['kubernetes-version'],
    kubeconfigPath: values.kubeconfig,
    latencyMs: number('latency-ms', values['latency-ms']),
    errorRate: number('error-rate', values['error-rate']),
    dropWatchesAfterSeconds: number('drop-watches-after', values['drop-watches-after']),
    speed: number('speed', values.speed) || 1,
    requestLogFile: values['request-log'],
    podFaults: { failingImages: values['failing-image'] ?? [], crashingContainers: values['crashing-container'] ?? [], ...(values['registry-only'] ? { registryOnly: values['registry-only'] } : {}) },
    unreachableKubelets: values['unreachable-kubelet'],
    network: { drops: (values.drop ?? []).map(parseDrop), sourceDestCheck: values['source-dest-check'], felixStuck: values['felix-stuck'] ?? [] },
  });
  process.stdout.write(`READY ${cluster.url}\n`);
  const stop = () => cluster.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  fail((error as Error).message);
}
