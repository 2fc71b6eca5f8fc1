import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import type { IpamUsage } from '../calico/ipam/usage.ts';
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
    await report.finish((facts) => renderUsage(facts.usage!, this.showBlocks), (facts) => machineUsage(facts.usage!, this.showBlocks));
    return 0;
  }
}
