import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import type { StatusSnapshot } from '../calico/status.ts';
import { colorEnabled, palette } from '../print/color.ts';
import { parseOutput, Report } from '../print/report.ts';

export class StatusCommand extends ClusterCommand {
  static override paths = [['status']];

  static override usage = Command.Usage({
    description: "Show Calico's state at a glance",
    details: `
      Shows what the install guide checks with \`kubectl get pods -n calico-system\`, \`kubectl get nodes\` and
      \`kubectl get tigerastatus\`, in one command, sized by what is wrong rather than by the cluster: the first line
      says \`Calico <version>: Available\`, \`Progressing\`, \`Degraded — <message>\`, or \`Calico: Not installed\`; then
      the operator, the Installation and its IP pools, every TigeraStatus and the Calico workloads as kubectl prints
      them, the count of Ready nodes with the NotReady ones and why, and the pods that are not ready, grouped by
      workload and reason (lists stop after 10 rows; \`--all\` shows every row and every pod and node as \`kubectl
      get\` does). Exits 0 when Calico is Available, 1 otherwise. With \`-w\` it follows the cluster's events:
      redrawn in place on a terminal, a line when a count moves by a tenth otherwise.
    `,
    examples: [
      ['Show the state of Calico', '$0 status'],
      ['Every pod and node, as kubectl get prints them', '$0 status --all'],
      ['More columns (images, selectors, node addresses)', '$0 status -o wide'],
      ['Follow the rollout as it happens', '$0 status -w'],
      ['Print the state as JSON', '$0 status -o json'],
    ],
  });

  output = Option.String('-o,--output', { description: 'Output format: wide, json or yaml' });
  all = Option.Boolean('--all', false, { description: 'Every row: no caps on the lists, plus every Calico pod and every node as kubectl prints them' });
  watch = Option.Boolean('-w,--watch', false, { description: 'Keep watching: redraw on a terminal, a line per change otherwise (Ctrl-C stops)' });

  override async execute(): Promise<number> {
    const format = parseOutput(this.output, ['wide', 'json', 'yaml']);
    const machine = format === 'json' || format === 'yaml';
    const colors = palette(colorEnabled(this.color, this.context.env, (this.context.stdout as { isTTY?: boolean }).isTTY === true) && !machine);
    const view = { wide: format === 'wide', all: this.all, colors };
    const kube = await this.kube();
    if (this.watch) {
      const { followStatus } = await import('../calico/follow.ts');
      return followStatus(kube, this.context.stdout, view, !machine);
    }
    const [{ readStatus }, { renderStatus, machineStatus }] = await Promise.all([import('../calico/status.ts'), import('../calico/status-view.ts')]);
    const snapshot = await readStatus(kube, { all: this.all || machine });
    const report = new Report<StatusSnapshot>('Status', format, this.context);
    report.setAll(snapshot);
    await report.finish((facts) => renderStatus(facts as StatusSnapshot, view), (facts) => machineStatus(facts as StatusSnapshot));
    return snapshot.state === 'Available' ? 0 : 1;
  }
}
