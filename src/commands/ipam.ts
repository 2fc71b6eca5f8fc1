import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { CliError, UsageError } from '../cli/errors.ts';
import type { IpamCheck } from '../calico/ipam/check.ts';
import type { IpamUsage } from '../calico/ipam/usage.ts';
import { colorEnabled, palette } from '../print/color.ts';
import { parseOutput, Report } from '../print/report.ts';

export class IpamShowCommand extends ClusterCommand {
  static override paths = [['ipam', 'show']];

  static override usage = Command.Usage({
    description: 'How full each IP pool is, as calicoctl ipam show counts it',
    details: `
      Reads Calico IPAM's objects (IPPools, IPAMBlocks, BlockAffinities; no exec, read-only) and prints, per pool,
      its CIDR, block size, blocks allocated of those possible, addresses in use of those possible and the
      percentage; with --show-blocks, per block its CIDR, the node it is affine to, the addresses in use of its size
      and how many of them are borrowed (allocated to another node). Warns when a pool's free blocks will not cover
      the nodes it selects that have none yet, or when it is full.
    `,
    examples: [
      ['Every pool', '$0 ipam'],
      ['Every block too', '$0 ipam show --show-blocks'],
      ['As JSON', '$0 ipam show -o json'],
    ],
  });

  showBlocks = Option.Boolean('--show-blocks', false, { description: 'Also every block: its node, addresses in use and borrowed addresses' });
  output = Option.String('-o,--output', { description: 'Output format: json or yaml' });

  override async execute(): Promise<number> {
    const format = parseOutput(this.output, ['json', 'yaml']);
    const kube = await this.kube();
    const [{ readIpamUsage }, { renderUsage, machineUsage, usageWarnings }] = await Promise.all([import('../calico/ipam/collect.ts'), import('../calico/ipam/view.ts')]);
    const usage = await readIpamUsage(kube);
    const report = new Report<{ usage: IpamUsage }>('IpamUsage', format, this.context);
    report.set('usage', usage);
    for (const warning of usageWarnings(usage)) report.warn(warning);
    await report.finish(() => renderUsage(usage, this.showBlocks), () => machineUsage(usage, this.showBlocks));
    return 0;
  }
}

/** `ipam` alone shows, as `ipam show` (a class of its own: the command line finds commands by their first path). */
export class IpamCommand extends IpamShowCommand {
  static override paths = [['ipam']];

  static override usage = Command.Usage({ ...IpamShowCommand.usage, description: 'How full each IP pool is (ipam show)' });
}

export class IpamCheckCommand extends ClusterCommand {
  static override paths = [['ipam', 'check']];

  static override usage = Command.Usage({
    description: 'Find leaked addresses and other IPAM inconsistencies, as calicoctl ipam check does',
    details: `
      Read-only. Sets every allocation of Calico IPAM against what holds addresses (pods' status.podIPs, the nodes'
      tunnel addresses) and reports: leaked addresses (allocated, held by nothing; with handle, namespace and pod —
      a pod name a StatefulSet reused does not hide one), younger than calico-kube-controllers' leakGracePeriod
      (WARN: it releases them itself) or older (FAIL); blocks affine to nodes that no longer exist; addresses in
      blocks outside every enabled pool; addresses running pods hold that IPAM never allocated; handles without
      allocations; inconsistent blocks; and pools that are full. Each with its count, its age and the fix.
      --report writes the findings as \`calicoctl ipam check -o\` does, for \`calicoctl ipam release --from-report\`.
      Exit 1 on any FAIL.
    `,
    examples: [
      ['Check IPAM', '$0 ipam check'],
      ['Write a report calicoctl ipam release can use', '$0 ipam check --report ipam-report.json'],
    ],
  });

  reportFile = Option.String('--report', { description: 'Also write the findings to FILE in the JSON format of calicoctl ipam check -o' });
  output = Option.String('-o,--output', { description: 'Output format: json or yaml' });

  override async execute(): Promise<number> {
    const format = parseOutput(this.output, ['json', 'yaml']);
    if (this.reportFile !== undefined && this.reportFile.trim() === '') throw new UsageError('--report is empty: expected a file name');
    const machine = format !== 'text';
    const colors = palette(!machine && colorEnabled(this.color, this.context.env, (this.context.stdout as { isTTY?: boolean }).isTTY === true));
    const kube = await this.kube();
    const [{ runIpamCheck }, { renderCheck, machineCheck }] = await Promise.all([import('../calico/ipam/collect.ts'), import('../calico/ipam/view.ts')]);
    const { check, leakGrace } = await runIpamCheck(kube);
    const report = new Report<{ check: IpamCheck }>('IpamCheck', format, this.context);
    if (this.reportFile !== undefined) await this.writeReport(kube, check, this.reportFile, report);
    report.set('check', check);
    await report.finish(() => renderCheck(check, leakGrace, colors), () => machineCheck(check, leakGrace));
    return check.findings.some((f) => f.status === 'FAIL') ? 1 : 0;
  }

  /** calicoctl's report, for the Calico version installed (calicoctl ipam release compares it with its own). */
  private async writeReport(kube: Awaited<ReturnType<ClusterCommand['kube']>>, check: IpamCheck, file: string, report: Report<object>): Promise<void> {
    const [{ readClusterInformation }, { calicoctlReport }, { installedCalico }, { replaceFile }] = await Promise.all([
      import('../calico/ipam/read.ts'), import('../calico/ipam/report.ts'), import('../calico/installed.ts'), import('../cli/files.ts'),
    ]);
    const [cluster, installed] = await Promise.all([readClusterInformation(kube), installedCalico(kube)]);
    if (!cluster) report.warn(`there is no ClusterInformation "default": ${file} has no clusterGUID, and calicoctl ipam release refuses a report of another cluster`);
    try {
      replaceFile(file, calicoctlReport(installed.version ?? '', cluster ?? { clusterGUID: '', clusterType: '', datastoreReady: undefined, resourceVersion: '' }, check.allocations, check.leakedHandles));
    } catch (error) {
      throw new CliError(`cannot write --report ${file}: ${(error as Error).message}`);
    }
  }
}
