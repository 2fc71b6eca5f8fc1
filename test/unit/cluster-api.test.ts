// The test cluster's object semantics, driven in-process on a manual clock
// (no sleeps): what kubectl and client-node rely on from kube-apiserver.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Api } from '../cluster/api.ts';
import { ManualClock } from '../cluster/clock.ts';
import { startApiServerControllers } from '../cluster/controllers/apiserver.ts';
import { FAST_TIMINGS, Runtime } from '../cluster/controllers/runtime.ts';
import { PodLogs } from '../cluster/logs.ts';
import { Registry } from '../cluster/registry.ts';
import { StatusError } from '../cluster/status.ts';
import { Store } from '../cluster/store.ts';
import type { KubeObject, NewObject } from '../cluster/types.ts';

function setup() {
  const clock = new ManualClock();
  const store = new Store(50);
  const registry = new Registry();
  const api = new Api(store, registry, clock, 31);
  const rt = new Runtime(api, clock, new PodLogs(), FAST_TIMINGS, { failingImages: [], crashingContainers: [] });
  startApiServerControllers(rt);
  api.create(registry.byKey('namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } }, { fieldManager: 'test' });
  return { clock, store, registry, api, rt };
}

const deployment = (image: string, replicas = 1): NewObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'demo' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } } },
});

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StatusError) return error;
    throw error;
  }
  assert.fail('expected a Status error');
}

test('server-side apply creates, is a true no-op when repeated, and updates what changed', () => {
  const { api, registry } = setup();
  const type = registry.byKey('deployments.apps')!;
  const created = api.apply(type, 'demo', 'web', deployment('nginx:1.27') as KubeObject, { fieldManager: 'kubectl-calico' });
  assert.equal(created.metadata.generation, 1);
  assert.deepEqual(created.metadata.managedFields?.map((m) => [m.manager, m.operation]), [['kubectl-calico', 'Apply']]);
  const again = api.apply(type, 'demo', 'web', deployment('nginx:1.27') as KubeObject, { fieldManager: 'kubectl-calico' });
  assert.equal(again.metadata.resourceVersion, created.metadata.resourceVersion);
  const changed = api.apply(type, 'demo', 'web', deployment('nginx:1.28') as KubeObject, { fieldManager: 'kubectl-calico' });
  assert.notEqual(changed.metadata.resourceVersion, created.metadata.resourceVersion);
  assert.equal(changed.metadata.generation, 2);
});

test('an apply that changes a field another manager owns is a 409 naming both, until forced', () => {
  const { api, registry } = setup();
  const type = registry.byKey('deployments.apps')!;
  api.create(type, 'demo', deployment('nginx:1.27', 2), { fieldManager: 'kubectl-create', apiVersion: 'apps/v1' });
  const error = statusOf(() => api.apply(type, 'demo', 'web', deployment('nginx:1.27', 3) as KubeObject, { fieldManager: 'kubectl-calico' }));
  assert.equal(error.code, 409);
  assert.equal(error.body.message, 'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas');
  assert.deepEqual(error.body.details, { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-create" using apps/v1', field: '.spec.replicas' }] });
  const forced = api.apply(type, 'demo', 'web', deployment('nginx:1.27', 3) as KubeObject, { fieldManager: 'kubectl-calico', force: true });
  assert.equal((forced.spec as { replicas: number }).replicas, 3);
  const creator = forced.metadata.managedFields?.find((m) => m.manager === 'kubectl-create');
  assert.ok(creator && !('f:replicas' in ((creator.fieldsV1 as Record<string, Record<string, unknown>>)['f:spec'] ?? {})), 'ownership of .spec.replicas moved');
});

test('a PUT with a stale resourceVersion is a Conflict worded like kube-apiserver', () => {
  const { api, registry } = setup();
  const type = registry.byKey('configmaps')!;
  const cm = api.create(type, 'demo', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } }, { fieldManager: 'test' });
  api.update(type, 'demo', 'c', { ...cm, data: { a: '2' } }, { fieldManager: 'test' });
  const error = statusOf(() => api.update(type, 'demo', 'c', { ...cm, data: { a: '3' } }, { fieldManager: 'test' }));
  assert.equal(error.body.message, 'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again');
});

