// What a person sees on a terminal: runs a program in a real pseudo-terminal
// (`script` from util-linux, with `stty` setting the size inside it), keeps
// the raw bytes it writes, and replays them into xterm.js (the emulator behind
// VS Code's terminal) of the same size, resized at the same point of the byte
// stream as the pty was (resize() changes the pty's size from outside, with
// stty -F, which makes the kernel send SIGWINCH). The result is the
// emulator's whole buffer, scrollback included.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { promisify, stripVTControlCharacters as stripColor } from 'node:util';
import unicode11 from '@xterm/addon-unicode11';
import xterm from '@xterm/headless';

export interface Size {
  columns: number;
  rows: number;
}

/** A row of the emulator's buffer; `wrapped` when it continues the row above (something went past the width). */
export interface Row {
  text: string;
  wrapped: boolean;
  /** The characters drawn in a colour other than the default. */
  colored: string;
}

/** Bytes fed to the emulator, and the sizes it took in between. */
export type Stream = ({ bytes: Buffer } | { resize: Size })[];

export const SCROLLBACK = 10_000;

/** What the emulator holds: scrollback, then the screen down to the last row written. */
export interface Contents {
  rows: Row[];
  /** The index in `rows` of the screen's first row: the rows above it are scrollback, which no program can change. */
  top: number;
}

/** Feeds `stream` to an xterm.js terminal of size `size` (resized where the stream says) and returns its buffer. */
export async function replay(stream: Stream, size: Size, options: { convertEol?: boolean } = {}): Promise<Contents> {
  const term = new xterm.Terminal({ cols: size.columns, rows: size.rows, scrollback: SCROLLBACK, convertEol: options.convertEol ?? false, allowProposedApi: true });
  // Unicode 11 widths (emoji two columns wide), as VS Code and today's terminals use; xterm.js alone knows Unicode 6.
  term.loadAddon(new unicode11.Unicode11Addon());
  term.unicode.activeVersion = '11';
  for (const item of stream) {
    if ('resize' in item) term.resize(item.resize.columns, item.resize.rows);
    else await new Promise<void>((resolve) => term.write(item.bytes, resolve));
  }
  const buffer = term.buffer.active;
  const rows: Row[] = [];
  const cell = buffer.getNullCell();
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i)!;
    let colored = '';
    for (let x = 0; x < line.length; x++) {
      if (!line.getCell(x, cell)!.isFgDefault()) colored += cell.getChars();
    }
    rows.push({ text: line.translateToString(true), wrapped: line.isWrapped, colored });
  }
  const top = buffer.baseY;
  term.dispose();
  while (rows.length > top && rows.at(-1)!.text === '') rows.pop();
  return { rows, top };
}

export interface Session {
  /** Resolves with the program's exit code (`script -e` passes it on). */
  exited: Promise<number>;
  /** What was written so far, from byte `since`, as plain text: no colour or cursor codes, every line ending in `\n`. */
  plain(since?: number): string;
  /** How many bytes were written so far. */
  written(): number;
  /** Waits until plain(since) matches `pattern`. */
  waitFor(pattern: RegExp, options?: { since?: number; timeoutMs?: number }): Promise<void>;
  /** Resizes the pty from outside, as a terminal window does: the kernel sends SIGWINCH to the program. */
  resize(size: Size): Promise<void>;
  /** Types Ctrl-C: the pty's line discipline sends SIGINT to the program. */
  interrupt(): void;
  /** The emulator's buffer after the program exited, replayed with the resizes where they happened. */
  screen(): Promise<Contents>;
  /** The emulator's buffer just after the `index`th resize (from 0), before the program redrew for it. */
  screenAtResize(index: number): Promise<Contents>;
}

const exec = promisify(execFile);

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `argv` in a pseudo-terminal of `size` (TERM=xterm-256color). `script -f` copies the pty's output to
 * its stdout as it comes; the typescript file is not needed.
 */
