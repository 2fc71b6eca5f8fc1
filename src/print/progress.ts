// Progress of long operations. On a terminal, a live block redrawn in place
// that the terminal can hold: never taller than the screen (minus the
// cursor's row), every line cut to the screen's width so none wraps, at most
// ten redraws a second, redrawn after a resize, each draw for the size the
// terminal has at that moment. In a pipe or CI log, lines with a time stamp,
// written only when the caller has something new.
import type { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import cliTruncate from 'cli-truncate';
import stringWidth from 'string-width';

export interface Screen {
  columns: number;
  rows: number;
}

/** A terminal stream: what `process.stdout` is when it is a TTY. */
export interface Terminal extends Writable {
  columns?: number;
  rows?: number;
  isTTY?: boolean;
  /**
   * Node's tty.WriteStream (not in its documentation): reads the size from the kernel into columns and rows and
   * emits 'resize' when it changed. Node's SIGWINCH handler calls it, in the event loop's turn after the signal.
   */
  _refreshSize?(): void;
}

const MIN_INTERVAL_MS = 100;

export class LiveBlock {
  private readonly out: Terminal;
  private readonly render: (screen: Screen) => string[];
  /** The lines on screen now, as written, and the width they were cut for. */
  private drawn: string[] = [];
  private drawnColumns = 0;
  private lastDraw = 0;
  /** Cancels the draw update() scheduled. */
  private scheduled: (() => void) | undefined;
  /** In draw()'s own look at the size: the 'resize' it may emit needs no draw of its own. */
  private refreshing = false;
  /** finish() was called: the block stays as it is, below it is someone else's output. */
  private finished = false;
  private readonly onResize = () => {
    if (!this.refreshing) this.draw();
  };

  /** `render` is asked for the block's lines whenever it is drawn; it may give more than fit. */
  constructor(out: Terminal, render: (screen: Screen) => string[]) {
    this.out = out;
    this.render = render;
    out.on('resize', this.onResize);
  }

  /** Something changed: redraw soon, as the rate allows. Nothing once finished. */
  update(): void {
    if (this.scheduled || this.finished) return;
    // Drawn at the end of a turn of the event loop (setImmediate), after its I/O: a SIGWINCH that came by then
    // is handled first, and its redraw is the one draw. (Any draw reads the terminal's size itself: refreshSize().)
    let immediate: NodeJS.Immediate | undefined;
    const timer = setTimeout(() => (immediate = setImmediate(() => this.draw())), Math.max(0, this.lastDraw + MIN_INTERVAL_MS - performance.now()));
    this.scheduled = () => {
      clearTimeout(timer);
      clearImmediate(immediate);
    };
  }

  /**
   * Draws the final state once more and leaves it on screen. An update() after it (a caller's read that ends
   * after the wait did) draws nothing: a draw then would erase nothing, and show the block twice.
   */
  finish(): void {
    if (this.finished) return;
    this.draw();
    this.finished = true;
    this.out.off('resize', this.onResize);
    this.drawn = [];
  }

  private draw(): void {
    this.scheduled?.();
    this.scheduled = undefined;
    this.lastDraw = performance.now();
    this.refreshSize();
    const screen = screenOf(this.out);
    const lines = fit(this.render(screen), screen);
    if (screen.columns === this.drawnColumns && lines.length === this.drawn.length && lines.every((line, i) => line === this.drawn[i])) return;
    this.out.write(`${this.erase()}${lines.join('\n')}${lines.length ? '\n' : ''}`);
    this.drawn = lines;
    this.drawnColumns = screen.columns;
  }

  /**
   * The terminal's size now, not as of the last SIGWINCH handled: it may have resized since, its SIGWINCH still
   * behind this draw in the event loop (read in the same turn as the watch event that finishes a wait, say). A
   * draw for the old size would erase by the old width, short of the rows the terminal re-wrapped.
   */
  private refreshSize(): void {
    if (this.out.isTTY !== true || !this.out._refreshSize) return;
    this.refreshing = true;
    try {
      this.out._refreshSize();
    } catch {
      // A size it cannot read ('error' with no listener): draw for the one it has.
    } finally {
      this.refreshing = false;
    }
  }

  /** Moves the cursor back to the first row of the block and clears from there. */
  private erase(): string {
    if (this.drawn.length === 0) return '';
    const columns = screenOf(this.out).columns;
    // A terminal narrowed since the last draw has re-wrapped the lines that no longer fit (xterm, VTE, tmux do).
    const rows = columns < this.drawnColumns ? this.drawn.reduce((sum, line) => sum + rowsOf(line, columns), 0) : this.drawn.length;
    return `\x1b[${rows}A\r\x1b[J`;
  }
}

const graphemes = new Intl.Segmenter();

/**
 * The rows `line` takes when a terminal `columns` wide wraps it. A wide character that does not fit in a row's
 * last column starts the next row (xterm.js, VTE), so this can be more than the width divided by `columns`.
 */
function rowsOf(line: string, columns: number): number {
  let rows = 1;
  let used = 0;
  for (const { segment } of graphemes.segment(stripVTControlCharacters(line))) {
    const width = stringWidth(segment);
    if (used + width > columns) {
      rows++;
      used = 0;
    }
    used += width;
  }
  return rows;
}

export function screenOf(out: Terminal): Screen {
  return { columns: out.columns || 80, rows: out.rows || 24 };
}

/** At most rows − 1 lines (the cursor's row stays free), each cut to the width with `…`. */
export function fit(lines: string[], screen: Screen): string[] {
  const room = Math.max(1, screen.rows - 1);
  const kept = lines.length > room ? [...lines.slice(0, room - 1), `… and ${lines.length - room + 1} more lines`] : lines;
  return kept.map((line) => (stringWidth(line) > screen.columns ? cliTruncate(line, screen.columns, { position: 'end' }) : line));
}

/** A line for a log: `12:03:04 text`. */
export function stamped(text: string): string {
  return `${new Date().toISOString().slice(11, 19)} ${text}\n`;
}
