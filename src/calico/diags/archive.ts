// The bundle's file: a gzip'd tar written as items arrive (nothing is held in
// memory but the item at hand), to a temporary file beside the target that
// only its owner can read (mode 0600, created exclusively so a planted
// symlink is never followed) and renamed over the target once complete — a
// reader never sees half a bundle, and an interrupted run removes it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
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
  private readonly closed: Promise<void>;
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
    this.closed = new Promise((resolve, reject) => {
      this.out.on('close', resolve);
      this.out.on('error', reject);
      this.gzip.on('error', reject);
    });
    this.closed.catch(() => undefined); // awaited in finish(); an abort's error is not one
  }

  /** Adds a file at `name` (relative to the root); entries are written in the order add() is called. */
  add(name: string, data: string | Buffer, producer: string, truncatedBytes?: number): Promise<void> {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const entry: IndexEntry = { path: name, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, producer, ...(truncatedBytes ? { truncatedBytes } : {}) };
    this.entries.push(entry);
    this.bytes += bytes.length;
    const block = tarEntry(`${this.root}/${name}`, bytes, this.mtime);
    this.queue = this.queue.then(() => this.write(block));
    return this.queue;
  }

  /** Ends the archive and renames it into place; returns its size in bytes. */
  async finish(): Promise<number> {
    this.queue = this.queue.then(() => this.write(tarEnd()));
    await this.queue;
    this.gzip.end();
    await this.closed;
    fs.renameSync(this.temp, this.target);
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
    if (this.gzip.write(block)) return Promise.resolve();
    return new Promise((resolve) => this.gzip.once('drain', resolve));
  }
}

/** `calico-diags-<context>-<UTC yyyymmddThhmmssZ>.tar.gz`, the context reduced to characters that cannot make a path. */
export function bundleName(context: string, now: Date): string {
  const safe = context.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+|-+$/g, '') || 'cluster';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `calico-diags-${safe}-${stamp}.tar.gz`;
}
