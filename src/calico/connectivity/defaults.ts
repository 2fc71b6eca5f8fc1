// What connectivity uses unless told otherwise: small enough for the
// command's --help to import without loading the test itself.

/** registry.k8s.io's agnhost at a tag Kubernetes' own e2e tests used; --image replaces it (a mirror, for air-gapped sites). */
export const DEFAULT_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
export const DEFAULT_NAMESPACE = 'calico-connectivity';
/** Cross-node pairs beyond the ones that cover every node (every pair when there are no more than this many extra). */
export const DEFAULT_MAX_PAIRS = 100;
