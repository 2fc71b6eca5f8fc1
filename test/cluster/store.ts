// The test cluster's etcd: every object by resource, namespace and name, one
// cluster-wide resourceVersion counter, and per resource a bounded history of
// changes, like kube-apiserver's watch cache, so watches can resume from a
// resourceVersion (older ones get 410 Gone).
import type { KubeObject, ManagedFieldsEntry } from './types.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** Resource key, e.g. `pods` or `deployments.apps`. */
  key: string;
  object: KubeObject;
  revision: number;
}

export type Listener = (event: StoreEvent) => void;

interface Table {
  objects: Map<string, KubeObject>;
  /**
   * `namespace/name` keys in order as of the last read; keys inserted since
   * wait in `inserted` and are merged in (and removed ones dropped) on the
   * next read, so a burst of creates costs one sort of the burst, not of the table.
   */
  sorted: string[];
  inserted: string[];
  removed: boolean;
}

/** One resource's recent changes, oldest first from `start` (slots before it are cut off in bulk, not one by one). */
interface History {
  changes: StoreEvent[];
  start: number;
  /** The revision of the newest change no longer held: a watch from before it cannot resume. */
  dropped: number;
}

export class Store {
  private rev = 1;
  private readonly tables = new Map<string, Table>();
  private readonly histories = new Map<string, History>();
  /**
   * How many changes of one resource watches can resume across; live, so a
   * test can make resuming fail with 410. kube-apiserver's watch cache holds
   * 75 s of changes, at most 100 × 1024 per resource: the default here. A
   * 2,000-node Calico install makes ~50,000 changes of pods (~125,000 in
   * all), so a watch of any resource can resume across the whole of it.
   */
  historyLimit: number;
  private readonly listeners = new Set<Listener>();
  /** The listeners as of the last change to them: an event goes to those subscribed when it was emitted. */
  private listenerList: Listener[] = [];

  constructor(historyLimit = 100 * 1024) {
    this.historyLimit = historyLimit;
  }

  revision(): number {
    return this.rev;
  }

  /** Every resource that has held an object. */
  resources(): string[] {
    return [...this.tables.keys()];
  }

  get(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.tables.get(key)?.objects.get(storageKey(namespace, name));
  }

  /** Objects of one resource in etcd key order, optionally in one namespace and after a given key. */
  list(key: string, namespace?: string, after?: string): KubeObject[] {
    const table = this.tables.get(key);
    if (!table) return [];
    const keys = this.sortedKeys(table);
    const prefix = namespace === undefined ? '' : `${namespace}/`;
    let start = lowerBound(keys, prefix);
    if (after !== undefined) start = Math.max(start, lowerBound(keys, `${after}\u0000`));
    const result: KubeObject[] = [];
    for (; start < keys.length; start++) {
      const k = keys[start]!;
      if (!k.startsWith(prefix)) break;
      result.push(table.objects.get(k)!);
    }
    return result;
  }

  /** Where an object stands among its resource's objects in key order (-1 when it is not there). */
  position(key: string, namespace: string | undefined, name: string): number {
    const table = this.tables.get(key);
    const id = storageKey(namespace, name);
    if (!table?.objects.has(id)) return -1;
    return lowerBound(this.sortedKeys(table), id);
  }

  count(key: string): number {
    return this.tables.get(key)?.objects.size ?? 0;
  }

