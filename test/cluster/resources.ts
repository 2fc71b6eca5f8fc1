// The API resources the test cluster serves: the built-in ones a kubeadm
// cluster has that kubectl-calico and the Calico install touch, plus every
// CustomResourceDefinition once it is Established.

export interface ResourceType {
  /** `pods`, `deployments.apps`: the store's and the printers' key. */
  key: string;
  group: string;
  /** Served versions, the storage/preferred one first. */
  versions: string[];
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: string[];
  /** Create-only virtual resources such as SelfSubjectAccessReview are not stored. */
  virtual?: boolean;
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtin(
  group: string, version: string, resource: string, kind: string,
  options: { namespaced?: boolean; shortNames?: string[]; categories?: string[]; subresources?: string[]; verbs?: string[]; virtual?: boolean } = {},
): ResourceType {
  return {
    key: group ? `${resource}.${group}` : resource,
    group,
    versions: [version],
    resource,
    kind,
    singular: kind.toLowerCase(),
    namespaced: options.namespaced ?? true,
    shortNames: options.shortNames ?? [],
    categories: options.categories ?? [],
    verbs: options.verbs ?? CRUD,
    subresources: options.subresources ?? [],
    ...(options.virtual ? { virtual: true } : {}),
  };
}

export const BUILTIN_RESOURCES: readonly ResourceType[] = [
  builtin('', 'v1', 'namespaces', 'Namespace', { namespaced: false, shortNames: ['ns'], subresources: ['status', 'finalize'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  builtin('', 'v1', 'nodes', 'Node', { namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  builtin('', 'v1', 'pods', 'Pod', { shortNames: ['po'], categories: ['all'], subresources: ['status', 'exec', 'log'] }),
  builtin('', 'v1', 'configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  builtin('', 'v1', 'secrets', 'Secret'),
  builtin('', 'v1', 'services', 'Service', { shortNames: ['svc'], categories: ['all'], subresources: ['status'], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] }),
  builtin('', 'v1', 'serviceaccounts', 'ServiceAccount', { shortNames: ['sa'] }),
  builtin('', 'v1', 'events', 'Event', { shortNames: ['ev'] }),
  builtin('', 'v1', 'endpoints', 'Endpoints', { shortNames: ['ep'] }),
  builtin('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  builtin('apps', 'v1', 'deployments', 'Deployment', { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  builtin('apps', 'v1', 'daemonsets', 'DaemonSet', { shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  builtin('apps', 'v1', 'replicasets', 'ReplicaSet', { shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
  builtin('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', { shortNames: ['netpol'] }),
  builtin('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', { namespaced: false }),
  builtin('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', { namespaced: false }),
  builtin('rbac.authorization.k8s.io', 'v1', 'roles', 'Role'),
  builtin('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding'),
  builtin('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', { shortNames: ['pdb'], subresources: ['status'] }),
  builtin('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  builtin('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', { namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], subresources: ['status'] }),
  builtin('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', { namespaced: false, verbs: ['create'], virtual: true }),
  builtin('authorization.k8s.io', 'v1', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview', { namespaced: false, verbs: ['create'], virtual: true }),
];

export function apiVersionOf(type: ResourceType, version = type.versions[0]!): string {
  return type.group ? `${type.group}/${version}` : version;
}
