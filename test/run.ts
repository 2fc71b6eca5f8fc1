// npm test's runner: node --test over test/**/*.test.ts, each file in a
// process of its own as node --test runs them, but as many files at once as
// there are cores, in the order below. node --test runs one file at a time
// on a 2-core machine (its default is the core count minus one), while most
// e2e files spend much of their time waiting for their test clusters'
// simulated delays; one file more than the cores starved the tests that race
// those delays in real time (2,000 nodes) on a busy machine. And
// node --test starts files in alphabetical order, which puts the slowest
// (release) late, to finish last, alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Release builds five binaries twice: minutes of CPU, nothing timed, so it starts first and runs beside the
 * rest. The 2,000-node files race the plugin's --timeout and their own deadlines with their simulated
 * clusters, CPU-bound: they start last, when the other files are done or nearly.
 */
const FIRST = ['test/e2e/release.test.ts'];
const LAST = ['test/e2e/cluster-scale.test.ts', 'test/e2e/scale.test.ts'];
const place = (file: string) => (FIRST.includes(file) ? 0 : LAST.includes(file) ? 2 : 1);

/** Every test file's process keeps the JavaScript of the .ts modules it loads (test/ts-cache.ts). */
const EXEC_ARGV = ['--import', path.join(ROOT, 'test', 'ts-cache.ts')];
pruneCache(path.join(os.tmpdir(), 'kubectl-calico-test-cache'));

const files = (fs.readdirSync(path.join(ROOT, 'test'), { recursive: true }) as string[])
  .map((file) => path.posix.join('test', file.split(path.sep).join('/')))
  .filter((file) => file.endsWith('.test.ts'))
  .sort((a, b) => place(a) - place(b) || a.localeCompare(b));

/** Runs `list` as node --test does: spec on a terminal, TAP otherwise; exit code 1 when a test fails. */
function runFiles(list: string[], concurrency: number): Promise<void> {
  return new Promise((resolve) => {
    const report = run({ files: list.map((file) => path.join(ROOT, file)), concurrency, execArgv: EXEC_ARGV })
      .on('test:fail', () => {
        process.exitCode = 1;
      })
      .compose(process.stdout.isTTY ? new spec() : tap);
    report.on('end', resolve);
    report.pipe(process.stdout, { end: false });
  });
}

await runFiles(files, os.availableParallelism());

/** Drops what test/ts-cache.ts kept for other Node versions, and entries not written for a week (sources since changed). */
function pruneCache(dir: string): void {
  const weekAgo = Date.now() - 7 * 86_400_000;
  for (const version of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const sub = path.join(dir, version);
    if (version !== process.version) fs.rmSync(sub, { recursive: true, force: true });
    else for (const file of fs.readdirSync(sub)) if (file.endsWith('.js') && fs.statSync(path.join(sub, file)).mtimeMs < weekAgo) fs.rmSync(path.join(sub, file), { force: true });
  }
}
