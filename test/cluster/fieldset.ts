// Field sets in the `FieldsV1` form kube-apiserver stores in managedFields
// (`{"f:spec":{"f:containers":{"k:{\"name\":\"x\"}":{".":{},"f:image":{}}}}}`)
// and the operations server-side apply needs on them: which fields an object
// sets, who owns what, conflicts, and removing fields a manager gave up.
import { jsonCopy, jsonEqual } from './store.ts';

export type FieldSet = { [element: string]: FieldSet };

/** How the list at a path (field names only, no indices) merges: by keys, as a set, or atomically. */
export type ListType = { keys: string[] } | 'set' | 'atomic';

export interface Schema {
  listType(path: readonly string[]): ListType;
  /** Maps marked x-kubernetes-map-type: atomic are owned as one field. */
  atomicMap?(path: readonly string[]): boolean;
}

/** Fields never tracked in managedFields. */
const UNTRACKED_METADATA = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generateName']);

/** Every field `object` sets, excluding identity and bookkeeping fields. */
export function fieldsOfObject(object: Record<string, unknown>, schema: Schema, include: (top: string) => boolean = () => true): FieldSet {
  const set: FieldSet = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || value === undefined || !include(key)) continue;
    if (key === 'metadata' && value && typeof value === 'object') {
      const meta: FieldSet = {};
      for (const [mk, mv] of Object.entries(value)) {
        if (UNTRACKED_METADATA.has(mk) || mv === undefined) continue;
        meta[`f:${mk}`] = fieldsOf(mv, schema, ['metadata', mk]);
      }
      if (!isEmpty(meta)) set['f:metadata'] = meta;
      continue;
    }
    set[`f:${key}`] = fieldsOf(value, schema, [key]);
  }
  return set;
}

/** The fields under `value`; `path` (field names from the top) is extended and restored on the way down, not copied. */
function fieldsOf(value: unknown, schema: Schema, path: string[]): FieldSet {
  if (Array.isArray(value)) return listFields(value, schema, path);
  if (value === null || typeof value !== 'object') return {};
  if (schema.atomicMap?.(path)) return {};
  const set: FieldSet = {};
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (child === undefined) continue;
    path.push(key);
    set[`f:${key}`] = fieldsOf(child, schema, path);
    path.pop();
  }
  return set;
}

function listFields(items: unknown[], schema: Schema, path: string[]): FieldSet {
  const type = schema.listType(path);
  if (type === 'atomic') return {};
  const set: FieldSet = {};
  for (const item of items) {
    if (type === 'set') {
      set[`v:${JSON.stringify(item)}`] = {};
    } else if (item && typeof item === 'object') {
      set[itemKey(item as Record<string, unknown>, type.keys)] = { '.': {}, ...fieldsOf(item, schema, path) };
    }
  }
  return set;
}

function itemKey(item: Record<string, unknown>, keys: string[]): string {
  const picked: Record<string, unknown> = {};
  for (const key of [...keys].sort()) if (item[key] !== undefined) picked[key] = item[key];
  return `k:${JSON.stringify(picked)}`;
}

/** Leaf paths of a set: fields with nothing under them, and `.` (an element itself). */
export function leaves(set: FieldSet, prefix: string[] = []): string[][] {
  const result: string[][] = [];
  for (const [element, child] of Object.entries(set)) {
    const path = [...prefix, element];
    if (isEmpty(child)) result.push(path);
    else result.push(...leaves(child, path));
  }
  return result;
}

export function has(set: FieldSet, path: readonly string[]): boolean {
  let node: FieldSet | undefined = set;
  for (const element of path) {
    node = node[element];
    if (!node) return false;
  }
  return true;
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  const result: FieldSet = { ...a };
  for (const [element, child] of Object.entries(b)) result[element] = result[element] ? union(result[element]!, child) : child;
  return result;
}

/** `a` without the leaves of `b` (empty branches are dropped). */
export function difference(a: FieldSet, b: FieldSet): FieldSet {
  const result: FieldSet = {};
  for (const [element, child] of Object.entries(a)) {
    const other = b[element];
    if (!other) result[element] = child;
    else if (!isEmpty(child) && !isEmpty(other)) {
      const rest = difference(child, other);
      if (!isEmpty(rest)) result[element] = rest;
    }
  }
  return result;
}

/** The leaves of `a` that are also in `b`. */
export function intersection(a: FieldSet, b: FieldSet): FieldSet {
  const result: FieldSet = {};
  for (const [element, child] of Object.entries(a)) {
    const other = b[element];
    if (!other) continue;
    if (isEmpty(child) || isEmpty(other)) result[element] = {};
    else {
      const both = intersection(child, other);
      if (!isEmpty(both)) result[element] = both;
    }
  }
  return result;
}

