// Shared by the build and the release: the esbuild bundle, and SEA binaries
// made by @yao-pkg/pkg from stock Node binaries of the npm registry. pkg
// looks for those under ~/.pkg-cache/sea (it would download them from
// nodejs.org, unreachable here), so we lay them out there under a HOME of
// our own.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tarGz, zipStored } from './archive.ts';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';
import pkg from '../package.json' with { type: 'json' };
import { LAZY_ASSET, LAZY_CACHE_ASSET } from '../src/sea-lazy.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');
const BUILD = path.join(ROOT, 'build');
/** What bundle() writes. */
export const BUNDLE = path.join(BUILD, 'kubectl-calico.cjs');

/** The Node version every binary embeds: the exact `node` devDependency. */
export const NODE_VERSION: string = pkg.devDependencies.node;

/** A pkg target such as `linux-x64`, `macos-arm64`, `win-x64`. */
export type Target = `${'linux' | 'macos' | 'win'}-${'x64' | 'arm64'}`;

/** One sha256 over several inputs, each hashed apart (so that no two lists of inputs run together alike). */
export function digestOf(inputs: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const input of inputs) hash.update(createHash('sha256').update(input).digest());
  return hash.digest('hex');
}

export function hostTarget(): Target {
  const os = ({ darwin: 'macos', win32: 'win' } as Record<string, string>)[process.platform] ?? process.platform;
  return `${os}-${process.arch}` as Target;
}

/**
 * What client-node's modules import for APIs we never call (makeApiClient,
 * fetch dispatchers) becomes a stub that throws, and what they import only
 * for a SOCKS proxy or a credential plugin a stub that loads it when first
 * used: evaluating all of it cost start-up on every cluster command.
 */
const CLIENT_NODE_STUBS: Record<string, string> = {
  './gen/index.js': 'client-node-gen.js',
  undici: 'client-node-undici.js',
  'socks-proxy-agent': 'client-node-socks-proxy-agent.cjs',
  socks: 'client-node-socks.cjs',
  'node:child_process': 'client-node-child-process.cjs',
};
const withoutUnusedClientNode: esbuild.Plugin = {
  name: 'without-unused-client-node',
  setup(build) {
    build.onResolve({ filter: /^(\.\/gen\/index\.js|undici|socks-proxy-agent|socks|node:child_process)$/ }, (args) => (/client-node[\\/]dist[\\/][^\\/]+\.js$/.test(args.importer) ? { path: path.join(ROOT, 'scripts', 'stubs', CLIENT_NODE_STUBS[args.path]!) } : undefined));
  },
};

const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: ROOT,
} satisfies esbuild.BuildOptions;

/** Bundles bin/kubectl-calico.js and everything it imports into build/kubectl-calico.cjs. */
export async function bundle(): Promise<string> {
  await esbuild.build({
    ...BUNDLE_OPTIONS,
    entryPoints: [path.join(ROOT, 'bin', 'kubectl-calico.js')],
    outfile: BUNDLE,
    define: { __GIT_COMMIT__: JSON.stringify(gitCommit()) },
    plugins: [withoutUnusedClientNode],
  });
  return BUNDLE;
}

/**
 * The host binary's two bundles, from src/snapshot.ts. V8 loads a startup
 * snapshot whole on every start, the bundle's source included, and a
 * snapshot of the one bundle cost start-up more than it saved: so only what
 * start-up evaluates (the entry's static imports) goes into the snapshot's
 * bundle, and every module it imports only dynamically goes into a second
 * bundle, a SEA asset that src/sea-lazy.ts compiles on the first such import,
 * beside a placeholder for its V8 code cache (fillLazyCodeCache). The modules
 * both import are the snapshot's, handed to the lazy bundle, so that a class
 * such as CliError stays one class.
 */
