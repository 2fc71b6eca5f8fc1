// Pinning every Calico image to a digest: `init --image-set FILE` reads the
// digests resolved while mirroring (`crane digest --full-ref` prints
// `REF@sha256:…`) and writes the operator's ImageSet calico-<release> into
// custom-resources.yaml. The operator (pkg/controller/utils/imageset) rejects
// an ImageSet naming an image it does not know or a digest without `sha256:`,
// and a component whose image the set lacks stays Degraded; it names each
// image by its default path (`calico/node`) whatever the registry, path or
// prefix, and resolves key-cert-provisioner for every install. Those rules
// are checked here, so the error comes at init rather than from a Degraded
// cluster.
import fs from 'node:fs';
import { CliError, UsageError } from '../cli/errors.ts';
import { connectivityImage, mirroredReference, releaseImages, type ImageSettings, type ReleaseImage } from './images.ts';

/** One image of an ImageSet, as the operator reads it: its default path and a digest. */
export interface ImageSetEntry {
  image: string;
  digest: string;
}

export interface ParsedImageSet {
  entries: ImageSetEntry[];
  /** Lines for images `kubectl calico images` lists that no ImageSet can hold (the operator's own, connectivity's). */
  leftOut: string[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const KEY_CERT_PROVISIONER = 'calico/key-cert-provisioner';

export function imageSetName(version: string): string {
  return `calico-${version}`;
}

/**
 * The images an ImageSet for the release may name (every component its
 * operator deploys in some configuration) and those it must name: the docs
 * install's, and key-cert-provisioner, which the operator resolves always.
 */
function setImages(version: string): { allowed: ReleaseImage[]; required: ReleaseImage[] } {
  const allowed = releaseImages(version).filter((i) => i.when !== 'always');
  return { allowed, required: allowed.filter((i) => i.when === 'default' || i.image === KEY_CERT_PROVISIONER) };
}

/** Reads and checks an --image-set file; every problem is one usage error naming the file and line. */
export function readImageSet(file: string, version: string, settings: ImageSettings | undefined): ParsedImageSet {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --image-set file "${file}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseImageSet(text, file, version, settings);
}

/**
 * One image a line: `REF@sha256:…` or `REF sha256:…`, REF with or without
 * its tag, named as upstream names it or as the mirror does (with the
 * settings init is given); blank lines and `#` comments are skipped.
 */
export function parseImageSet(text: string, file: string, version: string, settings: ImageSettings | undefined): ParsedImageSet {
  const { allowed } = setImages(version);
  const names = referenceNames(version, settings);
  const digests = new Map<string, string>();
  const leftOut: string[] = [];
  const listing = `"kubectl calico images --calico-version ${version} --all${settings?.registry ? ` --registry ${settings.registry}` : ''}${settings?.imagePath ? ` --image-path ${settings.imagePath}` : ''}${settings?.imagePrefix ? ` --image-prefix ${settings.imagePrefix}` : ''}" lists them`;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const bad = (why: string) => new UsageError(`--image-set ${file} line ${index + 1}: ${why}`);
    const fields = line.split(/\s+/);
    let ref: string;
    let digest: string;
    if (fields.length === 2 && !fields[0]!.includes('@')) [ref, digest] = fields as [string, string];
    else if (fields.length === 1 && line.includes('@')) [ref, digest] = [line.slice(0, line.lastIndexOf('@')), line.slice(line.lastIndexOf('@') + 1)];
    else throw bad(`expected REF@sha256:… (as "crane digest --full-ref" prints) or REF sha256:…, got "${line}"`);
    if (!digest.startsWith('sha256:')) throw bad(`the digest "${digest}" of ${ref} does not start with sha256: (the operator accepts only sha256 digests)`);
    if (!DIGEST.test(digest)) throw bad(`the digest "${digest}" of ${ref} is malformed: expected sha256: and 64 lower-case hex digits`);
    const { repository, tag } = splitReference(ref);
    const image = names.get(normalizeDomain(repository));
    if (image === 'left out') {
      leftOut.push(ref);
      return;
    }
    if (!image) throw bad(`${ref} is not an image Calico ${version}'s operator deploys${settings?.registry ? `, under its upstream name or its name in ${settings.registry}` : ''}; ${listing}`);
    if (tag !== undefined && tag !== image.tag) throw bad(`${ref} is tagged ${tag}, but Calico ${version} deploys ${image.image}:${image.tag}`);
    const earlier = digests.get(image.image);
    if (earlier !== undefined && earlier !== digest) throw bad(`${image.image} has two digests in the file (${earlier} and ${digest})`);
    digests.set(image.image, digest);
  });
  const entries = allowed.filter((i) => digests.has(i.image)).map((i) => ({ image: i.image, digest: digests.get(i.image)! }));
  const missing = missingImages(version, entries);
  if (missing.length) throw new UsageError(`--image-set ${file} lacks ${missing.join(', ')}: the Calico ${version} operator requires every image it deploys in ImageSet ${imageSetName(version)} (key-cert-provisioner for every install) and leaves a component without one Degraded; ${listing}`);
  return { entries, leftOut };
}

