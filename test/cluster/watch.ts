// Watch streams: initial state or a replay from a resourceVersion (ERROR
// 410 Expired when history no longer reaches back), then live events as
// one JSON object per line, with bookmarks, selectors that turn objects
// entering or leaving them into ADDED/DELETED, and the drop-watches fault.
import type { ServerResponse } from 'node:http';
import type { Api } from './api.ts';
import type { RegisteredType } from './registry.ts';
import { apiVersionOf } from './resources.ts';
import type { StoreEvent } from './store.ts';
import { storageKey } from './store.ts';
import { toTable, type IncludeObject } from './tables.ts';
import type { KubeObject } from './types.ts';

export interface WatchRequest {
  api: Api;
  type: RegisteredType;
  version: string;
  namespace: string | undefined;
  matches: (object: KubeObject) => boolean;
  resourceVersion: string;
  allowBookmarks: boolean;
  timeoutSeconds: number | undefined;
  table: { include: IncludeObject } | undefined;
  /** Fault knob: cut the connection after this long (no clean end). */
  dropAfterMs: number | undefined;
  bookmarkIntervalMs: number;
}

export function serveWatch(response: ServerResponse, request: WatchRequest, onClose: () => void): void {
  const { api, type } = request;
  response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  response.flushHeaders();
  let columnsSent = false;
  const send = (eventType: string, object: KubeObject) => {
    const wire = request.table ? toTable(type, request.version, [object], api.clock.now(), request.table.include, { resourceVersion: object.metadata.resourceVersion }, !columnsSent) : withVersion(object, type, request.version);
    columnsSent = true;
    response.write(`${JSON.stringify({ type: eventType, object: wire })}\n`);
  };
  const seen = new Set<string>();
  const inScope = (object: KubeObject) => request.namespace === undefined || object.metadata.namespace === request.namespace;
  const idOf = (object: KubeObject) => storageKey(object.metadata.namespace, object.metadata.name);
  const deliver = (event: StoreEvent) => {
    if (event.key !== type.key || !inScope(event.object)) return;
    const id = idOf(event.object);
    const matches = event.type !== 'DELETED' && request.matches(event.object);
    if (matches) {
      send(seen.has(id) ? 'MODIFIED' : 'ADDED', event.object);
      seen.add(id);
    } else if (seen.has(id)) {
      send('DELETED', event.object);
      seen.delete(id);
    } else if (event.type === 'DELETED' && request.matches(event.object)) {
      send('DELETED', event.object);
    }
  };

  const current = api.store.list(type.key, type.namespaced ? request.namespace : undefined).filter(request.matches);
  if (request.resourceVersion === '' || request.resourceVersion === '0') {
    for (const object of current) {
      send('ADDED', object);
      seen.add(idOf(object));
    }
  } else {
    const from = Number(request.resourceVersion);
    const replay = Number.isFinite(from) ? api.store.changesSince(type.key, from) : undefined;
    if (!replay) {
      const oldest = api.store.oldestRevision(type.key) - 1;
      response.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${request.resourceVersion} (${oldest})`, reason: 'Expired', code: 410 } })}\n`);
      onClose();
      return;
    }
    // What matched at `from` is what matches now, less what the replay adds, plus what it removes.
    for (const object of current) seen.add(idOf(object));
    for (const event of replay) if (event.type === 'ADDED') seen.delete(idOf(event.object));
    for (const event of replay) if (event.type === 'DELETED') seen.add(idOf(event.object));
    for (const event of replay) deliver(event);
  }

  const unsubscribe = api.store.subscribe(deliver);
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    unsubscribe();
    for (const timer of timers) clearTimeout(timer);
    onClose();
  };
  if (request.allowBookmarks) {
    const bookmark = setInterval(() => {
      const object = { kind: type.kind, apiVersion: apiVersionOf(type, request.version), metadata: { resourceVersion: String(api.store.revision()) } };
      response.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
    }, request.bookmarkIntervalMs);
    bookmark.unref();
    timers.push(bookmark);
  }
  if (request.timeoutSeconds !== undefined) timers.push(setTimeout(() => response.end(), request.timeoutSeconds * 1000));
  if (request.dropAfterMs !== undefined) timers.push(setTimeout(() => response.destroy(), request.dropAfterMs));
  response.on('close', finish);
}

/** Watch event objects carry kind and apiVersion, in the version the client watches. */
export function withVersion(object: KubeObject, type: RegisteredType, version: string): KubeObject {
  return { ...object, apiVersion: apiVersionOf(type, version), kind: type.kind };
}
