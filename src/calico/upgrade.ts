// `upgrade`: moves an install to a newer Calico the way Calico's upgrade guide
// does — the new CRDs (from v3.30 a bundle of their own), then the new
// operator, which rolls calico-system itself — after checking what is
// installed, the direction and the Kubernetes version. The folder is rewritten
// for the new version before anything is applied, so an apply from it can
// never roll the operator back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import semver from 'semver';
import { CliError } from '../cli/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { displayName, objectPath, resourceOf } from '../kube/resources.ts';
import type { DryRun } from '../cli/dry-run.ts';
import type { ObjectResult } from './apply.ts';
import { applyFolder } from './apply-folder.ts';
import { supportWarning } from './cluster-network.ts';
import type { PoolSettings } from './custom-resources.ts';
import { verificationOf, writeRelease, type ReleaseOptions, type WrittenRelease } from './init.ts';
import { installedCalico, INSTALLATION_PATH, type InstalledCalico } from './installed.ts';
import { cacheDirectory } from './manifests.ts';
import { editedFiles, loadStages, PLAN_FILE, readPlan, type Stage } from './plan.ts';
import { readImageSet, type ParsedImageSet } from './image-set.ts';
import { installationImageSettings, type ImageSettings, type InstallationImageSpec } from './images.ts';
import { calicoVersionForOperator, KUBERNETES_SUPPORT } from './versions.ts';

export interface UpgradeFacts {
  from: string;
  to: string;
  kubernetesVersion: string;
}

export interface UpgradeOptions extends Omit<ReleaseOptions, 'overwrite' | 'images' | 'imageSet'> {
  /** upgrade --image-set: the new release's digests, written as its ImageSet and applied before its operator. */
  imageSetFile?: string;
  dryRun: DryRun;
  /** Upgrade even to a release not tested on the cluster's Kubernetes version. */
  force: boolean;
  forceConflicts: boolean;
  timeoutMs: number;
  /** Where progress is printed as it happens; none for -o json|yaml. */
  out: { write(text: string): unknown } | undefined;
}

export interface UpgradeResult extends UpgradeFacts {
  dryRun: DryRun;
  ipPools: PoolSettings[];
  poolsFrom: string;
  /** The mirror carried to the new release's files, with the operator image they now name. */
  images?: WrittenRelease['images'];
  imageSet?: WrittenRelease['imageSet'] & { leftOut: ParsedImageSet['leftOut'] };
  files: WrittenRelease['files'];
  objects: ObjectResult[];
  gates: string[];
  notApplied: string[];
}

/**
 * Checks, writes the new release to the folder (a temporary one for a dry
 * run: --dir keeps the release that is installed), and applies its CRDs and
 * operator.
 */
