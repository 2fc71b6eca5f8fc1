// npm run build: bundles the CLI into one CommonJS file with esbuild, then
// makes dist/kubectl-calico with @yao-pkg/pkg in SEA mode on the stock Node
// from the npm registry (node_modules/node), entirely offline.
import fs from 'node:fs';
import path from 'node:path';
import { bundleForSnapshot, fillLazyCodeCache, hostTarget, makeSea, ROOT } from './sea.ts';

const output = path.join(ROOT, 'dist', process.platform === 'win32' ? 'kubectl-calico.exe' : 'kubectl-calico');
const nodeBinary = path.join(ROOT, 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
if (!fs.existsSync(nodeBinary)) throw new Error(`${nodeBinary} is missing: run npm ci`);
const { main, assets } = await bundleForSnapshot();
// A V8 startup snapshot only runs on the Node binary that made it, the host's own: every module evaluated and
// every command's help formatted at build time make start-up as fast as kubectl's (bench/startup.ts).
await makeSea(main, [{ target: hostTarget(), nodeBinary, output }], { useCodeCache: false, useSnapshot: true, assets });
fillLazyCodeCache(output);
console.log(`built ${path.relative(ROOT, output)} (${(fs.statSync(output).size / 1e6).toFixed(1)} MB)`);
