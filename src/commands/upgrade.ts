import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { parseDuration } from '../cli/duration.ts';
import { UsageError } from '../cli/errors.ts';
import type { DryRun, ObjectResult } from '../calico/apply.ts';
import type { InitResult } from '../calico/init.ts';
import type { PoolSettings } from '../calico/custom-resources.ts';
import { parseOutput, Report } from '../print/report.ts';
import { applyAndPrint } from './apply.ts';
import { waitAndReport } from './wait.ts';

interface UpgradeDoc {
  from: string;
  to: string;
  kubernetesVersion: string;
  dryRun: DryRun;
  ipPools: PoolSettings[];
  poolsFrom: string;
  files: InitResult['files'];
  objects: ObjectResult[];
  gates: string[];
  notApplied: string[];
}

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
    `,
    examples: [
      ['Upgrade to v3.30.7 and wait until every component runs it', '$0 upgrade --calico-version v3.30.7 --wait'],
      ['Let the API server check the upgrade without changing anything', '$0 upgrade --calico-version v3.30.7 --dry-run=server'],
    ],
  });

  calicoVersion = Option.String('--calico-version', { required: true, description: 'The Calico release to upgrade to' });
  dir = Option.String('--dir', './calico', { description: 'The folder init wrote; rewritten for the new release' });
  manifestsFrom = Option.String('--manifests-from', { description: 'A folder or mirror URL holding the release\'s files (air-gapped sites)' });
  checksums = Option.String('--checksums', { description: 'A sha256sum-format file for a version without pinned sums' });
  insecureSkipVerify = Option.Boolean('--insecure-skip-verify', false, { description: 'Use files without checking their sha256 (unsafe)' });
  dryRun = Option.String('--dry-run', 'none', { tolerateBoolean: true, description: 'none, client (print what would be applied) or server (send with dryRun, change nothing)' });
  wait = Option.Boolean('--wait', false, { description: 'Wait until every Calico component runs the new release' });
  timeout = Option.String('--timeout', '10m', { description: 'How long the upgrade (and --wait) may take (exit 124)' });
  force = Option.Boolean('--force', false, { description: 'Upgrade even to a release not tested on this Kubernetes version' });
  forceConflicts = Option.Boolean('--force-conflicts', false, { description: 'Take over fields another field manager owns' });
  output = Option.String('-o,--output', { description: 'Output format: json or yaml' });

  override async execute(): Promise<number> {
    if (!/^v\d+\.\d+\.\d+$/.test(this.calicoVersion)) throw new UsageError(`invalid --calico-version "${this.calicoVersion}": expected a release such as v3.30.7`);
    const dryRun = (this.dryRun === true ? 'client' : this.dryRun) as DryRun;
    if (!['none', 'client', 'server'].includes(dryRun)) throw new UsageError(`invalid --dry-run "${String(this.dryRun)}": expected none, client or server`);
    const format = parseOutput(this.output, ['json', 'yaml']);
    const timeoutMs = parseDuration(this.timeout, '--timeout');
    const kube = await this.kube();
    const { checkUpgrade, poolsToCarry, upgradeStages, missingCustomResources } = await import('../calico/upgrade.ts');
    const facts = await checkUpgrade(kube, this.calicoVersion, this.force);
    const { pools, source } = await poolsToCarry(kube, this.dir);
    const report = new Report<UpgradeDoc>('UpgradeResult', format, this.context);
    const out = report.machine ? undefined : this.context.stdout;
    out?.write(facts.from === facts.to
      ? `Calico ${facts.to} is installed already; applying its CRDs and operator again (a re-run converges)\n`
      : `Upgrading Calico ${facts.from} to ${facts.to} on Kubernetes ${facts.kubernetesVersion} (pools from ${source})\n`);
    // A dry run prepares the new release in a temporary folder: --dir keeps the release that is installed.
    const folder = dryRun === 'none' ? this.dir : fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-calico-upgrade-'));
    try {
      const { runInit } = await import('../calico/init.ts');
      const init = await runInit({
        podCidr: undefined, pools, version: facts.to, dir: folder, blockSize: 26, blockSizeV6: 122, encapsulation: '', natOutgoing: '', nodeSelector: '',
        manifestsFrom: this.manifestsFrom, checksums: this.checksums, insecureSkipVerify: this.insecureSkipVerify, overwrite: true, force: true,
        env: this.context.env, connect: async () => kube, warn: (message) => report.warn(message),
      });
      out?.write(`${folder === this.dir ? `${this.dir}: ` : ''}Calico ${facts.to} manifests ${init.verification === 'none' ? 'NOT verified' : 'verified'}; ${init.files.map((f) => `${f.name} ${f.action}`).join(', ')}\n`);
      const { readPlan, loadStages } = await import('../calico/plan.ts');
      const { cacheDirectory } = await import('../calico/manifests.ts');
      const stages = loadStages(folder, readPlan(folder), cacheDirectory(this.context.env));
      const { objects, gates } = await applyAndPrint(kube, upgradeStages(stages), { dir: folder, dryRun, forceConflicts: this.forceConflicts, force: false, timeoutMs, out });
      const notApplied = dryRun === 'client' ? [] : await missingCustomResources(kube, stages);
      if (notApplied.length) out?.write(`not applied: ${notApplied.join(', ')} (new in ${facts.to}; "kubectl calico apply${this.dir === './calico' ? '' : ` --dir ${this.dir}`}" creates ${notApplied.length === 1 ? 'it' : 'them'})\n`);
      for (const [key, value] of Object.entries({ ...facts, dryRun, ipPools: pools, poolsFrom: source, files: init.files, objects, gates, notApplied })) report.set(key as keyof UpgradeDoc, value as never);
    } finally {
      if (folder !== this.dir) fs.rmSync(folder, { recursive: true, force: true });
    }
    await report.finish(() => (this.wait || dryRun !== 'none' ? '' : `The operator now rolls every Calico component to ${facts.to}: "kubectl calico wait" or "kubectl calico status" follows it.\n`));
    if (!this.wait || dryRun !== 'none') return 0;
    return waitAndReport(kube, 'all', timeoutMs, this.context.stdout as never, (this.context.stdout as { isTTY?: boolean }).isTTY === true, facts.to);
  }
}
