import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import type { StatusSnapshot } from '../calico/status.ts';
import { colorEnabled, palette, type Palette } from '../print/color.ts';
import { parseOutput, Report, type OutputFormat } from '../print/report.ts';
import { renderServerTable, tableRecords } from '../print/table.ts';

export class StatusCommand extends ClusterCommand {
  static override paths = [['status']];

  static override usage = Command.Usage({
    description: "Show Calico's state at a glance",
    details: `
      Shows what the install guide checks with \`kubectl get pods -n calico-system\`, \`kubectl get nodes\` and
      \`kubectl get tigerastatus\`, in one command: the first line says \`Calico <version>: Available\`, \`Progressing\`,
      \`Degraded — <message>\`, or \`Calico: Not installed\`; then the operator, the Installation and its IP pools, every
      TigeraStatus, the Calico pods and the nodes, as kubectl prints them. Exits 0 when Calico is Available, 1 otherwise.
      With \`-w\` it follows the cluster's events: redrawn on a terminal, one line per change otherwise.
    `,
    examples: [
      ['Show the state of Calico', '$0 status'],
      ['Include pod IPs, node addresses and versions', '$0 status -o wide'],
      ['Follow the rollout as it happens', '$0 status -w'],
      ['Print the state as JSON', '$0 status -o json'],
    ],
  });

  output = Option.String('-o,--output', { description: 'Output format: wide, json or yaml' });
  watch = Option.Boolean('-w,--watch', false, { description: 'Keep watching: redraw on a terminal, one line per change otherwise (Ctrl-C stops)' });

  override async execute(): Promise<number> {
    const format = parseOutput(this.output, ['wide', 'json', 'yaml']);
    const colors = palette(colorEnabled(this.color, this.context.env, (this.context.stdout as { isTTY?: boolean }).isTTY === true) && format !== 'json' && format !== 'yaml');
    const kube = await this.kube();
    const { readStatus } = await import('../calico/status.ts');
    if (this.watch) {
      const { followStatus } = await import('../calico/follow.ts');
      return followStatus(kube, this.context.stdout, format, colors, (snapshot: StatusSnapshot) => renderStatus(snapshot, format, colors));
    }
    const snapshot = await readStatus(kube);
    const report = new Report<StatusSnapshot>('Status', format, this.context);
    for (const [key, value] of Object.entries(snapshot)) report.set(key as keyof StatusSnapshot, value as never);
    await report.finish((facts) => renderStatus(facts as StatusSnapshot, format, colors), (facts) => machineStatus(facts as StatusSnapshot));
    return snapshot.state === 'Available' ? 0 : 1;
  }
}

/** The first line: what an admin wants to know before anything else. */
export function headline(snapshot: StatusSnapshot, colors: Palette): string {
  if (snapshot.state === 'Not installed') return `Calico: ${colors.warn('Not installed')}`;
  const version = snapshot.version ? `Calico ${snapshot.version}` : 'Calico';
  if (snapshot.state === 'Degraded') return `${version}: ${colors.bad('Degraded')} — ${snapshot.message}`;
  return `${version}: ${snapshot.state === 'Available' ? colors.good('Available') : colors.warn('Progressing')}`;
}

export function renderStatus(snapshot: StatusSnapshot, format: OutputFormat, colors: Palette): string {
  const wide = format === 'wide';
  const out: string[] = [`${headline(snapshot, colors)}\n`];
  if (snapshot.state === 'Not installed') {
    out.push('\nInstall it with "kubectl calico init --pod-cidr <the cluster\'s pod subnet>" and "kubectl calico apply".\n');
  } else {
    out.push(`\n${summary(snapshot)}`);
    if (snapshot.tigeraStatus.rows.length) {
      out.push(`\nTigeraStatus:\n${renderServerTable(snapshot.tigeraStatus, { wide, decorate: colors.cell })}`);
      for (const row of snapshot.tigeraStatus.rows) {
        const degraded = ((row.object as { status?: { conditions?: { type: string; status: string; message?: string }[] } } | undefined)?.status?.conditions ?? []).find((c) => c.type === 'Degraded' && c.status === 'True');
        if (degraded) out.push(`${row.object?.metadata?.name} is degraded: ${degraded.message}\n`);
      }
    }
    for (const { namespace, table } of snapshot.pods) out.push(`\nPods in ${namespace}:\n${renderServerTable(table, { wide, decorate: colors.cell })}`);
  }
  out.push(`\nNodes:\n${renderServerTable(snapshot.nodes, { wide, decorate: colors.cell })}`);
  return out.join('');
}

function summary(snapshot: StatusSnapshot): string {
  const lines: [string, string][] = [];
  const op = snapshot.operator;
  lines.push(['Operator:', op ? `tigera-operator ${op.ready} ready, ${op.image}` : 'tigera-operator Deployment not found']);
  const installation = snapshot.installation;
  if (!installation) lines.push(['Installation:', 'none (the custom resources are not applied yet)']);
  else {
    const status = installation.status ?? {};
    const parts = [`variant ${status.variant ?? installation.spec?.variant ?? 'Calico'}`, status.calicoVersion ? `Calico ${status.calicoVersion}` : 'Calico version not reported yet', `MTU ${status.mtu ?? installation.spec?.calicoNetwork?.mtu ?? 'auto'}`];
    lines.push(['Installation:', parts.join(', ')]);
    for (const pool of installation.spec?.calicoNetwork?.ipPools ?? []) {
      lines.push(['IP pool:', `${pool.name ?? '(unnamed)'} ${pool.cidr}, block size ${pool.blockSize ?? 26}, ${pool.encapsulation ?? 'IPIP'}, NAT outgoing ${pool.natOutgoing ?? 'Enabled'}, node selector ${pool.nodeSelector ?? 'all()'}`]);
    }
  }
  return lines.map(([label, value]) => `${label.padEnd(14)}${value}\n`).join('');
}

function installationFacts(installation: NonNullable<StatusSnapshot['installation']>): object {
  const status = installation.status ?? {};
  return {
    variant: status.variant ?? installation.spec?.variant ?? 'Calico',
    ...(status.calicoVersion ? { calicoVersion: status.calicoVersion } : {}),
    ...(status.mtu ? { mtu: status.mtu } : {}),
    ipPools: (installation.spec?.calicoNetwork?.ipPools ?? []).map(({ name, cidr, blockSize, encapsulation, natOutgoing, nodeSelector }) => ({ name, cidr, blockSize, encapsulation, natOutgoing, nodeSelector })),
    conditions: status.conditions ?? [],
  };
}

/** The Status document for -o json|yaml: tables become records. */
export function machineStatus(snapshot: StatusSnapshot): object {
  return {
    state: snapshot.state,
    ...(snapshot.version ? { calicoVersion: snapshot.version } : {}),
    ...(snapshot.message ? { message: snapshot.message } : {}),
    ...(snapshot.operator ? { operator: snapshot.operator } : {}),
    ...(snapshot.installation ? { installation: installationFacts(snapshot.installation) } : {}),
    tigeraStatuses: tableRecords(snapshot.tigeraStatus),
    pods: snapshot.pods.flatMap(({ table }) => tableRecords(table, { wide: true, withNamespace: true })),
    nodes: tableRecords(snapshot.nodes, { wide: true }),
  };
}
