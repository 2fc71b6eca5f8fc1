// diags' progress on stderr, so that stdout is the last line alone: on a
// terminal one line redrawn in place (files, bytes, what could not be
// collected), in a pipe a line per finished item.
import type { Writable } from 'node:stream';

/** One collected or uncollected item, as the run reports it. */
export interface ProgressItem {
  path: string;
  bytes?: number;
  failure?: string;
}

export interface DiagsProgress {
  item: (outcome: ProgressItem) => void;
  /** Takes the live line off the terminal (again: a no-op). */
  finish: () => void;
}

export async function diagsProgress(stderr: Writable & { isTTY?: boolean }): Promise<DiagsProgress> {
  if (stderr.isTTY !== true) {
    return {
      item: (o) => stderr.write(o.failure === undefined ? `${o.path} (${formatBytes(o.bytes ?? 0)})\n` : `${o.path}: not collected: ${o.failure}\n`),
      finish: () => undefined,
    };
  }
  const { LiveBlock } = await import('./progress.ts');
  let done = 0;
  let failed = 0;
  let bytes = 0;
  let finished = false;
  const block = new LiveBlock(stderr, () => (finished ? [] : [`Collecting diagnostics: ${done} files (${formatBytes(bytes)})${failed ? `, ${failed} not collected` : ''}`]));
  return {
    item: (o) => {
      if (o.failure === undefined) {
        done++;
        bytes += o.bytes ?? 0;
      } else failed++;
      block.update();
    },
    finish: () => {
      if (finished) return;
      finished = true;
      block.finish();
    },
  };
}

/** Bytes as `812 B`, `4.2 KiB`, `13.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
