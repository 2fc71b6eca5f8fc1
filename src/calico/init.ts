// `init`: validate the pool, check it against the cluster, fetch and verify
// the release's manifests, and write the folder apply reads — everything
// checked before anything is written, and written atomically.
import fs from 'node:fs';
import path from 'node:path';
import { CliError, UsageError } from '../cli/errors.ts';
import { replaceFile } from '../cli/files.ts';
import type { KubeClient } from '../kube/client.ts';
import { parseCidrList, type Cidr } from './cidr.ts';
import { checkPools, DEFAULT_BLOCK_SIZE, discoverPodCidrs, readClusterNetwork, supportWarning, type ClusterNetwork } from './cluster-network.ts';
import { deriveCustomResources, type PoolSettings } from './custom-resources.ts';
import { editOperatorManifest } from './image-edits.ts';
import { imageSetName, readImageSet, type ImageSetEntry, type ParsedImageSet } from './image-set.ts';
import { mirroredReference, OPERATOR_IMAGE, type ImageSettings } from './images.ts';
import { cacheDirectory, fetchManifests, sha256, verificationFor, type Verification } from './manifests.ts';
import { objectsCachePath, parseAndCache, PLAN_FILE, renderPlan, type Plan } from './plan.ts';

/** Where a release comes from and goes to: what init and upgrade share. */
export interface ReleaseOptions {
  version: string;
  dir: string;
  manifestsFrom: string | undefined;
  checksums: string | undefined;
  insecureSkipVerify: boolean;
  overwrite: boolean;
  /** A mirror to pull every image from (init --registry …), written into both operator files. */
  images?: ImageSettings;
  /** The release's digests, checked (readImageSet): written as its ImageSet. */
  imageSet?: ImageSetEntry[];
  env: NodeJS.ProcessEnv;
  warn: (message: string) => void;
}

export interface InitOptions extends ReleaseOptions {
  podCidr: string | undefined;
  /** IPv4 and IPv6 block sizes; unset, Calico's default (DEFAULT_BLOCK_SIZE), which doctor assumes for the pool init would write. */
  blockSize: number | undefined;
  blockSizeV6: number | undefined;
  encapsulation: string;
  natOutgoing: string;
  nodeSelector: string;
  force: boolean;
  /** init --image-set: one image and digest a line. */
  imageSetFile?: string;
  connect: () => Promise<KubeClient>;
}

/** A pool finding in init's words: the problem and what to do, in one line. */
export interface Finding {
  level: 'error' | 'warning';
  message: string;
}

export interface WrittenRelease {
  verification: Plan['verification'];
  files: { name: string; sha256: string; origin: string; action: 'written' | 'unchanged' }[];
  /** The mirror settings written, and the operator image tigera-operator.yaml now names. */
  images?: ImageSettings & { operatorImage: string };
  /** The ImageSet written into custom-resources.yaml. */
  imageSet?: { name: string; images: ImageSetEntry[] };
}

export interface InitResult {
  calicoVersion: string;
  dir: string;
  verification: Plan['verification'];
  files: { name: string; sha256: string; origin: string; action: 'written' | 'unchanged' }[];
  ipPools: PoolSettings[];
  images?: WrittenRelease['images'];
  imageSet?: WrittenRelease['imageSet'] & { leftOut: ParsedImageSet['leftOut'] };
  cluster: { checked: boolean; reason?: string; kubernetesVersion?: string; podSubnet?: string; serviceSubnet?: string; findings: Finding[] };
  next: string;
}

