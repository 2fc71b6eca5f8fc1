// Start-up: the binary run directly (not through kubectl's plugin lookup),
// beside the exact kubectl client's own `version --client`, interleaved.
import path from 'node:path';
import { median, timeRun } from './measure.ts';

export const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

export async function benchStartup(root: string, runs = 15): Promise<{ version: number; help: number; kubectl: number }> {
  const binary = path.join(root, 'dist', 'kubectl-calico');
  const env = { PATH: '/usr/bin:/bin', HOME: '/tmp' };
  const samples = { version: [] as number[], help: [] as number[], kubectl: [] as number[] };
  for (let i = 0; i < 2; i++) await timeRun(binary, ['version', '--client'], env); // warm the page cache
  for (let i = 0; i < runs; i++) {
    samples.version.push((await timeRun(binary, ['version', '--client'], env)).ms);
    samples.kubectl.push((await timeRun(KUBECTL, ['version', '--client'], env)).ms);
    samples.help.push((await timeRun(binary, ['--help'], env)).ms);
  }
  return { version: median(samples.version), help: median(samples.help), kubectl: median(samples.kubectl) };
}
