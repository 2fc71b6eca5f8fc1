// npm test's runner: node --test over test/**/*.test.ts, each e2e file in a
// process of its own as node --test runs them, the unit files together in
// one (test/unit/all.ts). Most e2e files spend much of their time waiting
// for their test clusters' simulated delays, so more files run at once than
// there are cores: the suite is then bound by CPU, not by waiting. The
// slowest files start first so that none is left to finish alone; the two
// 2,000-node files, which race the plugin's --timeout and their own
// deadlines in real time, start last, when the others are done or nearly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { TEST_CACHE_ROOT } from './cache-dir.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Wall seconds each file took alone, measured (release: five binaries built, then linux/amd64 again, ~105 CPU-s),
 * longest first;
 * every file not named here took under 15 s.
 */
const SLOWEST_FIRST = [
  'test/e2e/release.test.ts', // 107
  'test/e2e/lifecycle.test.ts', // 61
  'test/e2e/faults.test.ts', // 41
  'test/e2e/interrupt.test.ts', // 31
  'test/e2e/connectivity.test.ts', // 29
  'test/e2e/connectivity-faults.test.ts', // 29
  'test/e2e/connectivity-slow-pull.test.ts', // 27, waiting
  'test/e2e/images.test.ts', // 27
  'test/e2e/terminal.test.ts', // 27
  'test/e2e/cluster-kubectl.test.ts', // 24
  'test/unit/all.ts', // 24, all 50 unit files
  'test/e2e/cluster-behaviour.test.ts', // 21
  'test/e2e/bad-input.test.ts', // 19
  'test/e2e/doctor.test.ts', // 18
];
const LAST = ['test/e2e/cluster-scale.test.ts', 'test/e2e/scale.test.ts'];
const rank = (file: string) => (SLOWEST_FIRST.includes(file) ? SLOWEST_FIRST.indexOf(file) : LAST.includes(file) ? Infinity : SLOWEST_FIRST.length);

/**
 * A file still running after this is stopped and fails, named: a hang (a test spinning in a loop did once) would
 * otherwise hold the suite until CI's own limit. The release test, the slowest, allows itself 20 minutes.
 */
const FILE_TIMEOUT_MS = 25 * 60_000;

/** Every test file's process keeps the JavaScript of the .ts modules it loads (test/ts-cache.mjs). */
const EXEC_ARGV = ['--import', path.join(ROOT, 'test', 'ts-cache.mjs')];
pruneCache(TEST_CACHE_ROOT);

const files = (fs.readdirSync(path.join(ROOT, 'test', 'e2e')) as string[])
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => `test/e2e/${file}`)
  .concat('test/unit/all.ts')
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

/** Runs `list` as node --test does: spec on a terminal, TAP otherwise; exit code 1 when a test fails. */
function runFiles(list: string[], concurrency: number): Promise<void> {
  return new Promise((resolve) => {
    const report = run({ files: list.map((file) => path.join(ROOT, file)), concurrency, execArgv: EXEC_ARGV, timeout: FILE_TIMEOUT_MS })
      .on('test:fail', () => {
        process.exitCode = 1;
      })
      .compose(process.stdout.isTTY ? new spec() : tap);
    report.on('end', resolve);
    report.pipe(process.stdout, { end: false });
  });
}

await runFiles(files, os.availableParallelism() + 2);

/** Drops what test/ts-cache.mjs kept for other Node versions, and entries not written for a week (sources since changed). */
function pruneCache(dir: string): void {
  const weekAgo = Date.now() - 7 * 86_400_000;
  for (const version of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const sub = path.join(dir, version);
    if (version !== process.version) fs.rmSync(sub, { recursive: true, force: true });
    else for (const file of fs.readdirSync(sub)) if (file.endsWith('.js') && fs.statSync(path.join(sub, file)).mtimeMs < weekAgo) fs.rmSync(path.join(sub, file), { force: true });
  }
}
