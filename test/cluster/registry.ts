// Which resources exist right now: the built-in ones, and those of every
// Established CustomResourceDefinition (registered and unregistered as the
// CRDs come and go).
import { BUILTIN_RESOURCES, type ResourceType } from './resources.ts';
import { BUILTIN_SCHEMA, crdSchema, type JsonSchema } from './schema.ts';
import type { Schema } from './fieldset.ts';
import type { KubeObject } from './types.ts';

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: JsonSchema };
  subresources?: { status?: object; scale?: object };
  additionalPrinterColumns?: { name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }[];
}

export interface CustomResourceDefinition extends KubeObject {
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
    versions: CrdVersion[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

export interface RegisteredType extends ResourceType {
  crd?: CustomResourceDefinition;
}

export class Registry {
  private readonly types = new Map<string, RegisteredType>();

  constructor() {
    for (const type of BUILTIN_RESOURCES) this.types.set(type.key, type);
  }

  all(): RegisteredType[] {
    return [...this.types.values()];
  }

  byKey(key: string): RegisteredType | undefined {
    return this.types.get(key);
  }

  /** Looks a resource up as a URL names it: group, version and plural. */
  byPath(group: string, version: string, resource: string): RegisteredType | undefined {
    const type = this.types.get(group ? `${resource}.${group}` : resource);
    return type && type.versions.includes(version) ? type : undefined;
  }

  byKind(group: string, kind: string): RegisteredType | undefined {
    return this.all().find((t) => t.group === group && t.kind === kind);
  }

  /** Group → served versions (preferred first), in discovery order. */
  groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const type of this.types.values()) {
      const versions = groups.get(type.group) ?? [];
      for (const v of type.versions) if (!versions.includes(v)) versions.push(v);
      groups.set(type.group, versions);
    }
    return groups;
  }

  registerCrd(crd: CustomResourceDefinition): RegisteredType {
    const { group, names, scope } = crd.spec;
    const served = crd.spec.versions.filter((v) => v.served);
    const storage = served.find((v) => v.storage) ?? served[0];
    const type: RegisteredType = {
      key: `${names.plural}.${group}`,
      group,
      versions: [storage, ...served.filter((v) => v !== storage)].filter((v) => v !== undefined).map((v) => v.name),
      resource: names.plural,
      kind: names.kind,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced: scope === 'Namespaced',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
      subresources: storage?.subresources?.status ? ['status'] : [],
      crd,
    };
    this.types.set(type.key, type);
    return type;
  }

  unregister(key: string): void {
    if (this.types.get(key)?.crd) this.types.delete(key);
  }
}

export function crdVersion(type: RegisteredType, version: string): CrdVersion | undefined {
  return type.crd?.spec.versions.find((v) => v.name === version);
}

export function schemaFor(type: RegisteredType, version?: string): Schema {
  if (!type.crd) return BUILTIN_SCHEMA;
  return crdSchema(crdVersion(type, version ?? type.versions[0]!)?.schema?.openAPIV3Schema);
}

/** Kinds whose writes bump metadata.generation: those with a status subresource, and every custom resource. */
export function tracksGeneration(type: RegisteredType): boolean {
  return type.crd !== undefined || type.subresources.includes('status');
}
