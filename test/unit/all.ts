// Every unit test file in one process (test/run.ts runs this instead of
// each file): a process of its own per file cost more CPU than most of
// their tests do (about 35 CPU-s for 50 files, against 22 here). The
// files keep no state between tests, so importing them in turn is the same
// as running each alone; `node --test test/unit/x.test.ts` still runs one.
import fs from 'node:fs';
import path from 'node:path';

for (const file of fs.readdirSync(import.meta.dirname).filter((f) => f.endsWith('.test.ts')).sort()) {
  await import(path.join(import.meta.dirname, file));
}
