// connectivity's progress in a pipe (a CI log): a time-stamped line per object
// and per phase, a count only when it moved by a tenth, so 2,000 nodes log a
// few dozen lines; and, for a --timeout, what was still running.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { ProbeResult } from '../../src/calico/connectivity/probe.ts';
import { connectCommand, type Probe } from '../../src/calico/connectivity/scenarios.ts';
import { palette } from '../../src/print/color.ts';
import { ConnectivityProgress } from '../../src/print/connectivity-progress.ts';

function pipe(): { out: PassThrough; lines: () => string[] } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { out, lines: () => text.split('\n').filter(Boolean).map((l) => l.replace(/^\d\d:\d\d:\d\d /, '')) };
}

const probe = (i: number): Probe => ({
  scenario: 'pod-to-pod-cross-node',
  from: { pod: `client-${i}`, node: `node-${i}`, ip: '10.0.0.2', host: false },
  to: { kind: 'pod', pod: `echo-${i + 1}`, node: `node-${i + 1}`, ip: '10.0.1.1', port: 9376 },
  expect: 'connect',
  command: connectCommand('10.0.1.1', 9376, 2),
  timeoutSeconds: 2,
});

test('2,000 nodes in a pipe: objects and phases as they come, counts by tenths; a --timeout names what was in flight', () => {
  const { out, lines } = pipe();
  const progress = new ConnectivityProgress(out, false, palette(false), 'calico-connectivity');
  progress.phase('deploying');
  progress.log('namespace/calico-connectivity created');
  for (let ready = 0; ready <= 4002; ready++) progress.pods(ready, 4002, () => []);
  progress.phase('probing');
  progress.planned(4100);
  const probes = Array.from({ length: 4100 }, (_, i) => probe(i));
  const done = (p: Probe, i: number) => progress.done({ ...p, result: i % 100 === 0 ? 'FAIL' : 'PASS', detail: 'TIMEOUT', attempts: 1, seconds: 1 } as ProbeResult, p);
  probes.forEach((p, i) => {
    progress.start(p);
    if (i % 1000 !== 7) done(p, i);
  });
  assert.equal(progress.running(), 'probing, 4095/4100 probes done; in flight: pod-to-pod-cross-node node-7 -> node-8 and 4 more');
  probes.forEach((p, i) => i % 1000 === 7 && done(p, i));
  progress.finish();
  const logged = lines();
  assert.deepEqual(logged.slice(0, 4), ['deploying', 'namespace/calico-connectivity created', 'pods: 0/4002 ready', 'pods: 401/4002 ready']);
  assert.equal(logged.filter((l) => l.startsWith('pods: ')).length, 11);
  assert.equal(logged.at(-1), 'probes: 4100/4100 done, 41 failed');
  assert.ok(logged.length <= 30, `${logged.length} lines`);
});

test('a --timeout while deploying names the first pod not ready', () => {
  const { out } = pipe();
  const progress = new ConnectivityProgress(out, false, palette(false), 'calico-connectivity');
  progress.phase('deploying');
  assert.equal(progress.running(), 'deploying (writing the namespace and the workload)');
  progress.pods(3, 8, () => [{ pod: 'echo-abc', node: 'node-2', component: 'echo', reason: 'ContainerCreating', message: 'pulling image' }, { pod: 'client-def', node: 'node-2', component: 'client', reason: 'ContainerCreating', message: 'pulling image' }]);
  assert.equal(progress.running(), 'deploying, 3/8 pods ready; not ready: echo-abc on node-2: ContainerCreating: pulling image (and 1 more)');
});
