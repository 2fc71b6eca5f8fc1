// How a diagnostics run chooses and bounds what it collects (unit): the
// default node choice (never a node that does not exist), command output cut
// at exec's limit and counted, the ranking of logs (the operator's first,
// per-node pods only on the nodes asked) and a byte budget that keeps the
// same logs however the answers race, failures of any kind recorded rather
// than ending the run, and the archive writer failing instead of hanging when
// the disk refuses a write.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BundleFile, checkTarget } from '../../src/calico/diags/archive.ts';
import { collectLogs, rankLogs, type PodObject } from '../../src/calico/diags/logs.ts';
import { commandOutput, defaultNodeChoice, type NodeObject } from '../../src/calico/diags/node-data.ts';
import { describeFailure, DiagsRun } from '../../src/calico/diags/run.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { tempDir } from '../helpers.ts';

const node = (name: string, ready = true): NodeObject => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });

function pod(name: string, app: string, options: { node?: string; daemonSet?: boolean; ready?: boolean; restarts?: number; containers?: string[] } = {}): PodObject {
  const containers = options.containers ?? [app];
  return {
    metadata: { name, labels: { 'k8s-app': app }, ownerReferences: [{ kind: options.daemonSet ? 'DaemonSet' : 'ReplicaSet' }] },
    spec: { nodeName: options.node ?? 'n0', containers: containers.map((c) => ({ name: c })) },
    status: { containerStatuses: containers.map((c) => ({ name: c, ready: options.ready ?? true, restartCount: options.restarts ?? 0, state: { running: {} } })) },
  };
}

test('defaultNodeChoice: the nodes with problems, then three healthy ones spread over the list; never a node that does not exist', () => {
  const names = Array.from({ length: 9 }, (_, i) => `n${i}`);
  const healthyPods = names.map((n) => pod(`calico-node-${n}`, 'calico-node', { node: n, daemonSet: true }));
  const choice = defaultNodeChoice(names.map((n) => node(n, n !== 'n4')), healthyPods.map((p) => (p.spec!.nodeName === 'n6' ? pod('calico-node-n6', 'calico-node', { node: 'n6', daemonSet: true, restarts: 2 }) : p)));
  assert.deepEqual(choice.names, ['n4', 'n6', 'n0', 'n8', 'n3']);
  assert.ok(choice.notes.includes('nodes/n4: asked because the node is not Ready'));
  assert.ok(choice.notes.includes('nodes/n6: asked because calico-node restarted 2 times'));

  // No healthy node at all: the problem nodes only (a sample of nothing is nothing, not a node named "undefined").
  const broken = defaultNodeChoice(names.slice(0, 2).map((n) => node(n, false)), []);
  assert.deepEqual(broken.names, ['n0', 'n1']);
  assert.equal(broken.notes.at(-1), 'nodes asked: 2 with problems, 0 healthy for comparison; --nodes all asks every node');
  assert.deepEqual(defaultNodeChoice([], []).names, []);

  // Without the node list, the nodes are those calico-node runs on, judged by their pods.
  assert.deepEqual(defaultNodeChoice(undefined, [pod('a', 'calico-node', { node: 'x', daemonSet: true, ready: false }), pod('b', 'calico-node', { node: 'y', daemonSet: true })]).names, ['x', 'y']);
});

test('commandOutput: output beyond exec\'s limit is cut back to a whole line and counted; stderr follows stdout', () => {
  assert.deepEqual(commandOutput({ stdout: 'a\nb\n', stderr: '', droppedBytes: { stdout: 0, stderr: 0 } }), { text: 'a\nb\n', truncatedBytes: 0 });
  assert.deepEqual(commandOutput({ stdout: '-A rule 1\n-A rul', stderr: 'warn\n', droppedBytes: { stdout: 1000, stderr: 0 } }), { text: '-A rule 1\nwarn\n', truncatedBytes: 1006 });
  assert.deepEqual(commandOutput({ stdout: 'x', stderr: 'e', droppedBytes: { stdout: 0, stderr: 0 } }), { text: 'x\ne', truncatedBytes: 0 });
});

