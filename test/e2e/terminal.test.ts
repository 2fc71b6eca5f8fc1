// What a person sees when wait, apply --wait and status -w run on a
// terminal: the built binary, reached through kubectl, runs in a real
// pseudo-terminal (test/terminal.ts), and its bytes are replayed into xterm.js
// at 80×24 and 150×45, with resizes mid-run. The tests read the emulator's
// whole buffer, scrollback included: the live block shows once, in its last
// state, no line of it went past the width, and what follows it follows once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterOptions } from '../cluster/cluster.ts';
import { initialized, kubectl, withCluster } from '../helpers.ts';
import { startInTerminal, type Contents, type Row, type Session, type Size } from '../terminal.ts';

/** The clusters' size: many nodes make long Pending messages (`0/N nodes are available: …`) and big problem groups. */
const CLUSTER: ClusterOptions = { nodes: 50 };
const SMALL: Size = { columns: 80, rows: 24 };
const LARGE: Size = { columns: 150, rows: 45 };
/** For the waits that end ready: far more than they take on a busy machine; a stuck one still says what is stuck. */
const WAIT_TIMEOUT = '90s';

const BLOCK_START = /^Waiting for Calico: (\d+) of (\d+) ready \(\d+s\)$/;
/** A table's header row: the status summary's tables may share one. */
const HEADER = /^[A-Z][A-Z-]*( +[A-Z][A-Z-]*)*$/;

function dump(rows: Row[]): string {
  return rows.map((r) => `${r.wrapped ? '+' : '|'}${r.text}`).join('\n');
}

/** The rows joined into the lines they were written as: a wrapped row continues the one above. */
function lines(rows: Row[]): string[] {
  const joined: string[] = [];
  for (const row of rows) {
    if (row.wrapped && joined.length > 0) joined[joined.length - 1] += row.text;
    else joined.push(row.text);
  }
  return joined;
}

/** No line shows twice, but for empty lines and table headers; `only` are the lines that must show exactly once. */
function assertNoRepeats(rows: Row[], only: string[] = []): void {
  const counts = new Map<string, number>();
  for (const line of lines(rows)) counts.set(line, (counts.get(line) ?? 0) + 1);
  const repeated = [...counts].filter(([line, count]) => count > 1 && line !== '' && !HEADER.test(line)).map(([line]) => line);
  assert.deepEqual(repeated, [], `no line shows twice:\n${dump(rows)}`);
  for (const line of only) assert.equal(counts.get(line), 1, `"${line}" shows once:\n${dump(rows)}`);
}

/** The wait's live block as the buffer shows it: its one first line up to the empty line or error after it. */
function waitBlock(rows: Row[]): { start: number; end: number; ready: number; total: number } {
  const starts = rows.flatMap((row, i) => (row.text.startsWith('Waiting for Calico:') ? [i] : []));
  assert.equal(starts.length, 1, `the block shows once:\n${dump(rows)}`);
  const start = starts[0]!;
  const [, ready, total] = BLOCK_START.exec(rows[start]!.text) ?? assert.fail(`the block's first line: ${rows[start]!.text}`);
  let end = start + 1;
  while (end < rows.length && rows[end]!.text !== '' && !rows[end]!.text.startsWith('error: ')) end++;
  return { start, end, ready: Number(ready), total: Number(total) };
}

/**
 * The rows of the block drawn before the `index`th resize that the terminal, re-wrapping them for its new width,
 * pushed into the scrollback, where no program can erase them (none when the re-wrapped block fits the screen).
 * They are checked to be the top of that block and left out of the buffer returned.
 */
async function withoutPushedOut(session: Session, contents: Contents, index: number): Promise<{ rows: Row[]; pushedOut: number }> {
  const at = await session.screenAtResize(index);
  const blockTop = at.rows.findLastIndex((r) => r.text.startsWith('Waiting for Calico:'));
  assert.ok(blockTop >= 0, `a block was on the screen at the resize:\n${dump(at.rows)}`);
  const pushedOut = Math.max(0, at.top - blockTop);
  assert.deepEqual(contents.rows.slice(blockTop, blockTop + pushedOut), at.rows.slice(blockTop, blockTop + pushedOut), 'what stays of the old block is what the terminal pushed out');
  return { rows: [...contents.rows.slice(0, blockTop), ...contents.rows.slice(blockTop + pushedOut)], pushedOut };
}

