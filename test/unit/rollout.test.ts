// The rollout model behind wait and status -w, fed the watch events a 2,000-node
// install produces: what it logs (a line when a count moves by a tenth, never a
// line per pod), when a start-up state becomes a problem, and what it reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rollout } from '../../src/calico/rollout.ts';
import type { Change, KubeObjectLike } from '../../src/kube/watch.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const CNI = 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';

/** A node as the server's table row streams it (`kubectl get nodes -o wide -w`). */
function node(name: string, ready: boolean): KubeObjectLike {
  return { metadata: { name }, cells: { Name: name, Status: ready ? 'Ready' : 'NotReady', Roles: '<none>', Age: '1m', Version: 'v1.31.3' } } as unknown as KubeObjectLike;
}

/** A pod as the server's table row streams it (`kubectl get pods -o wide -w`): metadata and cells. */
function pod(name: string, owner: { kind: string; name: string }, nodeName: string | undefined, state: 'creating' | 'ready' | 'pull' | 'backoff' | 'pending', since: number, labels: Record<string, string> = {}): KubeObjectLike {
  const status = { creating: 'ContainerCreating', ready: 'Running', pull: 'ErrImagePull', backoff: 'ImagePullBackOff', pending: 'Pending' }[state];
  return {
    metadata: { name, namespace: 'calico-system', creationTimestamp: at(since), labels, ownerReferences: [{ ...owner, controller: true }] },
    cells: { Name: name, Ready: state === 'ready' ? '1/1' : '0/1', Status: status, Restarts: 0, Age: '1s', IP: '', Node: nodeName ?? '<none>', 'Nominated Node': '<none>', 'Readiness Gates': '<none>' },
  } as unknown as KubeObjectLike;
}

function daemonSet(name: string, desired: number, ready: number): KubeObjectLike {
  return { metadata: { name }, status: { desiredNumberScheduled: desired, numberReady: ready, updatedNumberScheduled: desired, numberAvailable: ready } } as KubeObjectLike;
}

function deployment(name: string, replicas: number, ready: number): KubeObjectLike {
  return { metadata: { name }, spec: { replicas }, status: { readyReplicas: ready, updatedReplicas: replicas, availableReplicas: ready } } as KubeObjectLike;
}

function status(name: string, state: 'Available' | 'Progressing' | 'Degraded', message = ''): KubeObjectLike {
  return { metadata: { name }, status: { conditions: ['Available', 'Progressing', 'Degraded'].map((type) => ({ type, status: type === state ? 'True' : 'False', message: type === state ? message : '' })) } } as KubeObjectLike;
}

const added = (object: KubeObjectLike): Change<KubeObjectLike> => ({ type: 'ADDED', object });
const modified = (object: KubeObjectLike): Change<KubeObjectLike> => ({ type: 'MODIFIED', object });

