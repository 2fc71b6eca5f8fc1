// Discovery (aggregated v2/v2beta1 and the legacy documents) and the
// OpenAPI v3 documents kubectl reads to decide that the server validates
// fields itself (a `patch` operation per kind with a fieldValidation
// parameter; see the research notes in test/cluster/README.md).
import { createHash } from 'node:crypto';
import type { Registry, RegisteredType } from './registry.ts';

const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ['get', 'patch', 'update'],
  log: ['get'],
  scale: ['get', 'patch', 'update'],
  finalize: ['update'],
  exec: ['create', 'get'],
};

export const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
export const AGGREGATED_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** Which aggregated discovery version the Accept header asks for, if any. */
export function aggregatedVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = new Map(part.split(';').slice(1).map((p) => p.trim().split('=') as [string, string]));
    if (params.get('g') === 'apidiscovery.k8s.io' && params.get('as') === 'APIGroupDiscoveryList') {
      const v = params.get('v');
      if (v === 'v2' || v === 'v2beta1') return v;
    }
  }
  return undefined;
}

export function aggregatedDiscovery(registry: Registry, core: boolean, version: 'v2' | 'v2beta1'): object {
  const items = [...registry.groups()]
    .filter(([group]) => (group === '') === core)
    .map(([group, versions]) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v,
        freshness: 'Current',
        resources: typesIn(registry, group, v).map((t) => aggregatedResource(t, v)),
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

function aggregatedResource(type: RegisteredType, version: string): object {
  const responseKind = { group: type.group, version, kind: type.kind };
  return {
    resource: type.resource,
    responseKind,
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: type.verbs,
    ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
    ...(type.categories.length ? { categories: type.categories } : {}),
    ...(type.subresources.length
      ? { subresources: type.subresources.map((s) => ({ subresource: s, responseKind: s === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { ...responseKind, kind: subresourceKind(type, s) }, verbs: SUBRESOURCE_VERBS[s] ?? ['get'] })) }
      : {}),
  };
}

export function apiVersions(): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] };
}

export function apiGroupList(registry: Registry): object {
  const groups = [...registry.groups()].filter(([group]) => group !== '').map(([group, versions]) => apiGroup(group, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(group: string, versions: string[]): object {
  const list = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: list, preferredVersion: list[0] };
}

export function apiResourceList(registry: Registry, group: string, version: string): object | undefined {
  const types = typesIn(registry, group, version);
  if (types.length === 0) return undefined;
  const resources = types.flatMap((t) => [
    {
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
      storageVersionHash: createHash('sha256').update(t.key).digest('base64').slice(0, 11) + '=',
    },
    ...t.subresources.map((s) => ({ name: `${t.resource}/${s}`, singularName: '', namespaced: t.namespaced, kind: subresourceKind(t, s), verbs: SUBRESOURCE_VERBS[s] ?? ['get'] })),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function subresourceKind(type: RegisteredType, subresource: string): string {
  return subresource === 'scale' ? 'Scale' : subresource === 'exec' ? 'PodExecOptions' : type.kind;
}

function typesIn(registry: Registry, group: string, version: string): RegisteredType[] {
  return registry.all().filter((t) => t.group === group && t.versions.includes(version));
}

/** The OpenAPI v3 index and one document per group-version, addressed by a hash of its content. */
export class OpenApi {
  private readonly registry: Registry;
  private readonly kubernetesVersion: string;

  constructor(registry: Registry, kubernetesVersion: string) {
    this.registry = registry;
    this.kubernetesVersion = kubernetesVersion;
  }

  index(): object {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const [group, versions] of this.registry.groups()) {
      for (const version of versions) {
        const key = group ? `apis/${group}/${version}` : `api/${version}`;
        paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(this.document(group, version))}` };
      }
    }
    return { paths };
  }

  /** The document for `api/v1` or `apis/<group>/<version>`, if that group-version is served. */
  documentFor(key: string): object | undefined {
    const parts = key.split('/');
    const [group, version] = parts[0] === 'api' ? ['', parts[1] ?? ''] : [parts[1] ?? '', parts[2] ?? ''];
    return typesIn(this.registry, group, version).length ? this.document(group, version) : undefined;
  }

  private document(group: string, version: string): object {
    const paths: Record<string, object> = {};
    for (const type of typesIn(this.registry, group, version)) {
      if (type.virtual) continue;
      const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
      const path = `${prefix}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.resource}/{name}`;
      paths[path] = {
        patch: {
          description: `partially update the specified ${type.kind}`,
          operationId: `patch${type.kind}`,
          'x-kubernetes-action': 'patch',
          'x-kubernetes-group-version-kind': { group, version, kind: type.kind },
          parameters: [
            { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
            { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
            { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
            { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
          ],
        },
      };
    }
    return { openapi: '3.0.0', info: { title: 'Kubernetes', version: this.kubernetesVersion }, paths };
  }
}

function hashOf(document: object): string {
  return createHash('sha512').update(JSON.stringify(document)).digest('hex').toUpperCase();
}
