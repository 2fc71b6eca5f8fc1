// When connectivity stops waiting for its pods: a pod with its network set
// up but its container not started is pulling the image — a first run pulls
// on every node at once, for minutes — and is waited for (it used to be
// given 20 s, failing the run with "no connectivity pod became ready");
// nodes whose pods come up in waves with gaps of more than 20 s are all
// probed; a pod that gets no network (a CNI that fails) is left out 20 s
// after the last pod moved, named with why; a failing pull does not hold
// the rest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodTracker, PULL_MS, STALL_MS } from '../../src/calico/connectivity/workload.ts';
import type { Pod } from '../../src/calico/pods.ts';

const IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
const NODES = Array.from({ length: 1000 }, (_, i) => `node-${String(i).padStart(4, '0')}`);
const HOSTS = NODES.slice(0, 2);

/** Where a pod is on its way: no sandbox yet, pulling (sandbox and IP, container waiting), Ready, or failing its pull. */
type State = 'no-network' | 'pulling' | 'ready' | 'pull-failed';

function pod(component: 'echo' | 'client' | 'host', node: string, state: State): Pod {
  const waiting = state === 'ready' ? undefined : state === 'pull-failed' ? { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } : { reason: 'ContainerCreating' };
  return {
    metadata: { name: `${component}-${node}`, namespace: 'calico-connectivity', labels: { 'app.kubernetes.io/name': 'calico-connectivity', 'app.kubernetes.io/component': component } },
    spec: { nodeName: node, containers: [{ name: 'agnhost', image: IMAGE }] },
    status: {
      phase: state === 'ready' ? 'Running' : 'Pending',
      ...(state === 'no-network' ? {} : { podIP: '10.97.0.5' }),
      conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: state === 'ready' ? 'True' : 'False' }],
      containerStatuses: [{ name: 'agnhost', image: IMAGE, ready: state === 'ready', state: waiting ? { waiting } : { running: {} } }],
    } as Pod['status'],
  };
}

function cluster() {
  let now = 0;
  const tracker = new PodTracker({ namespace: 'calico-connectivity', image: IMAGE, nodeNames: undefined, selector: [], nodes: NODES, hostNodes: HOSTS }, () => now);
  const set = (nodes: string[], state: State, hosts = false) => {
    for (const node of nodes) for (const component of hosts ? ['host'] as const : ['echo', 'client'] as const) tracker.update({ type: 'MODIFIED', object: pod(component, node, state) });
  };
  return { tracker, set, at: (ms: number) => void (now = ms) };
}

test('a first run: every node pulls the image for two and a half minutes, nothing changes meanwhile, and every pod is waited for', () => {
  const { tracker, set, at } = cluster();
  set(NODES, 'no-network');
  set(HOSTS, 'no-network', true);
  at(1000);
  set(NODES, 'pulling');
  set(HOSTS, 'pulling', true);
  at(150_000);
  assert.equal(tracker.settled(), false, '150 s without a change: still pulling');
  set(NODES, 'ready');
  set(HOSTS, 'ready', true);
  assert.equal(tracker.readyCount(), 2002);
  assert.equal(tracker.settled(), true);
});

test('a pull that never ends is given up after PULL_MS; pods that never get their network 20 s after the last move', () => {
  const { tracker, set, at } = cluster();
  set(NODES, 'pulling');
  set(HOSTS, 'pulling', true);
  at(PULL_MS - 1);
  assert.equal(tracker.settled(), false);
  at(PULL_MS);
  assert.equal(tracker.settled(), true);
  assert.deepEqual(tracker.notReady()[0], { pod: 'echo-node-0000', node: 'node-0000', component: 'echo', reason: 'ContainerCreating', message: 'starting' });

  const broken = cluster();
  broken.set(NODES, 'no-network');
  broken.set(HOSTS, 'no-network', true);
  broken.at(STALL_MS - 1);
  assert.equal(broken.tracker.settled(), false);
  broken.at(STALL_MS);
  assert.equal(broken.tracker.settled(), true, 'no pod got its network: the CNI fails everywhere, said 20 s on');
});

test('pods Ready in waves 25 s apart, pulling meanwhile: every wave is probed; a node without network is left out, named', () => {
  const { tracker, set, at } = cluster();
  set(HOSTS, 'ready', true);
  set(NODES, 'pulling');
  set(NODES.slice(999), 'no-network');
  for (let wave = 0; wave < 7; wave++) {
    at(wave * 25_000 + 24_999);
    assert.equal(tracker.settled(), false, `wave ${wave}`);
    at((wave + 1) * 25_000);
    set(NODES.slice(wave * 143, Math.min(999, (wave + 1) * 143)), 'ready');
  }
  at(175_000 + STALL_MS - 1);
  assert.equal(tracker.settled(), false);
  at(175_000 + STALL_MS);
  assert.equal(tracker.settled(), true);
  assert.deepEqual(tracker.notReady().map((p) => `${p.pod}: ${p.reason}`), ['echo-node-0999: ContainerCreating', 'client-node-0999: ContainerCreating']);
});

test('a pull that keeps failing does not hold the wait open', () => {
  const { tracker, set, at } = cluster();
  set(HOSTS, 'ready', true);
  set(NODES.slice(0, 998), 'ready');
  set(NODES.slice(998, 999), 'no-network');
  for (let s = 1; s <= STALL_MS / 1000; s++) {
    at(s * 1000);
    set(NODES.slice(999), 'pull-failed');
  }
  assert.equal(tracker.settled(), true, `${STALL_MS / 1000} s since node-0998's pods last moved; node-0999's pull fails again and again`);
  assert.deepEqual(tracker.notReady().map((p) => p.reason), ['ContainerCreating', 'ContainerCreating', 'ImagePullBackOff', 'ImagePullBackOff']);
});