export async function runInit(options: InitOptions): Promise<InitResult> {
  const given = options.podCidr === undefined ? undefined : parseCidrList(options.podCidr);
  if (given) checkBlockSizes(given, options);
  const verification = verificationOf(options);
  checkDir(options.dir);
  const imageSet = options.imageSetFile === undefined ? undefined : readImageSet(options.imageSetFile, options.version, options.images);

  const cluster = await clusterFacts(options);
  const cidrs = given ?? (cluster.network ? discoverPodCidrs(cluster.network)?.cidrs : undefined);
  if (!cidrs) {
    throw new CliError(cluster.network
      ? "cannot find the cluster's pod subnet (no podSubnet in kube-system/kubeadm-config and no node podCIDRs): pass --pod-cidr"
      : `cannot check the cluster (${cluster.reason}) and no --pod-cidr was given: pass --pod-cidr`);
  }
  if (!given) checkBlockSizes(cidrs, options);
  const findings: Finding[] = (cluster.network ? checkPools(cidrs.map((cidr) => ({ cidr, blockSize: blockSizeFor(cidr, options) })), cluster.network, 'choosing') : [])
    .map((f) => ({ level: f.level, message: `${f.problem}; ${f.fix}` }));
  const errors = findings.filter((f) => f.level === 'error');
  if (errors.length && !options.force) throw new CliError(`${errors.map((f) => f.message).join('\n')}\n(--force writes it anyway)`);
  for (const finding of findings) if (finding.level === 'warning' || options.force) options.warn(finding.message);
  if (!cluster.network) options.warn(`could not check the pool against a cluster (${cluster.reason}); writing the files anyway`);
  const support = cluster.network ? supportWarning(options.version, cluster.network.kubernetesVersion) : undefined;
  if (support) options.warn(support);

  const pools = cidrs.map((cidr) => poolFor(cidr, options));
  const { imageSet: written, ...release } = await writeRelease({ ...options, ...(imageSet ? { imageSet: imageSet.entries } : {}) }, pools, verification);
  return {
    calicoVersion: options.version,
    dir: options.dir,
    ...release,
    ...(written && imageSet ? { imageSet: { ...written, leftOut: imageSet.leftOut } } : {}),
    ipPools: pools,
    cluster: cluster.network
      ? { checked: true, kubernetesVersion: cluster.network.kubernetesVersion, podSubnet: cluster.network.podSubnets.map((c) => c.text).join(',') || undefined, serviceSubnet: cluster.network.serviceSubnets.map((c) => c.text).join(',') || undefined, findings }
      : { checked: false, reason: cluster.reason, findings: [] },
    next: `kubectl calico apply${options.dir === './calico' ? '' : ` --dir ${options.dir}`}`,
  };
}

/** How the release's files will be checked; skipping the check is said loudly every time. */
export function verificationOf(options: Pick<ReleaseOptions, 'version' | 'checksums' | 'insecureSkipVerify' | 'warn'>): Verification {
  const verification = verificationFor(options.version, options.checksums, options.insecureSkipVerify);
  if (verification.source === 'none') options.warn(`--insecure-skip-verify: the Calico ${options.version} manifests are NOT checked against any sha256; anyone who can change them in transit or at the source controls what runs on every node`);
  return verification;
}

