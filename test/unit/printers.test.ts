import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { jsonPathFirst } from '../cluster/jsonpath.ts';
import { age, crdPrinter, DEFAULT_PRINTER, humanDuration, PRINTERS, type PrinterColumn } from '../cluster/printers.ts';
import type { KubeObject, Printer } from '../cluster/types.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;
const NOW = new Date('2025-01-10T12:00:00Z');

/** An RFC 3339 timestamp `ms` before NOW. */
function ago(ms: number): string {
  return new Date(NOW.getTime() - ms).toISOString();
}

function object(kind: string, name: string, rest: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind,
    metadata: { name, uid: 'u', resourceVersion: '1', creationTimestamp: ago(10 * M), ...metadata },
    ...rest,
  };
}

function printer(key: string): Printer {
  const p = PRINTERS[key];
  assert.ok(p, `no printer for ${key}`);
  return p;
}

function cells(key: string, obj: KubeObject): unknown[] {
  return printer(key).cells(obj, NOW);
}

function header(p: Printer): string[] {
  return p.columns.map((c) => `${c.name}${c.priority > 0 ? '*' : ''}`);
}

describe('humanDuration (spec §6)', () => {
  const rows: [number, string][] = [
    [-3 * S, '<invalid>'], [-2 * S, '<invalid>'], [-1 * S, '0s'], [-500, '0s'],
    [0, '0s'], [65 * S, '65s'], [119 * S, '119s'], [119 * S + 999, '119s'],
    [2 * M, '2m'], [2 * M + 5 * S, '2m5s'], [9 * M + 59 * S, '9m59s'],
    [10 * M, '10m'], [10 * M + 59 * S, '10m'], [46 * M, '46m'], [179 * M + 59 * S, '179m'],
    [3 * H, '3h'], [3 * H + 1 * M, '3h1m'], [7 * H + 59 * M + 59 * S, '7h59m'],
    [8 * H, '8h'], [19 * H, '19h'], [47 * H + 59 * M, '47h'],
    [2 * D, '2d'], [2 * D + 3 * H, '2d3h'], [5 * D, '5d'], [7 * D + 23 * H + 59 * M, '7d23h'],
    [8 * D, '8d'], [364 * D, '364d'], [729 * D + 23 * H, '729d'],
    [2 * Y, '2y'], [2 * Y + 45 * D, '2y45d'], [7 * Y + 364 * D, '7y364d'],
    [8 * Y, '8y'], [10 * Y, '10y'],
  ];
  for (const [ms, expected] of rows) {
    it(`${ms} ms → ${expected}`, () => assert.equal(humanDuration(ms), expected));
  }

  it('age() is <unknown> for a missing or zero timestamp', () => {
    assert.equal(age(undefined, NOW), '<unknown>');
    assert.equal(age('0001-01-01T00:00:00Z', NOW), '<unknown>');
    assert.equal(age('2025-01-10T11:41:00.123456Z', NOW), '18m');
    assert.equal(age('2025-01-10T13:00:00+02:00', NOW), '60m');
    assert.equal(age('2025-01-10T12:00:03Z', NOW), '<invalid>');
  });
});

// ---------------------------------------------------------------------------
// Pods

interface ContainerStatusInput {
  name?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: Record<string, unknown>;
  lastState?: Record<string, unknown>;
}

function status(name: string, s: Omit<ContainerStatusInput, 'name'>): Record<string, unknown> {
  return { name, image: `${name}:v1`, imageID: '', ready: false, restartCount: 0, state: {}, ...s };
}

const running = { running: { startedAt: ago(9 * M) } };
const waiting = (reason: string) => ({ waiting: { reason } });
const terminated = (exitCode: number, reason?: string, signal?: number) => ({
  terminated: { exitCode, ...(reason ? { reason } : {}), ...(signal ? { signal } : {}), finishedAt: ago(9 * M) },
});
const cond = (type: string, value: string, reason?: string) => ({ type, status: value, ...(reason ? { reason } : {}) });

function pod(spec: Record<string, unknown>, podStatus: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return object('Pod', 'p', { spec: { containers: [{ name: 'c', image: 'c:v1' }], ...spec }, status: podStatus }, metadata);
}

/** READY, STATUS, RESTARTS. */
function podSummary(p: KubeObject): unknown[] {
  return cells('pods', p).slice(1, 4);
}

