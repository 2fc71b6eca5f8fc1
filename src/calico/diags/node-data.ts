// What calico-node sees on a host, run in its calico-node container over
// pods/exec (the container is hostNetwork and privileged: its `ip`,
// `iptables-*-save`, `nft` and `ipset` show the host's own tables), as
// calicoctl cluster diags collects it: BIRD's protocols and routes,
// calico-node's status, routes, rules, links, addresses, neighbours, ipsets,
// both iptables backends (the one not in use prints empty tables, which is
// itself the finding when Felix writes to the other one), nftables, and the
// CNI configuration directory (another CNI's file there is a classic).
//
// Which nodes: by default those with a problem — NotReady, or whose
// calico-node is missing, not ready or restarted — and a small sample of the
// healthy ones to compare with (the logs of per-node pods are read from the
// same nodes); --nodes all for every node, or names / -l.
import type { KubeClient } from '../../kube/client.ts';
import { exec, ExecError, type ExecResult } from '../../kube/exec.ts';
import type { PodObject } from './logs.ts';
import { redactText } from './redact.ts';
import type { DiagsRun } from './run.ts';
import { describeFailure } from './run.ts';

export interface NodeObject {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
}

const BIRD_SOCKET = '/var/run/calico/bird.ctl';
const BIRD6_SOCKET = '/var/run/calico/bird6.ctl';

/** File name, command; BIRD's only with BGP enabled, BIRD6's only with an IPv6 pool. */
function commands(bgp: boolean, ipv6: boolean): [string, string[]][] {
  return [
    ...(bgp ? [
      ['bird-protocols.txt', ['birdcl', '-s', BIRD_SOCKET, 'show', 'protocols']],
      ['bird-routes.txt', ['birdcl', '-s', BIRD_SOCKET, 'show', 'route']],
      ...(ipv6 ? [['bird6-protocols.txt', ['birdcl6', '-s', BIRD6_SOCKET, 'show', 'protocols']], ['bird6-routes.txt', ['birdcl6', '-s', BIRD6_SOCKET, 'show', 'route']]] : []),
    ] as [string, string[]][] : []),
    ['calico-node-show-status.txt', ['calico-node', '-show-status']],
    ['ip-4-route.txt', ['ip', '-4', 'route', 'show', 'table', 'all']],
    ['ip-6-route.txt', ['ip', '-6', 'route', 'show', 'table', 'all']],
    ['ip-rule.txt', ['ip', 'rule']],
    ['ip-link.txt', ['ip', 'link']],
    ['ip-addr.txt', ['ip', 'addr']],
    ['ip-neigh.txt', ['ip', 'neigh']],
    ['ipset-list.txt', ['ipset', 'list']],
    ['iptables-legacy-save.txt', ['iptables-legacy-save', '-c']],
    ['iptables-nft-save.txt', ['iptables-nft-save', '-c']],
    ['nft-list-ruleset.txt', ['nft', '-n', '-a', 'list', 'ruleset']],
    ['cni-net.d.txt', ['ls', '-la', '/host/etc/cni/net.d']],
  ];
}

/** Healthy nodes asked for comparison by default; problem nodes beyond MAX_PROBLEM_NODES need --nodes. */
const SAMPLE = 3;
const MAX_PROBLEM_NODES = 20;
/** Bytes kept of a command's output (and of its error output). */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** The nodes a run asks, in order (those with problems first), and why, for diags.log. */
export interface NodeChoice {
  names: string[];
  notes: string[];
}

/**
 * The default choice, the same for node data and for the logs of per-node pods: the nodes with a problem — NotReady,
 * or whose calico-node is missing, not ready or restarted — up to MAX_PROBLEM_NODES, then SAMPLE healthy ones spread
 * over the list (the first, the last, the middle: a control plane and workers on most clusters). Without the node
 * list (`nodes` undefined), the nodes are those the calico-node pods run on, judged by their pods alone.
 */
export function defaultNodeChoice(nodes: NodeObject[] | undefined, calicoNodePods: PodObject[]): NodeChoice {
  const pods = calicoNodeByNode(calicoNodePods);
  const names = nodes ? nodes.map((n) => n.metadata.name) : [...pods.keys()].sort();
  const byName = new Map((nodes ?? []).map((n) => [n.metadata.name, n]));
  const notes: string[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const problem = problemOf(nodes ? byName.get(name) : undefined, pods.get(name));
    if (problem === undefined) continue;
    problems.push(name);
    notes.push(`nodes/${name}: asked because ${problem}`);
  }
  const asked = problems.slice(0, MAX_PROBLEM_NODES);
  if (problems.length > MAX_PROBLEM_NODES) notes.push(`${problems.length - MAX_PROBLEM_NODES} more nodes with problems not asked (the first ${MAX_PROBLEM_NODES} are); --nodes NAME,… or --nodes all asks them`);
  const problem = new Set(problems);
  const healthy = names.filter((n) => !problem.has(n));
  const sample = [...new Set([0, healthy.length - 1, Math.floor(healthy.length / 2)].filter((i) => i >= 0 && i < healthy.length).map((i) => healthy[i]!))].slice(0, SAMPLE);
  notes.push(`nodes asked: ${asked.length} with problems, ${sample.length} healthy for comparison${sample.length ? ` (${sample.join(', ')})` : ''}; --nodes all asks every node`);
  return { names: [...asked, ...sample], notes };
}

