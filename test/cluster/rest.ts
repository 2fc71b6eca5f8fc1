// The resource endpoints: list, watch, get, create, update, patch, delete
// and deletecollection, subresources (status, log, exec, finalize), and the
// access reviews, on top of the object semantics in api.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { Api, WriteOptions } from './api.ts';
import type { Authorizer, UserInfo } from './auth.ts';
import type { Runtime } from './controllers/runtime.ts';
import { serveExec, type KubeletDialFailure, type Upgrade } from './exec.ts';
import { PodLogs } from './logs.ts';
import { jsonMergePatch, jsonPatch, strategicMergePatch } from './patch.ts';
import { crdVersion, type RegisteredType } from './registry.ts';
import { apiVersionOf } from './resources.ts';
import type { RequestInfo } from './routes.ts';
import { convertFieldSelector, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, selectableFields, SelectorError } from './selectors.ts';
import { badRequest, methodNotAllowed, notFound, notFoundPath, StatusError, unsupportedMediaType } from './status.ts';
import { jsonCopy } from './store.ts';
import { toTable, wantsTable, type IncludeObject } from './tables.ts';
import type { KubeObject } from './types.ts';
import { serveWatch, withVersion } from './watch.ts';

export interface RestContext {
  api: Api;
  authorizer: Authorizer;
  logs: PodLogs;
  runtime: Runtime;
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  info: RequestInfo;
  user: UserInfo;
  body: Buffer;
  dropWatchesAfterMs: number | undefined;
  bookmarkIntervalMs: number;
  /** The socket of a request that asked for a protocol upgrade (pods/exec over WebSocket). */
  upgrade: Upgrade | undefined;
  /** Nodes whose kubelet the API server cannot dial, live. */
  unreachableKubelets: ReadonlyMap<string, KubeletDialFailure>;
  /** Called when a long-running response (watch, log follow, exec session) ends. */
  done: () => void;
}

/** Writes a JSON response; returns the status code for the request log. */
export type Reply = (status: number, body: unknown, headers?: Record<string, string>) => void;

export function handleResource(ctx: RestContext, reply: Reply): void | 'streaming' {
  const { api, info } = ctx;
  const type = api.registry.byPath(info.group, info.version, info.resource);
  if (!type) throw knownGroupVersion(api, info) ? notFoundPath() : new PlainNotFound();
  if (!type.namespaced && info.namespace !== undefined && info.resource !== 'namespaces') throw new PlainNotFound();
  const namespace = type.namespaced ? info.namespace : undefined;
  if (type.virtual) return reply(201, review(ctx, type));
  if (info.subresource === 'log' && type.key === 'pods') return ctx.logs.serve(ctx, type, namespace!, info.name!);
  if (info.subresource === 'exec' && type.key === 'pods') {
    if (info.verb !== 'get' && info.verb !== 'create') throw methodNotAllowed();
    return serveExec(ctx);
  }
  if (info.subresource && !type.subresources.includes(info.subresource)) throw notFound(type, info.name ?? '');
  switch (info.verb) {
    case 'list':
      return reply(200, list(ctx, type, namespace));
    case 'watch':
      return watch(ctx, type, namespace);
    case 'get':
      return reply(200, present(ctx, type, [api.get(type, namespace, info.name!)], true));
    case 'create':
      return reply(201, shown(ctx, type, api.create(type, namespace, decode(ctx, type), writeOptions(ctx, type))));
    case 'update':
      return reply(200, shown(ctx, type, update(ctx, type, namespace)));
    case 'patch':
      return patch(ctx, type, namespace, reply);
    case 'delete':
      return remove(ctx, type, namespace, reply);
    case 'deletecollection':
      return reply(200, deleteCollection(ctx, type, namespace));
    default:
      throw methodNotAllowed();
  }
}

/** A path no API serves: kube-apiserver's plain-text `404 page not found`. */
export class PlainNotFound extends Error {}

function knownGroupVersion(api: Api, info: RequestInfo): boolean {
  return api.registry.groups().get(info.group)?.includes(info.version) ?? false;
}

