// The folder `init` and `upgrade` write and `apply` reads: the release's
// manifests (custom-resources.yaml with the chosen pool values) and
// kubectl-calico.yaml, which records the version, every file's sha256 (and
// that of its parsed objects) and the pool settings.
import fs from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { parse, stringify } from 'yaml';
import { CliError } from '../cli/errors.ts';
import { insideFolder, replaceCacheFile, replaceFile } from '../cli/files.ts';
import { resourceOf, type ManifestObject } from '../kube/resources.ts';
import type { PoolSettings } from './custom-resources.ts';
import { CUSTOM_RESOURCE_KINDS, deriveCustomResources, upstreamCustomResources } from './custom-resources.ts';
import { editOperatorManifest, upstreamOperatorManifest } from './image-edits.ts';
import type { ImageSetEntry } from './image-set.ts';
import type { ImageSettings } from './images.ts';
import { sha256 } from './manifests.ts';
import { knownRelease, type ManifestFile } from './versions.ts';

export const PLAN_FILE = 'kubectl-calico.yaml';
/** What the last apply from this folder left in the cluster: object → when kubectl-calico last changed it. */
export const APPLIED_FILE = '.kubectl-calico-applied.json';

export function readApplied(dir: string): Map<string, string> {
  // A record that leads out of the folder is not ours to read: start without one.
  if (!insideFolder(dir, path.join(dir, APPLIED_FILE))) return new Map();
  try {
    return new Map(Object.entries(JSON.parse(fs.readFileSync(path.join(dir, APPLIED_FILE), 'utf8')) as Record<string, string>));
  } catch {
    return new Map();
  }
}

export function writeApplied(dir: string, changedAt: Map<string, string>): void {
  replaceFile(path.join(dir, APPLIED_FILE), `${JSON.stringify(Object.fromEntries(changedAt), null, 2)}\n`);
}

/** After an uninstall nothing the record names is left. */
export function dropApplied(dir: string): void {
  fs.rmSync(path.join(dir, APPLIED_FILE), { force: true });
}

export interface Plan {
  apiVersion: 'kubectl-calico/v1alpha1';
  kind: 'InstallPlan';
  calicoVersion: string;
  /** How the downloaded files were checked: pinned sums, a --checksums file, or not at all. */
  verification: 'pinned' | 'checksums file' | 'none';
  /** objectsSha256: the sha256 of the parsed objects' JSON, which vouches for the parse cache (manifestObjects). */
  files: { name: string; sha256: string; upstreamSha256?: string; objectsSha256?: string }[];
  ipPools: PoolSettings[];
  /** The mirror init --registry … pointed both operator files at; absent, upstream's registries. */
  images?: ImageSettings;
  /** The digests init --image-set wrote as ImageSet calico-<calicoVersion>. */
  imageSet?: ImageSetEntry[];
}

export function renderPlan(plan: Plan): string {
  return `# Written by kubectl calico init; read by apply. Edit the pools with init --overwrite, not here.\n${stringify(plan)}`;
}

export function readPlan(dir: string): Plan {
  const file = path.join(dir, PLAN_FILE);
  if (!insideFolder(dir, file)) throw new CliError(`${file} is a symbolic link out of ${dir}; refusing to read through it`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`${file} does not exist: run "kubectl calico init" first (or pass --dir)`);
  }
  let plan: Plan | null;
  try {
    plan = parse(text) as Plan | null;
  } catch (error) {
    throw new CliError(`${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}; run "kubectl calico init --overwrite" to write it again`);
  }
  if (!plan || plan.kind !== 'InstallPlan' || !plan.calicoVersion || !Array.isArray(plan.files)) throw new CliError(`${file} is not a kubectl-calico install plan`);
  return plan;
}

export type StageName = 'crds' | 'operator' | 'resources';

export interface Stage {
  name: StageName;
  objects: { object: ManifestObject; file: string }[];
}