export async function runUpgrade(kube: KubeClient, options: UpgradeOptions): Promise<UpgradeResult> {
  const facts = await checkUpgrade(kube, options.version, options.force, options.warn);
  const { pools, source, images } = await poolsToCarry(kube, options.dir, options.warn);
  // Mirrored names map back through the settings carried over, so the file is read once they are known.
  const imageSet = options.imageSetFile === undefined ? undefined : readImageSet(options.imageSetFile, facts.to, images);
  if (!imageSet) await checkImageSets(kube, facts.to);
  options.out?.write(facts.from === facts.to
    ? `Calico ${facts.to} is installed already; applying its CRDs and operator again (a re-run converges)\n`
    : `Upgrading Calico ${facts.from} to ${facts.to} on Kubernetes ${facts.kubernetesVersion} (pools from ${source})\n`);
  const folder = options.dryRun === 'none' ? options.dir : fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-calico-upgrade-'));
  try {
    const { imageSet: written, ...release } = await writeRelease({ ...options, dir: folder, overwrite: true, images, ...(imageSet ? { imageSet: imageSet.entries } : {}) }, pools, verificationOf(options));
    options.out?.write(`${folder === options.dir ? `${options.dir}: ` : ''}Calico ${facts.to} manifests ${release.verification === 'none' ? 'NOT verified' : 'verified'}; ${release.files.map((f) => `${f.name} ${f.action}`).join(', ')}\n`);
    const stages = loadStages(folder, readPlan(folder), cacheDirectory(options.env));
    const { objects, gates } = await applyFolder(kube, stages.filter((s) => s.name !== 'resources'), { dir: folder, dryRun: options.dryRun, forceConflicts: options.forceConflicts, force: false, timeoutMs: options.timeoutMs, command: 'upgrade', out: options.out });
    const notApplied = options.dryRun === 'client' ? [] : await missingCustomResources(kube, stages);
    if (notApplied.length) options.out?.write(`not applied: ${notApplied.join(', ')} (new in ${facts.to}; "kubectl calico apply${options.dir === './calico' ? '' : ` --dir ${options.dir}`}" creates ${notApplied.length === 1 ? 'it' : 'them'})\n`);
    return { ...facts, dryRun: options.dryRun, ipPools: pools, poolsFrom: source, ...(release.images ? { images: release.images } : {}), ...(written && imageSet ? { imageSet: { ...written, leftOut: imageSet.leftOut } } : {}), files: release.files, objects, gates, notApplied };
  } finally {
    if (folder !== options.dir) fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** What is installed, and whether moving it to `to` is an upgrade this cluster's Kubernetes supports. */
export async function checkUpgrade(kube: KubeClient, to: string, force: boolean, warn: (message: string) => void): Promise<UpgradeFacts> {
  const [installed, server] = await Promise.all([installedCalico(kube), kube.json<{ gitVersion: string }>('/version')]);
  if (installed.error) throw new CliError(`cannot read the installed Calico: ${installed.error}`);
  if (!installed.installed) throw new CliError('Calico is not installed in this cluster, so there is nothing to upgrade: install it with "kubectl calico init" and "kubectl calico apply"');
  const from = installedVersion(installed);
  if (!from) throw new CliError(`cannot tell which Calico is installed: the Installation has no status.calicoVersion and the operator image ${installed.operatorImage ?? '(none)'} is not one kubectl-calico knows`);
  if (semver.lt(to, from)) throw new CliError(`Calico ${from} is installed; ${to} would be a downgrade, which the Tigera operator does not support`);
  const unsupported = supportWarning(to, server.gitVersion);
  if (unsupported && !force) throw new CliError(`${unsupported}; refusing to upgrade (--force upgrades anyway)`);
  if (unsupported) warn(unsupported);
  if (!KUBERNETES_SUPPORT[to.split('.').slice(0, 2).join('.')]) warn(`kubectl-calico does not know which Kubernetes versions Calico ${to} is tested on; check its release notes against Kubernetes ${server.gitVersion}`);
  return { from, to, kubernetesVersion: server.gitVersion };
}

/**
 * The newer of the version the Installation reports and the one its operator
 * image ships: the status moves only once a rollout is done, so after an
 * upgrade cut short the operator is already newer.
 */
function installedVersion(installed: InstalledCalico): string | undefined {
  const versions = [installed.versionSource === 'Installation' ? installed.version : undefined, installed.operatorVersion && calicoVersionForOperator(installed.operatorVersion)]
    .filter((v): v is string => typeof v === 'string' && semver.valid(v) !== null);
  return versions.sort(semver.rcompare)[0];
}

/**
 * The pool values to carry over: the folder's plan when there is one (its files
 * must be as init wrote them: an edit could not be carried to another release's
 * files), else the live Installation's pools.
 */
export async function poolsToCarry(kube: KubeClient, dir: string, warn: (message: string) => void): Promise<{ pools: PoolSettings[]; source: string; images?: ImageSettings }> {
  const installation = await kube.optional<{ spec?: InstallationImageSpec & { calicoNetwork?: { ipPools?: Partial<PoolSettings>[] } } }>(INSTALLATION_PATH);
  const live = (installation?.spec?.calicoNetwork?.ipPools ?? []).filter((p) => p.cidr).map(withOperatorDefaults);
  if (fs.existsSync(`${dir}/${PLAN_FILE}`)) {
    const plan = readPlan(dir);
    const edited = editedFiles(dir, plan);
    if (edited.length) {
      throw new CliError(`${edited.join(', ')} in ${dir} ${edited.length === 1 ? 'was' : 'were'} edited since init; upgrade writes the folder again from the new release and cannot carry ${edited.length === 1 ? 'that edit' : 'those edits'} over. Set pool values with "kubectl calico init --overwrite" (then re-run upgrade), or move the edited files away to start from the cluster's Installation`);
    }
    // A folder from another time or cluster: a later apply from it would change the Installation's pools.
    if (live.length && JSON.stringify(plan.ipPools.map(withOperatorDefaults)) !== JSON.stringify(live)) warn(`the pools in ${dir}/${PLAN_FILE} (${describePools(plan.ipPools)}) differ from the Installation's (${describePools(live)}); the folder keeps its own, so "kubectl calico apply" from it would change the Installation`);
    return { pools: plan.ipPools, source: `${dir}/${PLAN_FILE}`, ...(plan.images ? { images: plan.images } : {}) };
  }
  if (!live.length) throw new CliError(`no ${dir}/${PLAN_FILE} and no IP pools in the Installation to carry over: pass --dir with the folder init wrote`);
  // Without a folder, the mirror the Installation pulls from (the operator's own image follows it).
  const images = installation?.spec && installationImageSettings(installation.spec);
  return { pools: live, source: 'installation.operator.tigera.io/default', ...(images ? { images } : {}) };
}

/**
 * Once any ImageSet named calico* exists the operator requires the one named
 * for its release (calico-<version>); without it every component would stay
 * Degraded after the new operator starts.
 */
async function checkImageSets(kube: KubeClient, to: string): Promise<void> {
  const list = await kube.optional<{ items: { metadata: { name: string } }[] }>('/apis/operator.tigera.io/v1/imagesets');
  const names = (list?.items ?? []).map((i) => i.metadata.name).filter((n) => n.startsWith('calico'));
  if (!names.length || names.includes(`calico-${to}`)) return;
  throw new CliError(`the cluster pins image digests with ImageSet ${names.join(', ')}; the ${to} operator requires ImageSet calico-${to} (every image of ${to} with its digest, key-cert-provisioner included) and would leave every component Degraded without it. Re-run upgrade with --image-set FILE, one image and digest a line ("kubectl calico images --calico-version ${to} --all" lists the images; "crane digest --full-ref" gives each digest); nothing was changed`);
}

/** A pool with the values the operator fills in when they are not set (its defaults per family). */
function withOperatorDefaults(pool: Partial<PoolSettings>): PoolSettings {
  const v6 = pool.cidr!.includes(':');
  return {
    cidr: pool.cidr!,
    blockSize: pool.blockSize ?? (v6 ? 122 : 26),
    encapsulation: pool.encapsulation ?? (v6 ? 'None' : 'IPIP'),
    natOutgoing: pool.natOutgoing ?? (v6 ? 'Disabled' : 'Enabled'),
    nodeSelector: pool.nodeSelector ?? 'all()',
  };
}

function describePools(pools: PoolSettings[]): string {
  return pools.map((p) => `${p.cidr} /${p.blockSize} ${p.encapsulation} NAT ${p.natOutgoing} ${p.nodeSelector}`).join('; ');
}

/** Custom resources of the new release that the cluster does not have (v3.30 adds Goldmane and Whisker). */
async function missingCustomResources(kube: KubeClient, stages: Stage[]): Promise<string[]> {
  const objects = stages.find((s) => s.name === 'resources')?.objects ?? [];
  const missing = await Promise.all(objects.map(async ({ object, file }) => {
    const info = resourceOf(object, file);
    return (await kube.optional(objectPath(info, object))) ? undefined : displayName(info, object);
  }));
  return missing.filter((name): name is string => name !== undefined);
}
