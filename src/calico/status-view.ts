// How status reads as text and as a document. The text scales with what is
// wrong, not with the cluster: the Calico workloads as `kubectl get
// daemonsets,deployments` prints them, one line for the nodes, and only the
// NotReady nodes and the pods that are not ready, grouped and capped;
// `--all` adds every pod and node as kubectl prints them.
import type { Palette } from '../print/color.ts';
import { renderServerTable, tableRecords, tabwrite, type ServerTable } from '../print/table.ts';
import { LIST_CAP, type StatusSnapshot } from './status.ts';

export interface ViewOptions {
  wide: boolean;
  /** --all: no caps, and every pod and node as kubectl prints them. */
  all: boolean;
  colors: Palette;
}

/** The first line: what an admin wants to know before anything else. */
export function headline(snapshot: StatusSnapshot, colors: Palette): string {
  if (snapshot.state === 'Not installed') return `Calico: ${colors.warn('Not installed')}`;
  const version = snapshot.version ? `Calico ${snapshot.version}` : 'Calico';
  if (snapshot.state === 'Degraded') return `${version}: ${colors.bad('Degraded')} — ${snapshot.message}`;
  return `${version}: ${snapshot.state === 'Available' ? colors.good('Available') : colors.warn('Progressing')}`;
}

export function renderStatus(snapshot: StatusSnapshot, options: ViewOptions): string {
  const { wide, colors } = options;
  const table = (t: ServerTable, kind?: string) => renderServerTable(t, { wide, decorate: colors.cell, ...(kind ? { kind } : {}) });
  const out: string[] = [`${headline(snapshot, colors)}\n`];
  if (snapshot.state === 'Not installed') {
    out.push('\nInstall it with "kubectl calico init --pod-cidr <the cluster\'s pod subnet>" and "kubectl calico apply".\n');
  } else {
    out.push(`\n${summary(snapshot)}`);
    if (snapshot.tigeraStatus.rows.length) {
      out.push(`\nTigeraStatus:\n${table(snapshot.tigeraStatus)}`);
      for (const row of snapshot.tigeraStatus.rows) {
        const degraded = ((row.object as { status?: { conditions?: { type: string; status: string; message?: string }[] } } | undefined)?.status?.conditions ?? []).find((c) => c.type === 'Degraded' && c.status === 'True');
        if (degraded) out.push(`${row.object?.metadata?.name} is degraded: ${degraded.message}\n`);
      }
    }
    for (const { namespace, daemonSets, deployments } of snapshot.workloads) {
      // As `kubectl get daemonsets,deployments -n <namespace>`: a table per kind, an empty line between them.
      const tables = [table(daemonSets, 'daemonset.apps'), table(deployments, 'deployment.apps')].filter(Boolean);
      if (tables.length) out.push(`\nWorkloads in ${namespace}:\n${tables.join('\n')}`);
    }
  }
  out.push(`\n${nodesSection(snapshot, options)}`);
  if (snapshot.podGroups.length) out.push(`\n${podsSection(snapshot, options)}`);
  if (options.all && snapshot.pods) for (const { namespace, table: pods } of snapshot.pods) out.push(`\nPods in ${namespace}:\n${table(pods)}`);
  if (options.all && snapshot.nodes.rows.length) out.push(`\nNodes:\n${table(snapshot.nodes)}`);
  return out.join('');
}

/** `Nodes: 1998 Ready, 2 NotReady`, then the NotReady ones with their Ready condition's message. */
function nodesSection(snapshot: StatusSnapshot, options: ViewOptions): string {
  const { ready, notReady } = snapshot.readiness;
  const counts = [`${ready} Ready`, ...(notReady.length ? [options.colors.bad(`${notReady.length} NotReady`)] : [])].join(', ');
  if (notReady.length === 0) return `Nodes: ${counts}\n`;
  const shown = options.all ? notReady : notReady.slice(0, LIST_CAP);
  return `Nodes: ${counts}\n${tabwrite([['NAME', 'MESSAGE'], ...shown.map((n) => [n.name, n.message])])}${more(notReady.length - shown.length)}`;
}

/** The pods that are not ready, a line per workload and reason. */
function podsSection(snapshot: StatusSnapshot, options: ViewOptions): string {
  const groups = snapshot.podGroups;
  const total = groups.reduce((sum, g) => sum + g.pods.length, 0);
  const shown = options.all ? groups : groups.slice(0, LIST_CAP);
  const rows = shown.map((g) => [g.workload, String(g.pods.length), g.reason, g.pods.length === 1 ? `${g.pods[0]}: ${g.message}` : g.message]);
  return `Pods not ready: ${total}\n${tabwrite([['WORKLOAD', 'PODS', 'REASON', 'MESSAGE'], ...rows])}${more(groups.length - shown.length)}`;
}

function more(hidden: number): string {
  return hidden > 0 ? `… and ${hidden} more (--all)\n` : '';
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
    workloads: snapshot.workloads.flatMap(({ namespace, daemonSets, deployments }) => [
      ...tableRecords(daemonSets, { wide: true }).map((r) => ({ namespace, kind: 'DaemonSet', ...r })),
      ...tableRecords(deployments, { wide: true }).map((r) => ({ namespace, kind: 'Deployment', ...r })),
    ]),
    pods: (snapshot.pods ?? []).flatMap(({ table }) => tableRecords(table, { wide: true, withNamespace: true })),
    podsNotReady: snapshot.podGroups,
    nodes: tableRecords(snapshot.nodes, { wide: true }),
  };
}
