// Pointing the manifests at a mirror, as Calico's private-registry guide does
// by hand: the operator Deployment's image (and imagePullSecrets in its pod
// spec) in tigera-operator.yaml, and registry, imagePath, imagePrefix and
// imagePullSecrets in the Installation. Edits are spliced into the text at
// offsets from the concrete syntax tree, so every other byte stays upstream's.
// The operator edit can be undone exactly: apply recovers upstream's bytes
// from the folder's file, checks them against the pinned sha256 and redoes
// the edit, so the folder holds nothing but upstream plus the recorded settings.
import { CST, Parser, stringify } from 'yaml';
import { CliError } from '../cli/errors.ts';
import { mirroredReference, OPERATOR_IMAGE, type ImageSettings } from './images.ts';

type BlockMap = CST.BlockMap;
type Item = BlockMap['items'][number];

const keyOf = (item: Item) => (item.key && 'source' in item.key ? item.key.source : undefined);

function child(map: CST.Token | undefined, key: string): CST.Token | undefined {
  return map?.type === 'block-map' ? map.items.find((i) => keyOf(i) === key)?.value ?? undefined : undefined;
}

function itemOf(map: BlockMap, key: string): Item | undefined {
  return map.items.find((i) => keyOf(i) === key);
}

function scalar(token: CST.Token | undefined): string | undefined {
  return token && 'source' in token && token.type !== 'comment' ? token.source : undefined;
}

/** Each top-level document's text and where it starts, split as YAML splits them (at `---` lines). */
function documents(text: string): { start: number; text: string }[] {
  const out: { start: number; text: string }[] = [];
  const separator = /^---[ \t]*$/gm;
  let start = 0;
  for (let match = separator.exec(text); match; match = separator.exec(text)) {
    out.push({ start, text: text.slice(start, match.index) });
    start = match.index;
  }
  out.push({ start, text: text.slice(start) });
  return out;
}

function rootMap(text: string): BlockMap | undefined {
  const doc = [...new Parser().parse(text)].find((t): t is CST.Document => t.type === 'document');
  return doc?.value?.type === 'block-map' ? doc.value : undefined;
}

/** The start of the line holding `offset`. */
function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The start of the line after the one holding `offset`. */
function nextLine(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end === -1 ? text.length : end + 1;
}

/** A string as YAML writes it plainly where it can, quoted where it must be (`0`, `true` would not read back as strings). */
function yamlScalar(value: string): string {
  return stringify(value).trimEnd();
}

function secretLines(indent: string, secrets: string[]): string {
  return `${indent}imagePullSecrets:\n${secrets.map((s) => `${indent}  - name: ${yamlScalar(s)}\n`).join('')}`;
}

interface OperatorDeployment {
  /** Where the Deployment's document starts in the file, and its text. */
  start: number;
  text: string;
  podSpec: BlockMap;
  image: CST.FlowScalar;
}

