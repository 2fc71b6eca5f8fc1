// init --image-set: the lines `crane digest --full-ref` prints (and `REF sha256:…`), mapped back from the
// mirror's names to the operator's default ones, each refusal the operator's ImageSet rules call for, and
// the ImageSet document appended to custom-resources.yaml and cut off again exactly.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../../src/cli/errors.ts';
import { deriveCustomResources, upstreamCustomResources } from '../../src/calico/custom-resources.ts';
import { appendImageSet, parseImageSet, withoutImageSet } from '../../src/calico/image-set.ts';
import { imageList, parseImageSettings, releaseImages, type ImageSettings } from '../../src/calico/images.ts';
import { SHARED_CALICO } from '../helpers.ts';

const digestOf = (name: string) => `sha256:${createHash('sha256').update(name).digest('hex')}`;
const repository = (reference: string) => reference.slice(0, reference.lastIndexOf(':'));

/** What the README's loop writes: `crane digest --full-ref` of every row `images --all -o list` prints. */
function digestsFile(version: string, settings: ImageSettings | undefined): string {
  return imageList(version, settings, true).images.map((row) => `${repository(row.mirror ?? row.image)}@${digestOf(row.image)}\n`).join('');
}

const MIRRORS: [string, ImageSettings | undefined][] = [
  ['upstream names', undefined],
  ['a registry with a port', parseImageSettings({ registry: 'mirror.example.com:5000' })],
  ['a registry path and an image path', parseImageSettings({ registry: 'mirror.example.com/team/', imagePath: 'calico-mirror' })],
  ['a prefix', parseImageSettings({ registry: 'localhost:5000', imagePrefix: 'm-' })],
  ['an image path and a prefix', parseImageSettings({ registry: 'registry.example.com', imagePath: 'a/b', imagePrefix: 'x-' })],
];

test('every pinned release, every mirror layout: the digests map back to the operator\'s names, the operator\'s own image and connectivity\'s left out', () => {
  for (const version of ['v3.29.0', 'v3.29.7', 'v3.30.0', 'v3.30.7', 'v3.31.7', 'v3.32.1']) {
    for (const [layout, settings] of MIRRORS) {
      const parsed = parseImageSet(digestsFile(version, settings), 'digests.txt', version, settings);
      const components = releaseImages(version).filter((i) => i.when !== 'always');
      assert.deepEqual(parsed.entries, components.map((i) => ({ image: i.image, digest: digestOf(`${i.registry}${i.image}:${i.tag}`) })), `${version}, ${layout}`);
      assert.ok(parsed.entries.every((e) => /^calico\/[a-z0-9-]+$/.test(e.image)), 'default paths, whatever the mirror');
      assert.equal(parsed.leftOut.length, 2, `${version}, ${layout}: ${parsed.leftOut.join(' ')}`);
      assert.match(parsed.leftOut[0]!, /operator$/);
      assert.match(parsed.leftOut[1]!, /agnhost$/);
    }
  }
});

test('both line forms, with or without the tag, comments and blank lines; Docker Hub as crane prints it', () => {
  const version = 'v3.29.0';
  const required = releaseImages(version).filter((i) => i.when === 'default' || i.image === 'calico/key-cert-provisioner');
  const forms = required.map((i, n) => {
    const digest = digestOf(i.image);
    return [`docker.io/${i.image}@${digest}`, `${i.image}:${i.tag} ${digest}`, `index.docker.io/${i.image}:${i.tag}@${digest}`, `  quay.io/${i.image}\t${digest}  `][n % 4];
  });
  const parsed = parseImageSet(`# resolved while mirroring\n\n${forms.join('\n')}\n`, 'f', version, undefined);
  assert.deepEqual(parsed.entries, required.map((i) => ({ image: i.image, digest: digestOf(i.image) })));
  assert.deepEqual(parsed.leftOut, []);
  // The same image twice with the same digest is one entry.
  assert.deepEqual(parseImageSet(`${forms.join('\n')}\n${forms[0]}\n`, 'f', version, undefined).entries, parsed.entries);
});

