// Progress of long operations: on a terminal a live block redrawn in place;
// in a pipe or CI log, one timestamped line for each thing that changed.
import type { Writable } from 'node:stream';

export class Progress {
  private readonly out: Writable;
  private readonly tty: boolean;
  private previous = new Map<string, string>();
  private drawnLines = 0;

  constructor(out: Writable, tty: boolean) {
    this.out = out;
    this.tty = tty;
  }

  /** The current state, one line per thing, keyed by what it is. */
  show(lines: Map<string, string>): void {
    if (this.tty) {
      const text = [...lines.values()].join('\n');
      this.out.write(`${this.drawnLines ? `\x1b[${this.drawnLines}A\r\x1b[J` : ''}${text}\n`);
      this.drawnLines = lines.size;
    } else {
      const stamp = new Date().toISOString().slice(11, 19);
      for (const [key, line] of lines) if (this.previous.get(key) !== line) this.out.write(`${stamp} ${line}\n`);
    }
    this.previous = lines;
  }

  /** A one-off message, kept above the live block. */
  note(message: string): void {
    if (this.tty && this.drawnLines) {
      this.out.write(`\x1b[${this.drawnLines}A\r\x1b[J`);
      this.drawnLines = 0;
    }
    this.out.write(this.tty ? `${message}\n` : `${new Date().toISOString().slice(11, 19)} ${message}\n`);
  }

  /** Leaves the last live block on screen as it is. */
  finish(): void {
    this.drawnLines = 0;
  }
}