/**
 * Reads the plan's files, refusing any whose sha256 differs from the plan,
 * and splits their objects into the order apply needs: the CRDs, the
 * operator (its Namespace first), the custom resources.
 */
export function loadStages(dir: string, plan: Plan, cacheDir: string | undefined): Stage[] {
  const stages: Record<StageName, Stage['objects']> = { crds: [], operator: [], resources: [] };
  const read: { entry: Plan['files'][number]; data: Buffer }[] = [];
  for (const entry of plan.files) {
    checkPinned(dir, plan, entry);
    const file = path.join(dir, entry.name);
    const data = readChecked(dir, file, entry.sha256);
    for (const document of manifestObjects(entry.name, data, entry.sha256, cacheDir, entry.objectsSha256)) {
      const object = document as ManifestObject | null;
      if (!object || typeof object !== 'object') continue;
      if (!object.kind || !object.apiVersion || !object.metadata?.name) throw new CliError(`${entry.name} holds an object without apiVersion, kind or metadata.name`);
      resourceOf(object, entry.name);
      if (entry.name === 'custom-resources.yaml' && !CUSTOM_RESOURCE_KINDS.includes(object.kind)) {
        throw new CliError(`custom-resources.yaml holds a ${object.kind} named "${object.metadata.name}"; expected only ${CUSTOM_RESOURCE_KINDS.join(', ')}`);
      }
      // The ImageSet goes with the operator: a new operator reads it when it starts, before the Installation is applied.
      const stage: StageName = object.kind === 'CustomResourceDefinition' ? 'crds' : entry.name === 'custom-resources.yaml' && object.kind !== 'ImageSet' ? 'resources' : 'operator';
      stages[stage].push({ object, file: entry.name });
    }
    read.push({ entry, data });
  }
  if (!stages.resources.some((o) => o.object.kind === 'Installation')) throw new CliError('custom-resources.yaml has no Installation');
  // After the parse: bad YAML, unexpected kinds and a missing Installation have more precise messages of their own.
  for (const { entry, data } of read) checkDerived(dir, plan, entry, data);
  stages.operator.sort((a, b) => Number(b.object.kind === 'Namespace') - Number(a.object.kind === 'Namespace'));
  return (['crds', 'operator', 'resources'] as const).map((name) => ({ name, objects: stages[name] }));
}

/**
 * The objects of a manifest whose bytes were checked against `digest`: from
 * the JSON copy in the cache when its sha256 is the `objectsDigest` the plan
 * recorded when init parsed the verified bytes (so a cache entry changed since
 * is not used), else parsed again. Parsing the 1.6 MB operator manifest costs
 * ~200 ms at start-up; reading and checking its JSON ~25 ms.
 */
export function manifestObjects(name: string, data: Buffer, digest: string, cacheDir: string | undefined, objectsDigest: string | undefined): unknown[] {
  const cached = cacheDir && objectsCachePath(cacheDir, digest);
  if (cached && objectsDigest) {
    try {
      const text = fs.readFileSync(cached, 'utf8');
      if (sha256(Buffer.from(text)) === objectsDigest) return JSON.parse(text) as unknown[];
    } catch {
      // Absent or unreadable: parse below and write it again.
    }
  }
  return parseAndCache(name, data, cached || undefined).objects;
}

/** Parses verified bytes and caches their JSON; the JSON's sha256 goes into the plan. */
export function parseAndCache(name: string, data: Buffer, cached: string | undefined): { objects: unknown[]; objectsSha256: string } {
  const objects = parseManifest(name, data);
  const text = JSON.stringify(objects);
  if (cached) replaceCacheFile(cached, text);
  return { objects, objectsSha256: sha256(Buffer.from(text)) };
}

/** Where the parse cache keeps a manifest's objects. */
export function objectsCachePath(cacheDir: string, digest: string): string {
  return path.join(cacheDir, 'objects', `${digest}.json`);
}

