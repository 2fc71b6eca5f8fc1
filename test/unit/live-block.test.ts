// LiveBlock as a person sees it: its bytes go into xterm.js (the emulator
// behind VS Code's terminal), and the tests read the emulator's buffer,
// scrollback included. A fake terminal stream stands in for a TTY: its size
// changes with resize(), which emits 'resize' as Node does on SIGWINCH, and
// it reads the size the terminal has now with _refreshSize(), as Node's does.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import stringWidth from 'string-width';
import { LiveBlock } from '../../src/print/progress.ts';
import { replay, type Contents, type Size, type Stream } from '../terminal.ts';

class FakeTerminal extends Writable {
  readonly isTTY = true;
  columns: number;
  rows: number;
  writes = 0;
  private readonly initial: Size;
  private readonly stream: Stream = [];
  /** The size the terminal gave the pty, which the stream has not read yet. */
  private pending: Size | undefined;

  constructor(size: Size) {
    super();
    this.initial = size;
    this.columns = size.columns;
    this.rows = size.rows;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.stream.push({ bytes: chunk });
    this.writes++;
    done();
  }

  /** The terminal resizes (and re-wraps), then Node handles the SIGWINCH. */
  resize(size: Size): void {
    this.resizeTerminal(size);
    this.sigwinch();
  }

  /** The terminal resizes and tells the pty; Node has not handled the SIGWINCH yet, so the stream's size is the old one. */
  resizeTerminal(size: Size): void {
    this.stream.push({ resize: size });
    this.pending = size;
  }

  /** Node handles the SIGWINCH: the stream takes the new size and emits 'resize'. */
  sigwinch(): void {
    this._refreshSize();
  }

  /** As tty.WriteStream's: reads the pty's size now, and emits 'resize' when it changed. */
  _refreshSize(): void {
    if (!this.pending) return;
    this.columns = this.pending.columns;
    this.rows = this.pending.rows;
    this.pending = undefined;
    this.emit('resize');
  }

  /** No pty turns `\n` into `\r\n` here (the e2e tests' pty does, with onlcr), so the emulator does it. */
  contents(): Promise<Contents> {
    return replay(this.stream, this.initial, { convertEol: true });
  }
}

/**
 * Redraws are rate-limited by performance.now() and a timer, then wait for the end of the event loop's turn
 * (setImmediate): `tick` moves the clock and fires the timers due, `later` also lets that turn end. The
 * emulator parses on real timers, so `stop` comes before reading the terminal's contents.
 */
function fakeClock(t: TestContext): { tick(ms: number): void; later(ms?: number): Promise<void>; stop(): void } {
  let now = 1_000;
  t.mock.method(performance, 'now', () => now);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const tick = (ms: number) => {
    now += ms;
    t.mock.timers.tick(ms);
  };
  return {
    tick,
    async later(ms = 100) {
      tick(ms);
      await new Promise((resolve) => setImmediate(resolve));
    },
    stop: () => t.mock.timers.reset(),
  };
}

/** The texts of the rows, and that none of them continues the row above (nothing went past the width). */
function texts(contents: Contents): string[] {
  const wrapped = contents.rows.filter((r) => r.wrapped);
  assert.deepEqual(wrapped, [], 'no row continues the row above');
  return contents.rows.map((r) => r.text);
}

