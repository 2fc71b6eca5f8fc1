// connectivity on a terminal (a real pty replayed into xterm.js at 80×24,
// test/terminal.ts): its live block shows once, in its last state, never
// wider than the screen, and the report follows it once; Ctrl-C typed on the
// terminal cleans up and says so under the block.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanEnv, withCluster, BINARY } from '../helpers.ts';
import { leftovers, TIMEOUT } from '../connectivity.ts';
import { startInTerminal, type Row } from '../terminal.ts';

const SIZE = { columns: 80, rows: 24 };
const BLOCK = /^Testing connectivity in namespace calico-connectivity \(\d+s\): /;

function dump(rows: Row[]): string {
  return rows.map((r) => `${r.wrapped ? '+' : '|'}${r.text}`).join('\n');
}

test('on a terminal: the live block once, in its last state and within the width, then the report; Ctrl-C cleans up under it', async () => {
  await withCluster({ calico: 'v3.29.0' }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const session = startInTerminal([BINARY, 'connectivity', ...TIMEOUT], { env, size: SIZE });
    assert.equal(await session.exited, 0, session.plain());
    const { rows } = await session.screen();
    const starts = rows.flatMap((row, i) => (BLOCK.test(row.text) ? [i] : []));
    assert.equal(starts.length, 1, `the block shows once:\n${dump(rows)}`);
    const start = starts[0]!;
    assert.match(rows[start]!.text, /: cleaning up$/, 'the last state: cleaning up');
    const block = rows.slice(start, rows.findIndex((r, i) => i > start && r.text === ''));
    assert.ok(block.some((r) => /^ {2}probes: (\d+)\/\1 done, 0 failed$/.test(r.text)), dump(block));
    assert.deepEqual(block.filter((r) => r.wrapped || r.text.length > SIZE.columns), [], `no line of the block went past ${SIZE.columns} columns:\n${dump(rows)}`);
    const after = rows.slice(start + block.length);
    assert.equal(after[0]!.text, '');
    assert.match(after[1]!.text, /^SCENARIO +FROM/);
    assert.match(after.at(-1)!.text, /^Cleaned up: namespace calico-connectivity deleted\.$/);
    assert.equal(rows.filter((r) => /^SCENARIO +FROM/.test(r.text)).length, 1, 'the report shows once');

    const interrupted = startInTerminal([BINARY, 'connectivity', ...TIMEOUT], { env, size: SIZE });
    await interrupted.waitFor(/probes: \d+\/\d+ done/);
    interrupted.interrupt();
    assert.equal(await interrupted.exited, 130);
    const screen = (await interrupted.screen()).rows.map((r) => r.text);
    assert.equal(screen.filter((line) => BLOCK.test(line)).length, 1, screen.join('\n'));
    assert.deepEqual(screen.slice(-2), ['error: interrupted by SIGINT', 'Everything the test created was removed (namespace calico-connectivity).']);
    assert.deepEqual(leftovers(cluster), []);
  });
});
