// What kubectl-calico knows about each Calico release: the pinned sha256 of
// every manifest it downloads, the Tigera operator image it ships, and the
// Kubernetes minors it is tested on. Sources: ../shared/calico/*/SHA256SUMS
// and calico-facts.md §1.3, §1.5 and §2.

export const DEFAULT_CALICO_VERSION = 'v3.29.0';

export type ManifestFile = 'tigera-operator.yaml' | 'operator-crds.yaml' | 'custom-resources.yaml';

export interface CalicoRelease {
  version: string;
  operatorVersion: string;
  /** sha256 of each manifest, as served by the Calico release location. */
  sha256: Record<ManifestFile, string>;
}

/** Tested Kubernetes minors per Calico minor (calico-facts §2). */
export const KUBERNETES_SUPPORT: Record<string, readonly string[]> = {
  'v3.29': ['1.29', '1.30', '1.31', '1.32'],
  'v3.30': ['1.31', '1.32', '1.33', '1.34', '1.35'],
  'v3.31': ['1.32', '1.33', '1.34', '1.35'],
  'v3.32': ['1.34', '1.35', '1.36'],
};

/** Operator image tag per Calico release (calico-facts §1.3). */
const OPERATOR_VERSIONS: Record<string, string> = {
  'v3.29.0': 'v1.36.0', 'v3.29.1': 'v1.36.2', 'v3.29.2': 'v1.36.5', 'v3.29.3': 'v1.36.7',
  'v3.29.4': 'v1.36.9', 'v3.29.5': 'v1.36.12', 'v3.29.6': 'v1.36.14', 'v3.29.7': 'v1.36.16',
  'v3.30.0': 'v1.38.0', 'v3.30.1': 'v1.38.1', 'v3.30.2': 'v1.38.3', 'v3.30.3': 'v1.38.6',
  'v3.30.4': 'v1.38.7', 'v3.30.5': 'v1.38.9', 'v3.30.6': 'v1.38.11', 'v3.30.7': 'v1.38.13',
  'v3.31.0': 'v1.40.0', 'v3.31.1': 'v1.40.1', 'v3.31.2': 'v1.40.2', 'v3.31.3': 'v1.40.3',
  'v3.31.4': 'v1.40.7', 'v3.31.5': 'v1.40.8', 'v3.31.6': 'v1.40.13', 'v3.31.7': 'v1.40.15',
  'v3.32.0': 'v1.42.0', 'v3.32.1': 'v1.42.3',
};

const SUMS: Record<string, Record<ManifestFile, string>> = {
  'v3.29.0': {
    'tigera-operator.yaml': '3c94375828be38a3120c3377a122c9a257b882a2a0a6ad92c734d9cb750bd47e',
    'operator-crds.yaml': '530bbfc9125fe316c0fb1416a80a021aadf762710b01ef33c6324f5f8380edfb',
    'custom-resources.yaml': '4043b5053798754892df9a994324aa45c4296ae6c2d7d2d7a4f91971acab5032',
  },
  'v3.29.7': {
    'tigera-operator.yaml': 'a571ef21476c026618a7c7b092a3ab1744ec191e02492655d8c1468ac08f25f2',
    'operator-crds.yaml': '431f46a488a8bef14cd00f9518a85b4d02bd030680247d802a84c6f4098d0891',
    'custom-resources.yaml': '4043b5053798754892df9a994324aa45c4296ae6c2d7d2d7a4f91971acab5032',
  },
  'v3.30.0': {
    'tigera-operator.yaml': '4fcda71515ab358a94c4e81b12963e50899e8c6eaa757a9fb587d17c4799f7ab',
    'operator-crds.yaml': '3533fc7d5ca0bb5e595d2fe66965ad9199e72b4d213965f567a66b9fc5d712ba',
    'custom-resources.yaml': 'f7cd142773609fc7f830b96d8f29bd1b5f05cdc5293324992d8524b54c09c717',
  },
  'v3.30.7': {
    'tigera-operator.yaml': 'bcc9f89c1847ee5237c29c1b7e4a67c86296cb0139619093df6ca98ec14abf18',
    'operator-crds.yaml': '53b2e2791915809db8016b72d4ceac9d1dd529d053984eb203c06b94c6639ee3',
    'custom-resources.yaml': 'f7cd142773609fc7f830b96d8f29bd1b5f05cdc5293324992d8524b54c09c717',
  },
  'v3.31.0': {
    'tigera-operator.yaml': '8ded4500cfe6380832e140d7a36d46aafa6b7c6851466fb98c61c7ac1bf95792',
    'operator-crds.yaml': '2b2342a6d49e1ec7c43aaa2849e02254a208bdb2dafb4f117b1c6f833dae2234',
    'custom-resources.yaml': '4fb598a7fce1ad1f8bbfb9004f5efcdb835082e92e06323cb7b8ce60260ed891',
  },
  'v3.31.7': {
    'tigera-operator.yaml': '092c10b3d0cb73617aca51367ca59755348f4647e6d2e63fa4e5b81266203214',
    'operator-crds.yaml': '380414d5756e9a1af29ddb1ad70cada07aa344ae7a2680ba7355248621f8adbf',
    'custom-resources.yaml': '4fb598a7fce1ad1f8bbfb9004f5efcdb835082e92e06323cb7b8ce60260ed891',
  },
  'v3.32.0': {
    'tigera-operator.yaml': 'e48fe027f8be3d9136a012a32450f1eabc4c5257c0b76083cd1ab32316637d47',
    'operator-crds.yaml': 'd9fe9189f1003ea80d93fb4776bfbadfffa42a470909cd2494a0003197cb1a9a',
    'custom-resources.yaml': '4fb598a7fce1ad1f8bbfb9004f5efcdb835082e92e06323cb7b8ce60260ed891',
  },
  'v3.32.1': {
    'tigera-operator.yaml': 'f18e073794207d372606bc3ea6f8fd73972f86d6828f4ba666dfe0d4aa8ab07f',
    'operator-crds.yaml': '192f8b2d934ef24b62e86b7e1a6e1762d1c8af26a916f78057bc13fa5ed60f71',
    'custom-resources.yaml': '4fb598a7fce1ad1f8bbfb9004f5efcdb835082e92e06323cb7b8ce60260ed891',
  },
};

/** Releases whose manifests are pinned in the binary, oldest first. */
export const KNOWN_RELEASES: readonly CalicoRelease[] = Object.entries(SUMS).map(([version, sha256]) => ({
  version,
  operatorVersion: OPERATOR_VERSIONS[version] ?? '',
  sha256,
}));

export function knownRelease(version: string): CalicoRelease | undefined {
  return KNOWN_RELEASES.find((r) => r.version === version);
}

/** The Calico release that ships a given operator image tag, if known. */
export function calicoVersionForOperator(operatorTag: string): string | undefined {
  return Object.entries(OPERATOR_VERSIONS).find(([, op]) => op === operatorTag)?.[0];
}

export function operatorVersionFor(calicoVersion: string): string | undefined {
  return OPERATOR_VERSIONS[calicoVersion];
}