export function isEmpty(set: FieldSet): boolean {
  // Field sets are plain objects: no key to enumerate is no key at all (and no array is made to find out).
  for (const _ in set) return false;
  return true;
}

/** The value a field path points at, or undefined when absent. */
export function valueAt(object: unknown, path: readonly string[]): unknown {
  let node: unknown = object;
  for (const element of path) node = stepInto(node, element);
  return node;
}

/** The value one path element down from `node` (`.`, an element itself, stays). */
export function stepInto(node: unknown, element: string): unknown {
  if (node === undefined || node === null) return undefined;
  if (element === '.') return node;
  if (element.startsWith('f:')) return (node as Record<string, unknown>)[element.slice(2)];
  if (element.startsWith('k:')) return findKeyed(node, element);
  if (element.startsWith('v:')) {
    const wanted = element.slice(2);
    return Array.isArray(node) ? node.find((v) => JSON.stringify(v) === wanted) : undefined;
  }
  return node;
}

function findKeyed(list: unknown, element: string): unknown {
  if (!Array.isArray(list)) return undefined;
  const key = listKey(element);
  return list.find((item) => item && typeof item === 'object' && key.every(([k, v]) => jsonEqual((item as Record<string, unknown>)[k], v)));
}

/** The key fields of a `k:{...}` element, parsed once: the same few elements (conditions, containers) come back on every write. */
function listKey(element: string): [string, unknown][] {
  let key = listKeys.get(element);
  if (!key) {
    if (listKeys.size >= 10_000) listKeys.clear();
    listKeys.set(element, (key = Object.entries(JSON.parse(element.slice(2)) as Record<string, unknown>)));
  }
  return key;
}

const listKeys = new Map<string, [string, unknown][]>();

/** Removes every leaf of `set` from `object` (a copy is returned). */
export function removeFields(object: Record<string, unknown>, set: FieldSet): Record<string, unknown> {
  const copy = jsonCopy(object);
  for (const path of leaves(set).sort((a, b) => b.length - a.length)) removePath(copy, path);
  return copy;
}

function removePath(root: unknown, path: string[]): void {
  const last = path[path.length - 1]!;
  const parentPath = last === '.' ? path.slice(0, -2) : path.slice(0, -1);
  const target = last === '.' ? path[path.length - 2]! : last;
  const parent = valueAt(root, parentPath);
  if (parent === undefined || parent === null) return;
  if (target.startsWith('f:') && typeof parent === 'object' && !Array.isArray(parent)) {
    delete (parent as Record<string, unknown>)[target.slice(2)];
  } else if (Array.isArray(parent)) {
    const item = target.startsWith('k:') ? findKeyed(parent, target) : valueAt(parent, [target]);
    const index = parent.indexOf(item);
    if (index >= 0) parent.splice(index, 1);
  }
}

/**
 * Merges an applied configuration into an object: maps recursively, keyed
 * lists element by element, sets as unions, everything else replaced.
 */
export function mergeApplied(current: unknown, applied: unknown, schema: Schema, path: string[] = []): unknown {
  if (Array.isArray(applied)) return mergeList(Array.isArray(current) ? current : [], applied, schema, path);
  if (!isPlainObject(applied) || !isPlainObject(current) || schema.atomicMap?.(path)) return jsonCopy(applied);
  const result: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(applied)) result[key] = mergeApplied(current[key], value, schema, [...path, key]);
  return result;
}

function mergeList(current: unknown[], applied: unknown[], schema: Schema, path: string[]): unknown[] {
  const type = schema.listType(path);
  if (type === 'atomic') return jsonCopy(applied);
  if (type === 'set') return [...current, ...applied.filter((v) => !current.some((c) => jsonEqual(c, v)))];
  const result = [...current];
  for (const item of applied) {
    const key = isPlainObject(item) ? itemKey(item, type.keys) : '';
    const index = result.findIndex((c) => isPlainObject(c) && itemKey(c, type.keys) === key);
    if (index >= 0) result[index] = mergeApplied(result[index], item, schema, path);
    else result.push(jsonCopy(item));
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `.spec.calicoNetwork.ipPools`, `.spec.containers[name="x"].image`: how SSA conflicts name a field. */
export function describePath(path: readonly string[]): string {
  let text = '';
  for (const element of path) {
    if (element === '.') continue;
    if (element.startsWith('f:')) text += `.${element.slice(2)}`;
    else if (element.startsWith('k:')) {
      const key = JSON.parse(element.slice(2)) as Record<string, unknown>;
      text += `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    } else if (element.startsWith('v:')) text += `[=${element.slice(2)}]`;
  }
  return text;
}
