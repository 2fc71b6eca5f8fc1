import { Cli, type Definition } from 'clipanion';
import type { Writable, Readable } from 'node:stream';
import { flagSpecFrom, hoistLeadingFlags, normalizeFlags } from './cli/argv.ts';
import { CliError, ExitCode, UsageError } from './cli/errors.ts';
import type { CalicoCommand, CalicoContext } from './cli/command.ts';
import { commandName, renderCommandHelp, renderTopHelp } from './cli/help.ts';
import { ApplyCommand } from './commands/apply.ts';
import { CompletionCommand } from './commands/completion.ts';
import { ConnectivityCommand } from './commands/connectivity.ts';
import { DiagsCommand } from './commands/diags.ts';
import { DoctorCommand } from './commands/doctor.ts';
import { ImagesCommand } from './commands/images.ts';
import { InitCommand } from './commands/init.ts';
import { IpamCommand } from './commands/ipam.ts';
import { IpamCheckCommand } from './commands/ipam-check.ts';
import { IpamShowCommand } from './commands/ipam-show.ts';
import { NodeStatusCommand } from './commands/node-status.ts';
import { WaitCommand } from './commands/wait.ts';
import { StatusCommand } from './commands/status.ts';
import { UninstallCommand } from './commands/uninstall.ts';
import { UpgradeCommand } from './commands/upgrade.ts';
import { VersionCommand } from './commands/version.ts';
import { complete } from './cli/complete.ts';

export const COMMANDS = [InitCommand, ImagesCommand, ApplyCommand, WaitCommand, StatusCommand, DoctorCommand, ConnectivityCommand, NodeStatusCommand, DiagsCommand, IpamCommand, IpamShowCommand, IpamCheckCommand, UpgradeCommand, UninstallCommand, VersionCommand, CompletionCommand];

export interface MainIO {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** `kubectl calico` when started as the plugin executable. */
  binaryName: string;
  /** Started as `kubectl_complete-calico`: answer kubectl's completion requests. */
  completionOnly?: boolean;
}

type CommandClass = (typeof COMMANDS)[number];

const definitionsByName = new Map<string, Definition[]>();

/**
 * Every command's definition (paths, options, usage) as help, completion and
 * the command-line scan need them. Registering every command and formatting
 * its usage costs milliseconds, so it is done once per name.
 */
function definitionsFor(binaryName: string): Definition[] {
  let definitions = definitionsByName.get(binaryName);
  if (!definitions) {
    const cli = new Cli<CalicoContext>({ binaryName, enableColors: false });
    for (const command of COMMANDS) cli.register(command);
    definitions = cli.definitions();
    definitionsByName.set(binaryName, definitions);
  }
  return definitions;
}

const keptParsers = new Map<string, Map<CommandClass, Cli<CalicoContext>>>();

/**
 * A Cli that knows only one command, to parse its command line: clipanion
 * compiles a state machine for every registered command on each process(),
 * tens of milliseconds with all of them. Those prepare() made are kept with
 * their machine compiled.
 */
function parserFor(commandClass: CommandClass, binaryName: string): Cli<CalicoContext> {
  const kept = keptParsers.get(binaryName)?.get(commandClass);
  if (kept) return kept;
  const cli = new Cli<CalicoContext>({ binaryName, enableColors: false });
  cli.register(commandClass);
  return cli;
}

/**
 * Does ahead, for the host binary's startup snapshot (src/snapshot.ts), what
 * start-up does for a binary of this name: every command's definition, and
 * the parsers of `commands` with their state machine compiled. Compiling a
 * machine in a fresh process costs several milliseconds, but the snapshot is
 * loaded whole on every start, and the machines of all fifteen commands added
 * ~10 ms to each: only the commands that answer without a cluster keep
 * theirs, the others wait on the cluster far longer than the compile.
 */
export function prepare(binaryName: string, commands: CommandClass[]): void {
  definitionsFor(binaryName);
  const parsers = new Map<CommandClass, Cli<CalicoContext>>();
  for (const commandClass of commands) {
    const cli = parserFor(commandClass, binaryName);
    // clipanion keeps its builder private and has no other way to keep a compiled machine.
    const builder = (cli as unknown as { builder: { compile(): unknown } }).builder;
    const compiled = builder.compile();
    builder.compile = () => compiled;
    parsers.set(commandClass, cli);
  }
  keptParsers.set(binaryName, parsers);
}