function list(ctx: RestContext, type: RegisteredType, namespace: string | undefined): object {
  const { url } = ctx;
  const matches = selector(ctx, type);
  const limit = Number(url.searchParams.get('limit') ?? 0);
  const token = url.searchParams.get('continue');
  const continued = token ? decodeContinue(token) : undefined;
  const start = continued?.start;
  // Every page of a list answers for the revision of its first page, as kube-apiserver's snapshots do, so a
  // watch from that revision sees what changed while the pages were read. (The test cluster keeps no snapshots:
  // a later page shows objects as they are now, which such a watch then reports again.)
  const revision = continued?.rv ?? ctx.api.store.revision();
  const all = ctx.api.store.list(type.key, namespace, start);
  const selected: KubeObject[] = [];
  let next: string | undefined;
  let remaining = 0;
  for (const object of all) {
    if (!matches(object)) continue;
    if (limit > 0 && selected.length === limit) {
      next ??= encodeContinue(revision, keyOf(selected[selected.length - 1]!));
      remaining++;
      continue;
    }
    selected.push(object);
  }
  const hasSelector = url.searchParams.has('labelSelector') || url.searchParams.has('fieldSelector');
  const metadata: Record<string, unknown> = { resourceVersion: String(revision), ...(next ? { continue: next } : {}), ...(next && !hasSelector ? { remainingItemCount: remaining } : {}) };
  if (wantsTable(ctx.request.headers.accept)) return toTable(type, ctx.info.version, selected, ctx.api.clock.now(), includeObject(url), metadata);
  const items = type.crd ? selected.map((o) => withVersion(o, type, ctx.info.version)) : selected.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
  return { kind: `${type.kind}List`, apiVersion: apiVersionOf(type, ctx.info.version), metadata: type.crd ? { continue: '', ...metadata } : metadata, items };
}

function watch(ctx: RestContext, type: RegisteredType, namespace: string | undefined): 'streaming' {
  const { url } = ctx;
  const timeout = url.searchParams.get('timeoutSeconds');
  serveWatch(ctx.response, {
    api: ctx.api,
    type,
    version: ctx.info.version,
    namespace,
    matches: selector(ctx, type),
    resourceVersion: url.searchParams.get('resourceVersion') ?? '',
    allowBookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
    timeoutSeconds: timeout ? Number(timeout) : undefined,
    table: wantsTable(ctx.request.headers.accept) ? { include: includeObject(url) } : undefined,
    dropAfterMs: ctx.dropWatchesAfterMs,
    bookmarkIntervalMs: ctx.bookmarkIntervalMs,
  }, ctx.done);
  return 'streaming';
}

/** Label and field selectors of the request as one predicate; a bad selector is a 400. */
function selector(ctx: RestContext, type: RegisteredType): (object: KubeObject) => boolean {
  try {
    const labels = parseLabelSelector(ctx.url.searchParams.get('labelSelector') ?? '');
    const crd = type.crd ? { namespaced: type.namespaced } : undefined;
    const fields = convertFieldSelector(type.key, parseFieldSelector(ctx.url.searchParams.get('fieldSelector') ?? ''), crd);
    return (object) => matchesLabels(labels, object.metadata.labels) && matchesFields(fields, selectableFields(type.key, object, crd));
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
}

function present(ctx: RestContext, type: RegisteredType, objects: KubeObject[], single: boolean): object {
  if (wantsTable(ctx.request.headers.accept)) {
    return toTable(type, ctx.info.version, objects, ctx.api.clock.now(), includeObject(ctx.url), { resourceVersion: objects[0]?.metadata.resourceVersion ?? '' });
  }
  return single ? withVersion(objects[0]!, type, ctx.info.version) : objects;
}

function shown(ctx: RestContext, type: RegisteredType, object: KubeObject): object {
  return withVersion(object, type, ctx.info.version);
}

function update(ctx: RestContext, type: RegisteredType, namespace: string | undefined): KubeObject {
  const body = decode(ctx, type);
  if (type.key === 'namespaces' && ctx.info.subresource === 'finalize') {
    return ctx.api.mutate(type, undefined, ctx.info.name!, (ns) => {
      (ns.spec as { finalizers?: string[] }) = { finalizers: (body.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [] };
    }, writeOptions(ctx, type));
  }
  return ctx.api.update(type, namespace, ctx.info.name!, body, writeOptions(ctx, type));
}

function patch(ctx: RestContext, type: RegisteredType, namespace: string | undefined, reply: Reply): void {
  const contentType = (ctx.request.headers['content-type'] ?? '').split(';')[0]!.trim();
  const name = ctx.info.name!;
  const options = writeOptions(ctx, type);
  const force = ctx.url.searchParams.get('force');
  if (contentType === 'application/apply-patch+yaml') {
    const applied = parseYamlBody(ctx.body);
    const existed = ctx.api.find(type, namespace, name) !== undefined;
    const result = ctx.api.apply(type, namespace, name, applied, { ...options, fieldManager: ctx.url.searchParams.get('fieldManager') ?? '', force: force === 'true' });
    return reply(existed ? 200 : 201, shown(ctx, type, result));
  }
  if (force !== null) {
    throw new StatusError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch', {
      group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch', field: 'force' }],
    });
  }
  const body = parseJson(ctx.body);
  const apply = (object: KubeObject): KubeObject => {
    switch (contentType) {
      case 'application/merge-patch+json':
        return jsonMergePatch(object, body) as KubeObject;
      case 'application/json-patch+json':
        return jsonPatch(object, body) as KubeObject;
      case 'application/strategic-merge-patch+json':
        if (type.crd) throw unsupportedMediaType(contentType);
        return strategicMergePatch(object, body, type.key) as KubeObject;
      default:
        throw unsupportedMediaType(contentType);
    }
  };
  // The patched object keeps the current resourceVersion unless the patch set one: then it is a precondition.
  const current = withVersion(ctx.api.get(type, namespace, name), type, ctx.info.version);
  const result = ctx.api.update(type, namespace, name, apply(jsonCopy(current)), options);
  reply(200, shown(ctx, type, result));
}

