// ipam show at scale: a --nodes 2000 test cluster with Calico installed (a
// pod subnet grown to hold a /26 block per node), in a process of its own;
// `kubectl calico ipam show` run directly under GNU time — wall time, CPU
// (user + sys), peak memory, lines printed, requests — beside what people
// run without calicoctl: the blocks read with kubectl and counted with jq
// (`kubectl get ipamblocks.crd.projectcalico.org -o json | jq …`: blocks and
// addresses in use over every pool; no split by pool, no capacity, no
// warning), under the same GNU time (its CPU is kubectl's and jq's; its peak
// is the larger of the two). Three runs of each, interleaved; each side's run
// of median wall time.
import { BINARY, measure, median, withClusterProcess, type Measurement } from './measure.ts';
import { KUBECTL } from './startup.ts';

const RUNS = 3;

export interface IpamShowFigures {
  nodes: number;
  runs: number;
  plugin: Measurement & { requests: number };
  kubectl: Measurement & { requests: number };
}

/** jq over the IPAMBlock list: blocks, and addresses allocated in them. */
const COUNT = '[.items[].spec.allocations | map(select(. != null)) | length] | "\\(length) blocks, \\(add) addresses in use"';

export async function benchIpamShow(nodes: number): Promise<IpamShowFigures> {
  return withClusterProcess('ipam-show', ['--nodes', String(nodes), '--calico', 'v3.29.0'], async (cluster) => {
    const env = cluster.env;
    await measure([KUBECTL, 'api-resources'], env); // warm kubectl's discovery cache for a fair comparison
    const served = (run: () => Promise<Measurement>) => async () => {
      const before = cluster.requests().length;
      const result = await run();
      if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
      return { ...result, requests: cluster.requests().length - before };
    };
    const plugins: IpamShowFigures['plugin'][] = [];
    const kubectls: IpamShowFigures['kubectl'][] = [];
    for (let i = 0; i < RUNS; i++) {
      plugins.push(await served(() => measure([BINARY, 'ipam', 'show'], env))());
      kubectls.push(await served(() => measure(['/bin/sh', '-c', `${KUBECTL} get ipamblocks.crd.projectcalico.org -o json | jq -r '${COUNT}'`], env))());
    }
    const middle = <T extends Measurement>(runs: T[]) => runs.find((r) => r.seconds === median(runs.map((m) => m.seconds)))!;
    return { nodes, runs: RUNS, plugin: middle(plugins), kubectl: middle(kubectls) };
  });
}

if (import.meta.main) {
  const nodes = Number(process.argv[2] ?? 2000);
  const { plugin, kubectl } = await benchIpamShow(nodes);
  const line = (name: string, m: IpamShowFigures['plugin']) => `${name}: ${m.seconds.toFixed(2)} s wall, ${m.cpuSeconds.toFixed(2)} s CPU, ${m.peakMiB.toFixed(0)} MiB peak, ${m.lines} lines, ${m.requests} requests\n`;
  process.stdout.write(line(`ipam show on ${nodes} nodes`, plugin) + plugin.stdout + line('kubectl get ipamblocks -o json | jq', kubectl) + kubectl.stdout);
}