function parseManifest(name: string, data: Buffer): unknown[] {
  try {
    return loadAll(data.toString('utf8'));
  } catch (error) {
    throw new CliError(`${name} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

/**
 * A plan that says its files were verified against pinned sums must name the
 * files this binary pins for that version: editing the plan along with a
 * manifest does not get another operator applied.
 */
function checkPinned(dir: string, plan: Plan, entry: Plan['files'][number]): void {
  if (plan.verification !== 'pinned') return;
  const pinned = knownRelease(plan.calicoVersion)?.sha256[entry.name as ManifestFile];
  const recorded = entry.upstreamSha256 ?? entry.sha256;
  if (!pinned || recorded !== pinned) throw new CliError(`${path.join(dir, PLAN_FILE)} names ${entry.name} with sha256 ${recorded ?? '(none)'}, but Calico ${plan.calicoVersion}'s pinned sum is ${pinned ?? '(none in this kubectl-calico)'}; refusing to apply it — run "kubectl calico init --overwrite" to start again from verified manifests`);
}

/**
 * The files init edits decide what runs: each must be exactly upstream's bytes
 * (recovered from it and checked against the recorded, pinned sha256) with the
 * plan's settings applied again — so a hand edit is refused even with the
 * plan's sha256 edited along. The operator file without a mirror is
 * upstream's bytes themselves; the CRD bundle is never edited.
 */
function checkDerived(dir: string, plan: Plan, entry: Plan['files'][number], data: Buffer): void {
  const file = path.join(dir, entry.name);
  const settings = entry.name === 'custom-resources.yaml' ? 'pools, image settings and digests' : 'image settings';
  const refuse = (why: string) => new CliError(`${file} is not the release's file with ${PLAN_FILE}'s ${settings} (${why}); refusing to apply it — run "kubectl calico init --overwrite" to start again from verified manifests`);
  const text = data.toString('utf8');
  let derive: (upstream: string) => string;
  let undo: (text: string) => string;
  if (entry.name === 'custom-resources.yaml') {
    derive = (upstream) => deriveCustomResources(upstream, { pools: plan.ipPools, ...(plan.images ? { images: plan.images } : {}), ...(plan.imageSet ? { imageSet: { version: plan.calicoVersion, entries: plan.imageSet } } : {}) });
    undo = upstreamCustomResources;
  } else if (entry.name === 'tigera-operator.yaml' && plan.images) {
    const images = plan.images;
    derive = (upstream) => editOperatorManifest(upstream, images);
    undo = upstreamOperatorManifest;
  } else {
    if (entry.upstreamSha256 && entry.upstreamSha256 !== entry.sha256) throw refuse('the plan records an edit but no image settings');
    return;
  }
  if (!entry.upstreamSha256) throw refuse('the plan records no upstream sha256 for it');
  let upstream: string;
  try {
    upstream = undo(text);
  } catch (error) {
    throw refuse((error as Error).message);
  }
  if (sha256(upstream) !== entry.upstreamSha256) throw refuse('undoing the edit does not give the verified upstream bytes');
  if (derive(upstream) !== text) throw refuse(`its ${settings} differ from the recorded ones`);
}

/** The plan's files whose bytes in `dir` are no longer what init wrote (a missing one is not edited: it is written again). */
export function editedFiles(dir: string, plan: Plan): string[] {
  return plan.files.filter((f) => {
    try {
      return sha256(fs.readFileSync(path.join(dir, f.name))) !== f.sha256;
    } catch {
      return false;
    }
  }).map((f) => f.name);
}

function readChecked(dir: string, file: string, expected: string): Buffer {
  if (!insideFolder(dir, file)) throw new CliError(`${file} is a symbolic link out of ${dir}; refusing to read through it`);
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch {
    throw new CliError(`${file} is missing: run "kubectl calico init" again`);
  }
  const actual = sha256(data);
  if (actual !== expected) {
    throw new CliError(`${file} has changed since init (sha256 ${actual}, recorded ${expected}); refusing to apply it — run "kubectl calico init --overwrite" to start again from verified manifests`);
  }
  return data;
}
