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

export interface Measurement {
  seconds: number;
  /** user + sys of the command (its children included). */
  cpuSeconds: number;
  peakMiB: number;
  /** Lines it printed on stdout. */
  lines: number;
  stdout: string;
  code: number;
  stderr: string;
}

/** Runs a command under GNU time: its wall time, CPU (user + sys), peak resident set size and the lines it printed. */
export function measure(command: string[], env: NodeJS.ProcessEnv): Promise<Measurement> {
  return new Promise((resolve) => {
    const started = performance.now();
    execFile('/usr/bin/time', ['-f', 'TIME %U %S %M', ...command], { env, maxBuffer: 1024 * 1024 * 1024 }, (error, stdout, stderr) => {
      const [, user = '0', sys = '0', kib = '0'] = /TIME (\S+) (\S+) (\d+)\s*$/.exec(String(stderr)) ?? [];
      resolve({
        seconds: (performance.now() - started) / 1000,
        cpuSeconds: Number(user) + Number(sys),
        peakMiB: Number(kib) / 1024,
        lines: String(stdout).split('\n').length - 1,
        stdout: String(stdout),
        code: error ? Number((error as { code?: number }).code ?? 1) : 0,
        stderr: String(stderr),
      });
    });
  });
}