  /**
   * Stores a new or changed object under a new resourceVersion and tells
   * every listener; an object equal to the stored one is not written again.
   */
  put(key: string, object: KubeObject): KubeObject {
    const table = this.table(key);
    const id = storageKey(object.metadata.namespace, object.metadata.name);
    const existing = table.objects.get(id);
    if (existing && sameContent(existing, object)) return existing;
    const revision = ++this.rev;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } };
    if (!existing) table.inserted.push(id);
    table.objects.set(id, stored);
    this.emit({ type: existing ? 'MODIFIED' : 'ADDED', key, object: stored, revision });
    return stored;
  }

  remove(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const table = this.tables.get(key);
    const id = storageKey(namespace, name);
    const existing = table?.objects.get(id);
    if (!table || !existing) return undefined;
    table.objects.delete(id);
    table.removed = true;
    const revision = ++this.rev;
    const removed = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(revision) } };
    this.emit({ type: 'DELETED', key, object: removed, revision });
    return removed;
  }

  /** Drops every object of a resource without events (a CRD that was deleted). */
  dropTable(key: string): void {
    this.tables.delete(key);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    this.listenerList = [...this.listeners];
    return () => {
      const removed = this.listeners.delete(listener);
      if (removed) this.listenerList = [...this.listeners];
      return removed;
    };
  }

  /** Changes of resource `key` after `revision`, or undefined when its history no longer reaches back that far. */
  changesSince(key: string, revision: number): StoreEvent[] | undefined {
    const history = this.histories.get(key);
    if (!history) return [];
    if (revision < history.dropped) return undefined;
    return history.changes.slice(lowerBoundBy(history.changes, history.start, revision + 1));
  }

  /** The oldest revision a watch of `key` can resume from. */
  oldestRevision(key: string): number {
    const history = this.histories.get(key);
    return history?.changes[history.start]?.revision ?? this.rev;
  }

  private emit(event: StoreEvent): void {
    let history = this.histories.get(event.key);
    if (!history) this.histories.set(event.key, (history = { changes: [], start: 0, dropped: 0 }));
    history.changes.push(event);
    const start = history.changes.length - this.historyLimit;
    if (start > history.start) {
      history.dropped = history.changes[start - 1]!.revision;
      history.start = start;
    }
    if (history.start >= 4096) {
      history.changes = history.changes.slice(history.start);
      history.start = 0;
    }
    for (const listener of this.listenerList) listener(event);
  }

  private table(key: string): Table {
    let table = this.tables.get(key);
    if (!table) this.tables.set(key, (table = { objects: new Map(), sorted: [], inserted: [], removed: false }));
    return table;
  }

  private sortedKeys(table: Table): string[] {
    if (table.inserted.length === 0 && !table.removed) return table.sorted;
    const inserted = table.inserted.sort();
    const merged: string[] = [];
    const take = (k: string) => {
      // A key removed, or removed and inserted again, since the last read appears once if it is there now.
      if (table.objects.has(k) && merged[merged.length - 1] !== k) merged.push(k);
    };
    let i = 0;
    for (const k of table.sorted) {
      while (i < inserted.length && inserted[i]! <= k) take(inserted[i++]!);
      take(k);
    }
    while (i < inserted.length) take(inserted[i++]!);
    table.sorted = merged;
    table.inserted = [];
    table.removed = false;
    return merged;
  }
}

export function storageKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/**
 * Equal but for the resourceVersion and the times in managedFields: a write that changes nothing else is a no-op.
 * As jsonEqual of both objects with those left out, without copying them (every write asks).
 */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  return sameExcept(a as unknown as Record<string, unknown>, b as unknown as Record<string, unknown>, TOP_SKIPPED)
    && sameExcept(a.metadata as unknown as Record<string, unknown>, b.metadata as unknown as Record<string, unknown>, METADATA_SKIPPED)
    && sameManagedFields(a.metadata.managedFields, b.metadata.managedFields);
}

const TOP_SKIPPED = new Set(['metadata']);
const METADATA_SKIPPED = new Set(['resourceVersion', 'managedFields']);
const ENTRY_SKIPPED = new Set(['time']);

/** jsonEqual of two objects without the members named in `skipped`. */
function sameExcept(a: Record<string, unknown>, b: Record<string, unknown>, skipped: Set<string>): boolean {
  if (a === b) return true;
  let count = 0;
  for (const k of Object.keys(a)) {
    if (skipped.has(k) || a[k] === undefined) continue;
    if (!jsonEqual(a[k], b[k])) return false;
    count++;
  }
  for (const k of Object.keys(b)) if (!skipped.has(k) && b[k] !== undefined) count--;
  return count === 0;
}

function sameManagedFields(a: ManagedFieldsEntry[] | undefined, b: ManagedFieldsEntry[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((entry, i) => sameExcept(entry as unknown as Record<string, unknown>, b[i] as unknown as Record<string, unknown>, ENTRY_SKIPPED));
}

/**
 * Equality of JSON values, ignoring key order and undefined members as JSON
 * does; without building strings, since large CRDs are compared on every write.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => jsonEqual(v, (b as unknown[])[i]));
  const left = definedKeys(a as Record<string, unknown>);
  const right = b as Record<string, unknown>;
  return left.length === definedKeys(right).length && left.every((k) => jsonEqual((a as Record<string, unknown>)[k], right[k]));
}

/** A deep copy of a JSON value; several times faster than structuredClone on API objects, which are nothing else. */
export function jsonCopy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => jsonCopy(item)) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = jsonCopy((value as Record<string, unknown>)[key]);
  return copy as T;
}

function definedKeys(object: Record<string, unknown>): string[] {
  return Object.keys(object).filter((k) => object[k] !== undefined);
}

function lowerBound(keys: string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBoundBy(events: StoreEvent[], from: number, revision: number): number {
  let lo = from;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]!.revision < revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