function remove(ctx: RestContext, type: RegisteredType, namespace: string | undefined, reply: Reply): void {
  const options = deleteOptions(ctx);
  const result = ctx.api.delete(type, namespace, ctx.info.name!, options);
  if (result.deleted && (type.crd || type.key === 'customresourcedefinitions.apiextensions.k8s.io')) {
    return reply(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: ctx.info.name, group: type.group, kind: type.resource, uid: result.object.metadata.uid } });
  }
  reply(200, shown(ctx, type, result.object));
}

function deleteCollection(ctx: RestContext, type: RegisteredType, namespace: string | undefined): object {
  const matches = selector(ctx, type);
  const options = deleteOptions(ctx);
  const deleted = ctx.api.store.list(type.key, namespace).filter(matches).map((object) => ctx.api.delete(type, object.metadata.namespace, object.metadata.name, options).object);
  return { kind: `${type.kind}List`, apiVersion: apiVersionOf(type, ctx.info.version), metadata: { resourceVersion: String(ctx.api.store.revision()) }, items: deleted };
}

function deleteOptions(ctx: RestContext) {
  const body = ctx.body.length ? (parseJson(ctx.body) as { propagationPolicy?: string; gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: string[] }) : {};
  const query = ctx.url.searchParams;
  const grace = query.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
  return {
    propagationPolicy: (query.get('propagationPolicy') ?? body.propagationPolicy) as 'Foreground' | 'Background' | 'Orphan' | undefined,
    gracePeriodSeconds: grace === undefined || grace === null ? undefined : Number(grace),
    preconditions: body.preconditions,
    dryRun: query.get('dryRun') === 'All' || body.dryRun?.includes('All') === true,
  };
}

function writeOptions(ctx: RestContext, type: RegisteredType): WriteOptions {
  const dryRun = ctx.url.searchParams.get('dryRun');
  if (dryRun !== null && dryRun !== 'All') {
    throw badRequest(`dryRun: Unsupported value: "${dryRun}": supported values: "All"`);
  }
  return {
    fieldManager: ctx.url.searchParams.get('fieldManager') || managerFromUserAgent(ctx.request.headers['user-agent']),
    dryRun: dryRun === 'All',
    ...(ctx.info.subresource === 'status' ? { subresource: 'status' as const } : {}),
    apiVersion: apiVersionOf(type, ctx.info.version),
  };
}

/** The manager of an Update without ?fieldManager: the User-Agent up to the first `/`. */
function managerFromUserAgent(agent: string | undefined): string {
  const prefix = (agent ?? '').split('/')[0]!.replace(/[^\x20-\x7e]/g, '').slice(0, 128);
  return prefix || 'unknown';
}

