// Preloaded by test/run.ts into every test file's process (`--import`): the
// JavaScript that Node's type stripping makes of each .ts module, kept on
// disk by the hash of its source, and V8's compile cache. Each test file is a
// process of its own that loads the test cluster and much of src/ (~25,000
// lines): stripping their types anew (swc compiled to WebAssembly) cost
// ~0.4 s of CPU per process, ~25 s in all; a hit costs a file read. The
// code is what Node runs without the cache: the same stripTypeScriptTypes,
// positions kept, so stack traces and import.meta are unchanged. This file
// is JavaScript: loading a .ts module would load the stripper (~60 ms of CPU
// in every test process and worker thread) that a cache hit spares.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** test/cache-dir.ts's TEST_CACHE (which this file cannot import: it is TypeScript). */
const DIR = path.join(os.tmpdir(), 'kubectl-calico-test-cache', process.version);

fs.mkdirSync(DIR, { recursive: true });
module.enableCompileCache?.(path.join(DIR, 'v8'));

/** Node's own stripping (as its loader calls it), without the experimental-feature warning it prints once per process. */
function strip(source, url) {
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return module.stripTypeScriptTypes(source, { mode: 'strip', sourceUrl: url });
  } finally {
    process.emitWarning = emitWarning;
  }
}

module.registerHooks({
  load(url, context, nextLoad) {
    const result = nextLoad(url, context);
    if (result.format !== 'module-typescript') return result;
    const source = String(result.source);
    const file = path.join(DIR, `${createHash('sha256').update(url).update('\0').update(source).digest('hex')}.js`);
    let code;
    try {
      code = fs.readFileSync(file, 'utf8');
    } catch {
      code = strip(source, url);
      // Files run at once write the same bytes; a rename never leaves a half-written one.
      const partial = `${file}.${process.pid}`;
      fs.writeFileSync(partial, code);
      fs.renameSync(partial, file);
    }
    return { ...result, format: 'module', source: code };
  },
});
