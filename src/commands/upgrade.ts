import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { parseDuration } from '../cli/duration.ts';
import { UsageError } from '../cli/errors.ts';
import { parseDryRun } from '../cli/dry-run.ts';
import type { UpgradeResult } from '../calico/upgrade.ts';
import { parseOutput, Report } from '../print/report.ts';

export class UpgradeCommand extends ClusterCommand {
  static override paths = [['upgrade']];

  static override usage = Command.Usage({
    description: 'Upgrade Calico to a newer release',
    details: `
      Reads the installed version (the Installation's status, else the operator image), refuses a downgrade, and
      refuses a release that is not tested on the cluster's Kubernetes minor unless \`--force\`. Then it downloads and
      verifies the new release like \`init\` and writes it to \`--dir\` with the pool values carried over (from the
      folder's kubectl-calico.yaml, else from the Installation), and applies what Calico's upgrade guide applies: the
      CRDs (from v3.30 the operator-crds.yaml bundle), then tigera-operator.yaml, waiting for the CRDs to be
      Established and for the new operator's pod. The operator then rolls every Calico component to the new
      release; \`--wait\` waits until every one runs it. Custom resources the new release adds (Goldmane and Whisker in
      v3.30) are not created: \`kubectl calico apply\` adds them. Re-running converges.

      Mirror settings (\`init --registry\` …) are carried to the new release. A cluster that pins digests with a calico*
      ImageSet needs the new release's: \`--image-set FILE\` (as for init) writes ImageSet calico-<release> and applies it
      before the new operator, which would otherwise leave every component Degraded; without it upgrade refuses.
    `,
    examples: [
      ['Upgrade to v3.30.7 and wait until every component runs it', '$0 upgrade --calico-version v3.30.7 --wait'],
      ['Let the API server check the upgrade without changing anything', '$0 upgrade --calico-version v3.30.7 --dry-run=server'],
    ],
  });

  calicoVersion = Option.String('--calico-version', { description: 'The Calico release to upgrade to (required)' });
  dir = Option.String('--dir', './calico', { description: 'The folder init wrote; rewritten for the new release' });
  manifestsFrom = Option.String('--manifests-from', { description: 'A folder or mirror URL holding the release\'s files (air-gapped sites)' });
  checksums = Option.String('--checksums', { description: 'A sha256sum-format file for a version without pinned sums' });
  insecureSkipVerify = Option.Boolean('--insecure-skip-verify', false, { description: 'Use files without checking their sha256 (unsafe)' });
  imageSet = Option.String('--image-set', { description: 'The new release\'s digests (as for init --image-set); required when the cluster has a calico* ImageSet' });
  dryRun = Option.String('--dry-run', 'none', { tolerateBoolean: true, description: 'none, client (print what would be applied) or server (send with dryRun, change nothing)' });
  wait = Option.Boolean('--wait', false, { description: 'Wait until every Calico component runs the new release' });
  timeout = Option.String('--timeout', '10m', { description: 'How long the upgrade (and --wait) may take (exit 124)' });
  force = Option.Boolean('--force', false, { description: 'Upgrade even to a release not tested on this Kubernetes version' });
  forceConflicts = Option.Boolean('--force-conflicts', false, { description: 'Take over fields another field manager owns' });
  output = Option.String('-o,--output', { description: 'Output format: json or yaml' });

  override async execute(): Promise<number> {
    // Checked here rather than by clipanion, whose message for a missing required option is "Command not found".
    if (this.calicoVersion === undefined) throw new UsageError('required flag "--calico-version" not set: name the release to upgrade to, such as v3.30.7');
    if (!/^v\d+\.\d+\.\d+$/.test(this.calicoVersion)) throw new UsageError(`invalid --calico-version "${this.calicoVersion}": expected a release such as v3.30.7`);
    const dryRun = parseDryRun(this.dryRun);
    const format = parseOutput(this.output, ['json', 'yaml']);
    const timeoutMs = parseDuration(this.timeout, '--timeout');
    const deadline = Date.now() + timeoutMs;
    const kube = await this.kube();
    const report = new Report<UpgradeResult>('UpgradeResult', format, this.context);
    const { runUpgrade } = await import('../calico/upgrade.ts');
    const result = await runUpgrade(kube, {
      version: this.calicoVersion, dir: this.dir, manifestsFrom: this.manifestsFrom, checksums: this.checksums, insecureSkipVerify: this.insecureSkipVerify,
      imageSetFile: this.imageSet, dryRun, force: this.force, forceConflicts: this.forceConflicts, timeoutMs, env: this.context.env,
      warn: (message) => report.warn(message), out: report.machine ? undefined : this.context.stdout,
    });
    report.setAll(result);
    const rolling = result.from !== result.to && dryRun === 'none' && !this.wait;
    await report.finish(() => (rolling ? `The operator now rolls every Calico component to ${result.to}: "kubectl calico wait" or "kubectl calico status" follows it.\n` : ''));
    if (!this.wait || dryRun !== 'none') return 0;
    // One --timeout for the whole upgrade; with -o json|yaml the wait writes to stderr, leaving stdout one document.
    const out = report.machine ? this.context.stderr : this.context.stdout;
    const { waitAndReport, outputFor } = await import('../calico/wait.ts');
    return waitAndReport(kube, 'all', timeoutMs > 0 ? Math.max(1, deadline - Date.now()) : 0, outputFor(out, this.color, this.context.env), result.to);
  }
}
