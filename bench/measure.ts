// Small helpers the benchmarks share.
import { execFile, spawn } from 'node:child_process';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Wall time of one run, in milliseconds. */
export function timeRun(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number; stdout: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    execFile(file, args, { env, maxBuffer: 1024 * 1024 * 1024 }, (error, stdout) => {
      resolve({ ms: performance.now() - started, code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
    });
  });
}

/** Starts a process and resolves with the time (performance.now()) at which it exited. */
export function exitTime(file: string, args: string[], env: NodeJS.ProcessEnv): { exited: Promise<{ at: number; code: number }> } {
  const child = spawn(file, args, { env, stdio: 'ignore' });
  return { exited: new Promise((resolve) => child.on('exit', (code) => resolve({ at: performance.now(), code: code ?? 1 }))) };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
