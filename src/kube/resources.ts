// Where each kind of object in Calico's manifests lives in the API. A fixed
// table instead of discovery: apply sends no discovery requests, and a
// manifest holding a kind it does not expect is refused before anything is
// written.
import { CliError } from '../cli/errors.ts';

export interface ResourceInfo {
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
}

const KNOWN: Record<string, ResourceInfo> = {
  'v1/Namespace': { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
  'v1/ServiceAccount': { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true },
  'v1/ConfigMap': { group: '', version: 'v1', resource: 'configmaps', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', namespaced: true },
  'apps/v1/Deployment': { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', namespaced: false },
  'operator.tigera.io/v1/Installation': { group: 'operator.tigera.io', version: 'v1', resource: 'installations', namespaced: false },
  'operator.tigera.io/v1/APIServer': { group: 'operator.tigera.io', version: 'v1', resource: 'apiservers', namespaced: false },
  'operator.tigera.io/v1/Goldmane': { group: 'operator.tigera.io', version: 'v1', resource: 'goldmanes', namespaced: false },
  'operator.tigera.io/v1/Whisker': { group: 'operator.tigera.io', version: 'v1', resource: 'whiskers', namespaced: false },
};

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export function resourceOf(object: ManifestObject, file: string): ResourceInfo {
  const info = KNOWN[`${object.apiVersion}/${object.kind}`];
  if (!info) throw new CliError(`${file} holds a ${object.kind} (${object.apiVersion}) named "${object.metadata?.name}", which kubectl-calico does not expect in Calico's manifests; refusing to apply it`);
  return info;
}

/** The object's API path, e.g. /apis/apps/v1/namespaces/tigera-operator/deployments/tigera-operator. */
export function objectPath(info: ResourceInfo, object: ManifestObject): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const namespace = info.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
  return `${base}${namespace}/${info.resource}/${object.metadata.name}`;
}

/** kubectl's `kind.group/name`, e.g. `deployment.apps/tigera-operator`. */
export function displayName(info: ResourceInfo, object: ManifestObject): string {
  return `${object.kind.toLowerCase()}${info.group ? `.${info.group}` : ''}/${object.metadata.name}`;
}