export function startInTerminal(argv: string[], options: { env: NodeJS.ProcessEnv; size: Size; killAfterMs?: number }): Session {
  const command = `stty cols ${options.size.columns} rows ${options.size.rows} && exec ${argv.map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...options.env, TERM: 'xterm-256color' }, stdio: ['pipe', 'pipe', 'inherit'] });
  // Typing after the program ended is no error worth failing on: the test sees the exit code and the screen.
  child.stdin.on('error', () => {});
  const stream: Stream = [];
  let received = Buffer.alloc(0);
  let lastData = performance.now();
  child.stdout.on('data', (chunk: Buffer) => {
    stream.push({ bytes: chunk });
    received = Buffer.concat([received, chunk]);
    lastData = performance.now();
  });
  // A stuck program is killed before the test runner's limit, so the test reports what it saw.
  const killer = setTimeout(() => {
    const program = programOf(child.pid!);
    if (program) process.kill(program, 'SIGKILL');
    child.kill('SIGKILL');
  }, options.killAfterMs ?? 50_000);
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => {
    clearTimeout(killer);
    resolve(code ?? (signal ? 128 : 1));
  }));
  const plain = (since = 0) => stripColor(received.subarray(since).toString('utf8')).replace(/\r\n?/g, '\n');
  return {
    exited,
    plain,
    written: () => received.length,
    async waitFor(pattern, { since = 0, timeoutMs = 20_000 } = {}) {
      const deadline = performance.now() + timeoutMs;
      while (!pattern.test(plain(since))) {
        if (performance.now() > deadline) throw new Error(`${pattern} did not appear on the terminal in ${timeoutMs} ms; it wrote:\n${plain(since)}`);
        await sleep(20);
      }
    },
    async resize(size) {
      const program = programOf(child.pid!);
      if (!program) throw new Error('the program under script has exited');
      // Stopped, the program writes nothing while the size changes: once what it wrote before has come through,
      // the emulator resizes exactly between the bytes written for the old size and those for the new, as a
      // terminal resizes itself and the pty in one go. It also makes the harshest order likely: a redraw falls
      // due in the very turn of the event loop in which the program reads the SIGWINCH. (SIGSTOP, as SIGTSTP is
      // discarded in script's orphaned process group; script stops itself when its child stops, and continues it
      // when continued.)
      process.kill(program, 'SIGSTOP');
      for (let state = stateOf(program); state !== 'T'; state = stateOf(program)) {
        if (state === undefined || state === 'Z') throw new Error('the program under script exited before the resize');
        await sleep(5);
      }
      while (performance.now() - lastData < 50) await sleep(10);
      stream.push({ resize: size });
      // Two ioctls, two SIGWINCHs, both pending until the program goes on: it reads the new size once.
      await exec('stty', ['-F', fs.readlinkSync(`/proc/${program}/fd/0`), 'cols', String(size.columns), 'rows', String(size.rows)]);
      child.kill('SIGCONT');
      process.kill(program, 'SIGCONT'); // for a script that does not continue it
    },
    interrupt() {
      child.stdin.write('\x03');
    },
    async screen() {
      await exited;
      return replay(stream, options.size);
    },
    screenAtResize(index) {
      const at = stream.filter((item) => 'resize' in item)[index];
      if (!at) throw new Error(`there was no resize ${index}`);
      return replay(stream.slice(0, stream.indexOf(at) + 1), options.size);
    },
  };
}

/** The process `script` runs the command in (the shell, which exec'd the program). */
function programOf(scriptPid: number): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && statOf(Number(entry))?.[1] === String(scriptPid)) return Number(entry);
  }
  return undefined;
}

/** A process's state: R running, S sleeping, T stopped… */
function stateOf(pid: number): string | undefined {
  return statOf(pid)?.[0];
}

/** The fields of /proc/PID/stat after the command name (which is in parentheses and may hold spaces): state, parent pid, … */
function statOf(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // it ended while we looked
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