/** Fetches and verifies the release, sets the pools in custom-resources.yaml, and writes the folder with its plan. */
export async function writeRelease(options: ReleaseOptions, pools: PoolSettings[], verification: Verification): Promise<WrittenRelease> {
  checkDir(options.dir);
  const cacheDir = cacheDirectory(options.env);
  const manifests = await fetchManifests({ version: options.version, from: options.manifestsFrom, verification, cacheDir, env: options.env, warn: options.warn });
  const { images, imageSet } = options;
  // Only what is needed changes: the pools, and with a mirror the image settings; the operator file only for a mirror.
  // apply derives both files again from these settings (plan.ts checkDerived), so the two must stay one derivation.
  const edit = (file: string, data: Buffer): Buffer => {
    if (file === 'custom-resources.yaml') return Buffer.from(deriveCustomResources(data.toString('utf8'), { pools, ...(images ? { images } : {}), ...(imageSet ? { imageSet: { version: options.version, entries: imageSet } } : {}) }));
    return file === 'tigera-operator.yaml' && images ? Buffer.from(editOperatorManifest(data.toString('utf8'), images)) : data;
  };
  const contents = manifests.map((m) => ({ name: m.file, origin: m.origin, upstreamSha256: m.sha256, data: edit(m.file, m.data) }));
  const plan: Plan = {
    apiVersion: 'kubectl-calico/v1alpha1',
    kind: 'InstallPlan',
    calicoVersion: options.version,
    verification: verification.source,
    // Parsing now refuses a broken manifest before anything is written, and leaves apply the objects of exactly these bytes.
    files: contents.map((c) => {
      const digest = sha256(c.data);
      const { objectsSha256 } = parseAndCache(c.name, c.data, objectsCachePath(cacheDir, digest));
      return { name: c.name, sha256: digest, ...(digest !== c.upstreamSha256 || c.name === 'custom-resources.yaml' ? { upstreamSha256: c.upstreamSha256 } : {}), objectsSha256 };
    }),
    ipPools: pools,
    ...(images ? { images } : {}),
    ...(imageSet ? { imageSet } : {}),
  };
  const actions = writeFolder(options.dir, [...contents.map((c) => ({ name: c.name, data: c.data })), { name: PLAN_FILE, data: Buffer.from(renderPlan(plan)) }], options.overwrite);
  const operatorVersion = manifests.find((m) => m.file === 'tigera-operator.yaml')?.data.toString('utf8').match(/image: quay\.io\/tigera\/operator:(\S+)/)?.[1];
  return {
    verification: verification.source,
    files: contents.map((c, i) => ({ name: c.name, sha256: plan.files[i]!.sha256, origin: c.origin, action: actions.get(c.name)! })),
    ...(images ? { images: { ...images, operatorImage: mirroredReference({ registry: 'quay.io/', image: OPERATOR_IMAGE, tag: operatorVersion ?? '', when: 'always' }, images) } } : {}),
    ...(imageSet ? { imageSet: { name: imageSetName(options.version), images: imageSet } } : {}),
  };
}

function checkBlockSizes(cidrs: Cidr[], options: InitOptions): void {
  for (const cidr of cidrs) {
    const size = blockSizeFor(cidr, options);
    const [flag, min, max] = cidr.family === 4 ? ['--block-size', 20, 32] : ['--block-size-v6', 116, 128];
    if (size < min || size > max) throw new UsageError(`invalid ${flag} ${size}: Calico's IPv${cidr.family} block size must be ${min} to ${max}`);
    if (size < cidr.prefix) throw new UsageError(`invalid ${flag} ${size}: a /${size} block is larger than the pool ${cidr.text}; use a block size of at least ${cidr.prefix}`);
  }
}

function poolFor(cidr: Cidr, options: InitOptions): PoolSettings {
  if (cidr.family === 4) return { cidr: cidr.text, blockSize: blockSizeFor(cidr, options), encapsulation: options.encapsulation, natOutgoing: options.natOutgoing, nodeSelector: options.nodeSelector };
  // IPIP cannot carry IPv6; Calico's IPv6 default for NAT is Disabled.
  const encapsulation = options.encapsulation.startsWith('IPIP') ? 'None' : options.encapsulation;
  return { cidr: cidr.text, blockSize: blockSizeFor(cidr, options), encapsulation, natOutgoing: 'Disabled', nodeSelector: options.nodeSelector };
}

function blockSizeFor(cidr: Cidr, options: InitOptions): number {
  return (cidr.family === 4 ? options.blockSize : options.blockSizeV6) ?? DEFAULT_BLOCK_SIZE[cidr.family];
}

async function clusterFacts(options: InitOptions): Promise<{ network?: ClusterNetwork; reason?: string }> {
  let kube: KubeClient;
  try {
    kube = await options.connect();
  } catch (error) {
    // No cluster configured at all: nothing to check against. A kubeconfig that cannot be used (a missing
    // --kubeconfig, bad YAML, an unknown --context) is a mistake to fix, not a reason to write an unchecked pool.
    const { NoKubeconfigError } = await import('../kube/errors.ts');
    if (error instanceof NoKubeconfigError) return { reason: error.message };
    throw error;
  }
  try {
    return { network: await readClusterNetwork(kube) };
  } catch (error) {
    const { ConnectionError } = await import('../kube/errors.ts');
    if (error instanceof ConnectionError) return { reason: error.message };
    throw error;
  }
}

