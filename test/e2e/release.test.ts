// npm run release: five reproducible archives, their checksums, a krew
// manifest that passes krew's own validation rules, and an install done the
// way krew does it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import pkg from '../../package.json' with { type: 'json' };
import { ROOT, run, tempDir } from '../helpers.ts';

const RELEASE = path.join(ROOT, 'dist', 'release');
const CACHE = path.join(ROOT, 'build', 'release-cache');
const PLATFORMS = [['linux', 'amd64'], ['linux', 'arm64'], ['darwin', 'amd64'], ['darwin', 'arm64'], ['windows', 'amd64']];

interface Platform {
  selector: { matchLabels: Record<string, string> };
  uri: string;
  sha256: string;
  bin: string;
  files: { from: string; to: string }[];
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { version: string; homepage: string; shortDescription: string; description: string; caveats: string; platforms: Platform[] };
}

/** The rules of krew's internal/index/validation/validate.go that a manifest must pass. */
function validate(manifest: Manifest, fileName: string): string[] {
  const errors: string[] = [];
  if (manifest.apiVersion !== 'krew.googlecontainertools.github.com/v1alpha2') errors.push(`apiVersion ${manifest.apiVersion}`);
  if (manifest.kind !== 'Plugin') errors.push(`kind ${manifest.kind}`);
  const name = manifest.metadata?.name ?? '';
  if (!/^[a-z0-9]+([_-][a-z0-9]+)*$/.test(name) || name.includes('..') || name.includes('/')) errors.push(`unsafe plugin name ${name}`);
  if (`${name}.yaml` !== fileName) errors.push(`plugin name ${name} does not match file ${fileName}`);
  const spec = manifest.spec;
  if (!spec.shortDescription?.trim() || spec.shortDescription.includes('\n')) errors.push('shortDescription must be one non-empty line');
  if (!/^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(spec.version)) errors.push(`version ${spec.version} is not semver with a v`);
  if (!spec.platforms?.length) errors.push('no platforms');
  for (const platform of spec.platforms ?? []) {
    if (!platform.uri) errors.push('platform without uri');
    if (!/^[a-f0-9]{64}$/.test(platform.sha256 ?? '')) errors.push(`sha256 ${platform.sha256}`);
    if (!platform.bin) errors.push('platform without bin');
    if (!platform.files?.length) errors.push('platform without files');
    for (const file of platform.files ?? []) if (!file.from || !file.to || file.to.includes('..')) errors.push(`file ${JSON.stringify(file)}`);
    const keys = Object.keys(platform.selector?.matchLabels ?? {});
    if (keys.length === 0 || keys.some((k) => k !== 'os' && k !== 'arch') || 'matchExpressions' in (platform.selector ?? {})) errors.push(`selector ${JSON.stringify(platform.selector)}`);
  }
  return errors;
}

function sums(): Map<string, string> {
  return new Map(fs.readdirSync(RELEASE).filter((f) => f.endsWith('.sha256')).map((f) => {
    const [hex = '', file = ''] = fs.readFileSync(path.join(RELEASE, f), 'utf8').trim().split(/\s+/);
    return [file, hex];
  }));
}

