// The probe runner on a long run: a policy probe repeated while the policy
// settles waits between its runs without leaving a listener on the run's
// signal each time (hundreds of them made Node warn of a leak on stderr),
// and an abort still stops a wait at once.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { runProbes, type Execute } from '../../src/calico/connectivity/probe.ts';
import { connectCommand, type Probe } from '../../src/calico/connectivity/scenarios.ts';

const probe = (i: number): Probe => ({
  scenario: 'ingress-default-deny',
  from: { pod: `client-${i}`, node: `node-${i}`, ip: `10.97.${i}.6`, host: false },
  to: { kind: 'pod', pod: `echo-${i}`, node: `node-${i}`, ip: `10.97.${i}.5`, port: 9376 },
  expect: 'blocked',
  command: connectCommand(`10.97.${i}.5`, 9376, 1),
  timeoutSeconds: 1,
});

/** The policy has not reached the node yet: the connection still opens. */
const notYet: Execute = async () => ({ exitCode: 0, stdout: '', stderr: '', droppedBytes: { stdout: 0, stderr: 0 } });

test('a policy probe waiting for the policy to settle leaves no listener on the run\'s signal, and Node warns of no leak', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const signal = new AbortController().signal;
    const probes = Array.from({ length: 40 }, (_, i) => probe(i));
    const results = await runProbes(notYet, probes, { signal, concurrency: 40, settleUntil: Date.now() + 1500 });
    assert.deepEqual(new Set(results.map((r) => `${r.result} ${r.detail} after ${r.attempts}`)), new Set(['FAIL connected: the policy did not block it after 2']));
    assert.equal(getEventListeners(signal, 'abort').length, 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.map((w) => w.message), []);
  } finally {
    process.off('warning', onWarning);
  }
});

test('an abort stops the wait between two runs at once', async (t) => {
  const controller = new AbortController();
  // The 1 s wait's timer never fires on mocked timers: only the abort can end the run.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const run = runProbes(notYet, [probe(1)], { signal: controller.signal, settleUntil: Date.now() + 60_000 });
  await new Promise((resolve) => setImmediate(resolve));
  controller.abort(new Error('interrupted by SIGINT'));
  await assert.rejects(run, /interrupted by SIGINT/);
});
