// Exit codes shared by every command (README "Exit codes").
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  timeout: 124,
  sigint: 130,
  sigterm: 143,
} as const;

/** An error the user can act on: printed as one `error: …` line, no stack. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = ExitCode.failure) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** The command line itself is wrong (unknown flag, malformed value): exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}

/** A --timeout ran out: exit 124, like timeout(1). */
export class TimeoutError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.timeout);
    this.name = 'TimeoutError';
  }
}
