// Shared by the build and the release: the esbuild bundle, and SEA binaries
// made by @yao-pkg/pkg from stock Node binaries of the npm registry. pkg
// looks for those under ~/.pkg-cache/sea (it would download them from
// nodejs.org, unreachable here), so we lay them out there under a HOME of
// our own.
import { execFileSync } from 'node:child_process';
import { tarGz, zipStored } from './archive.ts';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';
import pkg from '../package.json' with { type: 'json' };

export const ROOT = path.resolve(import.meta.dirname, '..');
const BUILD = path.join(ROOT, 'build');
/** What bundle() writes. */
export const BUNDLE = path.join(BUILD, 'kubectl-calico.cjs');

/** The Node version every binary embeds: the exact `node` devDependency. */
export const NODE_VERSION: string = pkg.devDependencies.node;

/** A pkg target such as `linux-x64`, `macos-arm64`, `win-x64`. */
export type Target = `${'linux' | 'macos' | 'win'}-${'x64' | 'arm64'}`;

export function hostTarget(): Target {
  const os = ({ darwin: 'macos', win32: 'win' } as Record<string, string>)[process.platform] ?? process.platform;
  return `${os}-${process.arch}` as Target;
}

/**
 * What client-node's config module imports for APIs we never call
 * (makeApiClient, fetch dispatchers) becomes a stub that throws: evaluating
 * the generated client and undici costs start-up on every cluster command.
 */
const CLIENT_NODE_STUBS: Record<string, string> = {
  './gen/index.js': 'client-node-gen.js',
  undici: 'client-node-undici.js',
};
const withoutUnusedClientNode: esbuild.Plugin = {
  name: 'without-unused-client-node',
  setup(build) {
    build.onResolve({ filter: /^(\.\/gen\/index\.js|undici)$/ }, (args) => (/client-node[\\/]dist[\\/]config\.js$/.test(args.importer) ? { path: path.join(ROOT, 'scripts', 'stubs', CLIENT_NODE_STUBS[args.path]!) } : undefined));
  },
};

/** Bundles bin/kubectl-calico.js and everything it imports into build/kubectl-calico.cjs. */
export async function bundle(): Promise<string> {
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'bin', 'kubectl-calico.js')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    legalComments: 'none',
    define: { __GIT_COMMIT__: JSON.stringify(gitCommit()) },
    plugins: [withoutUnusedClientNode],
    logLevel: 'warning',
  });
  return BUNDLE;
}

export interface SeaTarget {
  target: Target;
  nodeBinary: string;
  output: string;
}

/**
 * Injects one SEA blob made from `bundleFile` into a copy of each target's
 * Node binary. pkg's CLI offers no way to turn on the code cache in its
 * simple SEA mode, so its sea() function is called directly.
 */
export async function makeSea(bundleFile: string, targets: SeaTarget[], options: { useCodeCache: boolean; sign?: boolean }): Promise<void> {
  const home = path.join(BUILD, 'pkg-home');
  for (const t of targets) stageNodeBinary(home, t);
  const require = createRequire(import.meta.url);
  const sea = (require('@yao-pkg/pkg/lib-es5/sea.js') as { default: SeaFunction }).default;
  const previousHome = process.env.HOME;
  process.env.HOME = home; // os.homedir() is where pkg looks for its cache
  try {
    await sea(bundleFile, {
      targets: targets.map((t) => {
        const [platform, arch] = t.target.split('-') as [string, string];
        return { nodeRange: `node${NODE_VERSION}`, platform, arch, output: t.output };
      }),
      signature: options.sign ?? false,
      seaConfig: { useCodeCache: options.useCodeCache },
    });
  } finally {
    process.env.HOME = previousHome;
  }
}

type SeaFunction = (entry: string, options: {
  targets: { nodeRange: string; platform: string; arch: string; output: string }[];
  signature: boolean;
  seaConfig: { useCodeCache: boolean };
}) => Promise<void>;

/** Writes <home>/.pkg-cache/sea/node-v<version>-<os>-<arch>.tar.gz (or .zip) and its `.ok` sentinel. */
function stageNodeBinary(home: string, { target, nodeBinary }: SeaTarget): void {
  const dir = path.join(home, '.pkg-cache', 'sea');
  const [os, arch] = target.split('-') as [string, string];
  const name = `node-v${NODE_VERSION}-${os === 'macos' ? 'darwin' : os}-${arch}`;
  const windows = os === 'win';
  const archive = path.join(dir, `${name}.${windows ? 'zip' : 'tar.gz'}`);
  if (fs.existsSync(`${archive}.ok`) && fs.existsSync(archive)) return;
  const binary = fs.readFileSync(nodeBinary);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(archive, windows
    ? zipStored([{ name: `${name}/node.exe`, data: binary, mode: 0o755 }])
    : tarGz([{ name: `${name}/bin/node`, data: binary, mode: 0o755 }], 0, 1));
  fs.writeFileSync(`${archive}.ok`, '');
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}
