// The BGP reading after the probes, on a large cluster: BIRD is asked on 50
// nodes at most (whole failed pairs first), and the reading gives up in time
// for the report, keeping what the events said, instead of running the whole
// run past its --timeout with no report at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BGP_NODES, nodesToAskBgp, readBgpSessions, type DataplaneFacts } from '../../src/calico/connectivity/facts.ts';
import type { ProbeResult } from '../../src/calico/connectivity/probe.ts';
import { connectCommand } from '../../src/calico/connectivity/scenarios.ts';
import { KubeClient, type ClientSettings, type RawResponse } from '../../src/kube/client.ts';

const N = 2000;
const NODES = Array.from({ length: N }, (_, i) => `node-${String(i).padStart(4, '0')}`);

function facts(notReady: string[] = []): DataplaneFacts {
  return {
    pools: [],
    nodes: new Map(NODES.map((n, i) => [n, { name: n, internalIP: `192.168.${Math.floor(i / 250)}.${i % 250}`, subnet: '192.168.0.0/16' }])),
    calicoNodes: new Map(NODES.map((n, i) => [n, { pod: `calico-node-${i}`, ready: !notReady.includes(n), message: '' }])),
    bgpDown: new Map([['node-0001', new Set(['node-0002'])]]),
    coreDNS: { ready: 2, total: 2, problems: [], nodes: [] },
  };
}

const cross = (a: string, b: string, result: ProbeResult['result']): ProbeResult => ({
  scenario: 'pod-to-pod-cross-node',
  from: { pod: `client-${a}`, node: a, ip: '10.0.0.2', host: false },
  to: { kind: 'pod', pod: `echo-${b}`, node: b, ip: '10.0.1.1', port: 9376 },
  expect: 'connect',
  command: connectCommand('10.0.1.1', 9376, 2),
  timeoutSeconds: 2,
  result,
  detail: result === 'PASS' ? 'connected' : 'TIMEOUT',
  attempts: 1,
  seconds: 2,
});

test('every pair of 2,000 nodes failing: BIRD is asked on 50 nodes, whole pairs of them, and the rest counted', () => {
  const results = NODES.map((a, i) => cross(a, NODES[(i + 1) % N]!, 'FAIL'));
  const { nodes, wanted } = nodesToAskBgp(results, facts());
  assert.equal(wanted, N);
  assert.equal(nodes.length, BGP_NODES);
  assert.deepEqual(nodes.slice(0, 3), ['node-0000', 'node-0001', 'node-0002']);
  // Small clusters: every end of a failed pair, and the nodes whose calico-node is not Ready, as before.
  const few = nodesToAskBgp([cross('node-0003', 'node-0009', 'FAIL'), cross('node-0004', 'node-0005', 'PASS')], facts(['node-0042']));
  assert.deepEqual(few, { nodes: ['node-0003', 'node-0009', 'node-0042'], wanted: 3 });
});

/** An API server that never answers. */
class SilentKube extends KubeClient {
  constructor() {
    super({ server: 'https://silent.invalid', contextName: 'silent', userName: 'silent' } as ClientSettings);
  }
  override request(): Promise<RawResponse> {
    return new Promise(() => {});
  }
}

test('a reading that does not answer is left behind after its budget: the events\' word stands, and a Ctrl-C stops it at once', async () => {
  const f = facts();
  // The server never answers: only the budget can end this reading.
  const { unanswered } = await readBgpSessions(new SilentKube(), f, ['node-0001', 'node-0002'], new AbortController().signal, 300);
  assert.equal(unanswered, 2);
  assert.deepEqual([...f.bgpDown], [['node-0001', new Set(['node-0002'])]]);

  const interrupt = new AbortController();
  setTimeout(() => interrupt.abort(new Error('interrupted by SIGINT')), 50);
  // Within its 30 s budget the reading would end without an error: only the abort rejects it.
  await assert.rejects(readBgpSessions(new SilentKube(), f, ['node-0001'], interrupt.signal, 30_000), /interrupted by SIGINT/);
});
