// Small helpers the benchmarks share.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RequestLogEntry } from '../test/cluster/http.ts';

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

const ROOT = path.resolve(import.meta.dirname, '..');
/** The stock Node 22 of devDependencies: the system node cannot run .ts. */
export const NODE = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');
export const BINARY = path.join(ROOT, 'dist', 'kubectl-calico');

export interface ClusterProcess {
  /** A fresh HOME (cold caches), removed at the end. */
  home: string;
  kubeconfig: string;
  /** PATH (dist/ first, so `kubectl calico` finds the plugin), HOME and KUBECONFIG for the commands measured. */
  env: NodeJS.ProcessEnv;
  /** What the test cluster has served so far, from its request log. */
  requests(): RequestLogEntry[];
  /**
   * Waits until the cluster's process is idle (under a tenth of a core over a second: a large rollout keeps its
   * controllers and garbage collector busy for a while after the last pod is Ready), at most `limitMs`; resolves
   * with the seconds waited.
   */
  idle(limitMs?: number): Promise<number>;
}

/** user + sys CPU seconds a process has used, from /proc. */
function cpuSecondsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * A fresh test cluster (`test/cluster/main.ts` with `args`, e.g. `--nodes 500 --calico v3.29.0`) in a process of
 * its own, so that it neither shares the bench's event loop nor holds up reading a command's output (its garbage
 * collector is busy for a minute or two after a namespace of a thousand pods goes); `use` gets it once it has
 * printed READY, and it is killed and its HOME removed afterwards. `nodeFlags` go to its Node (a larger heap).
 */
export async function withClusterProcess<T>(name: string, args: string[], use: (cluster: ClusterProcess) => Promise<T>, nodeFlags: string[] = []): Promise<T> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  const kubeconfig = path.join(home, 'kubeconfig');
  const requestLog = path.join(home, 'requests.jsonl');
  const cluster = spawn(NODE, [...nodeFlags, path.join(ROOT, 'test', 'cluster', 'main.ts'), ...args, '--kubeconfig', kubeconfig, '--request-log', requestLog], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      cluster.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('READY ')) resolve();
      });
      cluster.on('exit', (code) => reject(new Error(`the test cluster exited (${code}) before it was ready`)));
    });
    const env = { PATH: `${path.dirname(BINARY)}:/usr/bin:/bin`, HOME: home, KUBECONFIG: kubeconfig };
    const requests = () => fs.readFileSync(requestLog, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as RequestLogEntry);
    const idle = async (limitMs = 300_000) => {
      const started = performance.now();
      for (let before = cpuSecondsOf(cluster.pid!); performance.now() - started < limitMs;) {
        await sleep(1000);
        const now = cpuSecondsOf(cluster.pid!);
        if (now - before < 0.1) break;
        before = now;
      }
      return (performance.now() - started) / 1000;
    };
    return await use({ home, kubeconfig, env, requests, idle });
  } finally {
    cluster.kill('SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
  }
}