test('npm run release: five archives with checksums, a valid krew manifest, a krew-style install, and the same bytes twice', { timeout: 20 * 60_000 }, async () => {
  fs.rmSync(CACHE, { recursive: true, force: true }); // the first release injects and compresses all five
  const first = await run('npm', ['run', '-s', 'release'], { cwd: ROOT, timeoutMs: 15 * 60_000 });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /unsigned: the darwin archives/);
  const version = `v${pkg.version}`;
  const firstSums = sums();
  for (const [os, arch] of PLATFORMS) {
    const archive = `kubectl-calico_${version}_${os}_${arch}.tar.gz`;
    const data = fs.readFileSync(path.join(RELEASE, archive));
    assert.equal(createHash('sha256').update(data).digest('hex'), firstSums.get(archive), `${archive}.sha256 matches`);
    const listing = await run('tar', ['tzvf', path.join(RELEASE, archive)]);
    const bin = os === 'windows' ? 'kubectl-calico.exe' : 'kubectl-calico';
    assert.deepEqual(listing.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(-1)[0]), [bin, 'LICENSE']);
    assert.match(listing.stdout, /^-rwxr-xr-x root\/root/);
  }
  assert.ok(fs.statSync(path.join(RELEASE, `kubectl-calico_${version}_linux_amd64.tar.gz`)).size < 50e6, 'the linux/amd64 archive is under 50 MB');

  const manifest = parse(fs.readFileSync(path.join(RELEASE, 'calico.yaml'), 'utf8')) as Manifest;
  assert.deepEqual(validate(manifest, 'calico.yaml'), []);
  assert.equal(manifest.spec.version, version);
  assert.equal(fs.readFileSync(path.join(ROOT, 'krew', 'index', 'plugins', 'calico.yaml'), 'utf8'), fs.readFileSync(path.join(RELEASE, 'calico.yaml'), 'utf8'));
  for (const platform of manifest.spec.platforms) {
    const archive = path.basename(platform.uri);
    assert.equal(platform.uri, `${pkg.repository.url}/releases/download/${version}/${archive}`);
    assert.equal(platform.sha256, firstSums.get(archive));
  }

  // Install as krew does: pick the platform by os/arch, verify, extract, apply files, link bin.
  const platform = manifest.spec.platforms.find((p) => p.selector.matchLabels.os === 'linux' && p.selector.matchLabels.arch === 'amd64')!;
  const archive = fs.readFileSync(path.join(RELEASE, path.basename(platform.uri)));
  assert.equal(createHash('sha256').update(archive).digest('hex'), platform.sha256);
  const root = tempDir('krew-');
  const download = path.join(root, 'download');
  const store = path.join(root, 'store', 'calico', version);
  const binDir = path.join(root, 'bin');
  for (const dir of [download, store, binDir]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(download, 'archive.tar.gz'), archive);
  assert.equal((await run('tar', ['xzf', 'archive.tar.gz'], { cwd: download })).code, 0);
  for (const file of platform.files) fs.copyFileSync(path.join(download, file.from), path.join(store, file.to, path.basename(file.from)));
  fs.chmodSync(path.join(store, platform.bin), 0o755);
  fs.symlinkSync(path.join(store, platform.bin), path.join(binDir, 'kubectl-calico'));
  const env = { PATH: `${binDir}:/usr/bin`, HOME: tempDir() };
  const list = await run('kubectl', ['plugin', 'list'], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout, `The following compatible plugins are available:\n\n${path.join(binDir, 'kubectl-calico')}\n`);
  const versionOut = await run('kubectl', ['calico', 'version', '--client'], { env });
  assert.equal(versionOut.code, 0, versionOut.stderr);
  assert.match(versionOut.stdout, new RegExp(`^Plugin: kubectl-calico ${version.replace(/\./g, '\\.')} `));

  // The second release makes the bundle and the tars again, and injects and compresses linux/amd64 again: the same
  // bundle, blob (one for all five), injection and gzip must give the same bytes. The other four take their
  // injected binary and compressed archive from the release cache, by a hash of what makes each.
  for (const file of fs.readdirSync(CACHE).filter((f) => f.startsWith('linux_amd64-'))) fs.rmSync(path.join(CACHE, file));
  const second = await run('npm', ['run', '-s', 'release'], { cwd: ROOT, timeoutMs: 15 * 60_000 });
  assert.equal(second.code, 0, second.stderr);
  const reused = (what: string) => [...second.stdout.matchAll(new RegExp(`^(\\S+): ${what} from these inputs before`, 'gm'))].map((m) => m[1]).sort();
  assert.deepEqual(reused('the binary injected'), ['darwin/amd64', 'darwin/arm64', 'linux/arm64', 'windows/amd64'], second.stdout);
  assert.deepEqual(reused('the archive compressed'), ['darwin/amd64', 'darwin/arm64', 'linux/arm64', 'windows/amd64'], second.stdout);
  assert.deepEqual(sums(), firstSums, 'a second release of the same commit gives the same sha256s');
});
