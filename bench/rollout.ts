// wait and status at scale.
//
// benchRollout: a fresh kubeadm test cluster of N nodes in a process of its
// own (withClusterProcess), the install applied with `kubectl calico apply`,
// then `kubectl calico wait` in a pipe until every pod and node is ready — its
// CPU (user + sys of the kubectl-calico process), wall time, peak memory, lines
// printed and the watch events it received — and then, once the cluster is
// idle, `kubectl calico status`. A wait that times out is a figure too (the
// rollout is the simulated cluster's, and 5,000 nodes take it many minutes on
// 2 shared cores), not an exception.
//
// benchReady: kubectl beside them on a ready cluster (`--calico v3.29.0`,
// converged before it is handed over): `kubectl calico status` beside the three
// commands it stands for (`kubectl get pods -n calico-system`, `kubectl get
// nodes`, `kubectl get tigerastatus`) in one shell; `kubectl calico wait`
// beside `kubectl wait --for=condition=Ready` over the same pods and nodes.
// kubectl wait checks one object after another (a list and a watch each), so
// it is timed on a sample of Calico pods and of nodes and scaled to all of
// them. (On a fresh install kubectl wait cannot stand in for the plugin's wait
// at all: `--all` fails with "no matching resources found" until the operator
// has made the pods; the readiness figure compares the guide's `watch`.)
import path from 'node:path';
import { BINARY, measure, withClusterProcess, type ClusterProcess, type Measurement } from './measure.ts';
import { KUBECTL } from './startup.ts';

const say = (text: string) => process.stderr.write(`  ${text}\n`);
const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'calico', 'v3.29.0');
const WAIT_TIMEOUT_MINUTES = 30;
/** Objects `kubectl wait` is timed on, of each kind (Calico pods, nodes). */
const WAIT_SAMPLE = 100;
/** Where the plugin's wait looks for Calico pods (the operator's, the Installation's and the API server's namespaces). */
const CALICO_NAMESPACES = ['tigera-operator', 'calico-system', 'calico-apiserver'];
/** The cluster process holds every node, pod and its history: more heap than Node's default above 2,000 nodes. */
const heapFor = (nodes: number) => (nodes > 2000 ? ['--max-old-space-size=8192'] : []);

export interface RolloutFigures {
  nodes: number;
  /** code 124: not ready within the timeout; `unready` is then the summary it printed. */
  wait: Measurement & { events: number; megabytes: number; unready?: string };
  /** On the ready cluster, once idle; undefined when the wait did not finish. */
  status?: Measurement;
  /** Seconds the cluster took to go idle after the wait, before status ran. */
  settled: number;
}

export async function benchRollout(nodes: number): Promise<RolloutFigures> {
  return withClusterProcess('rollout', ['--nodes', String(nodes)], async (cluster) => {
    const env = { ...cluster.env, XDG_CACHE_HOME: path.join(cluster.home, 'cache') };
    const dir = path.join(cluster.home, 'calico');
    const run = (args: string[]) => measure([BINARY, ...args], env);
    const init = await run(['init', '--manifests-from', SHARED, '--dir', dir]);
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const apply = await run(['apply', '--dir', dir]);
    if (apply.code !== 0) throw new Error(`apply failed: ${apply.stderr}`);
    // -v 4: the watches say what they received, list by list.
    const wait = await run(['wait', '--timeout', `${WAIT_TIMEOUT_MINUTES}m`, '-v', '4']);
    if (wait.code !== 0 && wait.code !== 124) throw new Error(`wait failed: ${wait.stderr}`);
    const received = [...wait.stderr.matchAll(/watched \S+(?: \(table rows\))?: (\d+) events, (\d+) bytes/g)];
    const events = received.reduce((sum, m) => sum + Number(m[1]), 0);
    const megabytes = received.reduce((sum, m) => sum + Number(m[2]), 0) / 1e6;
    const unready = wait.code === 124 ? /^error: not ready after .*$/m.exec(wait.stderr)?.[0].replace(/^error: /, '') ?? 'not ready' : undefined;
    say(`wait: exit ${wait.code}, ${wait.seconds.toFixed(1)} s wall, ${wait.cpuSeconds.toFixed(2)} s CPU, ${wait.peakMiB.toFixed(0)} MiB, ${wait.lines} lines${unready ? `; ${unready}` : ''}`);
    const figures = { nodes, wait: { ...wait, events, megabytes, ...(unready ? { unready } : {}) } };
    if (unready) return { ...figures, settled: 0 };
    // Status on a quiet cluster: its controllers and garbage collector are still busy for a while after a large rollout.
    const settled = await cluster.idle();
    const status = await run(['status']);
    say(`status (after ${settled.toFixed(0)} s for the cluster to go idle): ${status.seconds.toFixed(2)} s wall, exit ${status.code}`);
    return { ...figures, status, settled };
  }, heapFor(nodes));
}

export interface ReadyFigures {
  nodes: number;
  status: Measurement;
  /** kubectl get pods -n calico-system; kubectl get nodes; kubectl get tigerastatus. */
  kubectlStatus: Measurement;
  /** kubectl calico wait on the ready cluster. */
  wait: Measurement;
  kubectlWait: {
    pods: number;
    nodes: number;
    tigerastatuses: number;
    /** The runs of kubectl wait timed, each on `sampled` objects. */
    sample: { pods: Measurement; nodes: Measurement };
    sampled: number;
    perPod: number;
    perNode: number;
    /** Seconds for every Calico pod, node and TigeraStatus, scaled from the sample. */
    estimate: number;
  };
}