const PODS: { namespace: string; items: PodObject[] }[] = [
  {
    namespace: 'calico-system',
    items: [
      ...['n0', 'n1', 'n2', 'n3'].flatMap((n) => [pod(`calico-node-${n}`, 'calico-node', { node: n, daemonSet: true }), pod(`csi-node-driver-${n}`, 'csi-node-driver', { node: n, daemonSet: true, containers: ['calico-csi', 'csi-node-driver-registrar'] })]),
      pod('calico-typha-b', 'calico-typha'), pod('calico-typha-a', 'calico-typha'), pod('calico-typha-c', 'calico-typha', { restarts: 1 }),
      pod('calico-kube-controllers-x', 'calico-kube-controllers'),
      { ...pod('pending', 'goldmane'), spec: { containers: [{ name: 'goldmane' }] } },
    ],
  },
  { namespace: 'tigera-operator', items: [pod('tigera-operator-x', 'tigera-operator')] },
  { namespace: 'kube-system', items: [pod('coredns-a', 'kube-dns', { containers: ['coredns'] }), pod('kube-proxy-n2', 'kube-proxy', { node: 'n2', daemonSet: true })] },
];

test('rankLogs: control components first (tigera-operator, kube-controllers, typha: a problem pod and one healthy, CoreDNS), then the per-node pods of the nodes asked in their order, then the other replicas', () => {
  const { items, notAsked, unscheduled } = rankLogs(PODS, ['n2', 'n0']);
  assert.deepEqual(items.map((i) => i.file), [
    'namespaces/tigera-operator/logs/tigera-operator-x/tigera-operator.log',
    'namespaces/calico-system/logs/calico-kube-controllers-x/calico-kube-controllers.log',
    'namespaces/calico-system/logs/calico-typha-c/calico-typha.previous.log',
    'namespaces/calico-system/logs/calico-typha-c/calico-typha.log',
    'namespaces/calico-system/logs/calico-typha-a/calico-typha.log',
    'kube-system/logs/coredns-a/coredns.log',
    'namespaces/calico-system/logs/calico-node-n2/calico-node.log',
    'namespaces/calico-system/logs/csi-node-driver-n2/calico-csi.log',
    'namespaces/calico-system/logs/csi-node-driver-n2/csi-node-driver-registrar.log',
    'kube-system/logs/kube-proxy-n2/kube-proxy.log',
    'namespaces/calico-system/logs/calico-node-n0/calico-node.log',
    'namespaces/calico-system/logs/csi-node-driver-n0/calico-csi.log',
    'namespaces/calico-system/logs/csi-node-driver-n0/csi-node-driver-registrar.log',
    'namespaces/calico-system/logs/calico-typha-b/calico-typha.log',
  ]);
  assert.deepEqual(notAsked, { containers: 6, nodes: 2, components: ['calico-node', 'csi-node-driver'] });
  assert.equal(unscheduled, 1);
});

/** A cluster whose logs answer after `delay(path)` ms, each log 100 bytes. */
function fakeKube(delay: (path: string) => number, asked: string[]): KubeClient {
  return {
    request: async (apiPath: string, options: { query?: Record<string, string> }) => {
      asked.push(`${apiPath}?${options.query?.container}`);
      await new Promise((resolve) => setTimeout(resolve, delay(apiPath)));
      if (apiPath.includes('/coredns-a/')) return { statusCode: 400, headers: {}, body: Buffer.from('{"kind":"Status","message":"container \\"coredns\\" in pod \\"coredns-a\\" is waiting to start: ContainerCreating","reason":"BadRequest"}') };
      return { statusCode: 200, headers: {}, body: Buffer.from(`${'x'.repeat(98)}\n`.padStart(100, 'y')) };
    },
  } as unknown as KubeClient;
}

async function keptLogs(delay: (path: string) => number): Promise<{ files: string[]; asked: string[]; log: string; leftOut: number; uncollected: number }> {
  const dir = tempDir('diags-logs-');
  const bundle = new BundleFile(path.join(dir, 'b.tar.gz'), new Date());
  const run = new DiagsRun(bundle, { concurrency: 4, signal: new AbortController().signal, onItem: () => undefined });
  const asked: string[] = [];
  const leftOut = await collectLogs(fakeKube(delay, asked), run, { pods: PODS, nodes: ['n2', 'n0'], sinceMs: 3_600_000, maxLogBytes: 1000, maxTotalBytes: 650 });
  bundle.abort();
  return { files: bundle.entries.map((e) => e.path), asked, log: run.logText(), leftOut, uncollected: run.uncollected };
}