/** Runs one command line and returns its exit code; errors become one `error:` line. */
export async function main(io: MainIO): Promise<number> {
  const definitions = definitionsFor(io.binaryName);
  if (io.completionOnly || io.argv[0] === '__complete') {
    io.stdout.write(await complete(io.completionOnly ? io.argv : io.argv.slice(1), definitions, (d) => commandName(d, io.binaryName), io.env));
    return ExitCode.ok;
  }
  // stdin stays a getter: opening it loads net or tty, and only uninstall's prompt reads it.
  const context: CalicoContext = {
    env: io.env,
    get stdin() {
      return io.stdin;
    },
    stdout: io.stdout,
    stderr: io.stderr,
    binaryName: io.binaryName,
    colorDepth: 1,
  };
  let command: CalicoCommand | undefined;
  try {
    const args = hoistLeadingFlags(io.argv, flagSpecFrom(allOptions(definitions)), (words) => pathLength(definitions, words, io.binaryName));
    const definition = findDefinition(definitions, args, io.binaryName);
    if (!definition) return usage(io, args, definitions);
    if (wantsHelp(args)) {
      io.stdout.write(renderCommandHelp(io.binaryName, definition));
      return ExitCode.ok;
    }
    const normalized = normalizeFlags(args, flagSpecFrom(definition.options.map((o) => o.definition)));
    command = processArgs(normalized, context, definition);
    void command.logger; // validates -v before anything runs
    const code = await command.validateAndExecute();
    return typeof code === 'number' ? code : ExitCode.ok;
  } catch (error) {
    return reportError(io, error, command);
  }
}

/** No command named: the overview for `--help`, `help` or nothing; an error for an unknown word. */
function usage(io: MainIO, args: string[], definitions: Definition[]): number {
  const first = args.find((a) => !a.startsWith('-'));
  if (first === undefined || first === 'help') {
    io.stdout.write(renderTopHelp(io.binaryName, definitions));
    return ExitCode.ok;
  }
  io.stderr.write(`error: unknown command "${first}" for "${io.binaryName}"\nRun '${io.binaryName} --help' for usage.\n`);
  return ExitCode.usage;
}

/** Parses the command line of the command already found. */
function processArgs(args: string[], context: CalicoContext, definition: Definition): CalicoCommand {
  const path = commandWords(definition, context.binaryName).join(' ');
  const cli = parserFor(COMMANDS.find((c) => c.paths?.some((p) => p.join(' ') === path))!, context.binaryName);
  // clipanion copies the context it is given with a spread, which would call the stdin getter: it parses with
  // a context without stdin, and the command gets ours.
  const { env, stdout, stderr, binaryName, colorDepth } = context;
  try {
    const command = cli.process(args, { env, stdout, stderr, binaryName, colorDepth } as CalicoContext) as CalicoCommand;
    command.context = context;
    return command;
  } catch (error) {
    const message = clipanionMessage(error);
    throw new UsageError(`${message}\nSee '${context.binaryName} ${path} --help' for usage.`);
  }
}

/** Rewords clipanion's parse errors the way kubectl (pflag) words them. */
function clipanionMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const reason = text.split('\n')[0]!;
  const quoted = /\("(.*)"\)/.exec(reason)?.[1];
  if (/^(Unsupported|Invalid) option name/.test(reason)) return `unknown flag: ${quoted}`;
  if (reason.startsWith('Not enough arguments to option')) return `flag needs an argument: ${reason.replace(/^Not enough arguments to option (.*)\.$/, '$1')}`;
  if (reason.startsWith('Extraneous positional argument')) return `unexpected argument "${quoted}"`;
  return reason.replace(/\.$/, '');
}

function reportError(io: MainIO, error: unknown, command: CalicoCommand | undefined): number {
  if (error instanceof CliError) {
    io.stderr.write(`error: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`error: ${message.split('\n')[0]}\n`);
  if (error instanceof Error && command && Number(command.verbosity) >= 6) io.stderr.write(`${error.stack}\n`);
  return ExitCode.failure;
}

function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

function allOptions(definitions: Definition[]): string[] {
  return definitions.flatMap((d) => d.options.map((o) => o.definition));
}

function commandWords(definition: Definition, binaryName: string): string[] {
  return commandName(definition, binaryName).split(' ');
}

function findDefinition(definitions: Definition[], args: string[], binaryName: string): Definition | undefined {
  const length = pathLength(definitions, args.filter((a) => !a.startsWith('-')), binaryName);
  if (length === 0) return undefined;
  return definitions.find((d) => commandWords(d, binaryName).join(' ') === args.slice(0, length).join(' '));
}

/** How many leading words name a registered command (the longest match wins). */
function pathLength(definitions: Definition[], words: string[], binaryName: string): number {
  let best = 0;
  for (const definition of definitions) {
    const path = commandWords(definition, binaryName);
    if (path.length > best && path.every((word, i) => words[i] === word)) best = path.length;
  }
  return best;
}
