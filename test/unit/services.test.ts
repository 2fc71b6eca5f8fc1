// Services as kube-apiserver and kube-controller-manager keep them, driven
// in-process on a manual clock: ClusterIP allocation from the service range,
// and the EndpointSlice and Endpoints controllers following pods.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Api } from '../cluster/api.ts';
import { ManualClock } from '../cluster/clock.ts';
import { startApiServerControllers } from '../cluster/controllers/apiserver.ts';
import { FAST_TIMINGS, Runtime } from '../cluster/controllers/runtime.ts';
import { startServiceControllers } from '../cluster/controllers/services.ts';
import { PodLogs } from '../cluster/logs.ts';
import { Registry } from '../cluster/registry.ts';
import { StatusError } from '../cluster/status.ts';
import { Store } from '../cluster/store.ts';
import type { KubeObject, NewObject } from '../cluster/types.ts';

function setup() {
  const clock = new ManualClock();
  const registry = new Registry();
  const api = new Api(new Store(), registry, clock, 31);
  api.serviceCIDRs = ['10.96.0.0/16'];
  const rt = new Runtime(api, clock, new PodLogs(), FAST_TIMINGS, { failingImages: [], crashingContainers: [] });
  startApiServerControllers(rt);
  startServiceControllers(rt);
  api.create(registry.byKey('namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } }, { fieldManager: 'test' });
  const create = (key: string, object: NewObject) => api.create(registry.byKey(key)!, object.metadata.namespace, object, { fieldManager: 'test' });
  return { clock, api, rt, create };
}

const service = (name: string, spec: Record<string, unknown> = {}): NewObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'demo' },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }], ...spec },
});

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof StatusError) return error.message;
    throw error;
  }
  assert.fail('expected a 422');
}

test('ClusterIPs: asked-for addresses must be free and in range; the others come at random from above the reserved band; None is headless', () => {
  const { create } = setup();
  const spec = (o: KubeObject) => o.spec as { clusterIP: string; clusterIPs: string[]; ipFamilies: string[]; ipFamilyPolicy: string };
  const dns = spec(create('services', service('dns', { clusterIP: '10.96.0.10' })));
  assert.deepEqual([dns.clusterIP, dns.clusterIPs, dns.ipFamilies, dns.ipFamilyPolicy], ['10.96.0.10', ['10.96.0.10'], ['IPv4'], 'SingleStack']);
  assert.equal(invalid(() => create('services', service('again', { clusterIP: '10.96.0.10' }))), 'Service "again" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated');
  assert.equal(invalid(() => create('services', service('far', { clusterIPs: ['10.0.0.5'] }))), 'Service "far" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.5"}: failed to allocate IP 10.0.0.5: the provided IP (10.0.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/16');
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const ip = spec(create('services', service(`s${i}`))).clusterIP;
    const [, , third] = ip.split('.').map(Number);
    assert.ok(third! >= 1, `${ip} is above the first 256 addresses, kept for addresses asked for`);
    seen.add(ip);
  }
  assert.equal(seen.size, 20);
  const headless = spec(create('services', service('headless', { clusterIP: 'None' })));
  assert.deepEqual([headless.clusterIP, headless.clusterIPs], ['None', ['None']]);
});

