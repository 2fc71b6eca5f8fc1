// Where the tests keep what one test process makes and the next can reuse
// (the JavaScript of .ts modules, parsed manifests, the test clusters' PKI),
// by Node version; test/run.ts prunes it. test/ts-cache.mjs, which is
// JavaScript, spells TEST_CACHE again.
import os from 'node:os';
import path from 'node:path';

/** Every Node version's cache. */
export const TEST_CACHE_ROOT = path.join(os.tmpdir(), 'kubectl-calico-test-cache');
/** This Node version's. */
export const TEST_CACHE = path.join(TEST_CACHE_ROOT, process.version);