test('each refusal is one usage error (exit 2) naming the file, the line and what to do', () => {
  const version = 'v3.30.7';
  const settings = parseImageSettings({ registry: 'mirror.example.com:5000', imagePrefix: 'm-' });
  const good = digestsFile(version, settings).split('\n').filter(Boolean);
  const node = good.findIndex((l) => l.includes('/calico/m-node@'));
  const with_ = (line: string) => [...good.slice(0, node), line, ...good.slice(node + 1)].join('\n');
  const refusals: [string, string, RegExp][] = [
    ['a digest without sha256:', with_('mirror.example.com:5000/calico/m-node@sha512:abc'), /^--image-set digests\.txt line \d+: the digest "sha512:abc" of mirror\.example\.com:5000\/calico\/m-node does not start with sha256: \(the operator accepts only sha256 digests\)$/],
    ['a bare hex digest', with_(`mirror.example.com:5000/calico/m-node ${'a'.repeat(64)}`), /does not start with sha256:/],
    ['a short digest', with_('mirror.example.com:5000/calico/m-node@sha256:abc'), /line \d+: the digest "sha256:abc" of \S+ is malformed: expected sha256: and 64 lower-case hex digits$/],
    ['an upper-case digest', with_(`mirror.example.com:5000/calico/m-node@sha256:${'A'.repeat(64)}`), /is malformed/],
    ['no digest', with_('mirror.example.com:5000/calico/m-node:v3.30.7'), /line \d+: expected REF@sha256:… \(as "crane digest --full-ref" prints\) or REF sha256:…, got "mirror\.example\.com:5000\/calico\/m-node:v3\.30\.7"$/],
    ['three fields', with_(`calico/node ${digestOf('x')} extra`), /expected REF@sha256:…/],
    ['an image the release does not deploy', with_(`mirror.example.com:5000/calico/m-flannel@${digestOf('x')}`), /^--image-set digests\.txt line \d+: mirror\.example\.com:5000\/calico\/m-flannel is not an image Calico v3\.30\.7's operator deploys, under its upstream name or its name in mirror\.example\.com:5000\/; "kubectl calico images --calico-version v3\.30\.7 --all --registry mirror\.example\.com:5000\/ --image-prefix m-" lists them$/],
    ['a release\'s image mirrored without the prefix', with_(`mirror.example.com:5000/calico/node@${digestOf('x')}`), /mirror\.example\.com:5000\/calico\/node is not an image Calico v3\.30\.7's operator deploys/],
    ['an image of v3.32 only', with_(`quay.io/calico/webhooks@${digestOf('x')}`), /quay\.io\/calico\/webhooks is not an image Calico v3\.30\.7's operator deploys/],
    ['another release\'s tag', with_(`quay.io/calico/node:v3.29.0@${digestOf('x')}`), /line \d+: quay\.io\/calico\/node:v3\.29\.0 is tagged v3\.29\.0, but Calico v3\.30\.7 deploys calico\/node:v3\.30\.7$/],
    ['two digests for one image', [...good, `quay.io/calico/node@${digestOf('other')}`].join('\n'), /line \d+: calico\/node has two digests in the file \(sha256:[0-9a-f]{64} and sha256:[0-9a-f]{64}\)$/],
    ['a set without key-cert-provisioner', good.filter((l) => !l.includes('key-cert-provisioner')).join('\n'), /^--image-set digests\.txt lacks calico\/key-cert-provisioner: the Calico v3\.30\.7 operator requires every image it deploys in ImageSet calico-v3\.30\.7 \(key-cert-provisioner for every install\) and leaves a component without one Degraded; "kubectl calico images --calico-version v3\.30\.7 --all/],
    ['a set without Whisker\'s images', good.filter((l) => !l.includes('whisker')).join('\n'), /lacks calico\/whisker, calico\/whisker-backend:/],
    ['an empty file', '', /lacks calico\/node, calico\/cni, /],
  ];
  for (const [what, text, message] of refusals) {
    assert.throws(() => parseImageSet(text, 'digests.txt', version, settings), (error: unknown) => {
      assert.ok(error instanceof UsageError, what);
      assert.equal(error.exitCode, 2);
      assert.doesNotMatch(error.message, /\n/, `${what}: one line`);
      assert.match(error.message, message, what);
      return true;
    });
  }
  // Optional images (Windows, Gateway API) may be left out.
  const optional = good.filter((l) => !/windows|envoy|guardian/.test(l)).join('\n');
  assert.equal(parseImageSet(optional, 'digests.txt', version, settings).entries.length, 12);
});

test('the ImageSet is appended as its own document, every other byte upstream\'s, and cut off exactly', () => {
  for (const version of fs.readdirSync(SHARED_CALICO).filter((d) => d.startsWith('v'))) {
    const upstream = fs.readFileSync(path.join(SHARED_CALICO, version, 'custom-resources.yaml'), 'utf8');
    const { entries } = parseImageSet(digestsFile(version, undefined), 'f', version, undefined);
    const withSet = appendImageSet(upstream, version, entries);
    assert.ok(withSet.startsWith(upstream), 'upstream\'s bytes first, unchanged');
    assert.equal(withoutImageSet(withSet), upstream);
    const docs = parseAllDocuments(withSet).map((d) => {
      assert.deepEqual(d.errors, []);
      return d.toJS() as { apiVersion: string; kind: string; metadata: { name: string }; spec: { images: { image: string; digest: string }[] } };
    });
    assert.deepEqual(docs.slice(0, -1), parseAllDocuments(upstream).map((d) => d.toJS()));
    const set = docs.at(-1)!;
    assert.deepEqual({ apiVersion: set.apiVersion, kind: set.kind, name: set.metadata.name }, { apiVersion: 'operator.tigera.io/v1', kind: 'ImageSet', name: `calico-${version}` });
    assert.deepEqual(set.spec.images, entries);
    // With pools and a mirror too, the whole derivation undoes to upstream's bytes.
    const pools = [{ cidr: '10.97.0.0/16', blockSize: 26, encapsulation: 'VXLAN', natOutgoing: 'Enabled', nodeSelector: '!has(edge)' }, { cidr: 'fd00:10:97::/56', blockSize: 122, encapsulation: 'None', natOutgoing: 'Disabled', nodeSelector: '!has(edge)' }];
    const derived = deriveCustomResources(upstream, { pools, images: parseImageSettings({ registry: 'mirror.example.com:5000' })!, imageSet: { version, entries } });
    assert.equal(upstreamCustomResources(derived), upstream, version);
  }
});

test('appendImageSet checks the entries again (apply derives the file from the plan\'s): an unknown image, a bad digest, a missing image', () => {
  const version = 'v3.29.0';
  const { entries } = parseImageSet(digestsFile(version, undefined), 'f', version, undefined);
  assert.throws(() => appendImageSet('', version, [...entries, { image: 'tigera/operator', digest: digestOf('x') }]), /names tigera\/operator@sha256:[0-9a-f]{64}, which the operator would reject/);
  assert.throws(() => appendImageSet('', version, entries.map((e, i) => (i ? e : { ...e, digest: 'sha256:x\nkind: Secret' }))), /which the operator would reject/);
  assert.throws(() => appendImageSet('', version, entries.slice(1)), /lacks calico\/node, which the operator requires/);
});
