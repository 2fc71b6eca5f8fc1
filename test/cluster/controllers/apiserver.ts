// The controllers that live in kube-apiserver and kube-controller-manager
// and keep the API itself consistent: CRD naming/establishing and cleanup,
// namespace deletion, and garbage collection through ownerReferences.
import type { CustomResourceDefinition } from '../registry.ts';
import type { KubeObject } from '../types.ts';
import type { Runtime } from './runtime.ts';

const CRD = 'customresourcedefinitions.apiextensions.k8s.io';
const MANAGER = { fieldManager: 'kube-apiserver' };

export function startApiServerControllers(rt: Runtime): void {
  rt.watch([CRD], (event) => {
    const crd = event.object as CustomResourceDefinition;
    if (event.type === 'DELETED') return forgetCrd(rt, crd);
    rt.api.registry.registerCrd(crd);
    rt.enqueue(`crd/${crd.metadata.name}`, 0, () => reconcileCrd(rt, crd.metadata.name));
  });
  rt.watch(['namespaces'], (event) => {
    if (event.type !== 'DELETED' && event.object.metadata.deletionTimestamp) {
      rt.enqueue(`namespace/${event.object.metadata.name}`, rt.timings.reconcile, () => finishNamespace(rt, event.object.metadata.name));
    }
  });
  rt.api.store.subscribe((event) => {
    if (event.type === 'DELETED' || event.object.metadata.deletionTimestamp) {
      rt.enqueue(`gc/${event.object.metadata.uid}`, rt.timings.reconcile, () => collectDependents(rt, event.object, event.type === 'DELETED'));
    }
    const namespace = event.object.metadata.namespace;
    if (event.type === 'DELETED' && namespace) {
      const ns = rt.api.store.get('namespaces', undefined, namespace);
      if (ns?.metadata.deletionTimestamp) rt.enqueue(`namespace/${namespace}`, rt.timings.reconcile, () => finishNamespace(rt, namespace));
    }
  });
}

/** NamesAccepted, then Established; a CRD being deleted loses its custom resources, then its finalizer. */
function reconcileCrd(rt: Runtime, name: string): void {
  const type = rt.type(CRD);
  const crd = rt.api.find(type, undefined, name) as CustomResourceDefinition | undefined;
  if (!crd) return;
  if (crd.metadata.deletionTimestamp) return cleanUpCrd(rt, crd);
  const conditions = crd.status?.conditions ?? [];
  const established = conditions.some((c) => c.type === 'Established' && c.status === 'True');
  if (established) return;
  const now = rt.now();
  rt.api.mutate(type, undefined, name, (object) => {
    const c = object as CustomResourceDefinition;
    const names = c.spec.names;
    const storage = c.spec.versions.find((v) => v.storage)?.name ?? c.spec.versions[0]?.name;
    object.status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
      acceptedNames: { plural: names.plural, singular: names.singular ?? names.kind.toLowerCase(), ...(names.shortNames ? { shortNames: names.shortNames } : {}), kind: names.kind, listKind: names.listKind ?? `${names.kind}List`, ...(names.categories ? { categories: names.categories } : {}) },
      storedVersions: storage ? [storage] : [],
    };
  }, { ...MANAGER, subresource: 'status' });
}

function cleanUpCrd(rt: Runtime, crd: CustomResourceDefinition): void {
  const key = `${crd.spec.names.plural}.${crd.spec.group}`;
  const type = rt.api.registry.byKey(key);
  const remaining = type ? rt.api.store.list(key) : [];
  for (const object of remaining) if (!object.metadata.deletionTimestamp) rt.api.delete(type!, object.metadata.namespace, object.metadata.name);
  if (rt.api.store.list(key).length > 0) {
    rt.enqueue(`crd/${crd.metadata.name}`, rt.timings.reconcile * 5, () => reconcileCrd(rt, crd.metadata.name));
    return;
  }
  rt.api.mutate(rt.type(CRD), undefined, crd.metadata.name, (object) => {
    object.metadata.finalizers = (object.metadata.finalizers ?? []).filter((f) => f !== 'customresourcecleanup.apiextensions.k8s.io');
  }, MANAGER);
}

