// npm run build: bundles the CLI into one CommonJS file with esbuild, then
// makes dist/kubectl-calico with @yao-pkg/pkg in SEA mode on the stock Node
// from the npm registry (node_modules/node), entirely offline.
import fs from 'node:fs';
import path from 'node:path';
import { bundleForSnapshot, digestOf, fillLazyCodeCache, hostTarget, makeSea, ROOT } from './sea.ts';

const output = path.join(ROOT, 'dist', process.platform === 'win32' ? 'kubectl-calico.exe' : 'kubectl-calico');
const nodeBinary = path.join(ROOT, 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
if (!fs.existsSync(nodeBinary)) throw new Error(`${nodeBinary} is missing: run npm ci`);
const { main, assets } = await bundleForSnapshot();
// Making the binary from the bundles (the snapshot, the injection, the code cache) is most of a build; when
// neither the bundles nor what makes the binary from them changed, and the binary is the one made last, it stays.
const stamp = path.join(ROOT, 'build', 'host-binary.json');
const inputs = digest([main, ...Object.values(assets), nodeBinary, ...['sea.ts', 'build.ts', 'lazy-code-cache.cjs'].map((f) => path.join(ROOT, 'scripts', f)), ...['@yao-pkg/pkg', 'postject'].map((m) => path.join(ROOT, 'node_modules', m, 'package.json'))]);
const previous = fs.existsSync(stamp) && fs.existsSync(output) ? (JSON.parse(fs.readFileSync(stamp, 'utf8')) as { inputs: string; binary: string }) : undefined;
if (previous?.inputs === inputs && previous.binary === digest([output])) {
  console.log(`${path.relative(ROOT, output)} is up to date (its bundles and build inputs are unchanged)`);
} else {
  // A V8 startup snapshot only runs on the Node binary that made it, the host's own: every module evaluated and
  // every command's help formatted at build time make start-up as fast as kubectl's (bench/startup.ts).
  await makeSea(main, [{ target: hostTarget(), nodeBinary, output }], { useCodeCache: false, useSnapshot: true, assets });
  fillLazyCodeCache(output);
  fs.writeFileSync(stamp, JSON.stringify({ inputs, binary: digest([output]) }));
  console.log(`built ${path.relative(ROOT, output)} (${(fs.statSync(output).size / 1e6).toFixed(1)} MB)`);
}

function digest(files: string[]): string {
  return digestOf(files.map((file) => fs.readFileSync(file)));
}
