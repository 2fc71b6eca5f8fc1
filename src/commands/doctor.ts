import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { UsageError } from '../cli/errors.ts';
import type { CheckResult } from '../calico/doctor/types.ts';
import { colorEnabled, palette, type Palette } from '../print/color.ts';
import { renderJUnit, type TestCase } from '../print/junit.ts';
import { Report, type OutputFormat } from '../print/report.ts';
import { tabwrite } from '../print/table.ts';

interface DoctorDoc {
  checks: CheckResult[];
  summary: Record<'pass' | 'warn' | 'fail' | 'skip', number>;
}

export class DoctorCommand extends ClusterCommand {
  static override paths = [['doctor']];

  static override usage = Command.Usage({
    description: 'Find what is wrong with Calico, and how to fix it',
    details: `
      Reads the cluster (read-only) and runs checks that name the cause and the fix: access and permissions,
      versions, other CNIs, the operator, the CRDs, the Installation and every TigeraStatus, the IP pools against
      kubeadm's podSubnet, the service subnet and the nodes, the Calico workloads and their pods (image pulls,
      crash loops with their last log lines, scheduling), the nodes, CoreDNS, kube-proxy's mode, Calico IPAM (pools
      running out, leaked addresses, blocks of deleted nodes), BGP sessions as calico-node's readiness events report
      them (no exec: kubectl calico node status asks BIRD itself) and recent Warning events. Each check has a stable id (see the README). Exit 0 when nothing FAILs (with --strict: nothing WARNs
      either), 1 otherwise. A check that cannot run (a missing permission) is SKIPped, with the reason.
    `,
    examples: [
      ['Check the Calico install', '$0 doctor'],
      ['Only the IP pool checks', '$0 doctor --check CAL-0701,CAL-0703'],
      ['For a CI system: one test case per check', '$0 doctor -o junit > calico-doctor.xml'],
    ],
  });

  output = Option.String('-o,--output', { description: 'Output format: table (default), json, yaml or junit' });
  checks = Option.String('--check', { description: 'Run only these checks (ids, comma-separated)' });
  strict = Option.Boolean('--strict', false, { description: 'Exit 1 on warnings too' });

  override async execute(): Promise<number> {
    const output = this.output ?? 'table';
    if (!['table', 'json', 'yaml', 'junit'].includes(output)) throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: table,json,yaml,junit`);
    const { runDoctor, ALL_IDS } = await import('../calico/doctor/run.ts');
    const only = this.checks === undefined ? undefined : new Set(this.checks.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
    const unknown = [...(only ?? [])].filter((id) => !ALL_IDS.includes(id));
    if (unknown.length) throw new UsageError(`unknown check ${unknown.join(', ')}: known checks are ${ALL_IDS.join(', ')}`);
    const kube = await this.kube();
    const results = await runDoctor(kube, only);
    const summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
    for (const r of results) summary[r.status.toLowerCase() as keyof typeof summary]++;
    if (output === 'junit') this.context.stdout.write(junit(results));
    else {
      const format: OutputFormat = output === 'table' ? 'text' : (output as OutputFormat);
      const colors = palette(format === 'text' && colorEnabled(this.color, this.context.env, (this.context.stdout as { isTTY?: boolean }).isTTY === true));
      const report = new Report<DoctorDoc>('DoctorReport', format, this.context);
      report.set('checks', results);
      report.set('summary', summary);
      await report.finish((facts) => renderDoctor(facts as DoctorDoc, colors));
    }
    return summary.fail > 0 || (this.strict && summary.warn > 0) ? 1 : 0;
  }
}

const CATEGORY_ORDER = ['Access', 'Versions', 'Other CNIs', 'Operator', 'CRDs', 'Installation', 'IP pools', 'Workloads', 'Nodes', 'Data plane', 'IPAM', 'BGP', 'Events'];

export function renderDoctor(doc: DoctorDoc, colors: Palette): string {
  const sorted = [...doc.checks].sort((a, b) => CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category) || a.id.localeCompare(b.id));
  const color = (status: string) => (status === 'PASS' ? colors.good(status) : status === 'FAIL' ? colors.bad(status) : status === 'WARN' ? colors.warn(status) : status);
  const table = tabwrite([['CATEGORY', 'ID', 'STATUS', 'CHECK', 'FINDING'], ...sorted.map((r) => [r.category, r.id, color(r.status), r.check, r.finding])]);
  const fixes = sorted.filter((r) => r.fix && (r.status === 'FAIL' || r.status === 'WARN')).map((r) => `  ${r.id}: ${r.fix}`);
  const s = doc.summary;
  return `${table}${fixes.length ? `\nFixes:\n${fixes.join('\n')}\n` : ''}\n${s.pass} passed, ${s.warn} warnings, ${s.fail} failed, ${s.skip} skipped\n`;
}

/** One test case per check; a WARN passes, with the finding and the fix in its output. */
function junit(results: CheckResult[]): string {
  const cases = results.map((r): TestCase => {
    const base = { classname: `calico.doctor.${r.category.replace(/ /g, '-')}`, name: `${r.id} ${r.check}` };
    if (r.status === 'FAIL') return { ...base, status: 'fail', message: r.finding, body: r.fix ?? '' };
    if (r.status === 'SKIP') return { ...base, status: 'skip', message: r.finding };
    return { ...base, status: 'pass', output: `${r.status}: ${r.finding}${r.fix ? `\nfix: ${r.fix}` : ''}` };
  });
  return renderJUnit('kubectl calico doctor', [{ name: 'calico-doctor', cases }]);
}
