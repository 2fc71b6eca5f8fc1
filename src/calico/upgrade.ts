// `upgrade`: moves an install to a newer Calico the way Calico's upgrade guide
// does — the new CRDs (from v3.30 a bundle of their own), then the new
// operator, which rolls calico-system itself — after checking what is
// installed, the direction and the Kubernetes version. The folder is rewritten
// for the new version before anything is applied, so an apply from it can
// never roll the operator back.
import fs from 'node:fs';
import semver from 'semver';
import { CliError } from '../cli/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { displayName, objectPath, resourceOf } from '../kube/resources.ts';
import { supportWarning } from './cluster-network.ts';
import type { PoolSettings } from './custom-resources.ts';
import { installedCalico, INSTALLATION_PATH } from './installed.ts';
import { sha256 } from './manifests.ts';
import { PLAN_FILE, readPlan, type Plan, type Stage } from './plan.ts';

export interface UpgradeFacts {
  from: string;
  to: string;
  kubernetesVersion: string;
}

/** What is installed, and whether moving it to `to` is an upgrade this cluster's Kubernetes supports. */
export async function checkUpgrade(kube: KubeClient, to: string, force: boolean): Promise<UpgradeFacts> {
  const [installed, server] = await Promise.all([installedCalico(kube), kube.json<{ gitVersion: string }>('/version')]);
  if (installed.error) throw new CliError(`cannot read the installed Calico: ${installed.error}`);
  if (!installed.installed) throw new CliError('Calico is not installed in this cluster, so there is nothing to upgrade: install it with "kubectl calico init" and "kubectl calico apply"');
  const from = installed.version;
  if (!from) throw new CliError(`cannot tell which Calico is installed: the Installation has no status.calicoVersion and the operator image ${installed.operatorImage ?? '(none)'} is not one kubectl-calico knows`);
  if (semver.lt(to, from)) throw new CliError(`Calico ${from} is installed; ${to} would be a downgrade, which the Tigera operator does not support`);
  const unsupported = supportWarning(to, server.gitVersion);
  if (unsupported && !force) throw new CliError(`${unsupported}; refusing to upgrade (--force upgrades anyway)`);
  return { from, to, kubernetesVersion: server.gitVersion };
}

/**
 * The pool values to carry over: the folder's plan when there is one (its files
 * must be as init wrote them: an edit could not be carried to another release's
 * files), else the live Installation's pools.
 */
export async function poolsToCarry(kube: KubeClient, dir: string): Promise<{ pools: PoolSettings[]; source: string }> {
  if (fs.existsSync(`${dir}/${PLAN_FILE}`)) {
    const plan = readPlan(dir);
    const edited = editedFiles(dir, plan);
    if (edited.length) {
      throw new CliError(`${edited.join(', ')} in ${dir} ${edited.length === 1 ? 'was' : 'were'} edited since init; upgrade writes the folder again from the new release and cannot carry ${edited.length === 1 ? 'that edit' : 'those edits'} over. Set pool values with "kubectl calico init --overwrite" (then re-run upgrade), or move the edited files away to start from the cluster's Installation`);
    }
    return { pools: plan.ipPools, source: `${dir}/${PLAN_FILE}` };
  }
  const installation = await kube.optional<{ spec?: { calicoNetwork?: { ipPools?: Partial<PoolSettings>[] } } }>(INSTALLATION_PATH);
  const live = installation?.spec?.calicoNetwork?.ipPools ?? [];
  if (!live.length || live.some((p) => !p.cidr)) throw new CliError(`no ${dir}/${PLAN_FILE} and no IP pools in the Installation to carry over: pass --dir with the folder init wrote`);
  return {
    pools: live.map((p) => ({
      cidr: p.cidr!,
      blockSize: p.blockSize ?? (p.cidr!.includes(':') ? 122 : 26),
      encapsulation: p.encapsulation ?? 'VXLANCrossSubnet',
      natOutgoing: p.natOutgoing ?? (p.cidr!.includes(':') ? 'Disabled' : 'Enabled'),
      nodeSelector: p.nodeSelector ?? 'all()',
    })),
    source: 'installation.operator.tigera.io/default',
  };
}

function editedFiles(dir: string, plan: Plan): string[] {
  return plan.files.filter((f) => {
    try {
      return sha256(fs.readFileSync(`${dir}/${f.name}`)) !== f.sha256;
    } catch {
      return false; // a missing file is written again
    }
  }).map((f) => f.name);
}

/** Upgrades apply the CRDs and the operator; the custom resources stay as they are in the cluster. */
export function upgradeStages(stages: Stage[]): Stage[] {
  return stages.filter((s) => s.name !== 'resources');
}

/** Custom resources of the new release that the cluster does not have (v3.30 adds Goldmane and Whisker). */
export async function missingCustomResources(kube: KubeClient, stages: Stage[]): Promise<string[]> {
  const objects = stages.find((s) => s.name === 'resources')?.objects ?? [];
  const missing = await Promise.all(objects.map(async ({ object, file }) => {
    const info = resourceOf(object, file);
    return (await kube.optional(objectPath(info, object))) ? undefined : displayName(info, object);
  }));
  return missing.filter((name): name is string => name !== undefined);
}
