// The host binary's entry (scripts/build.ts): Node runs this once at build
// time and keeps the heap it leaves as the binary's V8 startup snapshot, so
// every module below is already evaluated, every command's help formatted
// and the parsers of version and completion compiled when the binary starts;
// start() then runs in the process that starts. A snapshot only runs on the
// Node binary that made it, which is why the release's cross-built binaries
// start from bin/kubectl-calico.js.
import { startupSnapshot } from 'node:v8';
import { CompletionCommand } from './commands/completion.ts';
import { VersionCommand } from './commands/version.ts';
import { prepare } from './main.ts';
import { start } from './start.ts';

// Node's builtins that commands talking to a cluster load and a snapshot can hold (not http, https or
// tls: a snapshot with them cannot be made), evaluated here so that the binary starts with them (~20 ms of CPU).
for (const builtin of ['node:crypto', 'node:perf_hooks', 'node:vm', 'node:zlib']) process.getBuiltinModule(builtin);
prepare('kubectl calico', [VersionCommand, CompletionCommand]);
startupSnapshot.setDeserializeMainFunction(start);
