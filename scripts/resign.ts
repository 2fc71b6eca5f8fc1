// Used by the release workflow on macOS: repacks the darwin archives around
// the binaries `codesign` signed (in <dir>/<arch>/), then rewrites their
// .sha256 files and the krew manifests, as reproducibly as npm run release.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import pkg from '../package.json' with { type: 'json' };
import { tarGz } from './archive.ts';
import { commitTime } from './release.ts';
import { ROOT } from './sea.ts';

const dir = process.argv[2] ?? 'sign';
const release = path.join(ROOT, 'dist', 'release');
const version = `v${pkg.version}`;
const manifestFile = path.join(release, 'calico.yaml');
const manifest = parse(fs.readFileSync(manifestFile, 'utf8')) as { spec: { platforms: { uri: string; sha256: string }[] } };
for (const arch of ['amd64', 'arm64']) {
  const name = `kubectl-calico_${version}_darwin_${arch}.tar.gz`;
  const mtime = commitTime();
  const archive = tarGz([
    { name: 'kubectl-calico', data: fs.readFileSync(path.join(dir, arch, 'kubectl-calico')), mode: 0o755 },
    { name: 'LICENSE', data: fs.readFileSync(path.join(ROOT, 'LICENSE')), mode: 0o644 },
  ], mtime, 6);
  const sum = createHash('sha256').update(archive).digest('hex');
  fs.writeFileSync(path.join(release, name), archive);
  fs.writeFileSync(path.join(release, `${name}.sha256`), `${sum}  ${name}\n`);
  for (const platform of manifest.spec.platforms) if (platform.uri.endsWith(`/${name}`)) platform.sha256 = sum;
}
fs.writeFileSync(manifestFile, stringify(manifest));