describe('pods printer (spec §7.1)', () => {
  it('has kube-apiserver v1.32 columns', () => {
    const p = printer('pods');
    assert.deepEqual(header(p), ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP*', 'Node*', 'Nominated Node*', 'Readiness Gates*']);
    assert.deepEqual(p.columns[0], {
      name: 'Name', type: 'string', format: 'name', priority: 0,
      description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
    });
    assert.deepEqual(p.columns[3], {
      name: 'Restarts', type: 'string', format: '', priority: 0,
      description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    });
    assert.equal(p.columns[5]?.description, 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.');
  });

  it('Running, with wide cells', () => {
    const p = pod({ nodeName: 'w1' }, {
      phase: 'Running', podIP: '10.0.0.10', podIPs: [{ ip: '10.0.0.10' }],
      conditions: [cond('Ready', 'True')], containerStatuses: [status('c', { ready: true, started: true, state: running })],
    });
    assert.deepEqual(cells('pods', p), ['p', '1/1', 'Running', '0', '10m', '10.0.0.10', 'w1', '<none>', '<none>']);
  });

  it('Pending without statuses; podIP alone is used for IP', () => {
    assert.deepEqual(cells('pods', pod({}, { phase: 'Pending' })), ['p', '0/1', 'Pending', '0', '10m', '<none>', '<none>', '<none>', '<none>']);
    assert.equal(cells('pods', pod({}, { phase: 'Running', podIP: '192.168.1.5' }))[5], '192.168.1.5');
  });

  it('ContainerCreating', () => {
    const p = pod({ nodeName: 'w1' }, { phase: 'Pending', containerStatuses: [status('c', { state: waiting('ContainerCreating') })] });
    assert.deepEqual(podSummary(p), ['0/1', 'ContainerCreating', '0']);
  });

  const twoInits = { initContainers: [{ name: 'i1', image: 'i' }, { name: 'i2', image: 'i' }] };
  const notInitialized = [cond('Initialized', 'False'), cond('Ready', 'False')];

  it('Init:0/2 while the first init container runs', () => {
    const p = pod(twoInits, {
      phase: 'Pending', conditions: notInitialized,
      initContainerStatuses: [status('i1', { state: running }), status('i2', { state: waiting('PodInitializing') })],
      containerStatuses: [status('c', { state: waiting('PodInitializing') })],
    });
    assert.deepEqual(podSummary(p), ['0/1', 'Init:0/2', '0']);
  });

  it('Init:1/2 after the first init container succeeded', () => {
    const p = pod(twoInits, {
      phase: 'Pending', conditions: notInitialized,
      initContainerStatuses: [status('i1', { state: terminated(0, 'Completed') }), status('i2', { state: running })],
    });
    assert.deepEqual(podSummary(p), ['0/1', 'Init:1/2', '0']);
  });

  it('Init:CrashLoopBackOff counts init restarts with "(X ago)"', () => {
    const p = pod(twoInits, {
      phase: 'Pending', conditions: notInitialized,
      initContainerStatuses: [
        status('i1', { restartCount: 3, state: waiting('CrashLoopBackOff'), lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(70 * S) } } }),
        status('i2', { state: waiting('PodInitializing') }),
      ],
    });
    assert.deepEqual(podSummary(p), ['0/1', 'Init:CrashLoopBackOff', '3 (70s ago)']);
  });

  it('Init:ErrImagePull, Init:Error, Init:ExitCode and Init:Signal', () => {
    const withInit = (state: Record<string, unknown>) =>
      podSummary(pod(twoInits, { phase: 'Pending', conditions: notInitialized, initContainerStatuses: [status('i1', { state })] }))[1];
    assert.equal(withInit(waiting('ErrImagePull')), 'Init:ErrImagePull');
    assert.equal(withInit(waiting('ImagePullBackOff')), 'Init:ImagePullBackOff');
    assert.equal(withInit(terminated(1, 'Error')), 'Init:Error');
    assert.equal(withInit(terminated(2)), 'Init:ExitCode:2');
    assert.equal(withInit(terminated(137, undefined, 9)), 'Init:Signal:9');
  });

  it('CrashLoopBackOff with "3 (2d3h ago)"', () => {
    const p = pod({}, {
      phase: 'Running', conditions: [cond('Ready', 'False')],
      containerStatuses: [status('c', {
        restartCount: 3, state: waiting('CrashLoopBackOff'),
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(2 * D + 3 * H + 5 * M) } },
      })],
    });
    assert.deepEqual(podSummary(p), ['0/1', 'CrashLoopBackOff', '3 (2d3h ago)']);
  });

  it('restarts without a last termination time have no "ago"', () => {
    const p = pod({}, { phase: 'Running', containerStatuses: [status('c', { restartCount: 2, ready: true, state: running })] });
    assert.deepEqual(podSummary(p), ['1/1', 'Running', '2']);
  });

  it('the lowest-index container with a waiting or terminated state decides', () => {
    const p = pod({ containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] }, {
      phase: 'Running',
      containerStatuses: [
        status('a', { state: waiting('ErrImagePull') }),
        status('b', { state: terminated(0, 'Completed') }),
        status('c', { ready: true, state: running }),
      ],
    });
    assert.deepEqual(podSummary(p), ['1/3', 'ErrImagePull', '0']);
  });

  it('Completed next to a running container shows Running if Ready, else NotReady', () => {
    const twoContainers = { containers: [{ name: 'job' }, { name: 'server' }] };
    const statuses = [status('job', { state: terminated(0, 'Completed') }), status('server', { ready: true, state: running })];
    assert.deepEqual(podSummary(pod(twoContainers, { phase: 'Running', conditions: [cond('Ready', 'True')], containerStatuses: statuses })), ['1/2', 'Running', '0']);
    assert.deepEqual(podSummary(pod(twoContainers, { phase: 'Running', conditions: [cond('Ready', 'False')], containerStatuses: statuses })), ['1/2', 'NotReady', '0']);
  });

  it('terminated containers without reason show Signal:/ExitCode:', () => {
    const one = (state: Record<string, unknown>) => podSummary(pod({}, { phase: 'Failed', containerStatuses: [status('c', { state })] }))[1];
    assert.equal(one(terminated(0, 'Completed')), 'Completed');
    assert.equal(one(terminated(137, 'OOMKilled')), 'OOMKilled');
    assert.equal(one(terminated(3)), 'ExitCode:3');
    assert.equal(one(terminated(143, undefined, 15)), 'Signal:15');
  });

  it('Terminating, NodeLost → Unknown, and terminal pods keep their status', () => {
    const deleting = { deletionTimestamp: ago(5 * S) };
    const runningPod = { phase: 'Running', containerStatuses: [status('c', { ready: true, state: running })] };
    assert.deepEqual(podSummary(pod({}, runningPod, deleting)), ['1/1', 'Terminating', '0']);
    assert.equal(podSummary(pod({}, { ...runningPod, reason: 'NodeLost' }, deleting))[1], 'Unknown');
    assert.equal(podSummary(pod({}, { ...runningPod, reason: 'NodeLost' }))[1], 'NodeLost'); // only waiting/terminated states override
    const done = { phase: 'Succeeded', containerStatuses: [status('c', { state: terminated(0, 'Completed') })] };
    assert.equal(podSummary(pod({}, done, deleting))[1], 'Completed');
    assert.equal(podSummary(pod({}, { phase: 'Failed', reason: 'Evicted' }))[1], 'Evicted');
  });

  it('SchedulingGated', () => {
    const p = pod({ schedulingGates: [{ name: 'g' }] }, { phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'SchedulingGated')] });
    assert.deepEqual(podSummary(p), ['0/1', 'SchedulingGated', '0']);
  });

  it('sidecars count in READY and keep their restarts; finished init containers do not', () => {
    const spec = {
      initContainers: [{ name: 'setup' }, { name: 'proxy', restartPolicy: 'Always' }],
      containers: [{ name: 'app' }],
    };
    const p = pod(spec, {
      phase: 'Running', conditions: [cond('Initialized', 'True'), cond('Ready', 'True')],
      initContainerStatuses: [
        status('setup', { restartCount: 4, state: terminated(0, 'Completed'), lastState: { terminated: { exitCode: 1, finishedAt: ago(1 * M) } } }),
        status('proxy', { restartCount: 1, ready: true, started: true, state: running, lastState: { terminated: { exitCode: 1, finishedAt: ago(5 * M) } } }),
      ],
      containerStatuses: [status('app', { ready: true, state: running })],
    });
    assert.deepEqual(podSummary(p), ['2/2', 'Running', '1 (5m ago)']);
  });

  it('a sidecar that has not started yet keeps the pod initializing', () => {
    const spec = { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }], containers: [{ name: 'app' }] };
    const p = pod(spec, {
      phase: 'Pending', conditions: notInitialized,
      initContainerStatuses: [status('proxy', { started: false, state: running })],
      containerStatuses: [status('app', { state: waiting('PodInitializing') })],
    });
    assert.deepEqual(podSummary(p), ['0/2', 'Init:0/1', '0']);
  });

  it('readiness gates and nominated node', () => {
    const p = pod({ readinessGates: [{ conditionType: 'a' }, { conditionType: 'b' }] }, {
      phase: 'Pending', nominatedNodeName: 'w2', conditions: [cond('a', 'True'), cond('b', 'False')],
    });
    assert.deepEqual(cells('pods', p).slice(7), ['w2', '1/2']);
  });
});

