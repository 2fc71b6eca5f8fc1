import { UsageError } from './errors.ts';

export type DryRun = 'none' | 'client' | 'server';

/** kubectl's --dry-run: a bare flag means client. */
export function parseDryRun(value: string | boolean): DryRun {
  const dryRun = value === true ? 'client' : value;
  if (dryRun !== 'none' && dryRun !== 'client' && dryRun !== 'server') throw new UsageError(`invalid --dry-run "${String(value)}": expected none, client or server`);
  return dryRun;
}
