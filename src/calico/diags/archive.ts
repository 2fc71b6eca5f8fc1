// The bundle's file: a gzip'd tar written as items arrive (nothing is held in
// memory but the item at hand), to a temporary file beside the target that
// only its owner can read (mode 0600, created exclusively so a planted
// symlink is never followed) and renamed over the target once complete — a
// reader never sees half a bundle, and an interrupted run removes it. A
// write that fails (a full disk, a file size limit) fails every add() from
// then on, so that the run stops at once instead of waiting for room.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { CliError } from '../../cli/errors.ts';
import { tarEnd, tarEntry } from './tar.ts';

export const BUNDLE_MODE = 0o600;

export interface IndexEntry {
  path: string;
  sha256: string;
  bytes: number;
  /** What made it: the API request, the command run in which container, or the plugin's own report. */
  producer: string;
  /** Bytes of the source left out (a log's oldest part beyond --max-log-bytes). */
  truncatedBytes?: number;
}

/** Writing the archive failed: the run cannot go on (every item after it would be lost too). */
export class BundleWriteError extends CliError {
  constructor(target: string, cause: Error) {
    super(`cannot write ${target}: ${cause.message}; no archive written`);
    this.name = 'BundleWriteError';
  }
}

/**
 * Refuses, before anything is read, a target the archive could not be written to or renamed into: an existing
 * folder, a path whose folder does not exist or is not one, a folder the user cannot write to. `flag` names where
 * the target came from (`--output-file`), none for the default name in the current folder.
 */
export function checkTarget(target: string, flag: string | undefined): void {
  const file = path.resolve(target);
  const dir = path.dirname(file);
  const where = flag ? `${flag} ${target}` : `the archive ${target}`;
  const folder = fs.statSync(dir, { throwIfNoEntry: false });
  if (!folder) throw new CliError(`${where}: the folder ${dir} does not exist`);
  if (!folder.isDirectory()) throw new CliError(`${where}: ${dir} is a file, not a folder`);
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${where} is a folder; name the archive's file, such as ${path.join(target, 'calico-diags.tar.gz')}`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new CliError(`${where}: the folder ${dir} is not writable${flag ? '' : '; --output-file writes the archive elsewhere'}`);
  }
}

export class BundleFile {
  /** The folder inside the archive that holds everything: the archive's name without `.tar.gz`. */
  readonly root: string;
  readonly target: string;
  readonly temp: string;
  readonly entries: IndexEntry[] = [];
  /** Bytes of every file added so far, before compression (what --max-total-bytes counts). */
  bytes = 0;
  private readonly gzip: zlib.Gzip;
  private readonly out: fs.WriteStream;
  /** The first write error; `broken` rejects with it: what a write waiting for 'drain' (which then never comes) races. */
  private failure: BundleWriteError | undefined;
  private readonly broken: Promise<never>;
  private queue: Promise<void> = Promise.resolve();
  private readonly mtime: Date;

  constructor(target: string, mtime: Date) {
    this.target = path.resolve(target);
    this.root = path.basename(this.target).replace(/\.(tar\.gz|tgz|gz|tar)$/, '') || 'calico-diags';
    this.temp = path.join(path.dirname(this.target), `.${path.basename(this.target)}.${process.pid}.tmp`);
    this.mtime = mtime;
    fs.rmSync(this.temp, { force: true });
    const fd = fs.openSync(this.temp, 'wx', BUNDLE_MODE);
    fs.fchmodSync(fd, BUNDLE_MODE); // the umask may have taken bits away; none may be added either
    this.out = fs.createWriteStream('', { fd });
    this.gzip = zlib.createGzip({ level: 6 });
    this.gzip.pipe(this.out);
    this.broken = new Promise((_resolve, reject) => {
      const fail = (error: Error) => reject(this.failure ??= new BundleWriteError(this.target, error));
      this.out.on('error', fail);
      this.gzip.on('error', fail);
    });
    this.broken.catch(() => undefined); // raced by every write and by finish(); an abort's error is not one
  }

  /**
   * Adds a file at `name` (relative to the root), given whole or in pieces (a big list's items, never joined into
   * one copy); entries are written in the order add() is called.
   */
  add(name: string, data: string | Buffer | readonly Buffer[], producer: string, truncatedBytes?: number): Promise<void> {
    const pieces = typeof data === 'string' ? [Buffer.from(data)] : Buffer.isBuffer(data) ? [data] : data;
    const hash = createHash('sha256');
    let size = 0;
    for (const piece of pieces) {
      hash.update(piece);
      size += piece.length;
    }
    this.entries.push({ path: name, sha256: hash.digest('hex'), bytes: size, producer, ...(truncatedBytes ? { truncatedBytes } : {}) });
    this.bytes += size;
    const { header, padding } = tarEntry(`${this.root}/${name}`, size, this.mtime);
    this.queue = this.queue.then(async () => {
      for (const block of [header, ...pieces, padding]) await this.write(block);
    });
    return this.queue;
  }

  /** Ends the archive and renames it into place; returns its size in bytes. */
  async finish(): Promise<number> {
    this.queue = this.queue.then(() => this.write(tarEnd()));
    await this.queue;
    const closed = new Promise<void>((resolve) => this.out.once('close', resolve));
    this.gzip.end();
    await Promise.race([closed, this.broken]);
    try {
      fs.renameSync(this.temp, this.target);
    } catch (error) {
      throw new BundleWriteError(this.target, error as Error);
    }
    return fs.statSync(this.target).size;
  }

  /** Stops writing and removes the temporary file (Ctrl-C, or nothing could be read). */
  abort(): void {
    this.gzip.unpipe(this.out);
    this.gzip.destroy();
    this.out.destroy();
    fs.rmSync(this.temp, { force: true });
  }

  private write(block: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.gzip.write(block)) return Promise.resolve();
    return Promise.race([new Promise<void>((resolve) => this.gzip.once('drain', resolve)), this.broken]);
  }
}

/** `calico-diags-<context>-<UTC yyyymmddThhmmssZ>.tar.gz`, the context reduced to characters that cannot make a path. */
export function bundleName(context: string, now: Date): string {
  const safe = context.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+|-+$/g, '') || 'cluster';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `calico-diags-${safe}-${stamp}.tar.gz`;
}