/** Asserts a wait that ended ready: the block once, all ready, then the status summary. */
function assertReady(rows: Row[], nodes: number, size: Size): void {
  const block = waitBlock(rows);
  assert.equal(block.ready, block.total, 'the block shows the last state: everything ready');
  const table = rows.slice(block.start + 2, block.end).map((r) => r.text);
  assert.deepEqual(table.filter((line) => !/^\S+ +((\d+)\/\2|Available)$/.test(line)), [], 'every row of the last block is ready, with no STATE');
  assert.ok(table.some((line) => new RegExp(`^nodes +${nodes}/${nodes}$`).test(line)), `the block counts the ${nodes} nodes`);
  // The status summary is kubectl's tables, uncut: at 80 columns some of its lines wrap, as kubectl get's do.
  assert.deepEqual(rows.slice(0, block.end).filter((r) => r.wrapped), [], `nothing up to the end of the block went past ${size.columns} columns:\n${dump(rows)}`);
  if (size.columns >= 150) assert.deepEqual(rows.filter((r) => r.wrapped), [], `nothing at all went past ${size.columns} columns`);
  const after = lines(rows.slice(block.end));
  assert.equal(after[0], '');
  assert.match(after[1]!, /^Calico is ready \(\d+\.\ds\)\.$/);
  assert.deepEqual(after.slice(2, 4), ['', 'Calico v3.29.0: Available'], 'the status summary follows the block');
  assert.equal(after.at(-1), `Nodes: ${nodes} Ready`);
  assertNoRepeats(rows, lines(rows.slice(block.start, block.end)));
}

/** A line of a block with a Pending pod's scheduling message (`0/N nodes are available: …`), cut with … at the width. */
const PENDING_CUT = /^.*Pending( \(\d+\))?: 0\/\d+ nodes .*…$/m;

/** The long lines were there to cut: some line of some redraw had a Pending message cut with … at the width. */
function assertLongPendingCut(session: Session, size: Size): void {
  const cut = PENDING_CUT.exec(session.plain())?.[0];
  assert.ok(cut, 'a Pending message was cut');
  assert.ok(cut.length <= size.columns, cut);
}

test('wait, apply --wait and status -w during a fresh install, at 80×24 and 150×45: each block shows once, in its last state', async (t) => {
  await withCluster(CLUSTER, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    const nodes = cluster.api.store.list('nodes').length;
    const status = startInTerminal(['kubectl', 'calico', 'status', '-w'], { env, size: SMALL });
    await status.waitFor(/^Calico: Not installed$/m);
    const wait = startInTerminal(['kubectl', 'calico', 'wait', '--timeout', WAIT_TIMEOUT], { env, size: SMALL });
    await wait.waitFor(/^Waiting for Calico:/m);
    // The nodes carry a taint that the control-plane pods (calico-kube-controllers, calico-apiserver) do not
    // tolerate: they stay Pending, with the scheduler's long message, until both blocks have shown it cut.
    const hold = 'example.com/hold';
    const tainted = await kubectl(['taint', 'nodes', '--all', `${hold}=:NoSchedule`], env);
    assert.equal(tainted.code, 0, tainted.stderr);
    const apply = startInTerminal(['kubectl', 'calico', 'apply', '--dir', dir, '--wait', '--timeout', WAIT_TIMEOUT], { env, size: LARGE });
    await Promise.all([wait, apply].map((session) => session.waitFor(PENDING_CUT)));
    const untainted = await kubectl(['taint', 'nodes', '--all', `${hold}:NoSchedule-`], env);
    assert.equal(untainted.code, 0, untainted.stderr);
    assert.equal(await apply.exited, 0, apply.plain());
    assert.equal(await wait.exited, 0, wait.plain());
    await status.waitFor(/^Calico v3\.29\.0: Available$/m);
    // At 24 rows the summary is cut (`… and N more lines`); at 45 it all fits, ending with the nodes.
    const resizedAt = await status.resize(LARGE);
    await status.waitFor(new RegExp(`^Nodes: ${nodes} Ready$`, 'm'), { since: resizedAt });
    status.interrupt();
    assert.equal(await status.exited, 130, status.plain());

    await t.test('wait at 80×24, started before the apply', async () => {
      assertLongPendingCut(wait, SMALL);
      assertReady((await wait.screen()).rows, nodes, SMALL);
    });
    await t.test('apply --wait at 150×45: the applied objects, the block, the summary', async () => {
      assertLongPendingCut(apply, LARGE);
      const rows = (await apply.screen()).rows;
      assertReady(rows, nodes, LARGE);
      assert.match(rows[0]!.text, /^customresourcedefinition\.apiextensions\.k8s\.io\/\S+ created$/);
      assert.equal(rows[waitBlock(rows).start - 1]!.text, 'apiserver.operator.tigera.io/default created', 'the block follows what apply wrote');
    });
    await t.test('status -w at 80×24 during the install, resized to 150×45, stopped with Ctrl-C', async () => {
      const contents = await status.screen();
      // The terminal echoes the Ctrl-C below the block; finish() erases it only when it has something new to draw.
      const rows = contents.rows.at(-1)?.text === '^C' ? contents.rows.slice(0, -1) : contents.rows;
      assert.deepEqual(rows.filter((r) => r.wrapped), [], `nothing went past the width:\n${dump(rows)}`);
      assert.equal(rows[0]!.text, 'Calico v3.29.0: Available', `the last state, drawn once from the first row:\n${dump(rows)}`);
      assert.equal(rows.at(-1)!.text, `Nodes: ${nodes} Ready`, 'redrawn for 45 rows: the whole summary, nothing cut');
      assert.deepEqual(rows.filter((r) => /^Calico|… and \d+ more lines$/.test(r.text)).map((r) => r.text), ['Calico v3.29.0: Available'], 'no earlier state (Not installed, Progressing) and no cut block left');
      assertNoRepeats(rows);
    });
  });
});