test('EndpointSlices and Endpoints follow the pods a Service selects: readiness, named ports, terminating pods', () => {
  const { clock, api, create } = setup();
  create('services', service('web'));
  const pod = (name: string, ready: boolean, ip: string) => {
    const created = create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'demo', labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', ports: [{ name: 'web', containerPort: 9376 }] }] } });
    api.mutate(api.registry.byKey('pods')!, 'demo', name, (p) => {
      p.status = { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
    }, { fieldManager: 'kubelet', subresource: 'status' });
    return created;
  };
  clock.runAll();
  const slices = () => api.store.list('endpointslices.discovery.k8s.io', 'demo');
  assert.deepEqual(slices().map((s) => [s.endpoints, s.ports ?? null]), [[null, null]], 'a Service that selects nothing has one empty slice');
  pod('a', true, '10.97.0.5');
  pod('b', false, '10.97.0.6');
  clock.runAll();
  const [slice] = slices();
  assert.match(slice!.metadata.name, /^web-[a-z0-9]{5}$/);
  assert.deepEqual(slice!.metadata.labels, { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
  assert.deepEqual(slice!.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['Service', 'web', true]]);
  assert.deepEqual(slice!.ports, [{ name: 'http', port: 9376, protocol: 'TCP' }]);
  assert.deepEqual((slice!.endpoints as { addresses: string[]; conditions: object; nodeName: string; targetRef: { name: string } }[]).map((e) => [e.addresses, e.conditions, e.nodeName, e.targetRef.name]), [
    [['10.97.0.5'], { ready: true, serving: true, terminating: false }, 'n1', 'a'],
    [['10.97.0.6'], { ready: false, serving: false, terminating: false }, 'n1', 'b'],
  ]);
  const endpoints = api.store.get('endpoints', 'demo', 'web')!;
  assert.deepEqual(endpoints.subsets, [{
    addresses: [{ ip: '10.97.0.5', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'demo', name: 'a', uid: api.store.get('pods', 'demo', 'a')!.metadata.uid, resourceVersion: api.store.get('pods', 'demo', 'a')!.metadata.resourceVersion } }],
    notReadyAddresses: [{ ip: '10.97.0.6', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'demo', name: 'b', uid: api.store.get('pods', 'demo', 'b')!.metadata.uid, resourceVersion: api.store.get('pods', 'demo', 'b')!.metadata.resourceVersion } }],
    ports: [{ name: 'http', port: 9376, protocol: 'TCP' }],
  }]);
  // A pod being deleted stays in the slice as terminating (still serving), and leaves the Endpoints.
  api.delete(api.registry.byKey('pods')!, 'demo', 'a');
  clock.advance(FAST_TIMINGS.reconcile);
  const conditions = (slices()[0]!.endpoints as { targetRef: { name: string }; conditions: object }[]).find((e) => e.targetRef.name === 'a')?.conditions;
  assert.deepEqual(conditions, { ready: false, serving: true, terminating: true });
  assert.equal((api.store.get('endpoints', 'demo', 'web')!.subsets as { addresses?: unknown[] }[])[0]!.addresses, undefined);
  // The Service goes: its slices with it (garbage collection), its Endpoints by the controller.
  api.delete(api.registry.byKey('services')!, 'demo', 'web');
  clock.runAll();
  assert.deepEqual([slices().length, api.store.get('endpoints', 'demo', 'web')], [0, undefined]);
});

