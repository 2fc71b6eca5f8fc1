import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { parseDuration } from '../cli/duration.ts';
import type { ObjectResult } from '../calico/apply.ts';
import { parseDryRun, type DryRun } from '../cli/dry-run.ts';
import { parseOutput, Report } from '../print/report.ts';

interface ApplyDoc {
  calicoVersion: string;
  dryRun: DryRun;
  objects: ObjectResult[];
  gates: string[];
}

export class ApplyCommand extends ClusterCommand {
  static override paths = [['apply']];

  static override usage = Command.Usage({
    description: 'Install Calico from the folder init wrote',
    details: `
      Does what the guide does with \`kubectl create -f tigera-operator.yaml\`, waiting for the operator pod, and
      \`kubectl create -f custom-resources.yaml\` — with server-side apply (field manager \`kubectl-calico\`), so a re-run
      reports \`unchanged\` instead of failing with AlreadyExists and the large CRDs never hit the 262,144-byte
      annotation limit. Order: the CRDs (then Established), the operator (its Namespace first; then its pod Running and
      Ready), the custom resources. Every file's sha256 is checked against kubectl-calico.yaml first.

      An existing Installation with other pool values set by another tool stops the apply with the fields named;
      \`--force-conflicts\` takes them over. Changing the pool CIDR of a running install is a migration and needs
      \`--force\`.
    `,
    examples: [
      ['Apply what init wrote to ./calico', '$0 apply'],
      ['Apply, then wait until Calico runs on every node', '$0 apply --wait'],
      ['Let the API server check everything without changing anything', '$0 apply --dry-run=server'],
    ],
  });

  dir = Option.String('--dir', './calico', { description: 'The folder init wrote' });
  dryRun = Option.String('--dry-run', 'none', { tolerateBoolean: true, description: 'none, client (print what would be applied) or server (send with dryRun, change nothing)' });
  wait = Option.Boolean('--wait', false, { description: 'Continue into `kubectl calico wait`' });
  timeout = Option.String('--timeout', '10m', { description: 'How long apply (and --wait) may take (exit 124)' });
  forceConflicts = Option.Boolean('--force-conflicts', false, { description: 'Take over fields another field manager owns' });
  force = Option.Boolean('--force', false, { description: 'Allow a change of the pool CIDR of a running install (a pool migration)' });
  output = Option.String('-o,--output', { description: 'Output format: json or yaml' });

  override async execute(): Promise<number> {
    const dryRun = parseDryRun(this.dryRun);
    const format = parseOutput(this.output, ['json', 'yaml']);
    const timeoutMs = parseDuration(this.timeout, '--timeout');
    const { readPlan, loadStages } = await import('../calico/plan.ts');
    const plan = readPlan(this.dir);
    const { cacheDirectory } = await import('../calico/manifests.ts');
    const stages = loadStages(this.dir, plan, cacheDirectory(this.context.env));
    const report = new Report<ApplyDoc>('ApplyResult', format, this.context);
    if (plan.verification === 'none') report.warn(`the Calico ${plan.calicoVersion} manifests in ${this.dir} were NOT checked against any sha256 (init --insecure-skip-verify); whoever could change them controls what runs on every node`);
    const kube = await this.kube();
    const { applyFolder } = await import('../calico/apply-folder.ts');
    const { objects, gates } = await applyFolder(kube, stages, { dir: this.dir, dryRun, forceConflicts: this.forceConflicts, force: this.force, timeoutMs, command: 'apply', out: report.machine ? undefined : this.context.stdout });
    report.set('calicoVersion', plan.calicoVersion);
    report.set('dryRun', dryRun);
    report.set('objects', objects);
    report.set('gates', gates);
    await report.finish(() => '');
    if (!this.wait || dryRun !== 'none') return 0;
    // With -o json|yaml stdout holds one document: the wait's progress and tables go to stderr.
    const out = report.machine ? this.context.stderr : this.context.stdout;
    const { waitAndReport, outputFor } = await import('../calico/wait.ts');
    return waitAndReport(kube, 'all', timeoutMs, outputFor(out, this.color, this.context.env));
  }
}