test('creating into a missing namespace is a 404 for the namespace', () => {
  const { api, registry } = setup();
  const error = statusOf(() => api.create(registry.byKey('configmaps')!, 'nope', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, { fieldManager: 'test' }));
  assert.deepEqual(error.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'namespaces "nope" not found', reason: 'NotFound', details: { name: 'nope', kind: 'namespaces' }, code: 404 });
});

test('an object with finalizers stays, marked for deletion, until they are removed', () => {
  const { api, registry, store } = setup();
  const type = registry.byKey('configmaps')!;
  api.create(type, 'demo', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', finalizers: ['example.com/hold'] } }, { fieldManager: 'test' });
  const result = api.delete(type, 'demo', 'c');
  assert.equal(result.deleted, false);
  assert.ok(store.get('configmaps', 'demo', 'c')?.metadata.deletionTimestamp);
  api.mutate(type, 'demo', 'c', (o) => void (o.metadata.finalizers = []), { fieldManager: 'test' });
  assert.equal(store.get('configmaps', 'demo', 'c'), undefined);
});

test('a deleted namespace is Terminating until the namespace controller has emptied it', () => {
  const { api, registry, store, clock } = setup();
  api.create(registry.byKey('configmaps')!, 'demo', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, { fieldManager: 'test' });
  api.delete(registry.byKey('namespaces')!, undefined, 'demo');
  assert.equal((store.get('namespaces', undefined, 'demo')?.status as { phase: string }).phase, 'Terminating');
  const refused = statusOf(() => api.create(registry.byKey('configmaps')!, 'demo', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd' } }, { fieldManager: 'test' }));
  assert.equal(refused.code, 403);
  assert.match(refused.body.message!, /unable to create new content in namespace demo because it is being terminated/);
  clock.runAll();
  assert.equal(store.get('configmaps', 'demo', 'c'), undefined);
  assert.equal(store.get('namespaces', undefined, 'demo'), undefined);
});

test('a CRD is served once Established, and deleting it removes its custom resources', () => {
  const { api, registry, store, clock } = setup();
  const crds = registry.byKey('customresourcedefinitions.apiextensions.k8s.io')!;
  api.create(crds, undefined, {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
    spec: { group: 'example.com', scope: 'Cluster', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }] },
  }, { fieldManager: 'test' });
  clock.runAll();
  const conditions = (store.get(crds.key, undefined, 'widgets.example.com')?.status as { conditions: { type: string; status: string }[] }).conditions;
  assert.deepEqual(conditions.map((c) => `${c.type}=${c.status}`), ['NamesAccepted=True', 'Established=True']);
  const widgets = registry.byKey('widgets.example.com')!;
  const invalid = statusOf(() => api.create(widgets, undefined, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 'big' } }, { fieldManager: 'test' }));
  assert.equal(invalid.body.message, 'Widget.example.com "w" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"');
  api.create(widgets, undefined, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 3 } }, { fieldManager: 'test' });
  api.delete(crds, undefined, 'widgets.example.com');
  clock.runAll();
  assert.equal(store.get(crds.key, undefined, 'widgets.example.com'), undefined);
  assert.equal(registry.byKey('widgets.example.com'), undefined);
});

test('watch history: changes since a revision, or nothing when it is too old (410 Gone)', () => {
  const { api, registry, store } = setup();
  const type = registry.byKey('configmaps')!;
  const start = store.revision();
  api.create(type, 'demo', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, { fieldManager: 'test' });
  assert.deepEqual(store.changesSince('configmaps', start)?.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED c']);
  for (let i = 0; i < 60; i++) api.create(type, 'demo', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `x${i}` } }, { fieldManager: 'test' });
  assert.equal(store.changesSince('configmaps', start), undefined);
  assert.deepEqual(store.changesSince('namespaces', start), [], 'another resource resumes: each has its own history');
});
