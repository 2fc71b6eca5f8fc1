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

/** Every kind in Calico's manifests: apiVersion, kind, resource, namespaced. Group and version come from the apiVersion. */
const KINDS: [string, string, string, boolean][] = [
  ['v1', 'Namespace', 'namespaces', false],
  ['v1', 'ServiceAccount', 'serviceaccounts', true],
  ['v1', 'ConfigMap', 'configmaps', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
  ['rbac.authorization.k8s.io/v1', 'Role', 'roles', true],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true],
  ['apps/v1', 'Deployment', 'deployments', true],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false],
  ['operator.tigera.io/v1', 'Installation', 'installations', false],
  ['operator.tigera.io/v1', 'APIServer', 'apiservers', false],
  ['operator.tigera.io/v1', 'Goldmane', 'goldmanes', false],
  ['operator.tigera.io/v1', 'Whisker', 'whiskers', false],
  ['operator.tigera.io/v1', 'ImageSet', 'imagesets', false],
];

const KNOWN = new Map<string, ResourceInfo>(KINDS.map(([apiVersion, kind, resource, namespaced]) => {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
  return [`${apiVersion}/${kind}`, { group, version, resource, namespaced }];
}));

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export function resourceOf(object: ManifestObject, file: string): ResourceInfo {
  const info = KNOWN.get(`${object.apiVersion}/${object.kind}`);
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