test('a 2,000-node install, event by event: under 300 log lines, every count logged at its tenths, done at the end', () => {
  let now = T0;
  const rollout = new Rollout('all', undefined, () => now);
  const nodes = Array.from({ length: 2000 }, (_, i) => `worker-${String(i).padStart(4, '0')}`);
  const lines: string[] = [];
  const flush = () => lines.push(...rollout.log());
  rollout.apply('deployments', added(deployment('tigera-operator', 1, 1)));
  rollout.apply('operator', added(pod('tigera-operator-abc', { kind: 'ReplicaSet', name: 'tigera-operator-5d8f' }, nodes[0], 'ready', 0, { name: 'tigera-operator' })));
  for (const name of nodes) rollout.apply('nodes', added(node(name, false)));
  rollout.apply('statuses', added(status('calico', 'Progressing', 'DaemonSet "calico-system/calico-node" is not available (awaiting 2000 nodes)')));
  rollout.apply('deployments', added(deployment('calico-kube-controllers', 1, 0)));
  rollout.apply('pods', added(pod('calico-kube-controllers-x', { kind: 'ReplicaSet', name: 'calico-kube-controllers-7f8c' }, undefined, 'pending', 0)));
  flush();
  let events = 0;
  // Every calico-node pod comes, starts, turns Ready, and its node follows; the TigeraStatus message counts down.
  for (const [i, name] of nodes.entries()) {
    now += 10;
    const p = `calico-node-${i}`;
    rollout.apply('pods', added(pod(p, { kind: 'DaemonSet', name: 'calico-node' }, name, 'creating', now - T0, { 'k8s-app': 'calico-node' })));
    rollout.apply('pods', modified(pod(p, { kind: 'DaemonSet', name: 'calico-node' }, name, 'ready', now - T0, { 'k8s-app': 'calico-node' })));
    rollout.apply('nodes', modified(node(name, true)));
    rollout.apply('daemonsets', modified(daemonSet('calico-node', 2000, i + 1)));
    rollout.apply('statuses', modified(status('calico', 'Progressing', `DaemonSet "calico-system/calico-node" is not available (awaiting ${1999 - i} nodes)`)));
    events += 5;
    if (i % 7 === 0) flush();
  }
  rollout.apply('pods', modified(pod('calico-kube-controllers-x', { kind: 'ReplicaSet', name: 'calico-kube-controllers-7f8c' }, nodes[1], 'ready', now - T0)));
  rollout.apply('deployments', modified(deployment('calico-kube-controllers', 1, 1)));
  assert.equal(rollout.done(), false, 'not done while a TigeraStatus is Progressing');
  rollout.apply('statuses', modified(status('calico', 'Available')));
  flush();
  assert.equal(rollout.done(), true);
  assert.ok(events >= 10_000);
  assert.ok(lines.length <= 300, `${lines.length} lines`);
  const calicoNode = lines.filter((l) => l.startsWith('daemonset/calico-node:'));
  const counts = calicoNode.map((l) => Number(l.match(/: (\d+)\//)![1]));
  assert.equal(counts.length, 11, calicoNode.join('\n'));
  assert.equal(counts.at(-1), 2000);
  for (let i = 1; i < counts.length - 1; i++) assert.ok(counts[i]! - counts[i - 1]! >= 200, `moved by a tenth: ${counts}`);
  assert.equal(lines.filter((l) => l.startsWith('nodes:')).at(-1), 'nodes: 2000/2000 Ready');
  assert.deepEqual(lines.filter((l) => l.startsWith('tigerastatus/')), ['tigerastatus/calico: Progressing: DaemonSet "calico-system/calico-node" is not available (awaiting 2000 nodes)', 'tigerastatus/calico: Available'], 'the Progressing message counting down is not logged again');
  assert.ok(!lines.some((l) => l.startsWith('problem:')), `start-up states are progress: ${lines.filter((l) => l.startsWith('problem:'))}`);
});

test('a start-up state is progress for a minute, then a problem; a NotReady node waits for its calico-node', () => {
  let now = T0;
  const rollout = new Rollout('all', undefined, () => now);
  rollout.apply('nodes', added(node('w1', false)));
  rollout.apply('daemonsets', added(daemonSet('calico-node', 1, 0)));
  rollout.apply('pods', added(pod('calico-node-a', { kind: 'DaemonSet', name: 'calico-node' }, 'w1', 'creating', 0, { 'k8s-app': 'calico-node' })));
  assert.deepEqual(rollout.problems(), []);
  now += 59_000;
  rollout.tick();
  assert.deepEqual(rollout.problems(), []);
  now += 2_000;
  rollout.tick();
  assert.deepEqual(rollout.problems().map((g) => [g.subject, g.reason, g.members.size]), [['daemonset/calico-node', 'ContainerCreating', 1]]);
  // calico-node Ready, the node still NotReady for want of a CNI: progress for the grace, then a problem.
  rollout.apply('pods', modified(pod('calico-node-a', { kind: 'DaemonSet', name: 'calico-node' }, 'w1', 'ready', now - T0, { 'k8s-app': 'calico-node' })));
  assert.deepEqual(rollout.problems(), []);
  now += 61_000;
  rollout.tick();
  assert.deepEqual(rollout.problems().map((g) => [g.subject, g.reason, g.members.size]), [['nodes', 'NotReady', 1]]);
  // The row says NotReady; why is read from the node.
  const [wanted] = rollout.wanting();
  assert.deepEqual({ kind: wanted?.kind, name: wanted?.name }, { kind: 'node', name: 'w1' });
  rollout.describeGroup(wanted!.id, CNI);
  assert.match(rollout.stuck(10).join('\n'), /^nodes: 1 node NotReady: container runtime network not ready.* \(w1\)$/m);
});

test('ErrImagePull and ImagePullBackOff are one problem: a flapping pull logs once, and again only when the count moves by a tenth', () => {
  const now = T0;
  const rollout = new Rollout('all', undefined, () => now);
  rollout.apply('daemonsets', added(daemonSet('calico-node', 20, 0)));
  const lines: string[] = [];
  const read: string[] = [];
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 20; i++) rollout.apply('pods', (round === 0 ? added : modified)(pod(`calico-node-${i}`, { kind: 'DaemonSet', name: 'calico-node' }, `w${i}`, (round + i) % 2 ? 'pull' : 'backoff', 0)));
    // The message of a group is read from one of its pods, once.
    for (const { id, namespace, name } of rollout.wanting()) {
      read.push(`${namespace}/${name}`);
      rollout.describeGroup(id, 'container calico-node cannot pull image docker.io/calico/node:v3.29.0 (rpc error: not found)');
    }
    lines.push(...rollout.log());
  }
  assert.deepEqual(read, ['calico-system/calico-node-0']);
  const problems = lines.filter((l) => l.startsWith('problem:'));
  assert.deepEqual(problems, ['problem: daemonset/calico-node: 20 pods ImagePullBackOff: container calico-node cannot pull image docker.io/calico/node:v3.29.0 (rpc error: not found)']);
  const stuck = rollout.stuck(3);
  assert.equal(stuck.length, 3);
  assert.match(stuck.at(-1)!, /^… and \d+ more$/);
});

test('done follows --for: the operator alone, the nodes alone, or a Calico version reported by the Installation', () => {
  const rollout = (target: 'operator' | 'nodes' | 'all', version?: string) => new Rollout(target, version, () => T0);
  const operator = rollout('operator');
  assert.equal(operator.done(), false);
  operator.apply('operator', added(pod('tigera-operator-abc', { kind: 'ReplicaSet', name: 'tigera-operator-5d8f' }, 'w1', 'ready', 0)));
  assert.equal(operator.done(), true);
  const nodes = rollout('nodes');
  nodes.apply('nodes', added(node('w1', false)));
  assert.equal(nodes.done(), false);
  nodes.apply('nodes', modified(node('w1', true)));
  assert.equal(nodes.done(), true);
  const upgrade = rollout('all', 'v3.30.7');
  upgrade.apply('operator', added(pod('tigera-operator-abc', { kind: 'ReplicaSet', name: 'tigera-operator-5d8f' }, 'w1', 'ready', 0)));
  upgrade.apply('statuses', added(status('calico', 'Available')));
  upgrade.apply('installation', added({ metadata: { name: 'default' }, status: { calicoVersion: 'v3.29.0' } } as KubeObjectLike));
  assert.equal(upgrade.done(), false);
  upgrade.apply('installation', modified({ metadata: { name: 'default' }, status: { calicoVersion: 'v3.30.7' } } as KubeObjectLike));
  assert.equal(upgrade.done(), true);
});
