// `images`: the embedded lists against ../shared/calico/images.tsv for every pinned release, and mirrored
// names composed as tigera/operator's GetReference composes them (pkg/components/references.go).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { imageList, mirroredReference, parseImageSettings, parseRegistry, referenceOf, releaseImages, WHEN_NOTES, type ReleaseImage } from '../../src/calico/images.ts';
import { KNOWN_RELEASES } from '../../src/calico/versions.ts';
import { SHARED_CALICO } from '../helpers.ts';

const TSV = fs.readFileSync(path.join(SHARED_CALICO, 'images.tsv'), 'utf8').trim().split('\n').slice(1).map((line) => {
  const [release, image, when, note] = line.split('\t') as [string, string, string, string];
  return { release, image, when, note };
});

test('every pinned release lists exactly the images images.tsv has for it, with its when and note', () => {
  assert.deepEqual([...new Set(TSV.map((r) => r.release))], KNOWN_RELEASES.map((r) => r.version));
  for (const { version } of KNOWN_RELEASES) {
    const expected = TSV.filter((r) => r.release === version);
    assert.deepEqual(releaseImages(version).map((i) => ({ release: version, image: referenceOf(i), when: i.when, note: WHEN_NOTES[i.when] })), expected, version);
    const plain = imageList(version, undefined, false).images.filter((r) => r.when !== 'connectivity');
    assert.deepEqual(plain.map((r) => r.image), expected.filter((r) => r.when === 'always' || r.when === 'default').map((r) => r.image), `${version} without --all`);
    const all = imageList(version, undefined, true).images.filter((r) => r.when !== 'connectivity');
    assert.deepEqual(all.map((r) => r.image), expected.map((r) => r.image), `${version} --all`);
    assert.equal(all[0]!.when, 'always', 'the operator first');
  }
});

test('connectivity\'s agnhost is listed, marked as such', () => {
  const last = imageList('v3.29.0', undefined, false).images.at(-1)!;
  assert.deepEqual([last.image, last.when], ['registry.k8s.io/e2e-test-images/agnhost:2.52', 'connectivity']);
});

test('an unknown release is an error naming the known ones', () => {
  assert.throws(() => releaseImages('v3.28.0'), /no image list for Calico v3\.28\.0; it knows v3\.29\.0, v3\.29\.7, v3\.30\.0, .*v3\.32\.1$/);
});

test('mirrored names: registry with and without a trailing "/", image path, prefix, both', () => {
  const node: ReleaseImage = { registry: 'quay.io/', image: 'calico/node', tag: 'v3.30.7', when: 'default' };
  const operator: ReleaseImage = { registry: 'quay.io/', image: 'tigera/operator', tag: 'v1.38.13', when: 'always' };
  const s = (flags: Parameters<typeof parseImageSettings>[0]) => parseImageSettings(flags)!;
  assert.equal(mirroredReference(node, s({ registry: 'reg.local:5000' })), 'reg.local:5000/calico/node:v3.30.7');
  assert.equal(mirroredReference(node, s({ registry: 'reg.local:5000/' })), 'reg.local:5000/calico/node:v3.30.7');
  assert.equal(mirroredReference(node, s({ registry: 'reg.local/mirror' })), 'reg.local/mirror/calico/node:v3.30.7');
  assert.equal(mirroredReference(node, s({ registry: 'reg.local', imagePath: 'team/calico' })), 'reg.local/team/calico/node:v3.30.7');
  assert.equal(mirroredReference(node, s({ registry: 'reg.local', imagePrefix: 'mirror-' })), 'reg.local/calico/mirror-node:v3.30.7');
  assert.equal(mirroredReference(node, s({ registry: 'reg.local', imagePath: 'p', imagePrefix: 'x-' })), 'reg.local/p/x-node:v3.30.7');
  // Without a registry the operator keeps the component's default one.
  assert.equal(mirroredReference(node, s({ imagePath: 'p' })), 'quay.io/p/node:v3.30.7');
  // The operator's own image, as init rewrites it (the docs' $REGISTRY/$IMAGE_PATH/operator).
  assert.equal(mirroredReference(operator, s({ registry: 'reg.local', imagePath: 'p' })), 'reg.local/p/operator:v1.38.13');
});

test('GetReference, property-style: registry + path with prefix then path applied + ":" + tag', () => {
  const segment = fc.stringMatching(/^[a-z0-9]{1,8}$/);
  fc.assert(fc.property(segment, fc.option(segment), fc.option(segment), fc.boolean(), (host, imagePath, prefix, slash) => {
    const settings = parseImageSettings({ registry: `${host}.example${slash ? '/' : ''}`, imagePath: imagePath ?? undefined, imagePrefix: prefix ?? undefined })!;
    for (const version of ['v3.29.0', 'v3.32.1']) {
      for (const image of releaseImages(version)) {
        const [first, name] = image.image.split('/') as [string, string];
        assert.equal(mirroredReference(image, settings), `${host}.example/${imagePath ?? first}/${prefix ?? ''}${name}:${image.tag}`);
      }
    }
  }));
});

test('--registry is a host with an optional port and path, written with the trailing "/"', () => {
  assert.equal(parseRegistry('registry.example.com'), 'registry.example.com/');
  assert.equal(parseRegistry('localhost:5000/'), 'localhost:5000/');
  assert.equal(parseRegistry('reg.example.com/a/b'), 'reg.example.com/a/b/');
  for (const [bad, why] of [['https://reg.example.com', /no scheme/], ['reg.example.com/calico:v1', /no tag/], ['reg.example.com:latest', /no tag/], ['reg.example.com@sha256:00', /no digest/], ['reg example', /whitespace/], ['', /host is empty/], ['/', /host is empty/], ['Reg.example.com/UPPER', /not a registry name/]] as const) {
    assert.throws(() => parseRegistry(bad), why, bad);
  }
  assert.throws(() => parseImageSettings({ imagePullSecrets: ['mirror'] }), /--image-pull-secret needs --registry/);
  assert.throws(() => parseImageSettings({ registry: 'r.example', imagePath: '/calico' }), /invalid --image-path/);
});
