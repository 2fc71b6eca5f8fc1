// Long commands (apply, wait) stop cleanly on Ctrl-C or SIGTERM: the signal
// aborts their work, they say what was and was not done, and exit 130/143.
import { CliError, ExitCode, TimeoutError } from './errors.ts';

export class Interrupted extends CliError {
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`, signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
  }
}

/** An AbortSignal that fires on SIGINT, SIGTERM or when `timeoutMs` (0: never) runs out; its reason is the error to report. */
export function interruptible(timeoutMs: number, what: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInt = () => controller.abort(new Interrupted('SIGINT'));
  const onTerm = () => controller.abort(new Interrupted('SIGTERM'));
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(new TimeoutError(`${what} did not finish within ${formatDuration(timeoutMs)} (--timeout)`)), timeoutMs) : undefined;
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 100) / 10}s`;
}
