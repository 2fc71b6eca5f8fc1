// diags at scale: a --nodes 500 test cluster with Calico installed, in a
// process of its own (withClusterProcess), `kubectl calico diags` with the default node choice (nodes with problems
// and a sample) — wall time, CPU, peak memory, the archive's size, its files,
// logs and execs sent. The target: under 30 s and under 50 MB at the
// test cluster's log sizes.
import fs from 'node:fs';
import path from 'node:path';
import { BINARY, measure, withClusterProcess, type Measurement } from './measure.ts';

export interface DiagsFigures extends Measurement {
  nodes: number;
  /** The archive, compressed. */
  bytes: number;
  files: number;
  logs: number;
  execs: number;
}

export async function benchDiags(nodes: number): Promise<DiagsFigures> {
  return withClusterProcess('diags', ['--nodes', String(nodes), '--calico', 'v3.29.0'], async (cluster) => {
    const archive = path.join(cluster.home, 'bundle.tar.gz');
    const before = cluster.requests().length;
    const run = await measure([BINARY, 'diags', '--output-file', archive], cluster.env);
    if (run.code !== 0) throw new Error(`diags exited ${run.code}: ${run.stderr}`);
    const requests = cluster.requests().slice(before);
    const files = Number(/, (\d+) files,/.exec(run.stdout)?.[1] ?? 0);
    return {
      ...run, nodes, bytes: fs.statSync(archive).size, files,
      logs: requests.filter((r) => /\/pods\/[^/]+\/log\b/.test(r.path)).length,
      execs: requests.filter((r) => /\/pods\/[^/]+\/exec\b/.test(r.path)).length,
    };
  });
}

if (import.meta.main) {
  const nodes = Number(process.argv[2] ?? 500);
  const r = await benchDiags(nodes);
  process.stdout.write(`diags on ${nodes} nodes: ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU, ${r.peakMiB.toFixed(0)} MiB peak, archive ${(r.bytes / 1e6).toFixed(1)} MB, ${r.files} files, ${r.logs} log requests, ${r.execs} execs (exit ${r.code})\n`);
}
