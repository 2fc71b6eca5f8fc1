// `sh -c SCRIPT` for a documented subset of the shell language: simple
// commands separated by `;` or newlines, words in single or double quotes
// (without `$`, backquotes or backslashes inside), `>&2` or `1>&2` sending a
// command's stdout to stderr, and the builtins echo, true, false and exit.
// Other commands are run from the image as the shell would find them (PATH).
// Anything else (pipes, `&&`, variables, globs, other redirections) is a
// simulation limit and fails loudly, never as a guess.
//
// Dialects differ only in how they report a command that is not there:
// busybox ash `sh: foo: not found`, bash 4.4 (UBI 8) `sh: foo: command not
// found` or `sh: /x: No such file or directory`; both exit 127.
import { echo, exit } from './basic.ts';
import { NotSimulated, resolveProgram, type Program, type ProgramContext } from './program.ts';

interface Command {
  words: string[];
  toStderr: boolean;
}

const BUILTINS: Record<string, Program> = { echo, true: exit(0), false: exit(1) };

export function shell(dialect: 'ash' | 'bash'): Program {
  return async (context) => {
    const { argv } = context;
    if (argv[1] !== '-c' || argv[2] === undefined) throw new NotSimulated(`${argv.join(' ')}: only \`sh -c SCRIPT\` is simulated`);
    const name = argv[3] ?? argv[0]!;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let status = 0;
    let stdinTaken = false;
    // The first command that reads stdin gets all of it, as with a pipe the shell inherited.
    const stdin = async () => {
      if (stdinTaken) return Buffer.alloc(0);
      stdinTaken = true;
      return context.stdin();
    };
    for (const command of parse(argv[2])) {
      const [program, ...args] = command.words;
      if (program === undefined) continue;
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(program)) throw new NotSimulated(`sh -c ${JSON.stringify(argv[2])}: variable assignments are not simulated`);
      if (program === 'exit') return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), exitCode: exitStatus(args, status) };
      const builtin = BUILTINS[program];
      const found = builtin ? { program: builtin } : resolveProgram(context.image, program);
      if ('error' in found) {
        stderr.push(Buffer.from(notFound(dialect, name, program)));
        status = 127;
        continue;
      }
      const result = await found.program({ ...context, argv: [program, ...args], stdin } satisfies ProgramContext);
      (command.toStderr ? stderr : stdout).push(Buffer.from(result.stdout ?? ''));
      stderr.push(Buffer.from(result.stderr ?? ''));
      status = result.exitCode;
    }
    return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), exitCode: status };
  };
}

function notFound(dialect: 'ash' | 'bash', shellName: string, program: string): string {
  if (dialect === 'ash') return `${shellName}: ${program}: not found\n`;
  return program.includes('/') ? `${shellName}: ${program}: No such file or directory\n` : `${shellName}: ${program}: command not found\n`;
}

/** `exit` alone keeps the last status; `exit N` exits N modulo 256. */
function exitStatus(args: string[], last: number): number {
  if (args.length === 0) return last;
  if (args.length > 1 || !/^\d+$/.test(args[0]!)) throw new NotSimulated(`exit ${args.join(' ')} is not simulated`);
  return Number(args[0]) % 256;
}

const SPECIAL = new Set(['|', '&', '<', '>', '(', ')', '$', '`', '\\', '*', '?', '[', ']', '~', '#', '{', '}']);

function parse(script: string): Command[] {
  const commands: Command[] = [];
  let command: Command = { words: [], toStderr: false };
  let word: string | undefined;
  const endWord = () => {
    if (word !== undefined) command.words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    commands.push(command);
    command = { words: [], toStderr: false };
  };
  for (let i = 0; i < script.length; i++) {
    const ch = script[i]!;
    if (ch === ' ' || ch === '\t') endWord();
    else if (ch === ';' || ch === '\n') endCommand();
    else if (ch === "'" || ch === '"') {
      const close = script.indexOf(ch, i + 1);
      const quoted = close < 0 ? undefined : script.slice(i + 1, close);
      if (quoted === undefined || (ch === '"' && /[$`\\]/.test(quoted))) throw new NotSimulated(`sh -c ${JSON.stringify(script)}: this quoting is not simulated`);
      word = (word ?? '') + quoted;
      i = close;
    } else if (ch === '>' && script.startsWith('>&2', i) && (word === undefined || word === '1') && /^(\s|;|$)/.test(script.slice(i + 3))) {
      word = undefined;
      command.toStderr = true;
      i += 2;
    } else if (SPECIAL.has(ch)) {
      throw new NotSimulated(`sh -c ${JSON.stringify(script)}: only simple commands, quotes, \`;\` and \`>&2\` are simulated`);
    } else word = (word ?? '') + ch;
  }
  endCommand();
  return commands;
}