function forgetCrd(rt: Runtime, crd: CustomResourceDefinition): void {
  const key = `${crd.spec.names.plural}.${crd.spec.group}`;
  rt.api.registry.unregister(key);
  rt.api.store.dropTable(key);
}

/** The namespace controller: delete everything in it, then drop the `kubernetes` finalizer and the namespace. */
function finishNamespace(rt: Runtime, name: string): void {
  const nsType = rt.type('namespaces');
  const ns = rt.api.find(nsType, undefined, name);
  if (!ns?.metadata.deletionTimestamp) return;
  let remaining = 0;
  for (const type of rt.api.registry.all()) {
    if (!type.namespaced || type.virtual) continue;
    for (const object of rt.api.store.list(type.key, name)) {
      remaining++;
      if (!object.metadata.deletionTimestamp) rt.api.delete(type, name, object.metadata.name, { gracePeriodSeconds: type.key === 'pods' ? undefined : 0 });
    }
  }
  if (remaining > 0) return;
  rt.api.mutate(nsType, undefined, name, (object) => {
    (object.spec as { finalizers?: string[] }).finalizers = [];
  }, { fieldManager: 'namespace-controller' });
  const current = rt.api.find(nsType, undefined, name);
  if (current && !(current.metadata.finalizers ?? []).length) rt.api.store.remove('namespaces', undefined, name);
}

/**
 * Garbage collection: when an owner is gone, its dependents go (background);
 * an owner deleted in the foreground waits for them, then loses its finalizer.
 */
function collectDependents(rt: Runtime, owner: KubeObject, gone: boolean): void {
  const uid = owner.metadata.uid;
  const finalizers = owner.metadata.finalizers ?? [];
  const foreground = !gone && finalizers.includes('foregroundDeletion');
  const orphan = !gone && finalizers.includes('orphan');
  if (!gone && !foreground && !orphan) return;
  let dependents = 0;
  for (const type of rt.api.registry.all()) {
    if (type.virtual) continue;
    for (const object of rt.api.store.list(type.key)) {
      const refs = object.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === uid)) continue;
      dependents++;
      if (orphan) {
        rt.api.mutate(type, object.metadata.namespace, object.metadata.name, (o) => {
          o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        }, { fieldManager: 'garbage-collector' });
        continue;
      }
      const liveOwners = refs.filter((r) => r.uid !== uid && ownerExists(rt, r.uid));
      if (liveOwners.length === 0 && !object.metadata.deletionTimestamp) {
        rt.api.delete(type, object.metadata.namespace, object.metadata.name, foreground ? { propagationPolicy: 'Foreground' } : {});
      }
    }
  }
  if ((foreground && dependents === 0) || orphan) {
    const type = rt.api.registry.all().find((t) => t.kind === owner.kind && owner.apiVersion.startsWith(t.group ? `${t.group}/` : 'v'));
    if (!type) return;
    rt.api.mutate(type, owner.metadata.namespace, owner.metadata.name, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== 'foregroundDeletion' && f !== 'orphan');
    }, { fieldManager: 'garbage-collector' });
  } else if (foreground) {
    rt.enqueue(`gc/${uid}`, rt.timings.reconcile * 3, () => {
      const type = rt.api.registry.all().find((t) => t.kind === owner.kind);
      const current = type ? rt.api.find(type, owner.metadata.namespace, owner.metadata.name) : undefined;
      if (current) collectDependents(rt, current, false);
    });
  }
}

function ownerExists(rt: Runtime, uid: string): boolean {
  for (const type of rt.api.registry.all()) {
    if (type.virtual) continue;
    if (rt.api.store.list(type.key).some((o) => o.metadata.uid === uid && !o.metadata.deletionTimestamp)) return true;
  }
  return false;
}