test('wait while calico-node cannot pull its image, resized 150×45 → 80×24 and 80×24 → 150×45, and with --timeout 15s', async (t) => {
  await withCluster({ ...CLUSTER, podFaults: { failingImages: ['calico/node:'] } }, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    const nodes = cluster.api.store.list('nodes').length;
    const wait = (size: Size, timeout: string) => startInTerminal(['kubectl', 'calico', 'wait', '--timeout', timeout], { env, size });
    const narrowed = wait(LARGE, WAIT_TIMEOUT);
    const widened = wait(SMALL, WAIT_TIMEOUT);
    await Promise.all([narrowed, widened].map((session) => session.waitFor(/^Waiting for Calico:/m)));
    const apply = await kubectl(['calico', 'apply', '--dir', dir], env);
    assert.equal(apply.code, 0, apply.stderr);
    const problem = /^ {2}daemonset\/calico-node: \d+ ImagePullBackOff: container calico-node cannot pull/m;
    await Promise.all([narrowed, widened].map((session) => session.waitFor(problem)));
    // Started once calico-node is stuck, which it stays until this wait has timed out: the last block has the
    // problem, with its message, once the wait has started and read the cluster within its 15 s (on a busy
    // machine the plugin alone can take 5 s to start).
    const timedOut = wait(SMALL, '15s');
    await narrowed.resize(SMALL);
    const widenedAt = await widened.resize(LARGE);
    // Redrawn at once for the new width, while nothing else changes: a line wider than 80 columns, cut at 150.
    await widened.waitFor(/^.{81,149}…$/m, { since: widenedAt });
    assert.equal(await timedOut.exited, 124, timedOut.plain());
    // The image can be pulled again: both waits end ready at their new sizes.
    cluster.runtime.faults.failingImages.length = 0;
    assert.equal(await narrowed.exited, 0, narrowed.plain());
    assert.equal(await widened.exited, 0, widened.plain());

    await t.test('150×45 → 80×24: the block redrawn at 80 columns; of the old one only what the terminal pushed into the scrollback stays', async (st) => {
      const { rows, pushedOut } = await withoutPushedOut(narrowed, await narrowed.screen(), 0);
      st.diagnostic(`150×45 → 80×24: ${pushedOut} rows of the old block were pushed into the scrollback by the terminal's re-wrap`);
      assertReady(rows, nodes, SMALL);
    });
    await t.test('80×24 → 150×45: the block redrawn once at 150 columns', async () => {
      const contents = await widened.screen();
      const { pushedOut } = await withoutPushedOut(widened, contents, 0);
      assert.equal(pushedOut, 0, 'a wider terminal re-wraps nothing');
      assertReady(contents.rows, nodes, LARGE);
      assert.equal(waitBlock(contents.rows).start, 0, 'the block is the first thing on the terminal');
    });
    await t.test('--timeout 15s at 80×24: the last block with the problem group, then the error, each once', async () => {
      const { rows } = await timedOut.screen();
      const block = waitBlock(rows);
      assert.ok(block.ready < block.total, 'the block shows the last state: not ready');
      const shown = rows.slice(block.start, block.end);
      assert.ok(shown.some((r) => problem.test(r.text) && r.text.endsWith('…')), `the problem group, cut at the width:\n${dump(shown)}`);
      assert.deepEqual(rows.slice(0, block.end).filter((r) => r.wrapped), [], `nothing up to the error went past 80 columns:\n${dump(rows)}`);
      // The error is for a log as much as for a person: it is not cut, and wraps.
      assert.match(rows[block.end]!.text, /^error: not ready after 15s \(--timeout\): /);
      assert.equal(lines(rows).at(-1), 'Run "kubectl calico doctor" to find the cause.');
      assertNoRepeats(rows, lines(shown));
    });
  });
});
