// What a simulated program is: a function from its context (the runtime, the
// pod, the container, argv, stdin) to its output and exit code; and how runc
// finds one in an image.
import type { Runtime } from '../controllers/runtime.ts';
import type { KubeObject } from '../types.ts';

export interface ProgramContext {
  runtime: Runtime;
  pod: KubeObject;
  container: { name: string; image: string };
  /** The image's contents, to run further programs (a shell's commands). */
  image: ImageContents;
  argv: string[];
  /** All of stdin once the client has closed it; empty when the exec did not ask for stdin. */
  stdin(): Promise<Buffer>;
  /** Aborted when the exec ends before the program does (the client went away). */
  signal: AbortSignal;
}

export interface ProgramResult {
  stdout?: string | Buffer;
  stderr?: string | Buffer;
  exitCode: number;
}

export type Program = (context: ProgramContext) => ProgramResult | Promise<ProgramResult>;

export interface ImageContents {
  /** The repository path an image reference ends with, whatever its registry and tag: `calico/node`. */
  repository: string;
  /** PATH of processes in the container: the image's ENV, else containerd's default. */
  path: string[];
  /** Directories that are symlinks (`/bin` → `/usr/bin` on UBI). */
  links: Record<string, string>;
  /** Executables by absolute path. */
  files: Record<string, Program>;
}

/** A simulation limit, not a program's behaviour: the exec fails with this message on the status stream. */
export class NotSimulated extends Error {}

/** An executable the real image has and the model does not run yet. */
export function notSimulated(what: string): Program {
  return () => {
    throw new NotSimulated(`${what} is not simulated`);
  };
}

/** containerd's PATH for images whose config sets none (Alpine's ENV is the same). */
export const DEFAULT_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** argv[0] as runc resolves it: a name with a slash as a path, a bare name along PATH; else runc's error. */
export function resolveProgram(image: ImageContents, name: string): { program: Program } | { error: string } {
  if (name.includes('/')) {
    const path = name.startsWith('/') ? name : `/${name}`;
    const program = image.files[canonical(image, path)];
    return program ? { program } : { error: `exec: "${name}": stat ${path}: no such file or directory` };
  }
  for (const dir of image.path) {
    const program = image.files[canonical(image, `${dir}/${name}`)];
    if (program) return { program };
  }
  return { error: `exec: "${name}": executable file not found in $PATH` };
}

function canonical(image: ImageContents, path: string): string {
  const normal = path.replace(/\/+/g, '/').replace(/\/\.(?=\/|$)/g, '');
  for (const [link, target] of Object.entries(image.links)) {
    if (normal === link || normal.startsWith(`${link}/`)) return target + normal.slice(link.length);
  }
  return normal;
}