export async function benchReady(nodes: number): Promise<ReadyFigures> {
  return withClusterProcess('ready', ['--nodes', String(nodes), '--calico', 'v3.29.0'], async (cluster) => {
    const env = cluster.env;
    const quiet = async (what: string, run: () => Promise<Measurement>) => {
      const settled = await cluster.idle();
      const result = await run();
      if (result.code !== 0) throw new Error(`${what} exited ${result.code}: ${result.stderr}`);
      say(`${what} (after ${settled.toFixed(0)} s for the cluster to go idle): ${result.seconds.toFixed(2)} s wall`);
      return result;
    };
    await measure([KUBECTL, 'api-resources'], env); // warm kubectl's discovery cache for a fair comparison
    const status = await quiet('status', () => measure([BINARY, 'status'], env));
    const kubectlStatus = await quiet('kubectl get pods, nodes, tigerastatus', () => measure(['/bin/sh', '-c', `${KUBECTL} get pods -n calico-system && ${KUBECTL} get nodes && ${KUBECTL} get tigerastatus`], env));
    const wait = await quiet('wait', () => measure([BINARY, 'wait', '--timeout', '10m'], env));
    const kubectlWait = await sampleKubectlWait(cluster, quiet);
    return { nodes, status, kubectlStatus, wait, kubectlWait };
  }, heapFor(nodes));
}

async function sampleKubectlWait(cluster: ClusterProcess, quiet: (what: string, run: () => Promise<Measurement>) => Promise<Measurement>): Promise<ReadyFigures['kubectlWait']> {
  const names = async (args: string[]) => (await measure([KUBECTL, 'get', ...args, '-o', 'name'], cluster.env)).stdout.split('\n').filter(Boolean);
  const calicoSystem = await names(['pods', '-n', 'calico-system']);
  const pods = calicoSystem.length + (await names(['pods', '-n', CALICO_NAMESPACES[0]!])).length + (await names(['pods', '-n', CALICO_NAMESPACES[2]!])).length;
  const nodeNames = await names(['nodes']);
  const tigerastatuses = (await names(['tigerastatus'])).length;
  const spread = (list: string[]) => list.filter((_, i) => i % Math.max(1, Math.floor(list.length / WAIT_SAMPLE)) === 0).slice(0, WAIT_SAMPLE);
  const samplePods = spread(calicoSystem);
  const sampleNodes = spread(nodeNames);
  const waitFor = (args: string[]) => () => measure([KUBECTL, 'wait', '--for=condition=Ready', '--timeout=10m', ...args], cluster.env);
  const podRun = await quiet(`kubectl wait, ${samplePods.length} pods`, waitFor(['-n', 'calico-system', ...samplePods]));
  const nodeRun = await quiet(`kubectl wait, ${sampleNodes.length} nodes`, waitFor(sampleNodes));
  const perPod = podRun.seconds / samplePods.length;
  const perNode = nodeRun.seconds / sampleNodes.length;
  return {
    pods, nodes: nodeNames.length, tigerastatuses, sample: { pods: podRun, nodes: nodeRun }, sampled: Math.min(samplePods.length, sampleNodes.length), perPod, perNode,
    estimate: perPod * (pods + tigerastatuses) + perNode * nodeNames.length,
  };
}

if (import.meta.main) {
  const nodes = Number(process.argv[2] ?? 2000);
  const line = (m: Measurement) => `${m.seconds.toFixed(2)} s wall, ${m.cpuSeconds.toFixed(2)} s CPU, ${m.peakMiB.toFixed(0)} MiB, ${m.lines} lines`;
  if (!process.argv.includes('--ready-only')) {
    const { wait, status, settled } = await benchRollout(nodes);
    process.stdout.write(`wait on ${nodes} nodes: ${wait.unready ? `${wait.unready}; ` : ''}${line(wait)}, ${wait.events} watch events (${wait.megabytes.toFixed(1)} MB)\n`);
    if (status) process.stdout.write(`status (the cluster idle after ${settled.toFixed(0)} s): ${line(status)}\n`);
  }
  if (process.argv.includes('--ready') || process.argv.includes('--ready-only')) {
    const r = await benchReady(nodes);
    process.stdout.write(`ready cluster of ${nodes} nodes: status ${line(r.status)}\n`);
    process.stdout.write(`kubectl get pods -n calico-system, nodes, tigerastatus: ${line(r.kubectlStatus)}\n`);
    process.stdout.write(`wait: ${line(r.wait)}\n`);
    const w = r.kubectlWait;
    process.stdout.write(`kubectl wait: ${w.perPod.toFixed(3)} s a pod (${line(w.sample.pods)} for ${w.sampled}), ${w.perNode.toFixed(3)} s a node (${line(w.sample.nodes)}); ≈ ${w.estimate.toFixed(0)} s for ${w.pods} pods, ${w.nodes} nodes and ${w.tigerastatuses} TigeraStatus\n`);
  }
}
