// Object semantics of kube-apiserver, shared by the HTTP layer and the
// simulated controllers: create/update/patch/apply/delete with uid,
// resourceVersion, generation, managedFields, finalizers, namespace
// lifecycle, status subresources and dry runs.
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.ts';
import { describePath, difference, fieldsOfObject, has, intersection, isEmpty, leaves, mergeApplied, removeFields, stepInto, union, valueAt, type FieldSet } from './fieldset.ts';
import { allocateClusterIPs, keepClusterIPs } from './controllers/services.ts';
import { admit, defaultDecoded, defaultObject, validateObject } from './kinds.ts';
import { schemaFor, tracksGeneration, type RegisteredType, type Registry } from './registry.ts';
import { apiVersionOf } from './resources.ts';
import { alreadyExists, badRequest, conflict, invalid, MODIFIED, notFound, StatusError } from './status.ts';
import { jsonCopy, jsonEqual, type Store } from './store.ts';
import type { KubeObject, ManagedFieldsEntry, NewObject, ObjectMeta } from './types.ts';

export interface WriteOptions {
  fieldManager: string;
  dryRun?: boolean;
  subresource?: 'status';
  /** The API version the request used; recorded in managedFields. */
  apiVersion?: string;
}

export interface ApplyOptions extends WriteOptions {
  force?: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface DeleteResult {
  object: KubeObject;
  /** False when the object stays, marked for deletion, until its finalizers are done. */
  deleted: boolean;
}

export class Api {
  readonly store: Store;
  readonly registry: Registry;
  readonly clock: Clock;
  /** The minor version the cluster runs, for messages that changed between releases. */
  readonly minor: number;
  /** kube-apiserver's --service-cluster-ip-range (kubeadm's serviceSubnet), comma-separated when dual-stack. */
  serviceCIDRs: string[] = [];

  constructor(store: Store, registry: Registry, clock: Clock, minor: number) {
    this.store = store;
    this.registry = registry;
    this.clock = clock;
    this.minor = minor;
  }

  find(type: RegisteredType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(type.key, type.namespaced ? namespace : undefined, name);
  }

  get(type: RegisteredType, namespace: string | undefined, name: string): KubeObject {
    const object = this.find(type, namespace, name);
    if (!object) throw notFound(type, name);
    return object;
  }

