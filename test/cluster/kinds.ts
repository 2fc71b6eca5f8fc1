// Per-kind behaviour of kube-apiserver at write time: admission (namespace
// lifecycle), defaulting and validation, for the kinds the cluster serves.
import type { Api } from './api.ts';
import type { RegisteredType } from './registry.ts';
import { defaultNetworkPolicy, validateNetworkPolicy } from './networkpolicy.ts';
import { invalid, notFound, StatusError, type StatusCause } from './status.ts';
import type { KubeObject } from './types.ts';
import { validateCustomResource } from './validation.ts';

const NAMESPACES = { resource: 'namespaces', group: '' };

/** NamespaceLifecycle: no new objects in a namespace that is missing or being deleted. */
export function admit(api: Api, type: RegisteredType, object: KubeObject): void {
  if (type.crd?.metadata.deletionTimestamp) {
    throw new StatusError(403, 'Forbidden', `${qualifiedName(type)} "${object.metadata.name}" is forbidden: create not allowed while custom resource definition is terminating`, {
      name: object.metadata.name, group: type.group, kind: type.resource,
    });
  }
  if (!type.namespaced || type.virtual) return;
  const namespace = object.metadata.namespace ?? 'default';
  object.metadata.namespace = namespace;
  const ns = api.store.get('namespaces', undefined, namespace);
  if (!ns) throw notFound(NAMESPACES, namespace);
  if (ns.metadata.deletionTimestamp) {
    throw new StatusError(403, 'Forbidden', `${qualifiedName(type)} "${object.metadata.name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
      name: object.metadata.name,
      ...(type.group ? { group: type.group } : {}),
      kind: type.resource,
      causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
    });
  }
}

function qualifiedName(type: RegisteredType): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

type Defaulter = (object: KubeObject, now: Date) => void;

const DEFAULTERS: Record<string, Defaulter> = {
  namespaces(object) {
    object.spec = { finalizers: ['kubernetes'], ...(object.spec as object) };
    object.status = { phase: 'Active' };
    object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name };
  },
  pods(object) {
    const spec = (object.spec ??= {}) as Record<string, unknown>;
    spec.restartPolicy ??= 'Always';
    spec.terminationGracePeriodSeconds ??= 30;
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.schedulerName ??= 'default-scheduler';
    spec.serviceAccountName ??= 'default';
    spec.enableServiceLinks ??= true;
    spec.priority ??= 0;
    for (const container of [...((spec.initContainers as object[]) ?? []), ...((spec.containers as object[]) ?? [])] as Record<string, unknown>[]) {
      const image = String(container.image ?? '');
      container.imagePullPolicy ??= image.endsWith(':latest') || !image.includes(':') ? 'Always' : 'IfNotPresent';
      container.terminationMessagePath ??= '/dev/termination-log';
      container.terminationMessagePolicy ??= 'File';
      container.resources ??= {};
    }
    object.status = { phase: 'Pending', qosClass: 'BestEffort' };
  },
  'deployments.apps'(object) {
    const spec = (object.spec ??= {}) as Record<string, unknown>;
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
  },
  'daemonsets.apps'(object) {
    const spec = (object.spec ??= {}) as Record<string, unknown>;
    spec.revisionHistoryLimit ??= 10;
    spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
  },
  services(object) {
    const spec = (object.spec ??= {}) as Record<string, unknown>;
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    for (const port of (spec.ports as Record<string, unknown>[] | undefined) ?? []) {
      port.protocol ??= 'TCP';
      port.targetPort ??= port.port;
    }
  },
  'customresourcedefinitions.apiextensions.k8s.io'(object) {
    const spec = object.spec as { names?: Record<string, unknown>; conversion?: unknown };
    spec.conversion ??= { strategy: 'None' };
    if (spec.names) spec.names.listKind ??= `${String(spec.names.kind)}List`;
    object.status = { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: [] };
  },
};

/** The scheme's SetDefaults_* functions: kube-apiserver runs them on every object it decodes, updates and patches included. */
const SCHEME_DEFAULTERS: Record<string, (object: KubeObject) => void> = {
  'networkpolicies.networking.k8s.io': defaultNetworkPolicy,
  secrets: mergeStringData,
};

/** A Secret's write-only stringData is merged into data (base64) when decoded, winning over the same key (core/v1 conversion); it is never stored or served. */
function mergeStringData(secret: KubeObject): void {
  const stringData = (secret as { stringData?: Record<string, string> }).stringData;
  if (!stringData) return;
  const data = ((secret as { data?: Record<string, string> }).data ??= {});
  for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(value, 'utf8').toString('base64');
  delete (secret as { stringData?: unknown }).stringData;
}

export function defaultDecoded(type: RegisteredType, object: KubeObject): void {
  SCHEME_DEFAULTERS[type.key]?.(object);
}

export function defaultObject(type: RegisteredType, object: KubeObject, now: Date): void {
  defaultDecoded(type, object);
  DEFAULTERS[type.key]?.(object, now);
}

const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ANNOTATIONS_LIMIT = 262_144;

/** Validation kube-apiserver does on every create and update of these kinds. */
export function validateObject(type: RegisteredType, object: KubeObject, old: KubeObject | undefined, minor: number): void {
  const causes: StatusCause[] = [...validateName(type, object.metadata.name), ...validateAnnotations(object, minor), ...(KIND_VALIDATORS[type.key]?.(object, old) ?? [])];
  if (type.crd) causes.push(...validateCustomResource(type, object));
  if (causes.length) throw invalid(type, object.metadata.name, causes);
}

function validateName(type: RegisteredType, name: string): StatusCause[] {
  if (type.group === 'rbac.authorization.k8s.io') {
    // RBAC objects only need a valid path segment (ValidateRBACName), e.g. `system:discovery`.
    if (name && name !== '.' && name !== '..' && !/[/%]/.test(name)) return [];
    return [{ reason: 'FieldValueInvalid', message: `Invalid value: "${name}": may not contain '/' or '%'`, field: 'metadata.name' }];
  }
  const label = type.key === 'namespaces';
  if ((label ? RFC1123_LABEL : RFC1123_SUBDOMAIN).test(name) && name.length <= (label ? 63 : 253)) return [];
  const message = label
    ? `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
    : `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;
  return [{ reason: 'FieldValueInvalid', message, field: 'metadata.name' }];
}

/** Keys plus values in bytes, as apimachinery's ValidateAnnotationsSize counts them (wording changed in 1.32). */
function validateAnnotations(object: KubeObject, minor: number): StatusCause[] {
  let size = 0;
  for (const [key, value] of Object.entries(object.metadata.annotations ?? {})) size += Buffer.byteLength(key) + Buffer.byteLength(value);
  if (size <= ANNOTATIONS_LIMIT) return [];
  const detail = minor <= 31 ? `must have at most ${ANNOTATIONS_LIMIT} bytes` : `may not be more than ${ANNOTATIONS_LIMIT} bytes`;
  return [{ reason: 'FieldValueTooLong', message: `Too long: ${detail}`, field: 'metadata.annotations' }];
}

const KIND_VALIDATORS: Record<string, (object: KubeObject, old: KubeObject | undefined) => StatusCause[]> = {
  pods(object) {
    const containers = (object.spec as { containers?: unknown[] } | undefined)?.containers;
    return containers?.length ? [] : [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }];
  },
  'networkpolicies.networking.k8s.io': validateNetworkPolicy,
  'customresourcedefinitions.apiextensions.k8s.io'(object) {
    const spec = object.spec as { group?: string; names?: { plural?: string } } | undefined;
    const expected = `${spec?.names?.plural}.${spec?.group}`;
    if (object.metadata.name === expected) return [];
    return [{ reason: 'FieldValueInvalid', message: `Invalid value: "${object.metadata.name}": must be spec.names.plural+"."+spec.group`, field: 'metadata.name' }];
  },
};
