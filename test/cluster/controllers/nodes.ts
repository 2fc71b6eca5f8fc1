// kube-controller-manager's node lifecycle (the not-ready taint follows the
// Ready condition) and service-account controllers (every namespace gets
// its `default` ServiceAccount and the kube-root-ca.crt ConfigMap).
import type { Runtime } from './runtime.ts';

const NOT_READY = 'node.kubernetes.io/not-ready';

export function startNodeControllers(rt: Runtime, caCert: string): void {
  rt.watch(['nodes'], (event) => {
    if (event.type !== 'DELETED') rt.enqueue(`taint/${event.object.metadata.name}`, 0, () => syncNotReadyTaint(rt, event.object.metadata.name));
  });
  rt.watch(['namespaces'], (event) => {
    if (event.type === 'ADDED') rt.enqueue(`sa/${event.object.metadata.name}`, 0, () => populateNamespace(rt, event.object.metadata.name, caCert));
  });
}

function syncNotReadyTaint(rt: Runtime, name: string): void {
  const type = rt.type('nodes');
  const node = rt.api.find(type, undefined, name);
  if (!node) return;
  const ready = ((node.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const taints = ((node.spec as { taints?: { key: string; effect: string }[] } | undefined)?.taints ?? []);
  const tainted = taints.some((t) => t.key === NOT_READY && t.effect === 'NoSchedule');
  if (ready === !tainted) return;
  rt.api.mutate(type, undefined, name, (n) => {
    const spec = (n.spec ??= {}) as { taints?: { key: string; effect: string }[] };
    const rest = (spec.taints ?? []).filter((t) => t.key !== NOT_READY);
    spec.taints = ready ? rest : [...rest, { key: NOT_READY, effect: 'NoSchedule' }];
    if (spec.taints.length === 0) delete spec.taints;
  }, { fieldManager: 'kube-controller-manager' });
}

function populateNamespace(rt: Runtime, namespace: string, caCert: string): void {
  const ns = rt.api.store.get('namespaces', undefined, namespace);
  if (!ns || ns.metadata.deletionTimestamp) return;
  if (!rt.api.store.get('serviceaccounts', namespace, 'default')) {
    rt.api.create(rt.type('serviceaccounts'), namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } }, { fieldManager: 'kube-controller-manager' });
  }
  if (!rt.api.store.get('configmaps', namespace, 'kube-root-ca.crt')) {
    rt.api.create(rt.type('configmaps'), namespace, {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } },
      data: { 'ca.crt': caCert },
    }, { fieldManager: 'kube-controller-manager' });
  }
}