  create(type: RegisteredType, namespace: string | undefined, input: NewObject, options: WriteOptions, managed?: ManagedFieldsEntry[]): KubeObject {
    const object = jsonCopy(input) as KubeObject;
    object.apiVersion = options.apiVersion ?? apiVersionOf(type);
    object.kind = type.kind;
    const metadata = (object.metadata ??= {} as ObjectMeta);
    if (type.namespaced) metadata.namespace = namespace ?? metadata.namespace;
    else delete metadata.namespace;
    if (!metadata.name && metadata.generateName) metadata.name = generateName(metadata.generateName);
    if (!metadata.name) throw invalid(type, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
    admit(this, type, object);
    const existing = this.find(type, metadata.namespace, metadata.name);
    if (existing) {
      const error = alreadyExists(type, metadata.name);
      if (existing.metadata.deletionTimestamp) error.body.message = `object is being deleted: ${error.body.message}`;
      throw error;
    }
    Object.assign(metadata, { uid: randomUUID(), creationTimestamp: timestamp(this.clock.now()), resourceVersion: '' });
    delete metadata.deletionTimestamp;
    delete metadata.deletionGracePeriodSeconds;
    if (tracksGeneration(type)) metadata.generation = 1;
    else delete metadata.generation;
    if (type.subresources.includes('status') && !type.virtual) delete object.status;
    defaultObject(type, object, this.clock.now());
    if (type.key === 'services') allocateClusterIPs(this, object);
    validateObject(type, object, undefined, this.minor);
    metadata.managedFields = managed ? prune(managed, presentFields(object, type)) : this.updatedFields(type, undefined, object, options);
    if (options.dryRun) return object;
    return this.store.put(type.key, object);
  }

  /** PUT: replaces the object; a stale metadata.resourceVersion is a Conflict. */
  update(type: RegisteredType, namespace: string | undefined, name: string, input: KubeObject, options: WriteOptions): KubeObject {
    const old = this.get(type, namespace, name);
    const rv = input.metadata?.resourceVersion;
    if (!rv && type.crd) throw invalid({ group: type.group, kind: type.resource }, name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be specified for an update', field: 'metadata.resourceVersion' }]);
    if (type.key === 'customresourcedefinitions.apiextensions.k8s.io' && !rv) {
      throw invalid({ group: type.group, kind: type.kind }, name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be specified for an update', field: 'metadata.resourceVersion' }]);
    }
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(type, name, MODIFIED);
    if (input.metadata?.name && input.metadata.name !== name) {
      throw badRequest(`the name of the object (${input.metadata.name}) does not match the name on the URL (${name})`);
    }
    const next = jsonCopy(input);
    if (type.key === 'services') keepClusterIPs(old, next);
    return this.commit(type, old, next, options);
  }

  /** Read-modify-write with a function, as controllers do it (no conflicts: they run in one thread). */
  mutate(type: RegisteredType, namespace: string | undefined, name: string, change: (object: KubeObject) => void, options: WriteOptions): KubeObject {
    const old = this.get(type, namespace, name);
    let next: KubeObject;
    if (options.subresource === 'status' && type.subresources.includes('status')) {
      // Through /status only the status is written (commit keeps the rest of the stored object): the change works
      // on a copy of the status, and reads the rest, shared with the stored object, which it must not change.
      next = { ...old, metadata: { ...old.metadata }, status: jsonCopy(old.status) };
    } else {
      // The change works on a copy; managedFields are never changed in place, so the copy shares them.
      const managedFields = old.metadata.managedFields;
      next = jsonCopy(managedFields ? { ...old, metadata: { ...old.metadata, managedFields: [] } } : old);
      if (managedFields) next.metadata.managedFields = managedFields;
    }
    change(next);
    return this.commit(type, old, next, options);
  }

  /** Server-side apply of `applied` by `options.fieldManager`. */
  apply(type: RegisteredType, namespace: string | undefined, name: string, applied: KubeObject, options: ApplyOptions): KubeObject {
    checkApplied(type, name, applied, options);
    const schema = schemaFor(type, versionOf(applied.apiVersion));
    const include = includeFields(type, options.subresource);
    const appliedFields = fieldsOfObject(applied, schema, include);
    const old = this.find(type, namespace, name);
    const entry = (fields: FieldSet): ManagedFieldsEntry => managedEntry(options.fieldManager, 'Apply', applied.apiVersion, fields, this.clock.now(), options.subresource);
    if (!old) {
      if (options.subresource === 'status') throw notFound(type, name);
      return this.create(type, namespace, { ...applied, metadata: { ...applied.metadata, name } }, options, [entry(appliedFields)]);
    }
    const managed = old.metadata.managedFields ?? [];
    const mine = managed.find((m) => m.manager === options.fieldManager && m.operation === 'Apply' && m.subresource === options.subresource);
    const others = managed.filter((m) => m !== mine && m.subresource === options.subresource);
    const conflicts = findConflicts(old, applied, appliedFields, others);
    if (conflicts.length > 0 && !options.force) throw applyConflict(conflicts);
    const givenUp = difference(mine ? (mine.fieldsV1 as FieldSet) : {}, appliedFields);
    const stillOwned = others.reduce<FieldSet>((set, m) => union(set, m.fieldsV1 as FieldSet), {});
    const base = removeFields(old as unknown as Record<string, unknown>, difference(givenUp, stillOwned));
    const merged = mergeApplied(base, stripIdentity(applied), schema) as KubeObject;
    const taken = conflicts.reduce<FieldSet>((set, c) => union(set, pathSet(c.path)), {});
    const nextManaged = [
      ...managed.filter((m) => m !== mine).map((m) => (m.subresource === options.subresource ? withFields(m, difference(m.fieldsV1 as FieldSet, taken)) : m)),
      entry(appliedFields),
    ];
    merged.metadata = { ...merged.metadata, managedFields: nextManaged };
    return this.commit(type, old, merged, options, true);
  }

  delete(type: RegisteredType, namespace: string | undefined, name: string, options: DeleteOptions = {}): DeleteResult {
    const old = this.get(type, namespace, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(type, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(type, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    }
    const marked = jsonCopy(old);
    const finalizers = new Set(marked.metadata.finalizers ?? []);
    if (type.key === CRD_KEY && !old.metadata.deletionTimestamp) markCrdTerminating(marked, finalizers, this.clock.now());
    if (options.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
    if (options.propagationPolicy === 'Orphan') finalizers.add('orphan');
    const graceful = gracePeriod(type, old, options.gracePeriodSeconds);
    const namespaceFinalizers = type.key === 'namespaces' ? ((old.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) : [];
    if (namespaceFinalizers.length > 0 && old.metadata.deletionTimestamp) {
      throw conflict(type, name, 'The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.');
    }
    if (finalizers.size === 0 && graceful === 0 && namespaceFinalizers.length === 0) {
      if (options.dryRun) return { object: old, deleted: true };
      return { object: this.store.remove(type.key, old.metadata.namespace, name) ?? old, deleted: true };
    }
    if (finalizers.size > 0) marked.metadata.finalizers = [...finalizers];
    if (!marked.metadata.deletionTimestamp) {
      marked.metadata.deletionTimestamp = timestamp(new Date(this.clock.now().getTime() + graceful * 1000));
      marked.metadata.deletionGracePeriodSeconds = graceful;
    }
    if (type.key === 'namespaces') (marked.status as { phase?: string }) = { ...(marked.status as object), phase: 'Terminating' };
    if (options.dryRun) return { object: marked, deleted: false };
    return { object: this.store.put(type.key, marked), deleted: false };
  }

  /**
   * Writes `next` over `old`: identity and bookkeeping fields are kept,
   * status follows the status subresource rules, generation moves with the
   * spec, managedFields with the writer, and an object whose last finalizer
   * goes while it is being deleted is removed.
   */
  private commit(type: RegisteredType, old: KubeObject, input: KubeObject, options: WriteOptions, managedDone = false): KubeObject {
    const next = subresourceView(type, old, input, options.subresource);
    const keep = old.metadata;
    next.apiVersion = old.apiVersion;
    next.kind = type.kind;
    next.metadata = {
      ...next.metadata,
      name: keep.name,
      uid: keep.uid,
      creationTimestamp: keep.creationTimestamp,
      resourceVersion: keep.resourceVersion,
      ...(keep.namespace !== undefined ? { namespace: keep.namespace } : {}),
      ...(keep.deletionTimestamp ? { deletionTimestamp: keep.deletionTimestamp, deletionGracePeriodSeconds: keep.deletionGracePeriodSeconds } : {}),
    } as ObjectMeta;
    if (tracksGeneration(type)) next.metadata.generation = (keep.generation ?? 1) + (specChanged(old, next) ? 1 : 0);
    if (keep.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) delete next.metadata.finalizers;
    defaultDecoded(type, next);
    validateObject(type, next, old, this.minor);
    if (!managedDone) next.metadata.managedFields = this.updatedFields(type, old, next, options);
    else next.metadata.managedFields = prune(next.metadata.managedFields ?? [], presentFields(next, type));
    if (keep.deletionTimestamp && !next.metadata.finalizers?.length && type.key !== 'namespaces') {
      if (options.dryRun) return next;
      return this.store.remove(type.key, keep.namespace, keep.name) ?? next;
    }
    if (options.dryRun) return next;
    return this.store.put(type.key, next);
  }

  /** managedFields after an Update by `options.fieldManager`: it owns what it changed. */
  private updatedFields(type: RegisteredType, old: KubeObject | undefined, next: KubeObject, options: WriteOptions): ManagedFieldsEntry[] {
    const schema = schemaFor(type, versionOf(next.apiVersion));
    const nextFields = fieldsOfObject(next, schema, includeFields(type, options.subresource));
    // A create: its writer owns every field it set, and no one else owns any (what the steps below come to).
    if (!old) return isEmpty(nextFields) ? [] : [managedEntry(options.fieldManager, 'Update', options.apiVersion ?? next.apiVersion, nextFields, this.clock.now(), options.subresource)];
    const changed = changedFields(old, next, nextFields);
    const base = baseManagedFields(old, next);
    const managed = base.map((m) => (m.subresource === options.subresource ? withFields(m, difference(m.fieldsV1 as FieldSet, changed)) : m));
    if (!isEmpty(changed)) {
      const index = managed.findIndex((m) => m.manager === options.fieldManager && m.operation === 'Update' && m.subresource === options.subresource);
      const previous = index >= 0 ? (managed[index]!.fieldsV1 as FieldSet) : {};
      const entry = managedEntry(options.fieldManager, 'Update', options.apiVersion ?? next.apiVersion, union(previous, changed), this.clock.now(), options.subresource);
      if (index >= 0) managed[index] = entry;
      else managed.push(entry);
    }
    // Entries of the other subresource own fields this write could not change: they were pruned
    // when last written, unless the entries are the client's (then all are checked). A create
    // has only its own entry.
    if (base === old.metadata.managedFields) return prune(managed, nextFields, (m) => m.subresource === options.subresource);
    return prune(managed, fieldsOfObject(next, schema));
  }
}

const CRD_KEY = 'customresourcedefinitions.apiextensions.k8s.io';

/** A deleted CRD stays, Terminating, until the finalizer controller has removed its custom resources. */
function markCrdTerminating(crd: KubeObject, finalizers: Set<string>, now: Date): void {
  finalizers.add('customresourcecleanup.apiextensions.k8s.io');
  const status = (crd.status ??= {}) as { conditions?: object[] };
  status.conditions = [
    ...(status.conditions ?? []).filter((c) => (c as { type: string }).type !== 'Terminating'),
    { type: 'Terminating', status: 'True', lastTransitionTime: timestamp(now), reason: 'InstanceDeletionPending', message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon' },
  ];
}

/**
 * What a write may change: through /status only the status (and nothing of
 * metadata but managedFields), otherwise everything but the status.
 */
function subresourceView(type: RegisteredType, old: KubeObject, input: KubeObject, subresource: string | undefined): KubeObject {
  if (!type.subresources.includes('status')) return input;
  if (subresource === 'status') {
    // Everything but the status is the stored object's, shared: stored objects are never changed in place.
    const managedFields = input.metadata?.managedFields ?? old.metadata.managedFields;
    return { ...old, status: input.status, metadata: { ...old.metadata, ...(managedFields ? { managedFields } : {}) } };
  }
  const { status: _ignored, ...rest } = input;
  return old.status === undefined ? (rest as KubeObject) : { ...rest, status: old.status } as KubeObject;
}

/**
 * The managedFields an Update starts from: the stored ones, unless the
 * client sent its own (kubectl's client-side to server-side apply
 * migration rewrites them with a JSON patch); `[{}]` resets them.
 */
function baseManagedFields(old: KubeObject | undefined, next: KubeObject): ManagedFieldsEntry[] {
  const sent = next.metadata.managedFields;
  if (!old || !sent || sent.length === 0) return old?.metadata.managedFields ?? [];
  if (sent.length === 1 && Object.keys(sent[0]!).length === 0) return [];
  return sent;
}

interface Conflict {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  path: string[];
}

function findConflicts(old: KubeObject, applied: KubeObject, appliedFields: FieldSet, others: ManagedFieldsEntry[]): Conflict[] {
  const conflicts: Conflict[] = [];
  for (const other of others) {
    for (const path of leaves(intersection(other.fieldsV1 as FieldSet, appliedFields))) {
      if (path[path.length - 1] === '.') continue;
      if (!jsonEqual(valueAt(old, path), valueAt(applied, path))) {
        conflicts.push({ manager: other.manager, operation: other.operation, apiVersion: other.apiVersion, path });
      }
    }
  }
  return conflicts;
}

/**
 * The 409 kube-apiserver answers to a server-side apply that would take
 * fields from another manager (managedfields/internal/conflict.go).
 */
function applyConflict(conflicts: Conflict[]): StatusError {
  const who = (c: Conflict) => (c.operation === 'Apply' ? `"${c.manager}"` : `"${c.manager}" using ${c.apiVersion}`);
  const count = conflicts.length;
  let text: string;
  if (count === 1) text = `conflict with ${who(conflicts[0]!)}: ${describePath(conflicts[0]!.path)}`;
  else {
    const groups = new Map<string, Conflict[]>();
    for (const c of conflicts) groups.set(who(c), [...(groups.get(who(c)) ?? []), c]);
    text = [...groups].map(([manager, list]) => `conflicts with ${manager}:\n${list.map((c) => `- ${describePath(c.path)}`).join('\n')}`).join('\n');
  }
  return new StatusError(409, 'Conflict', `Apply failed with ${count} conflict${count === 1 ? '' : 's'}: ${text}`, {
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${who(c)}`, field: describePath(c.path) })),
  });
}

/** The request checks of kube-apiserver's apply patcher (handlers/patch.go, managedfields versioncheck). */
function checkApplied(type: RegisteredType, name: string, applied: KubeObject, options: ApplyOptions): void {
  if (!options.fieldManager) {
    throw new StatusError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
      group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
    });
  }
  if (!applied || typeof applied !== 'object' || Array.isArray(applied)) throw badRequest('error decoding YAML: the body is not an object');
  const expected = apiVersionOf(type, versionOf(applied.apiVersion) ?? type.versions[0]);
  if (!type.versions.some((v) => apiVersionOf(type, v) === applied.apiVersion)) {
    throw badRequest(`Incorrect version specified in apply patch. Specified patch version: ${applied.apiVersion ?? ''}, expected: ${expected}`);
  }
  if (applied.kind !== type.kind) throw badRequest(`invalid object type: ${applied.apiVersion}, Kind=${applied.kind ?? ''}`);
  if (applied.metadata?.managedFields) throw badRequest('metadata.managedFields must be nil');
  if (applied.metadata?.name && applied.metadata.name !== name) {
    throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
  }
}

/**
 * The fields of `fields` whose value differs between `old` and `next` (a
 * list element: that it is new), found in one walk down both objects.
 */
function changedFields(old: unknown, next: unknown, fields: FieldSet): FieldSet {
  const changed: FieldSet = {};
  for (const [element, child] of Object.entries(fields)) {
    if (element === '.') {
      if (old === undefined) changed['.'] = {};
      continue;
    }
    const [before, after] = [stepInto(old, element), stepInto(next, element)];
    if (isEmpty(child)) {
      if (!jsonEqual(before, after)) changed[element] = {};
    } else {
      const below = changedFields(before, after, child);
      if (!isEmpty(below)) changed[element] = below;
    }
  }
  return changed;
}

/** Every field the object sets, as its type's schema describes them. */
function presentFields(object: KubeObject, type: RegisteredType): FieldSet {
  return fieldsOfObject(object, schemaFor(type, versionOf(object.apiVersion)));
}

/** Drops owned fields the object no longer has (`present` are those it has), and entries left with nothing. */
function prune(managed: ManagedFieldsEntry[], present: FieldSet, affected: (entry: ManagedFieldsEntry) => boolean = () => true): ManagedFieldsEntry[] {
  return managed
    .map((m) => (affected(m) ? withFields(m, keepPresent(m.fieldsV1 as FieldSet, present)) : m))
    .filter((m) => !isEmpty(m.fieldsV1 as FieldSet))
    .sort((a, b) => (a.operation === b.operation ? a.time.localeCompare(b.time) : a.operation === 'Apply' ? -1 : 1));
}

/** `owned` less what is not in `present`: the same set when nothing goes (field sets are never changed in place). */
function keepPresent(owned: FieldSet, present: FieldSet): FieldSet {
  const entries = Object.entries(owned);
  let result: FieldSet | undefined;
  entries.forEach(([element, child], i) => {
    const there = present[element];
    let kept = there && (isEmpty(child) ? child : keepPresent(child, there));
    if (kept && !isEmpty(child) && isEmpty(kept) && !has(child, ['.'])) kept = undefined;
    if (kept !== child) result ??= Object.fromEntries(entries.slice(0, i));
    if (result && kept) result[element] = kept;
  });
  return result ?? owned;
}

function pathSet(path: string[]): FieldSet {
  return path.reduceRight<FieldSet>((inner, element) => ({ [element]: inner }), {});
}

function withFields(entry: ManagedFieldsEntry, fields: FieldSet): ManagedFieldsEntry {
  if (fields === entry.fieldsV1) return entry;
  return { ...entry, fieldsV1: fields };
}

function managedEntry(manager: string, operation: 'Apply' | 'Update', apiVersion: string, fields: FieldSet, now: Date, subresource?: string): ManagedFieldsEntry {
  return { manager, operation, apiVersion, time: timestamp(now), fieldsType: 'FieldsV1', fieldsV1: fields, ...(subresource ? { subresource } : {}) };
}

/** Which top-level fields a write owns: status only through /status for kinds that have it. */
function includeFields(type: RegisteredType, subresource: string | undefined): (top: string) => boolean {
  if (!type.subresources.includes('status')) return () => true;
  return subresource === 'status' ? (top) => top === 'status' : (top) => top !== 'status';
}

function specChanged(old: KubeObject, next: KubeObject): boolean {
  const strip = ({ metadata: _m, status: _s, ...rest }: KubeObject) => rest;
  return !jsonEqual(strip(old), strip(next));
}

function stripIdentity(applied: KubeObject): KubeObject {
  const { resourceVersion: _rv, uid: _uid, managedFields: _mf, creationTimestamp: _ct, ...metadata } = applied.metadata ?? ({} as ObjectMeta);
  return { ...applied, metadata: metadata as ObjectMeta };
}

function gracePeriod(type: RegisteredType, object: KubeObject, requested: number | undefined): number {
  if (type.key !== 'pods') return 0;
  const spec = object.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
  if (!spec?.nodeName) return 0;
  return requested ?? spec.terminationGracePeriodSeconds ?? 30;
}

function versionOf(apiVersion: string | undefined): string | undefined {
  return apiVersion?.split('/').pop();
}

/** RFC 3339 to the second, as the API writes times; remembered for the second, since every write asks. */
export function timestamp(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (second !== lastStamp.second) Object.assign(lastStamp, { second, text: `${date.toISOString().slice(0, 19)}Z` });
  return lastStamp.text;
}

const lastStamp = { second: NaN, text: '' };

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateName(prefix: string, length = 5): string {
  let suffix = '';
  for (let i = 0; i < length; i++) suffix += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return prefix + suffix;
}
