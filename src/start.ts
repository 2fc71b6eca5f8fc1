// What the executable does when it starts: bin/kubectl-calico.js calls it
// directly, and the host binary's startup snapshot calls it after
// deserializing (scripts/snapshot-entry.ts), so nothing here may run before
// the process it serves exists: argv, env and stdio are read in start().
import path from 'node:path';
import { isSea } from 'node:sea';
import { main } from './main.ts';

export function start(): void {
  // kubectl runs plugins with argv[0] set to the executable's path, so `kubectl-calico` is shown as `kubectl calico`.
  const invokedAs = path.basename(isSea() ? process.argv0 : (process.argv[1] ?? 'kubectl-calico')).replace(/\.(js|exe)$/i, '');
  const completionOnly = invokedAs.startsWith('kubectl_complete-');
  const plugin = completionOnly ? `kubectl-${invokedAs.slice('kubectl_complete-'.length)}` : invokedAs;
  const binaryName = plugin.startsWith('kubectl-') ? `kubectl ${plugin.slice('kubectl-'.length)}` : plugin;

  // Interrupted: 130 for SIGINT and 143 for SIGTERM, like a shell reports them.
  // Commands that must say what they did first listen for the signals themselves.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) === 1) process.exit(code);
    });
  }

  // A reader that stops early (`| head`) closes the pipe: stop quietly, as kubectl does, instead of an EPIPE stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }

  // The last resort for a failure no command caught: still one line and exit 1, never a stack trace.
  process.on('unhandledRejection', (error) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });

  main({
    argv: process.argv.slice(2),
    env: process.env,
    // Opening stdin loads net or tty and costs milliseconds; only uninstall's prompt reads it.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    binaryName,
    completionOnly,
  }).then((code) => {
    // Exit once stdout has drained: open keep-alive connections must not hold the process.
    process.stdout.write('', () => process.exit(code));
  });
}
