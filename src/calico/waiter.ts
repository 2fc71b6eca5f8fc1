// Runs a wait to its end: live progress while the cluster converges, the
// pods and nodes tables as kubectl prints them when it is ready, and on a
// timeout what is not ready and why.
import type { Writable } from 'node:stream';
import { TimeoutError } from '../cli/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { listTable } from '../kube/tables.ts';
import { Progress } from '../print/progress.ts';
import { renderServerTable } from '../print/table.ts';
import { CALICO_NAMESPACES } from './status.ts';
import { notReady, podLine, watchInstall, type WaitTarget, type Watched } from './wait.ts';

export interface WaitResult {
  ready: boolean;
  seconds: number;
  notReady: string[];
}

export async function runWait(kube: KubeClient, target: WaitTarget, out: Writable, tty: boolean, signal: AbortSignal, version?: string): Promise<WaitResult> {
  const started = performance.now();
  const progress = new Progress(out, tty);
  let finish: () => void = () => {};
  const reached = new Promise<void>((resolve) => (finish = resolve));
  let synced = false;
  const check = () => {
    if (!synced) return;
    progress.show(lines(watched));
    if (notReady(watched, target, version).length === 0) finish();
  };
  const stop = new AbortController();
  signal.addEventListener('abort', () => stop.abort(), { once: true });
  const watched = watchInstall(kube, check, stop.signal, version);
  try {
    await Promise.race([watched.synced, aborted(signal)]);
    synced = true;
    check();
    await Promise.race([reached, aborted(signal), watched.failed]);
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    progress.finish();
    return { ready: false, seconds: (performance.now() - started) / 1000, notReady: notReady(watched, target, version) };
  } finally {
    watched.stop();
    stop.abort();
  }
  progress.finish();
  return { ready: true, seconds: (performance.now() - started) / 1000, notReady: [] };
}

function lines(watched: Watched): Map<string, string> {
  const result = new Map<string, string>();
  for (const pod of [...watched.operator.items.values(), ...watched.pods.flatMap((i) => [...i.items.values()])]) {
    result.set(`pod/${pod.metadata.namespace}/${pod.metadata.name}`, `pod/${pod.metadata.namespace}/${pod.metadata.name}: ${podLine(pod)}`);
  }
  for (const status of watched.statuses.items.values()) {
    const conditions = status.status?.conditions ?? [];
    const state = ['Available', 'Progressing', 'Degraded'].filter((t) => conditions.some((c) => c.type === t && c.status === 'True')).join(',') || 'Unknown';
    result.set(`tigerastatus/${status.metadata.name}`, `tigerastatus/${status.metadata.name}: ${state}`);
  }
  for (const node of watched.nodes.items.values()) {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    result.set(`node/${node.metadata.name}`, `node/${node.metadata.name}: ${ready ? 'Ready' : 'NotReady'}`);
  }
  return result;
}

/** The pods and nodes tables, as `kubectl get pods -n …` and `kubectl get nodes` print them. */
export async function finalTables(kube: KubeClient): Promise<string> {
  const [nodes, ...pods] = await Promise.all([listTable(kube, '/api/v1/nodes'), ...CALICO_NAMESPACES.map((ns) => listTable(kube, `/api/v1/namespaces/${ns}/pods`))]);
  const sections = CALICO_NAMESPACES.map((ns, i) => (pods[i]!.rows.length ? `\nPods in ${ns}:\n${renderServerTable(pods[i]!)}` : ''));
  return `${sections.join('')}\nNodes:\n${renderServerTable(nodes)}`;
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