/** The required images an ImageSet lacks. */
function missingImages(version: string, entries: ImageSetEntry[]): string[] {
  return setImages(version).required.filter((i) => !entries.some((e) => e.image === i.image)).map((i) => i.image);
}

/**
 * Every name a line may give an image by, mapped to it: the release's
 * upstream name (docker.io or quay.io: Calico pushes both), the bare path,
 * and with a mirror its name there, composed as the operator composes it.
 * The operator's own image and connectivity's are `left out`.
 */
function referenceNames(version: string, settings: ImageSettings | undefined): Map<string, ReleaseImage | 'left out'> {
  const names = new Map<string, ReleaseImage | 'left out'>();
  const repository = (reference: string) => reference.slice(0, reference.lastIndexOf(':'));
  for (const image of setImages(version).allowed) {
    for (const registry of ['docker.io/', 'quay.io/']) names.set(`${registry}${image.image}`, image);
    if (settings) names.set(repository(mirroredReference(image, settings)), image);
  }
  const operator = releaseImages(version).find((i) => i.when === 'always')!;
  const connectivity = connectivityImage();
  for (const name of [`${operator.registry}${operator.image}`, `${connectivity.registry}${connectivity.image}`]) names.set(name, 'left out');
  if (settings) {
    names.set(repository(mirroredReference(operator, settings)), 'left out');
    if (settings.registry) names.set(`${settings.registry}${connectivity.image}`, 'left out');
  }
  return names;
}

/** `host[:port]/path[:tag]` → its repository and tag; the port's colon comes before the first `/`. */
function splitReference(ref: string): { repository: string; tag?: string } {
  const colon = ref.indexOf(':', ref.lastIndexOf('/') + 1);
  return colon === -1 ? { repository: ref } : { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

/** Docker Hub as references name it: no domain (`calico/node`), or the hosts crane prints for it. */
function normalizeDomain(repository: string): string {
  const [first = '', ...rest] = repository.split('/');
  if (!rest.length || !(first.includes('.') || first.includes(':') || first === 'localhost')) return `docker.io/${repository}`;
  return ['index.docker.io', 'registry-1.docker.io'].includes(first) ? `docker.io/${rest.join('/')}` : repository;
}

/**
 * custom-resources.yaml with the ImageSet added as its last document; every
 * other byte stays. The entries are checked again: apply derives the file
 * from those the plan records.
 */
export function appendImageSet(text: string, version: string, entries: ImageSetEntry[]): string {
  const allowed = new Set(setImages(version).allowed.map((i) => i.image));
  const wrong = entries.find((e) => !allowed.has(e.image) || !DIGEST.test(e.digest));
  if (wrong) throw new CliError(`the ImageSet for Calico ${version} names ${wrong.image}@${wrong.digest}, which the operator would reject`);
  const missing = missingImages(version, entries);
  if (missing.length) throw new CliError(`the ImageSet for Calico ${version} lacks ${missing.join(', ')}, which the operator requires`);
  const document = [
    '# Every Calico image by digest (kubectl calico init --image-set). Once an ImageSet named calico*',
    '# exists, the operator requires the one named for its release.',
    'apiVersion: operator.tigera.io/v1',
    'kind: ImageSet',
    'metadata:',
    `  name: ${imageSetName(version)}`,
    'spec:',
    '  images:',
    ...entries.flatMap((e) => [`    - image: ${e.image}`, `      digest: ${e.digest}`]),
  ];
  // The "\n" first ends upstream's last line if it has no newline, so the inverse is a plain cut.
  return `${text}\n---\n${document.join('\n')}\n`;
}

/** The inverse of appendImageSet: the text before the ImageSet, if the last document is one. */
export function withoutImageSet(text: string): string {
  const at = text.lastIndexOf('\n---\n');
  return at !== -1 && /^kind: ImageSet$/m.test(text.slice(at)) ? text.slice(0, at) : text;
}
