// What uninstall deletes and keeps, decided from managedFields alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planUninstall, stuck, type Found, type Step } from '../../src/calico/uninstall.ts';

function found(step: Step, name: string, managers: string[], path = `/x/${name}`): Found {
  return { step, name, path, object: { metadata: { name: name.split('/')[1]!, managedFields: managers.map((manager) => ({ manager, operation: manager === 'kubectl-calico' ? 'Apply' : 'Update' })) } } };
}

const crd = (name: string, kind: string, group: string, managers = ['kubectl-calico', 'kube-apiserver']): Found => ({
  ...found('crds', `customresourcedefinition.apiextensions.k8s.io/${name}`, managers),
  object: { metadata: { name, managedFields: managers.map((manager) => ({ manager, operation: 'Apply' })) }, spec: { names: { kind }, group } },
});

const names = (list: { name: string }[]) => list.map((f) => f.name);

test('what kubectl-calico applied goes; what it did not apply is not touched; Kubernetes and the operator do not count as other owners', () => {
  const plan = planUninstall([
    found('resources', 'installation.operator.tigera.io/default', ['kubectl-calico', 'operator']),
    found('operator', 'deployment.apps/tigera-operator', ['kubectl-calico', 'kube-controller-manager'], '/apis/apps/v1/namespaces/tigera-operator/deployments/tigera-operator'),
    found('operator', 'clusterrole.rbac.authorization.k8s.io/unrelated', ['kubectl-create']),
    crd('installations.operator.tigera.io', 'Installation', 'operator.tigera.io'),
  ], false);
  assert.deepEqual(names(plan.remove), ['installation.operator.tigera.io/default', 'deployment.apps/tigera-operator', 'customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io']);
  assert.deepEqual(plan.keep, []);
});

test('an object another tool also manages stays, and so does the namespace that holds it', () => {
  const plan = planUninstall([
    found('operator', 'serviceaccount/tigera-operator', ['kubectl-calico', 'kubectl-label'], '/api/v1/namespaces/tigera-operator/serviceaccounts/tigera-operator'),
    found('operator', 'namespace/tigera-operator', ['kubectl-calico'], '/api/v1/namespaces/tigera-operator'),
    found('operator', 'clusterrole.rbac.authorization.k8s.io/tigera-operator', ['kubectl-calico']),
  ], false);
  assert.deepEqual(plan.keep.map((k) => [k.found.name, k.reason]), [['serviceaccount/tigera-operator', 'also managed by kubectl-label'], ['namespace/tigera-operator', 'it holds serviceaccount/tigera-operator, managed by kubectl-label']]);
  assert.deepEqual(names(plan.remove), ['clusterrole.rbac.authorization.k8s.io/tigera-operator']);
});

test('an Installation that stays keeps the operator and every CRD; a kept custom resource keeps its CRD', () => {
  const notOurs = planUninstall([
    found('resources', 'installation.operator.tigera.io/default', ['kubectl-create', 'operator']),
    found('operator', 'deployment.apps/tigera-operator', ['kubectl-calico']),
    crd('ippools.crd.projectcalico.org', 'IPPool', 'crd.projectcalico.org'),
  ], false);
  assert.deepEqual(names(notOurs.remove), []);
  assert.deepEqual(notOurs.keep.map((k) => k.reason), ['the Installation stays, and it needs the operator', 'a custom resource of it stays']);
  const apiserver = planUninstall([
    found('resources', 'apiserver.operator.tigera.io/default', ['kubectl-calico', 'helm']),
    crd('apiservers.operator.tigera.io', 'APIServer', 'operator.tigera.io'),
    crd('ippools.crd.projectcalico.org', 'IPPool', 'crd.projectcalico.org'),
  ], false);
  assert.deepEqual(apiserver.keep.map((k) => [k.found.name, k.reason]), [['apiserver.operator.tigera.io/default', 'also managed by helm'], ['customresourcedefinition.apiextensions.k8s.io/apiservers.operator.tigera.io', 'a custom resource of it stays']]);
  assert.deepEqual(names(apiserver.remove), ['customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org']);
});

test('--keep-crds keeps every CRD and nothing else', () => {
  const plan = planUninstall([found('resources', 'installation.operator.tigera.io/default', ['kubectl-calico']), crd('ippools.crd.projectcalico.org', 'IPPool', 'crd.projectcalico.org')], true);
  assert.deepEqual(names(plan.remove), ['installation.operator.tigera.io/default']);
  assert.deepEqual(plan.keep.map((k) => k.reason), ['--keep-crds']);
});

test('a stuck object says whether it is being deleted and what it waits for', () => {
  assert.equal(stuck('/api/v1/namespaces', { metadata: { name: 'calico-system' } }), 'namespaces/calico-system: not being deleted');
  assert.equal(stuck('/api/v1/namespaces', { metadata: { name: 'calico-system', deletionTimestamp: '2026-11-26T08:00:00Z' }, spec: { finalizers: ['kubernetes'] }, status: { conditions: [{ type: 'NamespaceContentRemaining', status: 'True', message: 'Some resources are remaining: pods. has 2 resource instances' }] } }),
    'namespaces/calico-system: Terminating since 2026-11-26T08:00:00Z, waiting for finalizers kubernetes; Some resources are remaining: pods. has 2 resource instances');
});

test('what the guide installed (kubectl create) is not kubectl-calico\'s: neither deleted nor listed', () => {
  const plan = planUninstall([
    found('operator', 'deployment.apps/tigera-operator', ['kubectl-create', 'kube-controller-manager']),
    crd('ippools.crd.projectcalico.org', 'IPPool', 'crd.projectcalico.org', ['kubectl-create']),
  ], false);
  assert.deepEqual([plan.remove, plan.keep], [[], []]);
});

test('the operator\'s namespace stays while it holds something another tool manages, such as the eBPF endpoint ConfigMap', () => {
  const plan = planUninstall([
    found('operator', 'namespace/tigera-operator', ['kubectl-calico'], '/api/v1/namespaces/tigera-operator'),
    found('contents', 'configmap/kubernetes-services-endpoint', ['kubectl-create'], '/api/v1/namespaces/tigera-operator/configmaps/kubernetes-services-endpoint'),
    found('contents', 'secret/tigera-ca-private', ['operator'], '/api/v1/namespaces/tigera-operator/secrets/tigera-ca-private'),
  ], false);
  assert.deepEqual(plan.keep.map((k) => [k.found.name, k.reason]), [['namespace/tigera-operator', 'it holds configmap/kubernetes-services-endpoint, managed by kubectl-create']]);
  assert.deepEqual(plan.remove, []);
});

test('the namespaces are waited for unless the Installation stays', () => {
  assert.equal(planUninstall([], false).waitForNamespaces, true);
  assert.equal(planUninstall([found('resources', 'installation.operator.tigera.io/default', ['kubectl-create'])], false).waitForNamespaces, false);
});
