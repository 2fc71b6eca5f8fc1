// The mirror edits of both operator files, for every pinned release: only the named lines change, every other
// byte stays upstream's, a second edit is the first, and the operator file's edit undoes exactly (property-based).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { editInstallationImages, editOperatorManifest, upstreamOperatorManifest } from '../../src/calico/image-edits.ts';
import { parseImageSettings, type ImageSettings } from '../../src/calico/images.ts';
import { SHARED_CALICO } from '../helpers.ts';

const RELEASES = fs.readdirSync(SHARED_CALICO).filter((d) => d.startsWith('v'));
const read = (release: string, file: string) => fs.readFileSync(path.join(SHARED_CALICO, release, file), 'utf8');
const segment = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const settings: fc.Arbitrary<ImageSettings> = fc.record({
  registry: fc.tuple(segment, fc.option(fc.integer({ min: 1, max: 65535 })), fc.boolean()).map(([h, port, slash]) => `${h}.example${port ? `:${port}` : ''}${slash ? '/' : ''}`),
  imagePath: fc.option(segment, { nil: undefined }),
  imagePrefix: fc.option(segment.map((s) => `${s}-`), { nil: undefined }),
  imagePullSecrets: fc.array(segment, { maxLength: 2 }),
}).map((flags) => parseImageSettings(flags)!);

/** The lines of `edited` that upstream does not have, in order. */
function added(upstream: string, edited: string): string[] {
  let theirs = upstreamLines.get(upstream);
  if (!theirs) upstreamLines.set(upstream, (theirs = new Set(upstream.split('\n'))));
  return edited.split('\n').filter((line) => !theirs.has(line));
}

/** Each release's lines, made once: a property runs `added` many times on the same 1.6 MB manifest. */
const upstreamLines = new Map<string, Set<string>>();

test('tigera-operator.yaml: only the operator image and the pod spec\'s imagePullSecrets change, and the edit undoes exactly', () => {
  for (const release of RELEASES) {
    const upstream = read(release, 'tigera-operator.yaml');
    fc.assert(fc.property(settings, (s) => {
      const edited = editOperatorManifest(upstream, s);
      const tag = /image: quay\.io\/tigera\/operator:(\S+)/.exec(upstream)![1];
      const secrets = s.imagePullSecrets ?? [];
      const expected = [...(secrets.length ? ['      imagePullSecrets:', ...secrets.map((n) => `        - name: ${stringify(n).trimEnd()}`)] : []), `          image: ${stringify(`${s.registry}${s.imagePath ?? 'tigera'}/${s.imagePrefix ?? ''}operator:${tag}`).trimEnd()}`];
      assert.deepEqual(added(upstream, edited), expected, release);
      assert.equal(edited.split('\n').length, upstream.split('\n').length + (secrets.length ? secrets.length + 1 : 0));
      assert.equal(upstreamOperatorManifest(edited), upstream, 'undone exactly');
    }), { numRuns: release === 'v3.29.0' ? 5 : 20 });
  }
});

test('custom-resources.yaml: registry (with its "/"), imagePath, imagePrefix and imagePullSecrets first in the Installation spec; a re-edit is the same bytes', () => {
  for (const release of RELEASES) {
    const upstream = read(release, 'custom-resources.yaml');
    fc.assert(fc.property(settings, settings, (s, other) => {
      const edited = editInstallationImages(upstream, s);
      const installation = parseAllDocuments(edited)[0]!.toJS() as { spec: Record<string, unknown> };
      assert.equal(installation.spec.registry, s.registry);
      assert.ok(String(installation.spec.registry).endsWith('/'));
      assert.equal(installation.spec.imagePath, s.imagePath);
      assert.equal(installation.spec.imagePrefix, s.imagePrefix);
      assert.deepEqual(installation.spec.imagePullSecrets, s.imagePullSecrets?.map((name) => ({ name })));
      assert.deepEqual(Object.keys(installation.spec).at(-1), 'calicoNetwork');
      assert.ok(added(upstream, edited).every((l) => /^ {2}(registry|imagePath|imagePrefix|imagePullSecrets):| {4}- name: /.test(l)), release);
      assert.equal(editInstallationImages(edited, s), edited, 'idempotent');
      assert.equal(editInstallationImages(editInstallationImages(edited, other), s), edited, 'other settings, then these: the same bytes');
      assert.equal(editInstallationImages(edited, undefined), upstream, 'no settings: upstream');
    }), { numRuns: 30 });
  }
});
