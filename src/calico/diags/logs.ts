// Container logs for the bundle: every container (init containers too) of
// the pods read, within --since, and the previous instance's log of each
// container that restarted — a crash loop's cause is in the log of the
// instance that crashed. The API's limitBytes keeps a log's *oldest* bytes,
// but the failure is at the end; so the log is read whole (the kubelet's
// rotation bounds it, 10 MiB by default) and its newest --max-log-bytes kept,
// from the first line that starts within them. The bundle stops adding logs
// at --max-total-bytes; pods that are not ready and restarted containers go
// first, so what is left out is the least telling.
import type { KubeClient } from '../../kube/client.ts';
import { apiError } from '../../kube/client.ts';
import { redactText } from './redact.ts';
import type { DiagsRun } from './run.ts';

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { running?: object };
  lastState?: { terminated?: object };
}

/** What the bundle reads of a pod beyond writing it: its containers and their states, its node and labels. */
export interface PodObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { nodeName?: string; initContainers?: { name: string }[]; containers?: { name: string }[] };
  status?: { phase?: string; initContainerStatuses?: ContainerStatus[]; containerStatuses?: ContainerStatus[] };
}

interface LogItem {
  file: string;
  namespace: string;
  pod: string;
  container: string;
  previous: boolean;
  /** Lower goes first. */
  rank: number;
}

export interface LogOptions {
  pods: { namespace: string; items: PodObject[] }[];
  sinceMs: number;
  maxLogBytes: number;
  maxTotalBytes: number;
}

export async function collectLogs(kube: KubeClient, run: DiagsRun, options: LogOptions): Promise<void> {
  const items = logItems(options.pods).sort((a, b) => a.rank - b.rank);
  const sinceSeconds = Math.max(1, Math.ceil(options.sinceMs / 1000));
  let full = false;
  await Promise.all(items.map((item) => run.item(item.file, async () => {
    if (full || run.bundle.bytes >= options.maxTotalBytes) {
      full = true;
      run.skip(item.file, `left out: the bundle reached --max-total-bytes (${options.maxTotalBytes} bytes)`);
      return;
    }
    const apiPath = `/api/v1/namespaces/${encodeURIComponent(item.namespace)}/pods/${encodeURIComponent(item.pod)}/log`;
    // A previous instance's log is read whole (within the byte cap): its end, the crash, may be older than --since.
    const query = { container: item.container, ...(item.previous ? { previous: 'true' } : { sinceSeconds: String(sinceSeconds) }) };
    const response = await kube.request(apiPath, { query, accept: 'text/plain', signal: run.signal });
    if (response.statusCode < 200 || response.statusCode > 299) throw apiError(response);
    const room = Math.min(options.maxLogBytes, options.maxTotalBytes - run.bundle.bytes);
    if (room <= 0) {
      full = true;
      run.skip(item.file, `left out: the bundle reached --max-total-bytes (${options.maxTotalBytes} bytes)`);
      return;
    }
    const kept = newest(response.body, room);
    const producer = `GET ${apiPath}?${new URLSearchParams(query)}${kept.length < response.body.length ? ` (the newest ${kept.length} of ${response.body.length} bytes)` : ''}`;
    if (kept.length < response.body.length) run.note(`${item.file}: kept the newest ${kept.length} of ${response.body.length} bytes (${room < options.maxLogBytes ? '--max-total-bytes' : '--max-log-bytes'})`);
    await run.add(item.file, redactText(kept.toString('utf8')), producer, response.body.length - kept.length || undefined);
  })));
}

/** The last `limit` bytes, from the first line that starts within them (a log without a line break in them: the bytes as cut). */
export function newest(log: Buffer, limit: number): Buffer {
  if (log.length <= limit) return log;
  const tail = log.subarray(log.length - limit);
  const lineStart = log[log.length - limit - 1] === 0x0a ? 0 : tail.indexOf(0x0a) + 1;
  return lineStart > 0 && lineStart < tail.length ? tail.subarray(lineStart) : tail;
}

function logItems(groups: LogOptions['pods']): LogItem[] {
  const items: LogItem[] = [];
  for (const { namespace, items: pods } of groups) {
    for (const pod of pods) {
      const name = pod.metadata.name;
      const statuses = new Map([...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => [s.name, s]));
      const podReady = (pod.status?.containerStatuses ?? []).every((s) => s.ready);
      for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
        const status = statuses.get(container.name);
        const restarted = (status?.restartCount ?? 0) > 0 || status?.lastState?.terminated !== undefined;
        const base = { namespace, pod: name, container: container.name };
        const file = `${namespace === 'kube-system' ? 'kube-system' : `namespaces/${namespace}`}/logs/${name}/${container.name}`;
        if (restarted) items.push({ ...base, file: `${file}.previous.log`, previous: true, rank: 0 });
        items.push({ ...base, file: `${file}.log`, previous: false, rank: restarted ? 0 : podReady ? 2 : 1 });
      }
    }
  }
  return items;
}
