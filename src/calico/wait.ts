// `wait`: what the guide does with `watch kubectl get pods -n calico-system`
// and `kubectl get nodes`, driven by watch events, so it returns within a
// moment of the cluster becoming ready — and when it is not, says why. On a
// terminal the progress is a live block; in a pipe, a line when a count
// moves by a tenth; at the end, the status summary.
import type { Writable } from 'node:stream';
import { TimeoutError } from '../cli/errors.ts';
import { interruptible } from '../cli/interrupt.ts';
import type { KubeClient } from '../kube/client.ts';
import { watchUntil } from '../kube/watch.ts';
import { colorEnabled, palette, type Palette } from '../print/color.ts';
import { LiveBlock, stamped, type Screen, type Terminal } from '../print/progress.ts';
import { tabwrite } from '../print/table.ts';
import { podDetail, type Pod } from './pods.ts';
import { Rollout, rolloutTargets, type WaitTarget } from './rollout.ts';
import { readStatus } from './status.ts';
import { renderStatus } from './status-view.ts';

interface NodeObject {
  status?: { conditions?: { type: string; message?: string }[] };
}

/** Reads at once for the messages of the groups shown (a group's message comes from one of its pods or nodes). */
const MESSAGE_READS = 4;

/**
 * Follows the rollout's lists into `rollout` until it is done (with `untilDone`) or `signal` ends it; `onUpdate`
 * after each burst, each second, and when a group's message has been read.
 */
export async function followRollout(kube: KubeClient, rollout: Rollout, options: { signal: AbortSignal; untilDone: boolean; onUpdate: () => void }): Promise<void> {
  const targets = rolloutTargets(rollout.version);
  let synced = false;
  const queue: ReturnType<Rollout['wanting']> = [];
  let reading = 0;
  let followed = false;
  // Reads the pods and nodes that explain the groups shown, a few at a time; one that cannot be read leaves its group without words.
  const readMessages = () => {
    queue.push(...rollout.wanting());
    while (reading < MESSAGE_READS && queue.length) {
      const { id, kind, namespace, name } = queue.shift()!;
      reading++;
      const read = kind === 'pod'
        ? kube.optional<Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`, { signal: options.signal }).then((pod) => (pod ? podDetail(pod).message : ''))
        : kube.optional<NodeObject>(`/api/v1/nodes/${name}`, { signal: options.signal }).then((node) => node?.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '');
      read.then((message) => rollout.describeGroup(id, message), () => rollout.describeGroup(id, ''))
        .finally(() => {
          reading--;
          // A read that ends after the follow has ended is not shown: the caller has printed its last state.
          if (options.signal.aborted || followed) return;
          options.onUpdate();
          readMessages();
        });
    }
  };
  const update = () => {
    readMessages();
    options.onUpdate();
  };
  const ticker = setInterval(() => {
    if (!synced) return;
    rollout.tick();
    update();
  }, 1000);
  try {
    await watchUntil(kube, targets, {
      signal: options.signal,
      onChange: (change, index) => rollout.apply(targets[index]!.source, change),
      until: () => {
        synced = true;
        update();
        return options.untilDone && rollout.done() ? true : undefined;
      },
    });
  } finally {
    followed = true;
    clearInterval(ticker);
  }
}

export interface WaitOutput {
  out: Writable;
  /** Whether `out` is a terminal: a live block instead of log lines. */
  tty: boolean;
  colors: Palette;
}

/** A stream as the wait writes to it: a terminal gets the live block and colour (unless --no-color or NO_COLOR). */
export function outputFor(out: Writable, colorFlag: boolean | undefined, env: NodeJS.ProcessEnv): WaitOutput {
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  return { out, tty, colors: palette(colorEnabled(colorFlag, env, tty)) };
}

/**
 * Waits until `target` is ready (at Calico `version`, when given), then prints the status summary; on a timeout,
 * exit 124 with what is stuck. Shared by wait, apply --wait and upgrade --wait.
 */
export async function waitAndReport(kube: KubeClient, target: WaitTarget, timeoutMs: number, output: WaitOutput, version?: string): Promise<number> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const rollout = new Rollout(target, version);
  const block = output.tty ? new LiveBlock(output.out as Terminal, (screen) => waitBlock(rollout, seconds(), screen, output.colors)) : undefined;
  const onUpdate = block ? () => block.update() : () => {
    for (const line of rollout.log()) output.out.write(stamped(line));
  };
  const { signal, dispose } = interruptible(timeoutMs, 'wait');
  try {
    await followRollout(kube, rollout, { signal, untilDone: true, onUpdate });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const stuck = rollout.stuck(20).map((line) => `  ${line}`).join('\n');
    throw new TimeoutError(`not ready after ${Math.round(seconds())}s (--timeout): ${rollout.totals()}\n${stuck}\nRun "kubectl calico doctor" to find the cause.`);
  } finally {
    dispose();
    if (block) block.finish();
    else onUpdate();
  }
  const took = seconds();
  const snapshot = await readStatus(kube, { all: false });
  output.out.write(`\nCalico is ready (${took.toFixed(1)}s).\n\n${renderStatus(snapshot, { wide: false, all: false, colors: output.colors })}`);
  return 0;
}

/** The live block: a line of totals, a row per workload, the nodes and every TigeraStatus, then the problems that fit. */
export function waitBlock(rollout: Rollout, seconds: number, screen: Screen, colors: Palette): string[] {
  const rows = rollout.rows();
  const complete = rows.filter((r) => r.complete).length;
  const lines = [`Waiting for Calico: ${complete} of ${rows.length} ready (${Math.floor(seconds)}s)`];
  const ready = (r: (typeof rows)[number]) => (r.complete ? colors.good(r.cells[1]) : r.problem ? colors.bad(r.cells[1]) : colors.warn(r.cells[1]));
  lines.push(...tabwrite([['NAME', 'READY', 'STATE'], ...rows.map((r) => [r.cells[0], ready(r), r.cells[2]])]).trimEnd().split('\n').map((l) => l.trimEnd()));
  const problems = rollout.problems();
  const room = screen.rows - 1 - lines.length - 1;
  if (problems.length && room > 0) {
    const shown = problems.length > room ? problems.slice(0, room - 1) : problems;
    lines.push(colors.bad('Problems:'), ...shown.map((g) => `  ${g.subject}: ${g.members.size} ${g.subject === 'nodes' ? 'NotReady' : g.reason}${g.message ? `: ${g.message}` : ''}`));
    if (shown.length < problems.length) lines.push(`  … and ${problems.length - shown.length} more`);
  }
  return lines;
}
