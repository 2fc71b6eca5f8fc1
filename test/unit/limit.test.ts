// mapLimit, the one bounded-concurrency helper: never more than `limit` at a
// time, results in order; a failure or an abort starts nothing new, lets what
// is in flight finish, and only then settles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapLimit } from '../../src/cli/limit.ts';

/** Work whose items finish when the test says so; it records what started and how many ran at once. */
function gated() {
  const started: number[] = [];
  const gates = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  let running = 0;
  let peak = 0;
  const work = (item: number) => new Promise<string>((resolve, reject) => {
    started.push(item);
    peak = Math.max(peak, ++running);
    gates.set(item, { resolve: (v) => { running--; resolve(v); }, reject: (e) => { running--; reject(e); } });
  });
  const tick = () => new Promise((r) => setImmediate(r));
  return { started, gates, work, tick, peak: () => peak, running: () => running };
}

test('at most `limit` at a time, every item once, results in the items\' order', async () => {
  const g = gated();
  const all = mapLimit([0, 1, 2, 3, 4, 5, 6], 3, g.work);
  // Finished out of order: each as soon as it has started.
  for (const i of [2, 0, 1, 5, 3, 4, 6]) {
    while (!g.gates.has(i)) await g.tick();
    assert.ok(g.running() <= 3);
    g.gates.get(i)!.resolve(`r${i}`);
  }
  assert.deepEqual(await all, ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
  assert.equal(g.peak(), 3);
  assert.deepEqual([...g.started].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(await mapLimit([], 4, g.work), []);
});

test('a failure starts nothing new, waits for the work in flight, then rejects with the first error', async () => {
  const g = gated();
  let settled = false;
  const all = mapLimit([0, 1, 2, 3, 4], 2, g.work).finally(() => (settled = true));
  await g.tick();
  g.gates.get(0)!.reject(new Error('forbidden'));
  await g.tick();
  assert.deepEqual(g.started, [0, 1], 'nothing after the failure started');
  assert.equal(settled, false, 'item 1 is still in flight');
  g.gates.get(1)!.reject(new Error('second'));
  await assert.rejects(all, /^Error: forbidden$/);
  assert.equal(g.running(), 0);
});

test('an abort starts nothing new and waits for the work in flight; it rejects with the reason, or with `unfinished` gives every result', async () => {
  for (const withUnfinished of [false, true]) {
    const g = gated();
    const controller = new AbortController();
    let settled = false;
    const all = mapLimit([0, 1, 2, 3], 2, g.work, { signal: controller.signal, ...(withUnfinished ? { unfinished: (i: number) => `not asked ${i}` } : {}) }).finally(() => (settled = true));
    await g.tick();
    g.gates.get(0)!.resolve('r0');
    await g.tick();
    controller.abort(new Error('interrupted by SIGINT'));
    await g.tick();
    assert.deepEqual(g.started, [0, 1, 2], 'nothing after the abort started');
    assert.equal(settled, false, 'items 1 and 2 are in flight');
    g.gates.get(1)!.resolve('r1');
    g.gates.get(2)!.reject(new Error('cut off'));
    if (withUnfinished) assert.deepEqual(await all, ['r0', 'r1', 'not asked 2', 'not asked 3']);
    else await assert.rejects(all, /^Error: interrupted by SIGINT$/);
    assert.equal(g.running(), 0);
  }
});