export async function bundleForSnapshot(): Promise<{ main: string; assets: Record<string, string> }> {
  const entry = path.join(ROOT, 'src', 'snapshot.ts');
  const define = { __GIT_COMMIT__: JSON.stringify(gitCommit()) };
  const name = (file: string) => path.relative(ROOT, file);
  const resolve = (build: esbuild.PluginBuild, args: esbuild.OnResolveArgs) =>
    build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING });
  const table = (files: Iterable<string>) => `module.exports = {${[...files].map((f) => `${JSON.stringify(name(f))}: () => require(${JSON.stringify(f)})`).join(',')}};`;

  // What start-up evaluates, and what it imports dynamically.
  const dynamic = new Set<string>();
  const scan = await esbuild.build({
    ...BUNDLE_OPTIONS,
    entryPoints: [entry],
    outfile: path.join(BUILD, 'scan.cjs'),
    write: false,
    metafile: true,
    define,
    plugins: [withoutUnusedClientNode, {
      name: 'dynamic-imports-apart',
      setup(build) {
        build.onResolve({ filter: /.*/ }, async (args) => {
          if (args.kind !== 'dynamic-import' || args.pluginData === RESOLVING) return undefined;
          dynamic.add((await resolve(build, args)).path);
          return { path: args.path, external: true };
        });
      },
    }],
  });
  const eager = new Set(Object.keys(scan.metafile.inputs).map((input) => path.resolve(ROOT, input)));
  const lazy = [...dynamic].filter((file) => !eager.has(file)).sort(); // sorted: resolutions finish in any order, the bundles must not

  // The lazy bundle: a table of the modules start-up imports dynamically; the eager ones come from `shared`.
  const shared = new Set<string>();
  const lazyFile = path.join(BUILD, LAZY_ASSET);
  await esbuild.build({
    ...BUNDLE_OPTIONS,
    stdin: { contents: table(lazy), resolveDir: ROOT, sourcefile: 'lazy-modules.js' },
    outfile: lazyFile,
    define,
    banner: { js: '(function (require, module, exports, shared) {' },
    footer: { js: '})' },
    plugins: [withoutUnusedClientNode, {
      name: 'eager-modules-shared',
      setup(build) {
        build.onResolve({ filter: /.*/ }, async (args) => {
          if (args.pluginData === RESOLVING || args.kind === 'entry-point') return undefined;
          const resolved = await resolve(build, args);
          if (!eager.has(resolved.path)) return undefined;
          shared.add(resolved.path);
          return { path: resolved.path, namespace: 'shared' };
        });
        build.onLoad({ filter: /.*/, namespace: 'shared' }, (args) => ({ contents: `module.exports = shared(${JSON.stringify(name(args.path))});`, loader: 'js' }));
      },
    }],
  });
  const cacheFile = path.join(BUILD, LAZY_CACHE_ASSET);
  fs.writeFileSync(cacheFile, codeCachePlaceholder(fs.statSync(lazyFile).size));

  // The snapshot's bundle: a dynamic import of a lazy module asks src/sea-lazy.ts for it.
  const main = path.join(BUILD, 'snapshot.cjs');
  await esbuild.build({
    ...BUNDLE_OPTIONS,
    entryPoints: [entry],
    outfile: main,
    define,
    plugins: [withoutUnusedClientNode, {
      name: 'lazy-modules-from-the-asset',
      setup(build) {
        build.onResolve({ filter: /.*/ }, async (args) => {
          if (args.kind !== 'dynamic-import' || args.pluginData === RESOLVING) return undefined;
          const resolved = await resolve(build, args);
          return eager.has(resolved.path) ? undefined : { path: resolved.path, namespace: 'lazy' };
        });
        build.onResolve({ filter: /^shared-modules$/ }, () => ({ path: 'shared-modules', namespace: 'shared' }));
        build.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
          contents: `module.exports = require(${JSON.stringify(path.join(ROOT, 'src', 'sea-lazy.ts'))}).lazyModule(${JSON.stringify(name(args.path))}, require('shared-modules'));`,
          resolveDir: ROOT,
          loader: 'js',
        }));
        build.onLoad({ filter: /.*/, namespace: 'shared' }, () => ({ contents: table([...shared].sort()), resolveDir: ROOT, loader: 'js' }));
      },
    }],
  });
  return { main, assets: { [LAZY_ASSET]: lazyFile, [LAZY_CACHE_ASSET]: cacheFile } };
}