const lines = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}`);

test('a block taller than the terminal shows rows − 1 lines, the last saying how many more, all on the screen', async () => {
  const term = new FakeTerminal({ columns: 80, rows: 24 });
  term.write('$ kubectl calico wait\n');
  new LiveBlock(term, () => lines(100, 'line')).finish();
  const contents = await term.contents();
  assert.deepEqual(texts(contents), ['$ kubectl calico wait', ...lines(22, 'line'), '… and 78 more lines']);
  // 23 rows and the cursor's: the block fills the 24-row screen from its first row, which is still on it.
  assert.equal(contents.top, 1);
});

test('lines wider than the terminal are cut with … by display width: CJK and emoji count two columns, colour codes none', async () => {
  const samples = [
    `\x1b[31m错误\x1b[39m: 节点 kubernetes-worker-01 上的容器镜像拉取失败，请检查镜像仓库的访问权限。${'重试'.repeat(20)}`,
    `🚀 calico-node ✅ ready 🎉 on every node, 🐢 slow ones: ${'🐢'.repeat(40)}`,
    `\x1b[32m${'x'.repeat(200)}\x1b[39m`,
    `a${'中'.repeat(100)}`,
  ];
  for (const columns of [20, 21, 39, 80, 81]) {
    const term = new FakeTerminal({ columns, rows: 24 });
    const block = new LiveBlock(term, () => samples);
    block.finish();
    const rows = (await term.contents()).rows;
    assert.deepEqual(rows.map((r) => r.wrapped), samples.map(() => false), `${columns} columns: no line wraps`);
    for (const row of rows) {
      assert.ok(row.text.endsWith('…'), `${columns} columns, cut with …: ${row.text}`);
      assert.ok(stringWidth(row.text) <= columns && stringWidth(row.text) >= columns - 1, `${columns} columns, the cut line fills the row: ${row.text}`);
    }
    assert.equal(rows[0]!.colored, '错误', 'the colour stays on the words it was on');
    assert.match(rows[2]!.colored, /^x+…?$/, 'a coloured line keeps its colour up to the cut');
  }
});

test('a line exactly as wide as the terminal, colour codes aside, is not cut', async () => {
  const term = new FakeTerminal({ columns: 30, rows: 10 });
  const exact = `\x1b[33m${'中'.repeat(10)}\x1b[39m${'x'.repeat(10)}`;
  new LiveBlock(term, () => [exact, 'next']).finish();
  assert.deepEqual(texts(await term.contents()), [`${'中'.repeat(10)}${'x'.repeat(10)}`, 'next']);
});

test('redrawn in place: 50 updates leave one block, showing the last state, below what was there before', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 60, rows: 20 });
  term.write('applied\n');
  let step = 0;
  const block = new LiveBlock(term, () => [`Waiting: step ${step}`, ...lines(step % 7, 'row'), 'end']);
  for (; step < 50; step++) {
    block.update();
    await clock.later();
  }
  block.finish();
  clock.stop();
  assert.deepEqual(texts(await term.contents()), ['applied', 'Waiting: step 50', 'row 1', 'end']);
});

test('at most one redraw per 100 ms: a burst of updates in one turn draws once at its end; a stream of them, every 100 ms', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 60, rows: 20 });
  let value = 0;
  const block = new LiveBlock(term, () => [`value ${value}`]);
  for (; value < 1000; value++) block.update();
  await clock.later(0);
  assert.equal(term.writes, 1, 'one draw for the burst');
  for (let i = 0; i < 9; i++) {
    value++;
    block.update();
    await clock.later(10);
  }
  assert.equal(term.writes, 1, 'updates every 10 ms: nothing more within 100 ms of the draw');
  await clock.later(10);
  assert.equal(term.writes, 2, 'the latest state, once, 100 ms after the last draw');
  await clock.later(1_000);
  assert.equal(term.writes, 2, 'no redraw without an update');
  clock.stop();
  assert.deepEqual(texts(await term.contents()), ['value 1009']);
});

test('an update that changes nothing on the block writes nothing', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 60, rows: 20 });
  let ready = 1;
  const block = new LiveBlock(term, () => ['Waiting for Calico', `${ready}/3 ready`]);
  block.update();
  for (let i = 0; i < 5; i++) {
    await clock.later();
    block.update();
  }
  await clock.later();
  assert.equal(term.writes, 1);
  ready = 2;
  block.update();
  await clock.later();
  assert.equal(term.writes, 2);
  clock.stop();
  assert.deepEqual(texts(await term.contents()), ['Waiting for Calico', '2/3 ready']);
});

test('finish() draws the final state once and leaves it: later output follows it, later resizes do not redraw it', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 40, rows: 20 });
  let state = 'starting';
  const block = new LiveBlock(term, () => ['Waiting for Calico', `state: ${state}`]);
  block.update();
  await clock.later();
  state = 'ready';
  block.update();
  block.finish();
  term.write('\nCalico is ready.\n');
  const writes = term.writes;
  term.resize({ columns: 20, rows: 10 });
  await clock.later();
  assert.equal(term.writes, writes, 'a resize after finish() writes nothing, nor an update() before it');
  state = 'changed after the end';
  block.update();
  await clock.later();
  block.finish();
  assert.equal(term.writes, writes, 'nor an update() or finish() after it');
  clock.stop();
  assert.deepEqual(texts(await term.contents()), ['Waiting for Calico', 'state: ready', '', 'Calico is ready.']);
});

test('narrowed: the terminal re-wraps the drawn lines (wide characters that do not fit a row start the next one); the redraw erases them all', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 60, rows: 24 });
  term.write('before\n');
  let columns = 60;
  const block = new LiveBlock(term, () => [`Waiting (${columns} columns)`, `a${'中'.repeat(9)}b`, 'x'.repeat(59), `${'🚀'.repeat(15)}!`, 'tail']);
  block.update();
  await clock.later();
  // At 10 columns `a中中中中中中中中中b` takes three rows (a+4, 5, b), not two (20 columns / 10).
  columns = 10;
  term.resize({ columns, rows: 24 });
  clock.stop();
  const narrowed = texts(await term.contents());
  assert.deepEqual(narrowed, ['before', 'Waiting (…', 'a中中中中…', 'xxxxxxxxx…', '🚀🚀🚀🚀…', 'tail']);
});

test('widened: the block is redrawn once with what now fits', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 30, rows: 10 });
  term.write('before\n');
  const block = new LiveBlock(term, () => ['Waiting', `${'word '.repeat(20)}end`, ...lines(20, 'line')]);
  block.update();
  await clock.later();
  term.resize({ columns: 120, rows: 40 });
  clock.stop();
  assert.deepEqual(texts(await term.contents()), ['before', 'Waiting', `${'word '.repeat(20)}end`, ...lines(20, 'line')]);
});

test('narrowed until the re-wrapped block is taller than the screen: only the rows the terminal pushed into the scrollback stay behind', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 40, rows: 20 });
  for (let i = 1; i <= 30; i++) term.write(`output ${i}\n`);
  let step = 0;
  const block = new LiveBlock(term, () => [`Waiting: step ${step}`, ...lines(8, 'line').map((l) => l.padEnd(38, '.'))]);
  block.update();
  await clock.later();
  clock.stop();
  const before = await term.contents();
  const blockTop = before.rows.findIndex((r) => r.text === 'Waiting: step 0');
  // 9 lines, 8 of them 38 columns wide: 17 rows at 20 columns, more than the 11 above the cursor of a 12-row screen.
  term.resize({ columns: 20, rows: 12 });
  step = 1;
  block.finish();
  const after = await term.contents();
  const pushedOut = after.rows.findIndex((r) => r.text === 'Waiting: step 1') - blockTop;
  assert.equal(pushedOut, 17 - 11, 'the rows above the screen stay: no program can erase the scrollback');
  assert.deepEqual(after.rows.slice(blockTop, blockTop + pushedOut).map((r) => r.text), ['Waiting: step 0', 'line 1..............', '..................', 'line 2..............', '..................', 'line 3..............']);
  assert.deepEqual(after.rows.slice(after.top).map((r) => r.text), ['Waiting: step 1', ...lines(8, 'line').map((l) => `${l.padEnd(19, '.')}…`)], 'the screen shows the block once, from its first row');
});

test('a redraw due when the terminal resized waits for the SIGWINCH of the same turn, and draws for the new width', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 60, rows: 20 });
  term.write('before\n');
  let step = 0;
  const block = new LiveBlock(term, () => [`Waiting: step ${step}`, 'x'.repeat(55), 'y'.repeat(55)]);
  block.update();
  await clock.later(0);
  step = 1;
  block.update();
  // The terminal narrows while that redraw waits for its time; in the turn its timer fires, Node reads the SIGWINCH.
  term.resizeTerminal({ columns: 20, rows: 20 });
  clock.tick(100);
  term.sigwinch();
  await clock.later(0);
  clock.stop();
  assert.deepEqual(texts(await term.contents()), ['before', 'Waiting: step 1', `${'x'.repeat(19)}…`, `${'y'.repeat(19)}…`]);
});

test('a draw in the turn the terminal resized, before Node handled the SIGWINCH (finish() after the event that ends a wait), is for the new size', async (t) => {
  const clock = fakeClock(t);
  const term = new FakeTerminal({ columns: 60, rows: 20 });
  term.write('before\n');
  let state = 'waiting';
  const block = new LiveBlock(term, () => [`Calico: ${state}`, 'x'.repeat(55), 'y'.repeat(55)]);
  block.update();
  await clock.later();
  term.resizeTerminal({ columns: 20, rows: 20 });
  state = 'ready';
  block.finish();
  const writes = term.writes;
  term.sigwinch();
  clock.stop();
  assert.equal(term.writes, writes, 'the SIGWINCH handled after finish() draws nothing more');
  assert.deepEqual(texts(await term.contents()), ['before', 'Calico: ready', `${'x'.repeat(19)}…`, `${'y'.repeat(19)}…`]);
});
