// What a person sees on a terminal: runs a program in a real pseudo-terminal
// (`script` from util-linux, with `stty` setting the size inside it), keeps
// the raw bytes it writes, and replays them into xterm.js (the emulator behind
// VS Code's terminal) of the same size, resized at the same point of the byte
// stream as the pty was (resize() changes the pty's size from outside, with
// stty -F, which makes the kernel send SIGWINCH, and marks that point in the
// pty's own output). The result is the emulator's whole buffer, scrollback
// included.
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
  /**
   * Resizes the pty from outside, as a terminal window does: the kernel sends SIGWINCH to the program. Resolves,
   * once the emulator's stream has the resize in its place, with written() at that place: the bytes from there on
   * were written for the new size.
   */
  resize(size: Size): Promise<number>;
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
  const take = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    stream.push({ bytes });
    received = Buffer.concat([received, bytes]);
  };
  // The resize under way: the mark written into the pty's output where the size changed, not yet come through.
  let resizing: { mark: Buffer; size: Size; arrived: (at: number) => void } | undefined;
  let held = Buffer.alloc(0);
  child.stdout.on('data', (chunk: Buffer) => {
    if (!resizing) return take(chunk);
    held = Buffer.concat([held, chunk]);
    const at = held.indexOf(resizing.mark);
    if (at < 0) {
      // All but a tail that may be the start of the mark.
      const keep = Math.min(held.length, resizing.mark.length - 1);
      take(held.subarray(0, held.length - keep));
      held = held.subarray(held.length - keep);
      return;
    }
    const { mark, size, arrived } = resizing;
    resizing = undefined;
    take(held.subarray(0, at));
    stream.push({ resize: size });
    arrived(received.length);
    const rest = held.subarray(at + mark.length);
    held = Buffer.alloc(0);
    take(rest);
  });
  let resizes = 0;
  // A stuck program is killed before the test runner's limit, so the test reports what it saw.
  const killer = setTimeout(() => {
    const program = programOf(child.pid!);
    if (program) process.kill(program, 'SIGKILL');
    child.kill('SIGKILL');
  }, options.killAfterMs ?? 120_000);
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => {
    clearTimeout(killer);
    resolve(code ?? (signal ? 128 : 1));
  }));
  const plain = (since = 0) => stripColor(received.subarray(since).toString('utf8')).replace(/\r\n?/g, '\n');
  return {
    exited,
    plain,
    written: () => received.length,
    async waitFor(pattern, { since = 0, timeoutMs = 60_000 } = {}) {
      const deadline = performance.now() + timeoutMs;
      while (!pattern.test(plain(since))) {
        if (performance.now() > deadline) throw new Error(`${pattern} did not appear on the terminal in ${timeoutMs} ms; it wrote:\n${plain(since)}`);
        await sleep(20);
      }
    },
    async resize(size) {
      const program = programOf(child.pid!);
      if (!program) throw new Error('the program under script has exited');
      // The terminal's size changes between two bytes of the program's output, as a terminal resizes itself and
      // the pty in one go: the bytes written before are for the old size, those after for the new. So the program
      // is stopped (SIGSTOP, as SIGTSTP is discarded in script's orphaned process group) and writes nothing while
      // the size changes, and a mark written into the pty's output meanwhile comes through after everything it
      // wrote before, however far behind script is in copying it (script stops with its child, so no lull in the
      // output says it has all come through): the emulator resizes where the mark is.
      // The program is stopped in its event loop's wait, not in the middle of a draw: a frame worked out for the
      // old size and written after the resize is a race no program can win, on any terminal. Stopped there, with
      // the SIGWINCH pending, it makes the harshest order likely: a redraw falls due in the very turn of the event
      // loop in which the program reads the SIGWINCH.
      for (let attempt = 1; ; attempt++) {
        process.kill(program, 'SIGSTOP');
        await stopped(program, 'the program');
        // script stops itself when its child stops, and continues it when continued: continued before it had
        // stopped, it would stop after, for good.
        await stopped(child.pid!, 'script');
        if (waitingForEvents(program)) break;
        if (attempt === 1_000) throw new Error('the program was never found waiting in its event loop: is it busy?');
        child.kill('SIGCONT');
        // Going on when script has continued it, not before: stopped again first, script would continue it after.
        while (stateOf(program) === 'T') await sleep(1);
        await sleep(5);
      }
      const tty = fs.readlinkSync(`/proc/${program}/fd/0`);
      const mark = Buffer.from(`\x1b]7777;kubectl-calico-test resize ${++resizes}\x07`); // an OSC no terminal acts on; taken out of the stream
      const arrived = new Promise<number>((resolve) => (resizing = { mark, size, arrived: resolve }));
      const fd = fs.openSync(tty, fs.constants.O_WRONLY | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
      try {
        if (fs.writeSync(fd, mark) !== mark.length) throw new Error('the resize mark did not fit in the pty');
      } finally {
        fs.closeSync(fd);
      }
      // Two ioctls, two SIGWINCHs, both pending until the program goes on: it reads the new size once.
      await exec('stty', ['-F', tty, 'cols', String(size.columns), 'rows', String(size.rows)]);
      child.kill('SIGCONT');
      return Promise.race([arrived, exited.then(() => {
        throw new Error(`the program exited before the resize to ${size.columns}×${size.rows} came through`);
      })]);
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

/** Waits until `pid` is stopped (state T); fails if it ended. */
async function stopped(pid: number, what: string): Promise<void> {
  for (let state = stateOf(pid); state !== 'T'; state = stateOf(pid)) {
    if (state === undefined || state === 'Z') throw new Error(`${what} exited before the resize`);
    await sleep(5);
  }
}

/** epoll_wait, epoll_pwait and epoll_pwait2: where libuv's event loop waits (the main thread's system call numbers). */
const EPOLL_WAITS: Record<string, number[]> = { x64: [232, 281, 441], arm64: [22, 441] };

/** Whether stopped `pid` (its main thread, where JavaScript runs) was in its event loop's wait: /proc/PID/syscall. */
function waitingForEvents(pid: number): boolean {
  const syscalls = EPOLL_WAITS[process.arch];
  if (!syscalls) throw new Error(`the epoll system calls' numbers on ${process.arch} are not known here`);
  try {
    return syscalls.includes(Number(fs.readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ')[0]));
  } catch {
    return false; // it ended while we looked: the caller finds out
  }
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