function checkDir(dir: string): void {
  const stat = statOrUndefined(dir);
  if (stat && !stat.isDirectory()) throw new CliError(`--dir ${dir} is a file, not a folder`);
  // A folder that does not exist yet is made with its parents: the nearest existing one must be a writable folder.
  let probe = path.resolve(dir);
  while (!statOrUndefined(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  if (!statOrUndefined(probe)?.isDirectory()) throw new CliError(`--dir ${dir}: ${probe} is a file, not a folder`);
  try {
    fs.accessSync(probe, fs.constants.W_OK);
  } catch {
    throw new CliError(`--dir ${dir}: ${probe} is not writable`);
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/** Writes each file atomically (temp file + rename); a differing existing file needs --overwrite. */
function writeFolder(dir: string, files: { name: string; data: Buffer }[], overwrite: boolean): Map<string, 'written' | 'unchanged'> {
  const actions = new Map<string, 'written' | 'unchanged'>();
  const differing: string[] = [];
  for (const file of files) {
    const target = path.join(dir, file.name);
    if (fs.existsSync(target) && fs.lstatSync(target).isSymbolicLink()) throw new CliError(`${target} is a symbolic link; refusing to write through it`);
    const existing = fs.existsSync(target) ? fs.readFileSync(target) : undefined;
    if (existing?.equals(file.data)) actions.set(file.name, 'unchanged');
    else if (existing && !overwrite) differing.push(file.name);
  }
  if (differing.length) throw new CliError(`${dir} already holds ${differing.join(', ')} with other content; pass --overwrite to replace ${differing.length === 1 ? 'it' : 'them'}`);
  for (const file of files) {
    if (actions.get(file.name) === 'unchanged') continue;
    replaceFile(path.join(dir, file.name), file.data);
    actions.set(file.name, 'written');
  }
  return actions;
}

export function renderInit(result: InitResult): string {
  const lines: string[] = [];
  const how = result.verification === 'pinned' ? 'verified against the sha256 sums pinned in kubectl-calico' : result.verification === 'checksums file' ? 'verified against --checksums' : 'NOT verified (--insecure-skip-verify)';
  lines.push(`Calico ${result.calicoVersion}: manifests ${how}`);
  for (const file of result.files) lines.push(`  ${file.name.padEnd(24)}${file.sha256.slice(0, 16)}…  ${file.action}`);
  for (const pool of result.ipPools) {
    lines.push(`IP pool: ${pool.cidr}, block size ${pool.blockSize}, ${pool.encapsulation}, NAT outgoing ${pool.natOutgoing}, node selector ${pool.nodeSelector}`);
  }
  if (result.images) {
    const i = result.images;
    const layout = [i.imagePath && `image path ${i.imagePath}`, i.imagePrefix && `prefix ${i.imagePrefix}`, i.imagePullSecrets?.length && `pull secrets ${i.imagePullSecrets.join(', ')} (must exist in tigera-operator before apply)`].filter(Boolean);
    lines.push(`Images: from ${i.registry ?? 'the default registries'}${layout.length ? `, ${layout.join(', ')}` : ''}; operator ${i.operatorImage} ("kubectl calico images --calico-version ${result.calicoVersion} …" lists what to mirror)`);
  }
  if (result.imageSet) {
    const { name, images, leftOut } = result.imageSet;
    lines.push(`ImageSet ${name}: ${images.length} images by digest${leftOut.length ? ` (left out: ${leftOut.join(', ')}; an ImageSet holds only the images the operator deploys)` : ''}`);
  }
  const c = result.cluster;
  if (c.checked) lines.push(`Checked against the cluster (Kubernetes ${c.kubernetesVersion}${c.podSubnet ? `, podSubnet ${c.podSubnet}` : ''}${c.serviceSubnet ? `, serviceSubnet ${c.serviceSubnet}` : ''}): ${c.findings.length ? `${c.findings.length} finding(s) above` : 'the pool fits'}`);
  const written = result.files.filter((f) => f.action === 'written').map((f) => f.name);
  lines.push(written.length ? `Wrote ${result.dir}/ (${[...written, PLAN_FILE].join(', ')})` : `${result.dir}/ is up to date: nothing changed`);
  lines.push(`Next: ${result.next}`);
  return `${lines.join('\n')}\n`;
}
