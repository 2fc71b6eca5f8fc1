// Applying a folder's stages as a command does it: each object and gate
// printed as kubectl apply prints them, under one --timeout and Ctrl-C, and
// what was applied recorded in the folder so the next apply can say
// `unchanged`. Used by apply and upgrade.
import { interruptible } from '../cli/interrupt.ts';
import type { KubeClient } from '../kube/client.ts';
import type { DryRun } from '../cli/dry-run.ts';
import { applyStages, checkPullSecrets, marker, type ObjectResult } from './apply.ts';
import { readApplied, writeApplied, type Stage } from './plan.ts';

export interface ApplyFolderOptions {
  dir: string;
  dryRun: DryRun;
  forceConflicts: boolean;
  force: boolean;
  timeoutMs: number;
  /** The command running it: its --timeout message and the re-run that finishes an interrupted run name it. */
  command: 'apply' | 'upgrade';
  /** Where each object and gate is printed as it is done; none for -o json|yaml. */
  out: { write(text: string): unknown } | undefined;
}

export async function applyFolder(kube: KubeClient, stages: Stage[], options: ApplyFolderOptions): Promise<{ objects: ObjectResult[]; gates: string[] }> {
  const objects: ObjectResult[] = [];
  const gates: string[] = [];
  const suffix = options.dryRun === 'client' ? ' (dry run)' : options.dryRun === 'server' ? ' (server dry run)' : '';
  const previous = readApplied(options.dir);
  const { signal, dispose } = interruptible(options.timeoutMs, options.command);
  try {
    // A client dry run asks the cluster nothing.
    if (options.dryRun !== 'client') await checkPullSecrets(kube, stages, signal);
    await applyStages(kube, stages, {
      dryRun: options.dryRun,
      forceConflicts: options.forceConflicts,
      force: options.force,
      signal,
      previous,
      rerun: `kubectl calico ${options.command}`,
      onObject: (result) => {
        objects.push(result);
        options.out?.write(`${result.name} ${result.action}${suffix}${result.note ? ` (${result.note})` : ''}\n`);
      },
      onGate: (gate) => {
        gates.push(gate);
        options.out?.write(`waited: ${gate}\n`);
      },
    });
  } finally {
    dispose();
    // What this run applied goes over the last run's record; a run that applied nothing leaves the folder as it was.
    const applied = objects.flatMap((o) => (marker(o) ? [[o.name, marker(o)!] as const] : []));
    if (options.dryRun === 'none' && applied.length) writeApplied(options.dir, new Map([...previous, ...applied]));
  }
  return { objects, gates };
}
