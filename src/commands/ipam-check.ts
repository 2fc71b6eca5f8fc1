import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { UsageError } from '../cli/errors.ts';
import type { IpamCheckReport } from '../calico/ipam/collect.ts';
import { colorEnabled, palette } from '../print/color.ts';
import { parseOutput, Report } from '../print/report.ts';

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
    const result = await runIpamCheck(kube);
    const report = new Report<IpamCheckReport>('IpamCheck', format, this.context);
    report.setAll(result);
    if (this.reportFile !== undefined) {
      const { writeCalicoctlReport } = await import('../calico/ipam/report.ts');
      for (const warning of await writeCalicoctlReport(kube, result.check, this.reportFile)) report.warn(warning);
    }
    await report.finish((facts) => renderCheck(facts as IpamCheckReport, colors), (facts) => machineCheck(facts as IpamCheckReport));
    return result.check.findings.some((f) => f.status === 'FAIL') ? 1 : 0;
  }
}