/** The request body as an object of this resource, checked like kube-apiserver's decoder. */
function decode(ctx: RestContext, type: RegisteredType): KubeObject {
  const object = parseJson(ctx.body) as KubeObject;
  if (!object || typeof object !== 'object' || Array.isArray(object)) throw badRequest('the body of the request is not a JSON object');
  if (object.apiVersion && object.apiVersion !== apiVersionOf(type, ctx.info.version)) {
    throw badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(type, ctx.info.version)})`);
  }
  if (object.kind && object.kind !== type.kind) throw badRequest(`Object 'Kind' is missing or wrong: got ${object.kind}, expected ${type.kind}`);
  const ns = object.metadata?.namespace;
  if (type.namespaced && ns && ctx.info.namespace && ns !== ctx.info.namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (type.crd) strictFields(ctx, type, object);
  return object;
}

/** fieldValidation=Strict on a custom resource: fields its schema does not declare are a 400. */
function strictFields(ctx: RestContext, type: RegisteredType, object: KubeObject): void {
  const mode = ctx.url.searchParams.get('fieldValidation') ?? 'Warn';
  if (mode === 'Ignore') return;
  const schema = crdVersion(type, ctx.info.version)?.schema?.openAPIV3Schema;
  const unknown = unknownFields(object, schema, '');
  if (unknown.length === 0) return;
  if (mode === 'Strict') throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
  ctx.response.setHeader('Warning', unknown.map((f) => `299 - "unknown field \\"${f}\\""`));
}

function unknownFields(value: unknown, schema: { properties?: Record<string, unknown>; items?: unknown; additionalProperties?: unknown; 'x-kubernetes-preserve-unknown-fields'?: boolean } | undefined, path: string): string[] {
  if (!schema || schema['x-kubernetes-preserve-unknown-fields'] || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownFields(item, schema.items as typeof schema, `${path}[${i}]`));
  if (!schema.properties) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => {
    if (path === '' && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) return [];
    const childSchema = schema.properties![key];
    const childPath = path ? `${path}.${key}` : key;
    return childSchema ? unknownFields(child, childSchema as typeof schema, childPath) : [childPath];
  });
}

function review(ctx: RestContext, type: RegisteredType): object {
  const body = parseJson(ctx.body) as { spec?: { resourceAttributes?: Record<string, string>; nonResourceAttributes?: { path?: string; verb?: string }; namespace?: string } };
  const spec = body.spec ?? {};
  if (type.resource === 'selfsubjectrulesreviews') {
    return { kind: type.kind, apiVersion: apiVersionOf(type), metadata: {}, spec, status: { ...ctx.authorizer.rulesFor(ctx.user, spec.namespace), incomplete: false } };
  }
  const r = spec.resourceAttributes;
  const attributes = r
    ? { user: ctx.user, verb: r.verb ?? '', group: r.group ?? '', resource: r.resource ?? '', subresource: r.subresource ?? '', namespace: r.namespace || undefined, name: r.name || undefined, path: '', isResource: true }
    : { user: ctx.user, verb: spec.nonResourceAttributes?.verb ?? '', group: '', resource: '', subresource: '', namespace: undefined, name: undefined, path: spec.nonResourceAttributes?.path ?? '', isResource: false };
  const decision = ctx.authorizer.authorize(attributes);
  return { kind: type.kind, apiVersion: apiVersionOf(type), metadata: {}, spec, status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) } };
}

function includeObject(url: URL): IncludeObject {
  const value = url.searchParams.get('includeObject');
  return value === 'Object' || value === 'None' ? value : 'Metadata';
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** kube-apiserver's continue token: base64url JSON of the list revision and the last key. */
function encodeContinue(revision: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start: `${lastKey}\u0000` })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: string; rv?: number; start?: string };
    if (decoded.v !== 'meta.k8s.io/v1' || !decoded.start || typeof decoded.rv !== 'number') throw new Error();
    return { rv: decoded.rv, start: decoded.start.replace(/\u0000$/, '') };
  } catch {
    throw badRequest('invalid continue token: continue key is not valid: server does not recognize this encoded version');
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
}

/** An apply body: JSON (what kubectl and client-node send, and valid YAML) or YAML. */
function parseYamlBody(body: Buffer): KubeObject {
  const text = body.toString('utf8');
  if (/^\s*\{/.test(text)) {
    try {
      return JSON.parse(text) as KubeObject;
    } catch {
      // Not JSON after all: read it as YAML below.
    }
  }
  try {
    return parseYaml(text) as KubeObject;
  } catch (error) {
    throw badRequest(`error decoding YAML: ${(error as Error).message}`);
  }
}
