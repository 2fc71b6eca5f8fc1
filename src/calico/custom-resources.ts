// Rewriting custom-resources.yaml with only the chosen pool values changed.
// The `yaml` Document API re-indents the ipPools list and drops blank
// lines, so the edit happens on the concrete syntax tree: every comment,
// blank line and indentation of upstream's file stays byte for byte.
// The file is derived from upstream's bytes and the plan's settings only, and
// the derivation can be undone, so apply can hold the folder's file to exactly
// that (as it does the operator file).
import { CST, Parser, parseAllDocuments } from 'yaml';
import { CliError } from '../cli/errors.ts';
import { editInstallationImages } from './image-edits.ts';
import { appendImageSet, withoutImageSet, type ImageSetEntry } from './image-set.ts';
import type { ImageSettings } from './images.ts';

export interface PoolSettings {
  cidr: string;
  blockSize: number;
  encapsulation: string;
  natOutgoing: string;
  nodeSelector: string;
}

const FIELDS = ['cidr', 'blockSize', 'encapsulation', 'natOutgoing', 'nodeSelector'] as const;

/** Kinds custom-resources.yaml holds in the releases kubectl-calico knows. */
export const CUSTOM_RESOURCE_KINDS = ['Installation', 'APIServer', 'Goldmane', 'Whisker', 'ImageSet'];

/**
 * The pool every pinned release's custom-resources.yaml ships (the docs'
 * 192.168.0.0/16), each value a plain scalar: what undoing the pool edit
 * writes back. A release shipping another is refused by the sha256 check.
 */
const UPSTREAM_POOL: PoolSettings = { cidr: '192.168.0.0/16', blockSize: 26, encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()' };

/** What custom-resources.yaml is derived from besides upstream's bytes: the plan's settings. */
export interface CustomResourceSettings {
  pools: PoolSettings[];
  images?: ImageSettings;
  /** The release's digests (init --image-set), written as its ImageSet. */
  imageSet?: { version: string; entries: ImageSetEntry[] };
}

/**
 * Upstream's file with the pools, with a mirror the Installation's image
 * settings, and with digests the ImageSet after upstream's documents: what
 * init writes and apply requires.
 */
export function deriveCustomResources(upstream: string, settings: CustomResourceSettings): string {
  let text = rewriteCustomResources(upstream, settings.pools);
  if (settings.images) text = editInstallationImages(text, settings.images);
  return settings.imageSet ? appendImageSet(text, settings.imageSet.version, settings.imageSet.entries) : text;
}

/**
 * The inverse of deriveCustomResources: upstream's bytes, if `text` is
 * upstream derived by it — the caller checks their sha256 and that deriving
 * them again gives `text`, so anything else is refused.
 */
export function upstreamCustomResources(text: string): string {
  // Plain scalars: a value init had to quote (`!has(x)`) leaves its token quoted, upstream's are not.
  return setPools(editInstallationImages(withoutImageSet(text), undefined), [UPSTREAM_POOL], 'PLAIN');
}

/** Sets the first pool to `pools[0]`; a second pool (the other IP family) is added after it in the same layout. */
export function rewriteCustomResources(text: string, pools: PoolSettings[]): string {
  return setPools(text, pools, undefined);
}

/** `type` undefined keeps each value's token style where the value allows it. */
function setPools(text: string, pools: PoolSettings[], type: 'PLAIN' | undefined): string {
  const { documents, tokens } = parse(text);
  const installation = documents.find((d) => scalarAt(d, ['kind']) === 'Installation');
  if (!installation) throw new CliError('custom-resources.yaml has no Installation');
  const seq = nodeAt(installation, ['spec', 'calicoNetwork', 'ipPools']);
  const list = seq?.type === 'block-seq' ? seq.items : [];
  const first = list[0];
  if (!first?.value || first.value.type !== 'block-map') throw new CliError('custom-resources.yaml has no spec.calicoNetwork.ipPools list in its Installation');
  const pool = first.value;
  // A file rewritten before may hold a second pool: the list becomes exactly `pools`.
  list.splice(1);
  for (const field of FIELDS) {
    const item = pool.items.find((i: CST.BlockMap['items'][number]) => keyOf(i) === field);
    if (!item?.value) throw new CliError(`custom-resources.yaml's first IP pool has no ${field} to set`);
    CST.setScalarValue(item.value, String(pools[0]![field]), { type });
  }
  const name = pool.items.find((i: CST.BlockMap['items'][number]) => keyOf(i) === 'name');
  if (name?.value) CST.setScalarValue(name.value, poolName(pools[0]!), { type });
  let output = tokens.map((t) => CST.stringify(t)).join('');
  if (pools[1]) output = addPool(output, pools[1]);
  return output;
}

/** Calico's default pool names go by family, whichever order the pools were given in. */
function poolName(pool: PoolSettings): string {
  return pool.cidr.includes(':') ? 'default-ipv6-ippool' : 'default-ipv4-ippool';
}

/** Inserts a copy of the first pool's lines, with the second pool's values, right after it. */
function addPool(text: string, pool: PoolSettings): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\s*- name: /.test(l));
  const indent = (lines[start]!.match(/^(\s*)-/)?.[1] ?? '').length;
  let end = start + 1;
  while (end < lines.length && lines[end]!.trim() !== '' && (lines[end]!.match(/^\s*/)?.[0].length ?? 0) > indent && !/^\s*-/.test(lines[end]!)) end++;
  const copy = lines.slice(start, end).map((line) => {
    const match = /^(\s*(?:- )?)(\w+): (.*)$/.exec(line);
    if (!match) return line;
    const [, lead, key] = match;
    if (key === 'name') return `${lead}name: ${poolName(pool)}`;
    const value = (pool as unknown as Record<string, unknown>)[key!];
    // Rendered as the first pool's values are: `!has(x)` and the like need quotes.
    return value === undefined ? line : `${lead}${key}: ${CST.createScalarToken(String(value), { indent: 0 }).source}`;
  });
  return [...lines.slice(0, end), ...copy, ...lines.slice(end)].join('\n');
}

type Token = CST.Token;
type Node = CST.Token;

function parse(text: string): { tokens: Token[]; documents: CST.BlockMap[] } {
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new CliError(`custom-resources.yaml is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  }
  const tokens = [...new Parser().parse(text)];
  const documents = tokens.filter((t): t is CST.Document => t.type === 'document').map((d) => d.value).filter((v): v is CST.BlockMap => v?.type === 'block-map');
  return { tokens, documents };
}

function keyOf(item: CST.BlockMap['items'][number]): string | undefined {
  return item.key && 'source' in item.key ? item.key.source : undefined;
}

function nodeAt(map: CST.BlockMap, path: string[]): Node | undefined {
  let node: Node | undefined = map;
  for (const key of path) {
    if (node?.type !== 'block-map') return undefined;
    node = node.items.find((i: CST.BlockMap['items'][number]) => keyOf(i) === key)?.value as Node | undefined;
  }
  return node;
}

function scalarAt(map: CST.BlockMap, path: string[]): string | undefined {
  const node = nodeAt(map, path);
  return node && 'source' in node ? node.source : undefined;
}

/** The kinds in a custom-resources file, to refuse files with objects apply does not expect. */
export function customResourceKinds(text: string): string[] {
  return parse(text).documents.map((d) => scalarAt(d, ['kind']) ?? '(no kind)');
}
