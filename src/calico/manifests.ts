// Getting the operator manifests of a Calico release: from the Calico
// project's release location (as the guide does), a mirror URL or a folder,
// always verified against sha256 sums pinned in this binary (or given with
// --checksums), and cached per version so re-runs and offline runs work.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from '../cli/errors.ts';
import { replaceCacheFile } from '../cli/files.ts';
import { knownRelease, type ManifestFile } from './versions.ts';

export const RELEASE_BASE = 'https://raw.githubusercontent.com/projectcalico/calico';

/** The files a version's install needs: from v3.30 on the CRDs come in their own bundle. */
export function manifestFiles(version: string): ManifestFile[] {
  const [, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return minor >= 30 ? ['operator-crds.yaml', 'tigera-operator.yaml', 'custom-resources.yaml'] : ['tigera-operator.yaml', 'custom-resources.yaml'];
}

export interface Verification {
  /** Where the expected sums come from. */
  sums: Partial<Record<string, string>>;
  source: 'pinned' | 'checksums file' | 'none';
}

/** The sums to check a version against: pinned ones, a sha256sum file, or none (with a loud warning). */
export function verificationFor(version: string, checksumsFile: string | undefined, skip: boolean): Verification {
  if (checksumsFile) return { sums: readChecksums(checksumsFile), source: 'checksums file' };
  const release = knownRelease(version);
  if (release) return { sums: release.sha256, source: 'pinned' };
  if (skip) return { sums: {}, source: 'none' };
  throw new CliError(`Calico ${version} has no pinned checksums in this kubectl-calico; pass --checksums FILE (sha256sum format) or, at your own risk, --insecure-skip-verify`, 2);
}

export function readChecksums(file: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read --checksums file "${file}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 2);
  }
  const sums: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64})\s+\*?(\S+)\s*$/.exec(line.trim());
    if (match) sums[path.basename(match[2]!)] = match[1]!;
  }
  if (Object.keys(sums).length === 0) throw new CliError(`--checksums file "${file}" has no lines in sha256sum format ("<64 hex>  <file>")`, 2);
  return sums;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface FetchedManifest {
  file: ManifestFile;
  data: Buffer;
  sha256: string;
  /** Where the bytes came from: a URL, a path, or the cache. */
  origin: string;
  verified: boolean;
}

export interface FetchOptions {
  version: string;
  /** A folder or an http(s) URL holding one version's files; default: the Calico release location. */
  from: string | undefined;
  verification: Verification;
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  warn: (message: string) => void;
}

/** Fetches (or reads from the cache) and verifies every file the version needs. */
export async function fetchManifests(options: FetchOptions): Promise<FetchedManifest[]> {
  return Promise.all(manifestFiles(options.version).map((file) => fetchOne(file, options)));
}

async function fetchOne(file: ManifestFile, options: FetchOptions): Promise<FetchedManifest> {
  const expected = options.verification.sums[file];
  if (!expected && options.verification.source === 'checksums file') throw new CliError(`the --checksums file has no sha256 for ${file}, which Calico ${options.version} needs; refusing to use it unchecked`);
  const cached = path.join(options.cacheDir, options.version, file);
  const download = !options.from || /^https?:\/\//.test(options.from);
  if (download && expected && fs.existsSync(cached)) {
    const data = fs.readFileSync(cached);
    if (sha256(data) === expected) return { file, data, sha256: expected, origin: cached, verified: true };
    options.warn(`the cached ${file} (${cached}) does not match its sha256; fetching it again`);
    fs.rmSync(cached, { force: true });
  }
  const origin = sourceOf(file, options);
  const data = await read(origin);
  const actual = sha256(data);
  if (expected && actual !== expected) {
    throw new CliError(`${file} from ${origin} does not match its ${options.verification.source === 'pinned' ? 'pinned' : 'given'} sha256 for Calico ${options.version}: expected ${expected}, got ${actual}; refusing to use it`);
  }
  if (expected && download) replaceCacheFile(cached, data);
  return { file, data, sha256: actual, origin, verified: expected !== undefined };
}

function sourceOf(file: string, options: FetchOptions): string {
  if (!options.from) return `${RELEASE_BASE}/${options.version}/manifests/${file}`;
  if (/^https?:\/\//.test(options.from)) return `${options.from.replace(/\/$/, '')}/${file}`;
  return path.join(options.from, file);
}

async function read(origin: string): Promise<Buffer> {
  if (!/^https?:\/\//.test(origin)) {
    try {
      return fs.readFileSync(origin);
    } catch (error) {
      throw new CliError(`cannot read ${origin}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error)}`);
    }
  }
  let response: Response;
  try {
    response = await fetch(origin, { signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot download ${origin}: ${cause?.code ?? cause?.message ?? (error as Error).message} (for an air-gapped site, pass --manifests-from with a folder or mirror)`);
  }
  if (!response.ok) throw new CliError(`cannot download ${origin}: HTTP ${response.status} ${response.statusText}`);
  return Buffer.from(await response.arrayBuffer());
}


/** $XDG_CACHE_HOME/kubectl-calico, else ~/.cache/kubectl-calico. */
export function cacheDirectory(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME ?? os.homedir(), '.cache');
  return path.join(base, 'kubectl-calico', 'manifests');
}