function operatorDeployment(text: string): OperatorDeployment {
  for (const doc of documents(text)) {
    if (!/^kind: Deployment[ \t]*$/m.test(doc.text) || !/^ {2}name: tigera-operator[ \t]*$/m.test(doc.text)) continue;
    const root = rootMap(doc.text);
    if (scalar(child(root, 'kind')) !== 'Deployment' || scalar(child(child(root, 'metadata'), 'name')) !== 'tigera-operator') continue;
    const podSpec = child(child(child(root, 'spec'), 'template'), 'spec');
    const containers = child(podSpec, 'containers');
    const container = containers?.type === 'block-seq' ? containers.items.find((i) => scalar(child(i.value, 'name')) === 'tigera-operator')?.value : undefined;
    const image = child(container, 'image');
    if (podSpec?.type === 'block-map' && image?.type === 'scalar') return { start: doc.start, text: doc.text, podSpec, image };
  }
  throw new CliError('tigera-operator.yaml has no Deployment tigera-operator with a container tigera-operator and its image');
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/**
 * tigera-operator.yaml with the operator's image from the mirror (named as
 * `images` names it) and the pull secrets in its pod spec, before
 * `containers:`; upstream has none there.
 */
export function editOperatorManifest(text: string, settings: ImageSettings): string {
  const deployment = operatorDeployment(text);
  const upstream = deployment.image.source;
  const tag = upstream.slice(upstream.lastIndexOf(':') + 1);
  if (!upstream.startsWith(`quay.io/${OPERATOR_IMAGE}:`)) throw new CliError(`tigera-operator.yaml runs ${upstream}, not quay.io/${OPERATOR_IMAGE}; kubectl-calico cannot name it in a mirror`);
  if (itemOf(deployment.podSpec, 'imagePullSecrets')) throw new CliError('tigera-operator.yaml already sets imagePullSecrets for the operator; kubectl-calico edits only upstream\'s file');
  const mirrored = mirroredReference({ registry: 'quay.io/', image: OPERATOR_IMAGE, tag, when: 'always' }, settings);
  let doc = deployment.text;
  // The image first: the secrets go before it, which would move its offset.
  const image = deployment.image;
  doc = splice(doc, image.offset, image.offset + image.source.length, yamlScalar(mirrored));
  const secrets = settings.imagePullSecrets ?? [];
  if (secrets.length) {
    const containers = itemOf(deployment.podSpec, 'containers')!;
    const at = lineStart(doc, (containers.key as CST.FlowScalar).offset);
    doc = splice(doc, at, at, secretLines(' '.repeat(deployment.podSpec.indent), secrets));
  }
  return text.slice(0, deployment.start) + doc + text.slice(deployment.start + deployment.text.length);
}

/**
 * The inverse of editOperatorManifest: upstream's bytes, if `text` is upstream
 * edited by it — the caller checks their sha256 and that editing them again
 * gives `text`, so a file that is anything else is refused.
 */
export function upstreamOperatorManifest(text: string): string {
  const deployment = operatorDeployment(text);
  let doc = deployment.text;
  // The image first: it comes after the secrets, so its offset stays right.
  const image = deployment.image;
  const tag = image.source.slice(image.source.lastIndexOf(':') + 1);
  doc = splice(doc, image.offset, image.offset + image.source.length, `quay.io/${OPERATOR_IMAGE}:${tag}`);
  const secrets = itemOf(deployment.podSpec, 'imagePullSecrets');
  const containers = itemOf(deployment.podSpec, 'containers');
  if (secrets && containers) doc = splice(doc, lineStart(doc, (secrets.key as CST.FlowScalar).offset), lineStart(doc, (containers.key as CST.FlowScalar).offset), '');
  return text.slice(0, deployment.start) + doc + text.slice(deployment.start + deployment.text.length);
}

const INSTALLATION_KEYS = ['registry', 'imagePath', 'imagePrefix', 'imagePullSecrets'] as const;

/**
 * custom-resources.yaml with the image settings first in the Installation's
 * spec, right after `spec:`; settings a previous edit wrote are replaced.
 */
export function editInstallationImages(text: string, settings: ImageSettings | undefined): string {
  for (const doc of documents(text)) {
    const root = rootMap(doc.text);
    if (scalar(child(root, 'kind')) !== 'Installation') continue;
    const specItem = itemOf(root!, 'spec');
    if (specItem?.value?.type !== 'block-map') throw new CliError('custom-resources.yaml\'s Installation has no spec to set the registry in');
    const spec = specItem.value;
    let body = doc.text;
    const indent = ' '.repeat(spec.indent);
    const at = nextLine(body, (specItem.key as CST.FlowScalar).offset);
    // Drop what an earlier edit wrote: the lines it puts right after `spec:`, as secretLines writes them.
    const ours = new RegExp(`^${indent}(?:(?:${INSTALLATION_KEYS.join('|')}):.*|  - name: .*)\\n`);
    let end = at;
    for (let match = ours.exec(body.slice(end)); match; match = ours.exec(body.slice(end))) end += match[0].length;
    body = splice(body, at, end, '');
    if (settings) {
      const lines = [
        settings.registry ? `${indent}registry: ${yamlScalar(settings.registry)}\n` : '',
        settings.imagePath ? `${indent}imagePath: ${yamlScalar(settings.imagePath)}\n` : '',
        settings.imagePrefix ? `${indent}imagePrefix: ${yamlScalar(settings.imagePrefix)}\n` : '',
        settings.imagePullSecrets?.length ? secretLines(indent, settings.imagePullSecrets) : '',
      ].join('');
      body = splice(body, at, at, lines);
    }
    return text.slice(0, doc.start) + body + text.slice(doc.start + doc.text.length);
  }
  throw new CliError('custom-resources.yaml has no Installation');
}
