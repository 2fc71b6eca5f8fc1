// Start-up: the binary run directly (not through kubectl's plugin lookup),
// beside the exact kubectl client's own `version --client` and the stock Node
// the binary is made from running nothing (`node -e 0`), all interleaved so
// that the shared machine's load falls on every side alike.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { median } from './measure.ts';

export const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

/** The commands item 1 of issue 20 times: each must start as fast as kubectl. */
export const STARTUP_COMMANDS = [['version', '--client'], ['--help'], ['completion', 'bash']];

export interface StartupFigure {
  /** Median wall time, ms. */
  ms: number;
  /** Median user + sys CPU time, ms. */
  cpuMs: number;
}

export interface StartupFigures {
  /** By command line (`version --client`, …). */
  commands: Record<string, StartupFigure>;
  kubectl: StartupFigure;
  /** The stock Node binary the SEA is made from, running nothing. */
  node: StartupFigure;
  runs: number;
}

export async function benchStartup(root: string, runs = 41): Promise<StartupFigures> {
  const binary = path.join(root, 'dist', 'kubectl-calico');
  const node = path.join(root, 'node_modules', 'node', 'bin', 'node');
  const env = { PATH: '/usr/bin:/bin', HOME: '/tmp' };
  const sides: [string, string, string[]][] = [
    ['node', node, ['-e', '0']],
    ['kubectl', KUBECTL, ['version', '--client']],
    ...STARTUP_COMMANDS.map((args): [string, string, string[]] => [args.join(' '), binary, args]),
  ];
  const samples = new Map(sides.map(([name]) => [name, [] as { ms: number; cpuMs: number }[]]));
  for (const [, file, args] of sides) await timeWithCpu(file, args, env); // warm the page cache
  for (let i = 0; i < runs; i++) {
    for (const [name, file, args] of sides) samples.get(name)!.push(await timeWithCpu(file, args, env));
  }
  const figure = (name: string): StartupFigure => ({ ms: median(samples.get(name)!.map((s) => s.ms)), cpuMs: median(samples.get(name)!.map((s) => s.cpuMs)) });
  return { commands: Object.fromEntries(STARTUP_COMMANDS.map((args) => [args.join(' '), figure(args.join(' '))])), kubectl: figure('kubectl'), node: figure('node'), runs };
}

/**
 * Wall and user + sys CPU time of one run, to the millisecond: bash's `time`
 * reads the child's rusage, where GNU time prints hundredths of a second.
 * stdout is a pipe, as in `source <(kubectl calico completion bash)`.
 */
function timeWithCpu(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; cpuMs: number }> {
  // The command's stderr goes nowhere; bash writes the times on its own.
  const script = 'TIMEFORMAT="%3R %3U %3S"; time "$@" 2>/dev/null';
  return new Promise((resolve, reject) => {
    execFile('/bin/bash', ['-c', script, 'bash', file, ...args], { env }, (error, _stdout, stderr) => {
      const times = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(String(stderr));
      if (error || !times) return reject(new Error(`${file} ${args.join(' ')}: ${error?.message ?? 'no time'}`));
      resolve({ ms: Number(times[1]) * 1000, cpuMs: (Number(times[2]) + Number(times[3])) * 1000 });
    });
  });
}