// ---------------------------------------------------------------------------
// Nodes

function node(labels: Record<string, string>, spec: Record<string, unknown>, conditions: unknown[]): KubeObject {
  return object('Node', 'n1', {
    spec,
    status: {
      conditions,
      addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.0.0.11' }],
      nodeInfo: { kubeletVersion: 'v1.31.3', osImage: 'Ubuntu 24.04.1 LTS', kernelVersion: '6.8.0-49-generic', containerRuntimeVersion: 'containerd://1.7.24' },
    },
  }, { labels, creationTimestamp: ago(19 * H + 30 * M) });
}

describe('nodes printer (spec §7.2)', () => {
  const ready = [cond('MemoryPressure', 'False'), cond('Ready', 'True')];

  it('has kube-apiserver v1.32 columns', () => {
    assert.deepEqual(header(printer('nodes')), ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP*', 'External-IP*', 'OS-Image*', 'Kernel-Version*', 'Container-Runtime*']);
  });

  it('prints the §5.5 row', () => {
    const n = node({ 'node-role.kubernetes.io/control-plane': '' }, {}, ready);
    assert.deepEqual(cells('nodes', n), ['n1', 'Ready', 'control-plane', '19h', 'v1.31.3', '10.0.0.11', '<none>', 'Ubuntu 24.04.1 LTS', '6.8.0-49-generic', 'containerd://1.7.24']);
  });

  it('status: Ready/NotReady/Unknown and SchedulingDisabled', () => {
    const statusOf = (spec: Record<string, unknown>, conditions: unknown[]) => cells('nodes', node({}, spec, conditions))[1];
    assert.equal(statusOf({}, ready), 'Ready');
    assert.equal(statusOf({}, [cond('Ready', 'False')]), 'NotReady');
    assert.equal(statusOf({}, [cond('Ready', 'Unknown')]), 'NotReady');
    assert.equal(statusOf({}, []), 'Unknown');
    assert.equal(statusOf({ unschedulable: true }, ready), 'Ready,SchedulingDisabled');
    assert.equal(statusOf({ unschedulable: true }, [cond('Ready', 'False')]), 'NotReady,SchedulingDisabled');
    assert.equal(statusOf({ unschedulable: true }, []), 'Unknown,SchedulingDisabled');
  });

  it('roles: sorted, de-duplicated, <none>', () => {
    const roles = (labels: Record<string, string>) => cells('nodes', node(labels, {}, ready))[2];
    assert.equal(roles({ 'node-role.kubernetes.io/master': '', 'node-role.kubernetes.io/control-plane': 'x', 'kubernetes.io/role': 'master' }), 'control-plane,master');
    assert.equal(roles({ 'kubernetes.io/role': 'worker', 'node-role.kubernetes.io/': '' }), 'worker');
    assert.equal(roles({ 'kubernetes.io/hostname': 'n1', 'kubernetes.io/role': '' }), '<none>');
  });

  it('missing node info shows <unknown> in wide columns', () => {
    const n = object('Node', 'bare', { status: {} });
    assert.deepEqual(cells('nodes', n), ['bare', 'Unknown', '<none>', '10m', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
  });
});

// ---------------------------------------------------------------------------
// Other built-ins

describe('other built-in printers (spec §7.3)', () => {
  const template = { spec: { containers: [{ name: 'calico-typha', image: 'quay.io/calico/typha:v3.30.7' }, { name: 'sidecar', image: 'busybox' }] } };

  it('deployments', () => {
    const d = object('Deployment', 'calico-typha', {
      spec: { replicas: 2, selector: { matchLabels: { 'k8s-app': 'calico-typha' } }, template },
      status: { replicas: 2, readyReplicas: 1, updatedReplicas: 2 },
    });
    assert.deepEqual(header(printer('deployments.apps')), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers*', 'Images*', 'Selector*']);
    assert.deepEqual(cells('deployments.apps', d), ['calico-typha', '1/2', 2, 0, '10m', 'calico-typha,sidecar', 'quay.io/calico/typha:v3.30.7,busybox', 'k8s-app=calico-typha']);
  });

  it('deployment selectors: sorted requirements, set syntax, <invalid>', () => {
    const selector = (s: unknown) => cells('deployments.apps', object('Deployment', 'd', { spec: { selector: s, template } }))[7];
    assert.equal(selector({
      matchLabels: { tier: 'web', app: 'x' },
      matchExpressions: [
        { key: 'zone', operator: 'In', values: ['b', 'a'] }, { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'env', operator: 'NotIn', values: ['dev'] }, { key: 'gpu', operator: 'Exists' },
      ],
    }), 'app=x,env notin (dev),gpu,!legacy,tier=web,zone in (a,b)');
    assert.equal(selector({}), '');
    assert.equal(selector({ matchLabels: { 'bad key!': 'x' } }), '<invalid>');
    assert.equal(selector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), '<invalid>');
  });

  it('daemonsets', () => {
    const ds = object('DaemonSet', 'calico-node', {
      spec: { selector: { matchLabels: { 'k8s-app': 'calico-node' } }, template: { spec: { ...template.spec, nodeSelector: { 'kubernetes.io/os': 'linux', a: 'b' } } } },
      status: { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 },
    });
    assert.deepEqual(header(printer('daemonsets.apps')), ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age', 'Containers*', 'Images*', 'Selector*']);
    assert.deepEqual(cells('daemonsets.apps', ds), [
      'calico-node', 2, 2, 1, 2, 1, 'a=b,kubernetes.io/os=linux', '10m',
      'calico-typha,sidecar', 'quay.io/calico/typha:v3.30.7,busybox', 'k8s-app=calico-node',
    ]);
    const bare = object('DaemonSet', 'bare', { spec: { template: { spec: { containers: [] } } } });
    assert.deepEqual(cells('daemonsets.apps', bare), ['bare', 0, 0, 0, 0, 0, '<none>', '10m', '', '', '<none>']);
  });

  it('replicasets', () => {
    const rs = object('ReplicaSet', 'r', { spec: { replicas: 3, selector: { matchLabels: { a: 'b' } }, template }, status: { replicas: 3, readyReplicas: 2 } });
    assert.deepEqual(cells('replicasets.apps', rs), ['r', 3, 3, 2, '10m', 'calico-typha,sidecar', 'quay.io/calico/typha:v3.30.7,busybox', 'a=b']);
  });

  it('namespaces', () => {
    assert.deepEqual(header(printer('namespaces')), ['Name', 'Status', 'Age']);
    assert.deepEqual(cells('namespaces', object('Namespace', 'calico-system', { status: { phase: 'Terminating' } })), ['calico-system', 'Terminating', '10m']);
  });

  it('services', () => {
    const svc = (spec: Record<string, unknown>, svcStatus: Record<string, unknown> = {}) => cells('services', object('Service', 's', { spec, status: svcStatus }));
    assert.deepEqual(header(printer('services')), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector*']);
    const dnsPorts = [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }, { port: 9153 }];
    assert.deepEqual(svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: dnsPorts, selector: { 'k8s-app': 'kube-dns' } }),
      ['s', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP,9153/TCP', '10m', 'k8s-app=kube-dns']);
    const nodePort = svc({ type: 'NodePort', clusterIPs: ['10.96.1.1'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] });
    assert.deepEqual(nodePort.slice(1, 5), ['NodePort', '10.96.1.1', '<none>', '80:30080/TCP']);
    const lb = svc({ type: 'LoadBalancer', clusterIPs: ['None'] }, { loadBalancer: { ingress: [{ hostname: 'lb.example' }, { ip: '1.2.3.4' }] } });
    assert.deepEqual(lb.slice(2, 5), ['None', '1.2.3.4,lb.example', '<none>']);
    assert.equal(svc({ type: 'LoadBalancer' })[3], '<pending>');
    assert.equal(svc({ type: 'ExternalName', externalName: 'example.com' })[3], 'example.com');
  });

  it('endpoints', () => {
    const ep = (subsets: unknown) => cells('endpoints', object('Endpoints', 'e', { subsets }))[1];
    assert.equal(ep(undefined), '<none>');
    assert.equal(ep([{ addresses: [{ ip: '10.1.0.20' }, { ip: '10.1.0.21' }], ports: [{ port: 53 }, { port: 9153 }] }]), '10.1.0.20:53,10.1.0.21:53,10.1.0.20:9153 + 1 more...');
    assert.equal(ep([{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 443 }] }]), '[fd00::1]:443');
    assert.equal(ep([{ addresses: [{ ip: '10.0.0.1' }] }]), '10.0.0.1');
  });

  it('configmaps, secrets, serviceaccounts, leases, bindings', () => {
    assert.deepEqual(cells('configmaps', object('ConfigMap', 'cm', { data: { a: '1', b: '2' }, binaryData: { c: '' } })), ['cm', 3, '10m']);
    assert.deepEqual(cells('secrets', object('Secret', 'sec', { type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } })), ['sec', 'kubernetes.io/tls', 2, '10m']);
    assert.deepEqual(cells('serviceaccounts', object('ServiceAccount', 'sa')), ['sa', 0, '10m']);
    assert.deepEqual(cells('leases.coordination.k8s.io', object('Lease', 'l', { spec: { holderIdentity: 'n1' } })), ['l', 'n1', '10m']);
    const binding = object('ClusterRoleBinding', 'b', {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'calico-node' },
      subjects: [{ kind: 'ServiceAccount', name: 'calico-node', namespace: 'calico-system' }, { kind: 'User', name: 'alice' }, { kind: 'User', name: 'bob' }],
    });
    assert.deepEqual(header(printer('clusterrolebindings.rbac.authorization.k8s.io')), ['Name', 'Role', 'Age', 'Users*', 'Groups*', 'ServiceAccounts*']);
    assert.deepEqual(cells('clusterrolebindings.rbac.authorization.k8s.io', binding), ['b', 'ClusterRole/calico-node', '10m', 'alice, bob', '', 'calico-system/calico-node']);
    assert.equal(printer('rolebindings.rbac.authorization.k8s.io').columns[3]?.description, 'Users in the roleBinding');
  });

  it('poddisruptionbudgets', () => {
    const pdb = object('PodDisruptionBudget', 'typha', { spec: { maxUnavailable: 1 }, status: { disruptionsAllowed: 1 } });
    assert.deepEqual(header(printer('poddisruptionbudgets.policy')), ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age']);
    assert.deepEqual(cells('poddisruptionbudgets.policy', pdb), ['typha', 'N/A', '1', 1, '10m']);
    assert.equal(cells('poddisruptionbudgets.policy', object('PodDisruptionBudget', 'p', { spec: { minAvailable: '50%' } }))[1], '50%');
  });

  it('events', () => {
    assert.deepEqual(header(printer('events')), ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject*', 'Source*', 'Message', 'First Seen*', 'Count*', 'Name*']);
    assert.equal(printer('events').columns[9]?.format, 'name');
    const ev = object('Event', 'calico-node-x.17f', {
      involvedObject: { kind: 'Pod', name: 'calico-node-x', fieldPath: 'spec.containers{calico-node}' },
      reason: 'Unhealthy', message: '  Readiness probe failed\n', type: 'Warning', count: 3,
      firstTimestamp: ago(2 * H), lastTimestamp: ago(5 * M), source: { component: 'kubelet', host: 'w1' },
    });
    assert.deepEqual(cells('events', ev), [
      '5m', 'Warning', 'Unhealthy', 'pod/calico-node-x', 'spec.containers{calico-node}', 'kubelet, w1', 'Readiness probe failed', '120m', 3, 'calico-node-x.17f',
    ]);
    const newApi = object('Event', 'e2', {
      involvedObject: { kind: 'Node' }, reason: 'R', message: 'm', type: 'Normal', eventTime: ago(30 * S),
      firstTimestamp: null, lastTimestamp: null, reportingComponent: 'ctrl', reportingInstance: '',
    });
    assert.deepEqual(cells('events', newApi), ['30s', 'Normal', 'R', 'node', '', 'ctrl', 'm', '30s', 1, 'e2']);
    const series = object('Event', 'e3', { eventTime: ago(1 * H), series: { count: 7, lastObservedTime: ago(20 * S) } });
    assert.deepEqual([cells('events', series)[0], cells('events', series)[7], cells('events', series)[8]], ['20s', '60m', 7]);
  });
});

describe('default table convertor', () => {
  it('Name + Created At (RFC 3339, whole seconds, UTC)', () => {
    assert.deepEqual(DEFAULT_PRINTER.columns.map((c) => [c.name, c.type, c.format, c.priority]), [['Name', 'string', 'name', 0], ['Created At', 'date', '', 0]]);
    const cr = object('ClusterRole', 'calico-node', {}, { creationTimestamp: '2025-01-10T13:50:00.987+02:00' });
    assert.deepEqual(DEFAULT_PRINTER.cells(cr, NOW), ['calico-node', '2025-01-10T11:50:00Z']);
    assert.equal(PRINTERS['clusterroles.rbac.authorization.k8s.io'], DEFAULT_PRINTER);
    assert.equal(PRINTERS['customresourcedefinitions.apiextensions.k8s.io'], DEFAULT_PRINTER);
  });
});

// ---------------------------------------------------------------------------
// CRDs

function tigeraStatusColumns(calicoVersion: string): PrinterColumn[] {
  const file = readFileSync(`/work/shared/calico/${calicoVersion}/operator-crds.yaml`, 'utf8');
  for (const doc of parseAllDocuments(file)) {
    const crd = doc.toJS() as { metadata?: { name?: string }; spec?: { versions?: { additionalPrinterColumns?: PrinterColumn[] }[] } };
    if (crd?.metadata?.name === 'tigerastatuses.operator.tigera.io') return crd.spec?.versions?.[0]?.additionalPrinterColumns ?? [];
  }
  throw new Error('TigeraStatus CRD not found');
}

function tigeraStatus(name: string, degradedMessage: string | undefined, since: number): KubeObject {
  const condition = (type: string, value: string, message?: string) => ({
    type, status: value, reason: 'AllObjectsAvailable', lastTransitionTime: ago(since), observedGeneration: 2, ...(message === undefined ? {} : { message }),
  });
  return {
    apiVersion: 'operator.tigera.io/v1', kind: 'TigeraStatus',
    metadata: { name, uid: 'u', resourceVersion: '1', creationTimestamp: ago(2 * D) },
    spec: {},
    status: { conditions: [condition('Available', 'True', ''), condition('Progressing', 'False', ''), condition('Degraded', degradedMessage ? 'True' : 'False', degradedMessage)] },
  };
}

describe('CRD printer (spec §7.4)', () => {
  it('TigeraStatus (Calico v3.30): Available/Progressing/Degraded/Since/Message', () => {
    const p = crdPrinter(tigeraStatusColumns('v3.30.7'));
    assert.deepEqual(p.columns, [
      { name: 'Name', type: 'string', format: 'name', priority: 0, description: printer('pods').columns[0]?.description },
      { name: 'Available', type: 'string', format: '', priority: 0, description: 'Whether the component running and stable.' },
      { name: 'Progressing', type: 'string', format: '', priority: 0, description: 'Whether the component is processing changes.' },
      { name: 'Degraded', type: 'string', format: '', priority: 0, description: 'Whether the component is degraded.' },
      { name: 'Since', type: 'date', format: '', priority: 0, description: "The time the component's Available status last changed." },
      { name: 'Message', type: 'string', format: '', priority: 0, description: 'Error message when the component is degraded.' },
    ]);
    assert.deepEqual(p.cells(tigeraStatus('apiserver', '', 18 * H + 5 * M), NOW), ['apiserver', 'True', 'False', 'False', '18h', '']);
    const message = 'Error querying installation: some error';
    assert.deepEqual(p.cells(tigeraStatus('calico', message, 17 * H), NOW), ['calico', 'True', 'False', 'True', '17h', message]);
    assert.deepEqual(p.cells(tigeraStatus('ippools', undefined, 18 * H), NOW), ['ippools', 'True', 'False', 'False', '18h', null]);
    const fresh = { ...tigeraStatus('goldmane', undefined, 0), status: {} };
    assert.deepEqual(p.cells(fresh, NOW), ['goldmane', null, null, null, null, null]);
  });

  it('TigeraStatus (Calico v3.29) has no Message column', () => {
    const p = crdPrinter(tigeraStatusColumns('v3.29.0'));
    assert.deepEqual(p.columns.map((c) => c.name), ['Name', 'Available', 'Progressing', 'Degraded', 'Since']);
    assert.deepEqual(p.cells(tigeraStatus('calico', undefined, 17 * H), NOW), ['calico', 'True', 'False', 'False', '17h']);
  });

  it('no declared columns → Name + Age (date)', () => {
    for (const columns of [undefined, []]) {
      const p = crdPrinter(columns);
      assert.deepEqual(p.columns.map((c) => [c.name, c.type, c.format, c.priority]), [['Name', 'string', 'name', 0], ['Age', 'date', '', 0]]);
      assert.equal(p.columns[1]?.description, printer('pods').columns[4]?.description);
      assert.deepEqual(p.cells(object('IPPool', 'default-ipv4-ippool'), NOW), ['default-ipv4-ippool', '10m']);
    }
  });

  it('type coercions, first match only, wrong types → null', () => {
    const col = (type: string, jsonPath: string, extra: Partial<PrinterColumn> = {}): PrinterColumn => ({ name: type, type, jsonPath, ...extra });
    const p = crdPrinter([
      col('integer', '.spec.float'), col('number', '.spec.float'), col('boolean', '.spec.flag'), col('string', '.spec.items[*].name'),
      col('integer', '.spec.text'), col('boolean', '.spec.text'), col('date', '.spec.text'), col('date', '.spec.float'),
      col('string', '.spec.obj'), col('string', '.spec.nothing'), col('string', '.spec.missing'), col('string', '.spec.float'),
      col('string', '.spec.tiny'), col('string', '.spec.int'), col('date', '.spec.empty'), col('integer', '.spec.items[5]'),
      col('string', '.spec.flag', { priority: 1, format: 'byte', description: 'custom' }),
    ]);
    assert.deepEqual(p.columns[1]?.description, 'Custom resource definition column (in JSONPath format): .spec.float');
    assert.deepEqual(p.columns.at(-1), { name: 'string', type: 'string', format: 'byte', description: 'custom', priority: 1 });
    const cr = object('Thing', 't', {
      spec: {
        float: 2.75, flag: true, items: [{ name: 'first' }, { name: 'second' }], text: 'yes', obj: { b: '<x>', a: [1, 2] },
        nothing: null, tiny: 0.000015, int: 42, empty: '',
      },
    });
    assert.deepEqual(p.cells(cr, NOW), [
      't', 2, 2.75, true, 'first', null, null, '<invalid>', null,
      '{"a":[1,2],"b":"\\u003cx\\u003e"}', '<no value>', null, '2.75', '1.5e-05', '42', '<unknown>', null, 'true',
    ]);
  });
});

describe('jsonPathFirst', () => {
  const data = {
    metadata: { name: 'n', labels: { app: 'calico', 'a.b': 'dotted' } },
    status: { conditions: [{ type: 'Available', status: 'True' }, { type: 'Degraded', status: 'False', message: null }] },
    list: [10, 20, 30],
  };
  const first = (path: string) => jsonPathFirst(data, path);

  it('fields, filters with either quote, indexes and slices', () => {
    assert.deepEqual(first('.status.conditions[?(@.type=="Available")].status'), { found: true, value: 'True' });
    assert.deepEqual(first(".status.conditions[?(@.type=='Degraded')].status"), { found: true, value: 'False' });
    assert.deepEqual(first('.status.conditions[?(@.type!="Available")].type'), { found: true, value: 'Degraded' });
    assert.deepEqual(first('.status.conditions[?(@.message)].type'), { found: true, value: 'Degraded' });
    assert.deepEqual(first('.metadata.creationTimestamp'), { found: false, value: undefined });
    assert.deepEqual(first(".metadata.labels['app']"), { found: true, value: 'calico' });
    assert.deepEqual(first('.metadata.labels.a\\.b'), { found: true, value: 'dotted' });
    assert.deepEqual(first('.list[0]'), { found: true, value: 10 });
    assert.deepEqual(first('.list[-1]'), { found: true, value: 30 });
    assert.deepEqual(first('.list[1:]'), { found: true, value: 20 });
    assert.deepEqual(first('.list[*]'), { found: true, value: 10 });
  });

  it('a present null is found; misses and errors are not', () => {
    assert.deepEqual(first('.status.conditions[1].message'), { found: true, value: null });
    assert.equal(first('.status.conditions[?(@.type=="Ready")].status').found, false);
    assert.equal(first('.list[3]').found, false);
    assert.equal(first('.metadata.name[0]').found, false);
    assert.equal(first('.list[?(@.x=="y")]').found, false);
    assert.equal(first('..name').found, false);
    assert.equal(first('.list[?(@==10)]').found, true);
  });
});