export interface NodeDataOptions {
  /** The nodes to ask, in order. */
  names: string[];
  calicoNodePods: PodObject[];
  ipv6: boolean;
  bgp: boolean;
  execTimeoutMs: number;
}

export async function collectNodeData(kube: KubeClient, run: DiagsRun, options: NodeDataOptions): Promise<void> {
  const pods = calicoNodeByNode(options.calicoNodePods);
  const list = commands(options.bgp, options.ipv6);
  let forbidden: string | undefined;
  await Promise.all(options.names.map(async (node) => {
    const pod = pods.get(node);
    if (!pod) return run.skip(`nodes/${node}/`, 'no calico-node pod on this node');
    if (!pod.status?.containerStatuses?.find((s) => s.name === 'calico-node')?.state?.running) return run.skip(`nodes/${node}/`, `calico-node pod ${pod.metadata.name} is not running`);
    let unreachable: string | undefined;
    for (const [file, command] of list) {
      const item = `nodes/${node}/${file}`;
      if (forbidden || unreachable) {
        run.skip(item, forbidden ?? unreachable!);
        continue;
      }
      await run.item(item, async () => {
        try {
          const result = await execWithRetry(kube, pod.metadata.name, command, options.execTimeoutMs, run.signal);
          if (result.exitCode !== 0) run.note(`${item}: ${command.join(' ')} exited ${result.exitCode}: ${result.stderr.trim().split('\n')[0] || '(no message)'}`);
          const output = commandOutput(result);
          if (output.truncatedBytes) run.note(`${item}: kept the first ${Buffer.byteLength(output.text)} bytes of its output; ${output.truncatedBytes} bytes beyond ${MAX_OUTPUT_BYTES} left out`);
          await run.add(item, redactText(output.text), `exec calico-system/${pod.metadata.name} (container calico-node): ${command.join(' ')} (exit ${result.exitCode})`, output.truncatedBytes || undefined);
        } catch (error) {
          // A refused exec holds for every pod of the namespace, an unreachable kubelet for every command on the node: said once, the rest skipped.
          if (error instanceof ExecError && error.kind === 'forbidden') forbidden ??= `skipped: ${describeFailure(error)}`;
          if (error instanceof ExecError && error.kind === 'kubelet-unreachable') unreachable = `skipped: ${describeFailure(error)}`;
          throw error;
        }
      });
    }
  }));
}

/**
 * What a command printed, as one file: its output, then its error output. Output beyond what exec kept is cut back
 * to the last whole line (a half line of an iptables rule misleads), and everything left out is counted.
 */
export function commandOutput(result: Pick<ExecResult, 'stdout' | 'stderr' | 'droppedBytes'>): { text: string; truncatedBytes: number } {
  const whole = (stream: string, dropped: number) => {
    if (!dropped) return { text: stream, cut: 0 };
    const end = stream.lastIndexOf('\n') + 1;
    return { text: stream.slice(0, end), cut: dropped + Buffer.byteLength(stream.slice(end)) };
  };
  const stdout = whole(result.stdout, result.droppedBytes.stdout);
  const stderr = whole(result.stderr, result.droppedBytes.stderr);
  const text = stdout.text + (stderr.text ? `${stdout.text && !stdout.text.endsWith('\n') ? '\n' : ''}${stderr.text}` : '');
  return { text, truncatedBytes: stdout.cut + stderr.cut };
}

/** The calico-node pod of each node. A node can briefly have two during a rollout: the one not being deleted is the one to ask. */
function calicoNodeByNode(calicoNodePods: PodObject[]): Map<string, PodObject> {
  const pods = new Map<string, PodObject>();
  for (const pod of calicoNodePods) {
    const node = pod.spec?.nodeName;
    if (node && pod.metadata.labels?.['k8s-app'] === 'calico-node' && !pod.metadata.deletionTimestamp) pods.set(node, pod);
  }
  return pods;
}

/** Why a node is asked, or undefined when it is healthy; without its Node object, judged by its calico-node pod alone. */
function problemOf(node: NodeObject | undefined, pod: PodObject | undefined): string | undefined {
  if (node && node.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return 'the node is not Ready';
  if (!pod) return 'it has no calico-node pod';
  const container = pod.status?.containerStatuses?.find((s) => s.name === 'calico-node');
  if (!container?.ready) return `calico-node pod ${pod.metadata.name} is not ready`;
  if ((container.restartCount ?? 0) > 0) return `calico-node restarted ${container.restartCount} times`;
  return undefined;
}

/** Transport failures are retried twice after a short pause, as node status does; anything else is the answer. */
async function execWithRetry(kube: KubeClient, pod: string, command: string[], timeoutMs: number, signal: AbortSignal): Promise<ExecResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await exec(kube, { namespace: 'calico-system', pod, container: 'calico-node', command, timeoutMs, signal, maxOutputBytes: MAX_OUTPUT_BYTES });
    } catch (error) {
      if (!(error instanceof ExecError) || !error.retryable || attempt >= 3 || signal.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
