import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { parseDuration } from '../cli/duration.ts';
import { CliError, UsageError } from '../cli/errors.ts';
import { interruptible } from '../cli/interrupt.ts';
import { parseDryRun, type DryRun } from '../cli/dry-run.ts';
import type { Leftovers, UninstallResult } from '../calico/uninstall.ts';
import { parseOutput, Report } from '../print/report.ts';
import { tabwrite } from '../print/table.ts';

interface UninstallDoc {
  dryRun: DryRun;
  objects: UninstallResult[];
  waited: string[];
  leftovers: Leftovers;
  hostLeftovers: string[];
}

export class UninstallCommand extends ClusterCommand {
  static override paths = [['uninstall']];

  static override usage = Command.Usage({
    description: 'Remove Calico: what kubectl-calico applied, in the order the operator needs',
    details: `
      Deletes the custom resources (Installation, APIServer, and from v3.30 Goldmane and Whisker) and waits until the
      operator has removed calico-system and calico-apiserver; then deletes the operator's objects and, unless
      \`--keep-crds\`, the CRDs of every Calico version kubectl-calico applied. Only objects applied by kubectl-calico
      (its field manager in managedFields) are deleted, and of those, any that a field manager outside Calico also
      manages is kept and named. Everything is read from the cluster: no folder is needed, and a re-run continues
      where the last one stopped. Every pod loses its network until another CNI is installed, so it asks first on a
      terminal; without one it needs \`--yes\`. It ends with what is left: namespaces still Terminating and why, nodes
      still carrying Calico's NetworkUnavailable condition, and what stays on each host.
    `,
    examples: [
      ['Remove Calico, confirming on the terminal', '$0 uninstall'],
      ['Remove it from a script', '$0 uninstall --yes'],
      ['See what would be deleted', '$0 uninstall --dry-run=server'],
      ['Keep the CRDs (and so every Calico resource) for a reinstall', '$0 uninstall --yes --keep-crds'],
    ],
  });

  dir = Option.String('--dir', { description: 'The folder init wrote: its record of the last apply is dropped too (the cluster is the source of what to delete)' });
  yes = Option.Boolean('-y,--yes', false, { description: 'Do not ask for confirmation (needed without a terminal)' });
  timeout = Option.String('--timeout', '10m', { description: 'How long uninstall may take (exit 124)' });
  keepCrds = Option.Boolean('--keep-crds', false, { description: 'Keep the CustomResourceDefinitions (and so the Calico resources such as IP pools)' });
  dryRun = Option.String('--dry-run', 'none', { tolerateBoolean: true, description: 'none, client (print what would be deleted) or server (send with dryRun, change nothing)' });
  output = Option.String('-o,--output', { description: 'Output format: json or yaml' });

  override async execute(): Promise<number> {
    const dryRun = parseDryRun(this.dryRun);
    const format = parseOutput(this.output, ['json', 'yaml']);
    const timeoutMs = parseDuration(this.timeout, '--timeout');
    const stdinTTY = (this.context.stdin as { isTTY?: boolean }).isTTY === true;
    if (dryRun === 'none' && !this.yes && !stdinTTY) throw new UsageError('uninstall removes Calico and every pod loses its network: pass --yes to confirm (stdin is not a terminal, so it cannot ask)');
    const kube = await this.kube();
    const { discover, planUninstall, runUninstall, readLeftovers, HOST_LEFTOVERS } = await import('../calico/uninstall.ts');
    const plan = planUninstall(await discover(kube), this.keepCrds);
    const report = new Report<UninstallDoc>('UninstallResult', format, this.context);
    const out = report.machine ? undefined : this.context.stdout;
    if (plan.remove.length === 0 && plan.keep.length === 0) {
      report.setAll({ dryRun, objects: [], waited: [] });
      await report.finish(() => 'Nothing to uninstall: no object applied by kubectl-calico is left in this cluster.\n');
      return 0;
    }
    if (plan.remove.length && dryRun === 'none' && !this.yes && !(await this.confirm(plan.remove.length))) throw new CliError('uninstall cancelled: nothing was deleted');
    const waited: string[] = [];
    const suffix = dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : '';
    const { signal, dispose } = interruptible(timeoutMs, 'uninstall');
    try {
      const objects = await runUninstall(kube, plan, {
        dryRun,
        signal,
        onObject: (r) => out?.write(`${kubectlName(r.name)} ${r.action === 'gone' ? 'already gone' : r.action}${suffix}${r.note ? ` (${r.note})` : ''}\n`),
        onWait: (text) => {
          waited.push(text);
          out?.write(`waited: ${text}\n`);
        },
      });
      report.setAll({ dryRun, objects, waited });
    } finally {
      dispose();
    }
    if (dryRun !== 'none') {
      await report.finish(() => '');
      return 0;
    }
    if (this.dir !== undefined && plan.keep.length === 0) (await import('../calico/plan.ts')).dropApplied(this.dir);
    const leftovers = await readLeftovers(kube);
    report.setAll({ leftovers, hostLeftovers: HOST_LEFTOVERS });
    await report.finish(() => renderLeftovers(leftovers, HOST_LEFTOVERS));
    return 0;
  }

  /** Asks on the terminal; anything but y or yes is no. */
  private async confirm(count: number): Promise<boolean> {
    const { createInterface } = await import('node:readline/promises');
    const prompt = createInterface({ input: this.context.stdin, output: this.context.stderr });
    try {
      const crds = this.keepCrds ? '' : ' Deleting the CRDs deletes every Calico resource with them (IP pools, network policies); --keep-crds keeps them.';
      const answer = await prompt.question(`This deletes ${count} objects kubectl-calico applied and with them Calico: every pod loses its network until another CNI is installed.${crds}\nUninstall Calico? [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      prompt.close();
    }
  }
}

/** `installation.operator.tigera.io "default"`, as kubectl delete names objects. */
function kubectlName(displayName: string): string {
  const [kind, name] = displayName.split('/');
  return `${kind} "${name}"`;
}

function renderLeftovers(leftovers: Leftovers, host: readonly string[]): string {
  const sections: string[] = [];
  if (leftovers.namespaces.length) sections.push(`\nStill there:\n${leftovers.namespaces.map((n) => `  namespace ${n.name}: ${n.state}`).join('\n')}\n`);
  if (leftovers.nodes.length) {
    sections.push(`\nNodes still carrying the NetworkUnavailable condition calico-node set (the next CNI sets its own):\n${tabwrite([['NAME', 'NETWORKUNAVAILABLE', 'REASON', 'MESSAGE'], ...leftovers.nodes.map((n) => [n.name, n.status, n.reason, n.message])])}`);
  }
  sections.push(`\nOn every host, what the API cannot see stays until you remove it:\n${host.map((h) => `  - ${h}`).join('\n')}\n`);
  return sections.join('');
}