/** Marks the resolutions a plugin asks esbuild for itself, so that its own onResolve lets them through. */
const RESOLVING = Symbol('resolving');

const PLACEHOLDER_MARK = Buffer.from('kubectl-calico: the code cache of the lazy bundle goes here');

/** Room for the code cache (a fifth of the source's size, measured), marked to be found in the binary. */
function codeCachePlaceholder(sourceBytes: number): Buffer {
  const room = Buffer.alloc(Math.ceil(sourceBytes / 2));
  PLACEHOLDER_MARK.copy(room);
  return room;
}

/**
 * Writes, over the placeholder in a binary made from bundleForSnapshot(), the
 * code cache of its lazy bundle, made by the binary itself (see
 * scripts/lazy-code-cache.cjs), then checks that the binary accepts it. The
 * rest of the placeholder stays zero: V8 reads a cache's length from its
 * header.
 */
export function fillLazyCodeCache(binary: string): void {
  const cacheFile = path.join(BUILD, `${LAZY_CACHE_ASSET}.made`);
  const preload = (out?: string) => {
    const env = { PATH: process.env.PATH, NODE_OPTIONS: `--require ${JSON.stringify(path.join(ROOT, 'scripts', 'lazy-code-cache.cjs'))}`, KUBECTL_CALICO_LAZY_ASSET: LAZY_ASSET, KUBECTL_CALICO_LAZY_CACHE_ASSET: LAZY_CACHE_ASSET, ...(out ? { KUBECTL_CALICO_CODE_CACHE_OUT: out } : {}) };
    return spawnSync(binary, ['version', '--client'], { env, stdio: 'inherit' }).status;
  };
  if (preload(cacheFile) !== 0) throw new Error(`${binary} could not make its code cache`);
  const cache = fs.readFileSync(cacheFile);
  const image = fs.readFileSync(binary);
  const at = image.indexOf(PLACEHOLDER_MARK);
  if (at < 0 || image.indexOf(PLACEHOLDER_MARK, at + 1) >= 0) throw new Error(`${binary}: no single code cache placeholder`);
  const room = fs.statSync(path.join(BUILD, LAZY_CACHE_ASSET)).size;
  if (cache.length > room) throw new Error(`the code cache (${cache.length} bytes) is larger than its room (${room})`);
  image.fill(0, at, at + PLACEHOLDER_MARK.length);
  cache.copy(image, at);
  fs.writeFileSync(binary, image);
  if (preload() !== 0) throw new Error(`${binary} rejects the code cache it made`);
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
export async function makeSea(bundleFile: string, targets: SeaTarget[], options: { useCodeCache: boolean; useSnapshot?: boolean; assets?: Record<string, string>; sign?: boolean }): Promise<void> {
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
      seaConfig: { useCodeCache: options.useCodeCache, useSnapshot: options.useSnapshot ?? false, assets: options.assets ?? {} },
    });
  } finally {
    process.env.HOME = previousHome;
  }
}

type SeaFunction = (entry: string, options: {
  targets: { nodeRange: string; platform: string; arch: string; output: string }[];
  signature: boolean;
  seaConfig: { useCodeCache: boolean; useSnapshot: boolean; assets: Record<string, string> };
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
    : tarGz([{ name: `${name}/bin/node`, data: binary, mode: 0o755 }], 0, 0)); // stored: pkg only unpacks it
  fs.writeFileSync(`${archive}.ok`, '');
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}
