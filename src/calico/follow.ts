// `status -w`: follows the cluster's events (watches, never polling) until
// Ctrl-C. On a terminal the status summary is read again after each burst of
// changes (one read at a time) and redrawn in place; in a pipe or a CI log,
// the headline when it changes and the rollout's lines — a line when a count
// moves by a tenth, never a line per pod.
import type { Writable } from 'node:stream';
import { CliError } from '../cli/errors.ts';
import { interruptible } from '../cli/interrupt.ts';
import type { KubeClient } from '../kube/client.ts';
import { LiveBlock, stamped, type Terminal } from '../print/progress.ts';
import { Rollout } from './rollout.ts';
import { readStatus, type StatusSnapshot } from './status.ts';
import { headline, renderStatus, type ViewOptions } from './status-view.ts';
import { followRollout } from './wait.ts';

const READ_INTERVAL_MS = 1000;

export async function followStatus(kube: KubeClient, out: Writable, view: ViewOptions, text: boolean): Promise<number> {
  const tty = text && (out as { isTTY?: boolean }).isTTY === true;
  const rollout = new Rollout('all');
  let snapshot: StatusSnapshot | undefined;
  // On a terminal a failed read is the block's first line until a read succeeds: a line written below the
  // live block would be erased by its next redraw, which would leave the block's old first line behind.
  let readError: string | undefined;
  const block = tty ? new LiveBlock(out as Terminal, () => [...(readError ? [readError] : []), ...(snapshot ? renderStatus(snapshot, view).trimEnd().split('\n') : [])]) : undefined;
  let reading = false;
  let again = false;
  let lastRead = 0;
  // One read at a time, at most one a second; changes during a read cause one more read after it.
  const refresh = () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    setTimeout(() => {
      lastRead = performance.now();
      readStatus(kube, { all: view.all }).then((fresh) => {
        const previous = snapshot;
        snapshot = fresh;
        readError = undefined;
        if (block) block.update();
        else if (!previous || fresh.state !== previous.state || fresh.version !== previous.version) out.write(stamped(headline(fresh, view.colors)));
      }, (error: unknown) => {
        readError = `error: ${(error as Error).message}`;
        if (block) block.update();
        else out.write(`${readError}\n`);
      }).finally(() => {
        reading = false;
        if (again) {
          again = false;
          refresh();
        }
      });
    }, Math.max(0, lastRead + READ_INTERVAL_MS - performance.now()));
  };
  let overall = '';
  const onUpdate = () => {
    if (tty) return refresh();
    const lines = rollout.log();
    // The headline is read again only when the TigeraStatus verdicts say it may have changed.
    const now = rollout.state();
    if (now !== overall) {
      overall = now;
      refresh();
    }
    for (const line of lines) out.write(stamped(line));
  };
  const { signal, dispose } = interruptible(0, 'status -w');
  try {
    await followRollout(kube, rollout, { signal, untilDone: false, onUpdate });
    return 0;
  } catch (error) {
    if (error instanceof CliError && signal.aborted) return error.exitCode;
    throw error;
  } finally {
    dispose();
    block?.finish();
  }
}
