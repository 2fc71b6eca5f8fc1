// Every file the plugin writes goes through here: written whole to a temp file
// created exclusively (O_EXCL never follows a planted symlink) and renamed over
// the target (rename replaces a symlink instead of writing through it), with
// modes that are not world-writable whatever the umask.
import fs from 'node:fs';
import path from 'node:path';

export const FILE_MODE = 0o644;
export const DIRECTORY_MODE = 0o755;

export function replaceFile(file: string, data: string | Buffer, mode = FILE_MODE): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: DIRECTORY_MODE });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.rmSync(temp, { force: true });
  fs.writeFileSync(temp, data, { mode, flag: 'wx' });
  fs.chmodSync(temp, mode); // the umask may have taken bits away; it must not have added any either
  fs.renameSync(temp, file);
}

/** A cache write that may fail (read-only home, full disk) without failing the command: the cache only saves time. */
export function replaceCacheFile(file: string, data: string | Buffer): void {
  try {
    replaceFile(file, data);
  } catch {
    // No cache then.
  }
}

/** Refuses a file in `dir` that is a symbolic link leading out of `dir`. */
export function insideFolder(dir: string, file: string): boolean {
  try {
    if (!fs.lstatSync(file).isSymbolicLink()) return true;
    const relative = path.relative(fs.realpathSync(dir), fs.realpathSync(file));
    return !relative.startsWith('..') && !path.isAbsolute(relative);
  } catch {
    return true; // absent: nothing to follow
  }
}
