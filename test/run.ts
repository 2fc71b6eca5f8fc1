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
/**
 * Files that run alone, after the rest: none now. The terminal tests were, while they asserted short-lived frames
 * and resized the pty at a point of the byte stream a busy machine could move; they hold the states they look
 * for and resize at an exact point now, and pass beside other files (and three copies of themselves on two
 * cores both busy with other work).
 */
const ALONE: string[] = [];
const place = (file: string) => (FIRST.includes(file) ? 0 : LAST.includes(file) ? 2 : 1);

const files = (fs.readdirSync(path.join(ROOT, 'test'), { recursive: true }) as string[])
  .map((file) => path.posix.join('test', file.split(path.sep).join('/')))
  .filter((file) => file.endsWith('.test.ts'))
  .sort((a, b) => place(a) - place(b) || a.localeCompare(b));

/** Runs `list` as node --test does: spec on a terminal, TAP otherwise; exit code 1 when a test fails. */
function runFiles(list: string[], concurrency: number): Promise<void> {
  return new Promise((resolve) => {
    const report = run({ files: list.map((file) => path.join(ROOT, file)), concurrency })
      .on('test:fail', () => {
        process.exitCode = 1;
      })
      .compose(process.stdout.isTTY ? new spec() : tap);
    report.on('end', resolve);
    report.pipe(process.stdout, { end: false });
  });
}

await runFiles(files.filter((file) => !ALONE.includes(file)), os.availableParallelism());
// Only with files to run: an empty run's report would end the output on `# tests 0`.
if (ALONE.length > 0) await runFiles(files.filter((file) => ALONE.includes(file)), 1);