test('collectLogs: the byte budget keeps the first logs of the ranking whichever answers first; what it leaves out is one line; per-node pods of other nodes are not asked for', async () => {
  const inOrder = await keptLogs(() => 1);
  // Later logs answer first: the kept set is the same.
  const reversed = await keptLogs((apiPath) => (apiPath.includes('tigera-operator') ? 60 : apiPath.includes('calico-node-n0') ? 1 : 20));
  for (const run of [inOrder, reversed]) {
    assert.deepEqual(run.files, [
      'namespaces/tigera-operator/logs/tigera-operator-x/tigera-operator.log',
      'namespaces/calico-system/logs/calico-kube-controllers-x/calico-kube-controllers.log',
      'namespaces/calico-system/logs/calico-typha-c/calico-typha.previous.log',
      'namespaces/calico-system/logs/calico-typha-c/calico-typha.log',
      'namespaces/calico-system/logs/calico-typha-a/calico-typha.log',
      'namespaces/calico-system/logs/calico-node-n2/calico-node.log',
      'namespaces/calico-system/logs/csi-node-driver-n2/calico-csi.log',
    ]);
    assert.equal(run.leftOut, 6);
    assert.equal(run.uncollected, 1, 'CoreDNS waiting to start: not collected, and said why');
    assert.match(run.log, /not collected: kube-system\/logs\/coredns-a\/coredns\.log: container "coredns" in pod "coredns-a" is waiting to start/);
    assert.equal(run.log.match(/logs left out/g)?.length, 1);
    assert.match(run.log, /logs left out: 6 \(the bundle reached --max-total-bytes, 650 bytes; the least telling go last\): namespaces\/calico-system\/logs\/csi-node-driver-n2\/csi-node-driver-registrar\.log, kube-system\/logs\/kube-proxy-n2\/kube-proxy\.log, /);
    assert.match(run.log, /logs not read: 6 containers of per-node pods \(calico-node, csi-node-driver\) on 2 nodes not asked; --nodes NAME,… or --nodes all reads them/);
    assert.ok(!run.asked.some((a) => /-n[13]\//.test(a)), 'nothing asked of the nodes not chosen');
  }
});

test('describeFailure: any error is an item not collected, said in words; a bug says so and where', () => {
  assert.equal(describeFailure(new ApiError(403, { message: 'pods is forbidden', reason: 'Forbidden' })), 'forbidden (missing permission): pods is forbidden (Forbidden)');
  let syntax: unknown;
  try {
    JSON.parse('<html>');
  } catch (error) {
    syntax = error;
  }
  assert.match(describeFailure(syntax), /^the answer is not JSON: Unexpected token/);
  assert.match(describeFailure(new TypeError('x is undefined')), /^unexpected error \(a bug in kubectl-calico, please report it\): TypeError: x is undefined at .*diags-collect\.test\.ts:\d+:\d+/);
});

test('checkTarget: a missing folder, a folder as the target or a file as the folder is one sentence', () => {
  const dir = tempDir('diags-target-');
  fs.writeFileSync(path.join(dir, 'file'), '');
  assert.throws(() => checkTarget(path.join(dir, 'missing', 'b.tar.gz'), '--output-file'), { message: `--output-file ${path.join(dir, 'missing', 'b.tar.gz')}: the folder ${path.join(dir, 'missing')} does not exist` });
  assert.throws(() => checkTarget(dir, '--output-file'), { message: `--output-file ${dir} is a folder; name the archive's file, such as ${path.join(dir, 'calico-diags.tar.gz')}` });
  assert.throws(() => checkTarget(path.join(dir, 'file', 'b.tar.gz'), '--output-file'), { message: `--output-file ${path.join(dir, 'file', 'b.tar.gz')}: ${path.join(dir, 'file')} is a file, not a folder` });
  checkTarget(path.join(dir, 'b.tar.gz'), undefined);
});

test('BundleFile: a write the file system refuses (a file size limit, as a full disk) fails add() instead of waiting forever', () => {
  const dir = tempDir('diags-efbig-');
  const script = `
    import { randomBytes } from 'node:crypto';
    import { BundleFile } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../src/calico/diags/archive.ts'))};
    const bundle = new BundleFile(${JSON.stringify(path.join(dir, 'b.tar.gz'))}, new Date());
    try {
      for (let i = 0; i < 64; i++) await bundle.add('f' + i, randomBytes(64 * 1024), 'test');
      await bundle.finish();
      console.log('written');
    } catch (error) {
      bundle.abort();
      console.log(error.message);
    }`;
  // bash counts the limit in KiB; Node ignores SIGXFSZ, so the write fails with EFBIG.
  const child = spawnSync('/bin/bash', ['-c', 'ulimit -f 256 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.signal, null, 'it ended by itself');
  assert.equal(child.stdout, `cannot write ${path.join(dir, 'b.tar.gz')}: EFBIG: file too large, write; no archive written\n`, child.stderr);
  assert.deepEqual(fs.readdirSync(dir), [], 'the temporary file is removed');
  assert.equal(execFileSync('/bin/bash', ['-c', 'ulimit -f']).toString().trim(), 'unlimited', 'the limit was the child\'s alone');
});
