import fs from 'node:fs';
import path from 'node:path';
import { isSea } from 'node:sea';

/** The file that is running: the single binary, or the bin script under Node. */
export function selfPath(): string {
  return realpath(isSea() ? process.execPath : (process.argv[1] ?? process.execPath));
}

/**
 * Every `kubectl-calico` on PATH, in the order kubectl would find them.
 * calicoctl's install guide installs calicoctl under this same name.
 */
export function pluginsOnPath(env: NodeJS.ProcessEnv, name = 'kubectl-calico'): string[] {
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE').split(';').map((e) => e.toLowerCase()) : [''];
  const found: string[] = [];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      if (isExecutable(candidate) && !found.includes(candidate)) found.push(candidate);
    }
  }
  return found;
}

/** Warnings about another kubectl-calico shadowing this one, or being shadowed by it. */
export function shadowWarnings(env: NodeJS.ProcessEnv, self = selfPath()): string[] {
  const others = pluginsOnPath(env);
  const mine = others.findIndex((candidate) => sameFile(candidate, self));
  const foreign = others.filter((_, i) => i !== mine && !sameFile(others[i]!, self));
  if (foreign.length === 0) return [];
  const first = others[0]!;
  if (mine !== 0 && !sameFile(first, self)) {
    return [`${first} comes first on PATH, so "kubectl calico" runs it instead of this plugin (${self}); calicoctl also installs itself as kubectl-calico`];
  }
  return foreign.map((other) => `${other} is also on PATH and is shadowed by this plugin (${self}); "kubectl plugin list" warns about it`);
}

function isExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return realpath(a) === realpath(b);
  }
}

function realpath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}
