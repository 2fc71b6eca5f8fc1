// `status -w`: follows the cluster's events (watches, never polling). On a
// terminal the whole status is redrawn after each burst of changes; in a
// pipe or a CI log, one timestamped line per thing that changed.
import type { Writable } from 'node:stream';
import type { KubeClient } from '../kube/client.ts';
import { inform, type KubeObjectLike } from '../kube/watch.ts';
import type { Palette } from '../print/color.ts';
import type { OutputFormat } from '../print/report.ts';
import { formatCell } from '../print/table.ts';
import { headline } from '../commands/status.ts';
import { CALICO_NAMESPACES, readStatus, type StatusSnapshot } from './status.ts';

const WATCHED = [
  '/apis/operator.tigera.io/v1/tigerastatuses',
  '/apis/operator.tigera.io/v1/installations',
  '/api/v1/nodes',
  '/api/v1/namespaces/tigera-operator/pods',
  ...CALICO_NAMESPACES.map((ns) => `/api/v1/namespaces/${ns}/pods`),
];

export async function followStatus(kube: KubeClient, out: Writable, format: OutputFormat, colors: Palette, render: (snapshot: StatusSnapshot) => string): Promise<number> {
  const tty = (out as { isTTY?: boolean }).isTTY === true && format !== 'json' && format !== 'yaml';
  const stop = new AbortController();
  let previous = new Map<string, string>();
  let pending: NodeJS.Timeout | undefined;
  let drawing = Promise.resolve();
  const draw = () => {
    drawing = drawing.then(async () => {
      const snapshot = await readStatus(kube);
      if (tty) {
        out.write(`\x1b[H\x1b[2J${render(snapshot)}`);
        return;
      }
      const current = describe(snapshot, colors);
      const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      for (const [key, text] of current) if (previous.get(key) !== text) out.write(`${stamp} ${text}\n`);
      for (const key of previous.keys()) if (!current.has(key) && key !== 'calico') out.write(`${stamp} ${key}: gone\n`);
      previous = current;
    }).catch((error: unknown) => {
      out.write(`error: ${(error as Error).message}\n`);
    });
  };
  const schedule = () => {
    clearTimeout(pending);
    pending = setTimeout(draw, 100);
  };
  const informers = WATCHED.map((path) => inform<KubeObjectLike>(kube, path, {}, schedule, stop.signal));
  await Promise.all(informers.map((i) => i.synced.catch(() => undefined)));
  draw();
  const code = await new Promise<number>((resolve) => {
    process.once('SIGINT', () => resolve(130));
    process.once('SIGTERM', () => resolve(143));
  });
  stop.abort();
  clearTimeout(pending);
  return code;
}

/** One line of text per thing whose state can change, keyed by what it is. */
function describe(snapshot: StatusSnapshot, colors: Palette): Map<string, string> {
  const lines = new Map<string, string>();
  lines.set('calico', headline(snapshot, colors));
  const cells = (row: { cells: unknown[] }, columns: { name: string }[], names: string[]) => names.map((n) => `${n.toLowerCase()} ${formatCell(row.cells[columns.findIndex((c) => c.name === n)])}`).join(', ');
  for (const row of snapshot.tigeraStatus.rows) {
    const name = row.object?.metadata?.name ?? String(row.cells[0]);
    lines.set(`tigerastatus/${name}`, `tigerastatus/${name}: ${cells(row, snapshot.tigeraStatus.columnDefinitions, ['Available', 'Progressing', 'Degraded'])}`);
  }
  for (const { namespace, table } of snapshot.pods) {
    for (const row of table.rows) {
      const name = String(row.cells[0]);
      lines.set(`pod/${namespace}/${name}`, `pod/${namespace}/${name}: ${cells(row, table.columnDefinitions, ['Ready', 'Status', 'Restarts'])}`);
    }
  }
  for (const row of snapshot.nodes.rows) {
    const name = String(row.cells[0]);
    lines.set(`node/${name}`, `node/${name}: ${cells(row, snapshot.nodes.columnDefinitions, ['Status'])}`);
  }
  return lines;
}