test('dual-stack ClusterIPs (alloc.go initIPFamilyFields): SingleStack by default, PreferDualStack and RequireDualStack take both families, ipFamilies and clusterIPs pick the order; a single-stack cluster refuses RequireDualStack', () => {
  const { api, create } = setup();
  api.serviceCIDRs = ['10.96.0.0/16', 'fd00:10:96::/112'];
  const spec = (o: KubeObject) => o.spec as { clusterIP: string; clusterIPs: string[]; ipFamilies: string[]; ipFamilyPolicy: string };
  const single = spec(create('services', service('single')));
  assert.deepEqual([single.ipFamilyPolicy, single.ipFamilies, single.clusterIPs.length], ['SingleStack', ['IPv4'], 1]);
  assert.match(single.clusterIP, /^10\.96\./);
  const prefer = spec(create('services', service('prefer', { ipFamilyPolicy: 'PreferDualStack' })));
  assert.deepEqual(prefer.ipFamilies, ['IPv4', 'IPv6']);
  assert.equal(prefer.clusterIP, prefer.clusterIPs[0]);
  assert.match(prefer.clusterIPs[0]!, /^10\.96\./);
  assert.match(prefer.clusterIPs[1]!, /^fd00:10:96::[0-9a-f]{1,4}$/);
  assert.ok(parseInt(prefer.clusterIPs[1]!.split('::')[1]!, 16) > 256, 'above the reserved band of the IPv6 range too');
  const v6first = spec(create('services', service('v6first', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6'] })));
  assert.deepEqual(v6first.ipFamilies, ['IPv6', 'IPv4']);
  assert.match(v6first.clusterIP, /^fd00:10:96::/);
  const v6only = spec(create('services', service('v6only', { clusterIPs: ['fd00:10:96::53'] })));
  assert.deepEqual([v6only.ipFamilyPolicy, v6only.ipFamilies, v6only.clusterIPs], ['SingleStack', ['IPv6'], ['fd00:10:96::53']]);
  assert.equal(invalid(() => create('services', service('again6', { clusterIPs: ['fd00:10:96::53'] }))), 'Service "again6" is invalid: spec.clusterIPs: Invalid value: []string{"fd00:10:96::53"}: failed to allocate IP fd00:10:96::53: provided IP is already allocated');
  assert.equal(invalid(() => create('services', service('two', { ipFamilies: ['IPv4', 'IPv6'] }))), 'Service "two" is invalid: spec.ipFamilyPolicy: Invalid value: "SingleStack": must be \'RequireDualStack\' or \'PreferDualStack\' when multiple IP families are specified');
  const headless = spec(create('services', service('headless', { clusterIP: 'None', ipFamilyPolicy: 'PreferDualStack' })));
  assert.deepEqual([headless.clusterIPs, headless.ipFamilies], [['None'], ['IPv4', 'IPv6']]);

  api.serviceCIDRs = ['10.96.0.0/16'];
  assert.equal(invalid(() => create('services', service('require', { ipFamilyPolicy: 'RequireDualStack' }))), 'Service "require" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services');
  assert.equal(invalid(() => create('services', service('v6', { ipFamilies: ['IPv6'] }))), 'Service "v6" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster');
  const fallback = spec(create('services', service('fallback', { ipFamilyPolicy: 'PreferDualStack' })));
  assert.deepEqual([fallback.ipFamilies, fallback.clusterIPs.length], [['IPv4'], 1]);
});

test('a dual-stack Service gets an EndpointSlice per family (addressType IPv4, IPv6) with the pods\' addresses of that family; Endpoints keep the primary family', () => {
  const { clock, api, create } = setup();
  api.serviceCIDRs = ['10.96.0.0/16', 'fd00:10:96::/112'];
  create('services', service('web', { ipFamilyPolicy: 'PreferDualStack' }));
  clock.runAll();
  const slices = () => api.store.list('endpointslices.discovery.k8s.io', 'demo').map((s) => [s.addressType, ((s.endpoints ?? []) as { addresses: string[] }[]).map((e) => e.addresses[0])]).sort();
  assert.deepEqual(slices(), [['IPv4', []], ['IPv6', []]], 'a placeholder slice per family');
  create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'demo', labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', ports: [{ name: 'web', containerPort: 9376 }] }] } });
  api.mutate(api.registry.byKey('pods')!, 'demo', 'a', (p) => {
    p.status = { phase: 'Running', podIP: '10.97.0.5', podIPs: [{ ip: '10.97.0.5' }, { ip: 'fd00:10:97::5' }], conditions: [{ type: 'Ready', status: 'True' }] };
  }, { fieldManager: 'kubelet', subresource: 'status' });
  clock.runAll();
  assert.deepEqual(slices(), [['IPv4', ['10.97.0.5']], ['IPv6', ['fd00:10:97::5']]]);
  assert.deepEqual((api.store.get('endpoints', 'demo', 'web')!.subsets as { addresses: { ip: string }[] }[])[0]!.addresses.map((a) => a.ip), ['10.97.0.5']);
});
