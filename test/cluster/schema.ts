// How lists merge under server-side apply: for built-in kinds from the
// `listType`/`listMapKey` markers of k8s.io/api, for custom resources from
// the CRD's structural schema (x-kubernetes-list-type and friends).
import type { Schema } from './fieldset.ts';

const BUILTIN_LIST_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
  podIPs: ['ip'],
  hostIPs: ['ip'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
  taints: ['key', 'effect'],
  resourceClaims: ['name'],
};

const BUILTIN_SETS = new Set(['finalizers']);

export const BUILTIN_SCHEMA: Schema = {
  listType(path) {
    const field = path[path.length - 1] ?? '';
    if (BUILTIN_SETS.has(field)) return 'set';
    if (field === 'ports') return path.includes('containers') || path.includes('initContainers') ? { keys: ['containerPort', 'protocol'] } : { keys: ['port', 'protocol'] };
    const keys = BUILTIN_LIST_KEYS[field];
    return keys ? { keys } : 'atomic';
  },
};

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  enum?: unknown[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [key: string]: unknown;
}

/** The schema of a custom resource, with metadata handled as for built-ins. */
export function crdSchema(root: JsonSchema | undefined): Schema {
  return {
    listType(path) {
      if (path[0] === 'metadata') return BUILTIN_SCHEMA.listType(path);
      const node = schemaAt(root, path);
      const type = node?.['x-kubernetes-list-type'];
      if (type === 'map') return { keys: node?.['x-kubernetes-list-map-keys'] ?? [] };
      return type === 'set' ? 'set' : 'atomic';
    },
    atomicMap(path) {
      return path[0] !== 'metadata' && schemaAt(root, path)?.['x-kubernetes-map-type'] === 'atomic';
    },
  };
}

/** The schema node for a path of field names; array items are stepped into implicitly. */
export function schemaAt(root: JsonSchema | undefined, path: readonly string[]): JsonSchema | undefined {
  let node = root;
  for (const field of path) {
    while (node?.type === 'array') node = node.items;
    if (!node) return undefined;
    const next: JsonSchema | boolean | undefined = node.properties?.[field] ?? node.additionalProperties;
    node = typeof next === 'object' ? next : undefined;
  }
  return node;
}
