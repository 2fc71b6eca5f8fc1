// The three PATCH formats kube-apiserver v1.31–v1.34 accepts for built-in types:
//
// - application/merge-patch+json: gopkg.in/evanphx/json-patch.v4 v4.12.0 MergePatch (merge.go)
// - application/json-patch+json: the same library's Patch.Apply (patch.go)
// - application/strategic-merge-patch+json: k8s.io/apimachinery v0.34
//   pkg/util/strategicpatch StrategicMergeMapPatch, with the patchStrategy/patchMergeKey
//   struct tags of k8s.io/api v0.34 reduced to a path table per resource.
//
// Failures throw PatchError carrying the HTTP code, Status reason and Status message the
// apiserver's patch handler (k8s.io/apiserver pkg/endpoints/handlers/patch.go) answers with.
// Inputs are never mutated.

/** A rejected patch: `code`, `reason` and `message` are what the apiserver's Status carries. */
export class PatchError extends Error {
  override name = 'PatchError';
  readonly code: number;
  /** metav1.StatusReason ('' is StatusReasonUnknown). */
  readonly reason: string;
  /** The patch library's own error text (equal to `message` unless the apiserver hides it). */
  readonly detail: string;

  constructor(code: number, reason: string, message: string, detail: string = message) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.detail = detail;
  }
}

type JsonMap = Record<string, unknown>;

const isMap = (v: unknown): v is JsonMap => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (m: JsonMap, k: string): boolean => Object.prototype.hasOwnProperty.call(m, k);
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

/** Assigns without tripping over a `__proto__` key. */
function setKey(m: JsonMap, k: string, v: unknown): void {
  Object.defineProperty(m, k, { value: v, writable: true, enumerable: true, configurable: true });
}

// ---------------------------------------------------------------------------
// Go formatting, for error texts

/** strconv.FormatFloat(f, 'g', -1, 64), which %v uses for float64: %e from 1e+06 and below 1e-04. */
function goFloat(f: number): string {
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : f < 0 ? '-Inf' : 'NaN';
  const [mantissa = '0', expText = '0'] = f.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(f);
}

/** fmt's %v for decoded JSON values (maps print with sorted keys). */
function goSprint(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  if (Array.isArray(v)) return `[${v.map(goSprint).join(' ')}]`;
  const m = v as JsonMap;
  return `map[${Object.keys(m).sort().map((k) => `${k}:${goSprint(m[k])}`).join(' ')}]`;
}

/** reflect.TypeOf(v).String() for decoded JSON values. */
function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (isMap(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

/** The Go dynamic type kinds that strategicpatch compares. */
type GoKind = 'nil' | 'map' | 'slice' | 'string' | 'int64' | 'float64' | 'bool';

function goKind(v: unknown): GoKind {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (isMap(v)) return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

// ---------------------------------------------------------------------------
// JSON merge patch (RFC 7386, as json-patch v4 implements it)

const badMergePatch = (): PatchError => new PatchError(400, 'BadRequest', 'Invalid JSON Patch');

/** pruneNulls: drops null members of objects, recursively, but keeps null array elements. */
function pruneNulls(v: unknown): void {
  if (isMap(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else pruneNulls(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const item of v) if (item !== null) pruneNulls(item);
  }
}

function mergeValue(cur: unknown, patch: unknown): unknown {
  if (!isMap(cur)) {
    pruneNulls(patch);
    return patch;
  }
  // A non-object patch value replaces as is, nulls inside arrays and all.
  if (!isMap(patch)) return patch;
  mergeDocs(cur, patch);
  return cur;
}

function mergeDocs(doc: JsonMap, patch: JsonMap): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete doc[k];
    } else if (!has(doc, k) || doc[k] === null) {
      pruneNulls(v);
      setKey(doc, k, v);
    } else {
      setKey(doc, k, mergeValue(doc[k], v));
    }
  }
}

/**
 * RFC 7386 merge patch of `patch` onto `target`. A null patch, or one that is neither an
 * object nor an array, is rejected with 400 "Invalid JSON Patch"; an array patch
 * replaces the document.
 */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  // The checks run in doMergePatch's order: a null document first, then the patch's shape.
  if (target === null || target === undefined) throw new PatchError(500, '', 'Invalid JSON Document');
  const p = clone(patch);
  if (Array.isArray(p)) {
    pruneNulls(p);
    return p;
  }
  if (!isMap(p)) throw badMergePatch();
  if (!isMap(target)) {
    pruneNulls(p);
    return p;
  }
  const doc = clone(target);
  mergeDocs(doc, p);
  return doc;
}

// ---------------------------------------------------------------------------
// JSON patch (RFC 6902, as json-patch v4 implements it)

/** kube-apiserver's cap on operations per JSON patch. */
const maxJSONPatchOperations = 10000;

class OpError extends Error {}

/** Where json-patch v4 dereferences a missing `value` and the apiserver's panic filter answers. */
class PanicError extends Error {}

/** errors.Wrapf(err, format): "format: err". */
const wrap = (msg: string, cause: string): OpError => new OpError(`${msg}: ${cause}`);
const missing = 'missing value';
const invalidIndex = 'invalid index referenced';
const testFailed = 'test failed';

type Container = JsonMap | unknown[];

/** RFC 6901 unescaping, ~1 before ~0 in one left-to-right pass. */
const decodePatchKey = (k: string): string => k.replace(/~1|~0/g, (m) => (m === '~1' ? '/' : '~'));

/** strconv.Atoi; throws its error text. */
function atoi(key: string): number {
  if (!/^[+-]?[0-9]+$/.test(key)) throw new OpError(`strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`);
  const n = Number(key);
  if (!Number.isSafeInteger(n)) throw new OpError(`strconv.Atoi: parsing ${JSON.stringify(key)}: value out of range`);
  return n;
}

const invalidIndexError = (idx: number): OpError => wrap(`Unable to access invalid index: ${idx}`, invalidIndex);

/** Negative indices count from the end (the library's SupportNegativeIndices default). */
function resolveIndex(idx: number, length: number): number {
  if (idx < 0) {
    if (idx < -length) throw invalidIndexError(idx);
    return idx + length;
  }
  return idx;
}

/** Container.get: an object yields undefined for a missing key (no error), an array checks bounds. */
function containerGet(con: Container, key: string): unknown {
  if (!Array.isArray(con)) return has(con, key) ? con[key] : undefined;
  const idx = resolveIndex(atoi(key), con.length);
  if (idx >= con.length) throw invalidIndexError(idx);
  return con[idx];
}

function containerAdd(con: Container, key: string, val: unknown): void {
  if (!Array.isArray(con)) {
    setKey(con, key, val);
    return;
  }
  if (key === '-') {
    con.push(val);
    return;
  }
  let idx: number;
  try {
    idx = atoi(key);
  } catch (e) {
    throw wrap(`value was not a proper array index: '${key}'`, (e as Error).message);
  }
  if (idx >= con.length + 1) throw invalidIndexError(idx);
  con.splice(resolveIndex(idx, con.length + 1), 0, val);
}

function containerRemove(con: Container, key: string): void {
  if (!Array.isArray(con)) {
    if (!has(con, key)) throw wrap(`Unable to remove nonexistent key: ${key}`, missing);
    delete con[key];
    return;
  }
  const idx = atoi(key);
  if (idx >= con.length) throw invalidIndexError(idx);
  con.splice(resolveIndex(idx, con.length), 1);
}

/** Replace only: the key is known to exist. */
function containerSet(con: Container, key: string, val: unknown): void {
  if (!Array.isArray(con)) setKey(con, key, val);
  else con[resolveIndex(atoi(key), con.length)] = val;
}

/** findObject: the container holding the last path segment, or undefined. Nulls count as missing. */
function findObject(doc: Container, path: string): { con: Container; key: string } | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  let con: Container = doc;
  for (const part of split.slice(1, -1)) {
    let next: unknown;
    try {
      next = containerGet(con, decodePatchKey(part));
    } catch {
      return undefined;
    }
    if (next === null || next === undefined || typeof next !== 'object') return undefined;
    con = next as Container;
  }
  return { con, key: decodePatchKey(split[split.length - 1] ?? '') };
}

/** lazyNode.equal: structural equality of JSON values. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => has(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

interface Operation {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

/** Operation.Path/From: the string, or the library's decode error. */
function stringField(op: Operation, name: 'path' | 'from'): { value?: string; error?: string } {
  const v = op[name];
  if (v === undefined || v === null) {
    return { error: name === 'path' ? 'operation missing path field: missing value' : 'operation, missing from field: missing value' };
  }
  if (typeof v !== 'string') return { error: `json: cannot unmarshal ${jsonTypeName(v)} into Go value of type string` };
  return { value: v };
}

/** encoding/json's name for a JSON value's type in UnmarshalTypeError. */
function jsonTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (isMap(v)) return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/** The operation's value; an absent `value` behaves as JSON null. */
const opValue = (op: Operation): unknown => clone(op.value === undefined ? null : op.value);

function applyAdd(doc: Container, op: Operation): void {
  const { value: path } = stringField(op, 'path');
  if (path === undefined) throw wrap('add operation failed to decode path', missing);
  const found = findObject(doc, path);
  if (!found) throw wrap(`add operation does not apply: doc is missing path: "${path}"`, missing);
  try {
    containerAdd(found.con, found.key, opValue(op));
  } catch (e) {
    throw wrap(`error in add for path: '${path}'`, (e as Error).message);
  }
}

function applyRemove(doc: Container, op: Operation): void {
  const { value: path } = stringField(op, 'path');
  if (path === undefined) throw wrap('remove operation failed to decode path', missing);
  const found = findObject(doc, path);
  if (!found) throw wrap(`remove operation does not apply: doc is missing path: "${path}"`, missing);
  try {
    containerRemove(found.con, found.key);
  } catch (e) {
    throw wrap(`error in remove for path: '${path}'`, (e as Error).message);
  }
}

/** Returns the new document when the whole document is replaced. */
function applyReplace(doc: Container, op: Operation): Container {
  const { value: path, error } = stringField(op, 'path');
  if (path === undefined) throw wrap('replace operation failed to decode path', error ?? missing);
  if (path === '') {
    if (op.value === undefined) throw new PanicError();
    const val = opValue(op);
    // Go returns errors.Wrapf(nil, …) here, which is nil: a scalar value is silently ignored.
    return Array.isArray(val) || isMap(val) ? val : doc;
  }
  const found = findObject(doc, path);
  if (!found) throw wrap(`replace operation does not apply: doc is missing path: ${path}`, missing);
  try {
    // A missing object key is not an error here, so replace can add (a v4 quirk).
    containerGet(found.con, found.key);
  } catch {
    throw wrap(`replace operation does not apply: doc is missing key: ${path}`, missing);
  }
  try {
    containerSet(found.con, found.key, opValue(op));
  } catch (e) {
    throw wrap(`error in remove for path: '${path}'`, (e as Error).message);
  }
  return doc;
}

function applyMove(doc: Container, op: Operation): void {
  const { value: from, error: fromError } = stringField(op, 'from');
  if (from === undefined) throw wrap('move operation failed to decode from', fromError ?? missing);
  const source = findObject(doc, from);
  if (!source) throw wrap(`move operation does not apply: doc is missing from path: ${from}`, missing);
  let val: unknown;
  try {
    val = containerGet(source.con, source.key);
    containerRemove(source.con, source.key);
  } catch (e) {
    throw wrap(`error in move for path: '${source.key}'`, (e as Error).message);
  }
  const { value: path, error } = stringField(op, 'path');
  if (path === undefined) throw wrap('move operation failed to decode path', error ?? missing);
  const target = findObject(doc, path);
  if (!target) throw wrap(`move operation does not apply: doc is missing destination path: ${path}`, missing);
  try {
    containerAdd(target.con, target.key, val ?? null);
  } catch (e) {
    throw wrap(`error in move for path: '${path}'`, (e as Error).message);
  }
}

function applyCopy(doc: Container, op: Operation): void {
  const { value: from, error: fromError } = stringField(op, 'from');
  if (from === undefined) throw wrap('copy operation failed to decode from', fromError ?? missing);
  const source = findObject(doc, from);
  if (!source) throw wrap(`copy operation does not apply: doc is missing from path: ${from}`, missing);
  let val: unknown;
  try {
    // A missing object key copies as null (a v4 quirk).
    val = containerGet(source.con, source.key);
  } catch (e) {
    throw wrap(`error in copy for from: '${from}'`, (e as Error).message);
  }
  const { value: path } = stringField(op, 'path');
  if (path === undefined) throw wrap('copy operation failed to decode path', missing);
  const target = findObject(doc, path);
  if (!target) throw wrap(`copy operation does not apply: doc is missing destination path: ${path}`, missing);
  try {
    containerAdd(target.con, target.key, clone(val ?? null));
  } catch (e) {
    throw wrap('error while adding value during copy', (e as Error).message);
  }
}

function applyTest(doc: Container, op: Operation): void {
  const { value: path, error } = stringField(op, 'path');
  if (path === undefined) throw wrap('test operation failed to decode path', error ?? missing);
  const failed = (): OpError => wrap(`testing value ${path} failed`, testFailed);
  if (path === '') {
    if (op.value === undefined) throw new PanicError();
    if (!jsonEqual(doc, op.value)) throw failed();
    return;
  }
  const found = findObject(doc, path);
  if (!found) throw wrap(`test operation does not apply: is missing path: ${path}`, missing);
  let val: unknown;
  try {
    val = containerGet(found.con, found.key);
  } catch (e) {
    throw wrap(`error in test for path: '${path}'`, (e as Error).message);
  }
  // A missing or null member equals a null value (and only that).
  if (val === undefined || val === null) {
    if (op.value === undefined) throw new PanicError();
    if (op.value === null) return;
    throw failed();
  }
  if (op.value === undefined || !jsonEqual(val, op.value)) throw failed();
}

/**
 * RFC 6902 JSON patch. `operations` is the decoded request body. A body that is not a
 * list of objects is a 400; a failing operation is the 422 kube-apiserver answers with
 * its generic message (the library's text is in `detail`).
 */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  // A JSON null decodes into an empty patch.
  if (operations === null) return clone(target);
  if (!Array.isArray(operations)) {
    throw new PatchError(400, 'BadRequest', `json: cannot unmarshal ${jsonTypeName(operations)} into Go value of type jsonpatch.Patch`);
  }
  for (const op of operations) {
    if (!isMap(op) && op !== null) {
      throw new PatchError(400, 'BadRequest', `json: cannot unmarshal ${jsonTypeName(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  if (operations.length > maxJSONPatchOperations) {
    throw new PatchError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${maxJSONPatchOperations}, got ${operations.length}`,
    );
  }
  let doc = clone(target) as Container;
  try {
    for (const raw of operations) {
      const op = (raw ?? {}) as Operation;
      const kind = typeof op.op === 'string' ? op.op : 'unknown';
      switch (kind) {
        case 'add': applyAdd(doc, op); break;
        case 'remove': applyRemove(doc, op); break;
        case 'replace': doc = applyReplace(doc, op); break;
        case 'move': applyMove(doc, op); break;
        case 'copy': applyCopy(doc, op); break;
        case 'test': applyTest(doc, op); break;
        default: throw new OpError(`Unexpected kind: ${kind}`);
      }
    }
  } catch (e) {
    if (e instanceof PanicError) {
      // WithPanicRecovery answers this as text/plain, not as a Status.
      throw new PatchError(500, 'InternalError', 'This request caused apiserver to panic. Look in the logs for details.');
    }
    if (!(e instanceof OpError)) throw e;
    throw new PatchError(422, 'Invalid', 'the server rejected our request due to an error in our request', e.message);
  }
  return doc;
}

// ---------------------------------------------------------------------------
// Strategic merge patch: type knowledge

/** The patchStrategy/patchMergeKey struct tags of one field. */
export interface FieldPatchMeta {
  /** e.g. 'merge', 'replace', 'retainKeys', 'merge,retainKeys'. */
  strategy: string;
  mergeKey?: string;
}

/** Field paths (dot-separated, list elements transparent) → tags. Untagged fields are absent. */
export type PatchSchema = Readonly<Record<string, FieldPatchMeta>>;

const merge = (mergeKey?: string): FieldPatchMeta => (mergeKey ? { strategy: 'merge', mergeKey } : { strategy: 'merge' });
const mergeRetainKeys = (mergeKey: string): FieldPatchMeta => ({ strategy: 'merge,retainKeys', mergeKey });

function under(prefix: string, schema: PatchSchema): PatchSchema {
  return Object.fromEntries(Object.entries(schema).map(([path, meta]) => [`${prefix}.${path}`, meta]));
}

// meta/v1 ObjectMeta.
const objectMeta: PatchSchema = { ownerReferences: merge('uid'), finalizers: merge() };

// core/v1 Container (EphemeralContainerCommon carries the same tags).
const container: PatchSchema = {
  ports: merge('containerPort'),
  env: merge('name'),
  volumeMounts: merge('mountPath'),
  volumeDevices: merge('devicePath'),
};

// core/v1 PodSpec. tolerations, affinity terms, readinessGates… are untagged (atomic lists).
const podSpec: PatchSchema = {
  volumes: mergeRetainKeys('name'),
  initContainers: merge('name'),
  ...under('initContainers', container),
  containers: merge('name'),
  ...under('containers', container),
  ephemeralContainers: merge('name'),
  ...under('ephemeralContainers', container),
  imagePullSecrets: merge('name'),
  hostAliases: merge('ip'),
  topologySpreadConstraints: merge('topologyKey'),
  schedulingGates: merge('name'),
  resourceClaims: mergeRetainKeys('name'),
};

// core/v1 PodStatus; containerStatuses is untagged, so its inner tags never apply.
const podStatus: PatchSchema = {
  conditions: merge('type'),
  hostIPs: merge('ip'),
  podIPs: merge('ip'),
  resourceClaimStatuses: mergeRetainKeys('name'),
};

const podTemplateSpec: PatchSchema = { ...under('metadata', objectMeta), ...under('spec', podSpec) };
const conditionsByType: PatchSchema = { conditions: merge('type') };

/** A workload: spec.template is a PodTemplateSpec, status.conditions merge by type. */
const workload = (extra: PatchSchema = {}): PatchSchema => ({
  ...under('spec.template', podTemplateSpec),
  ...under('status', conditionsByType),
  ...extra,
});

const webhook: PatchSchema = { matchConditions: merge('name') };

// Keyed by resource: core plural, else <plural>.<group>. Everything else (configmaps,
// secrets, serviceaccounts' imagePullSecrets, RBAC rules/subjects, CRDs, node taints…)
// has untagged lists only, so it gets ObjectMeta's tags alone.
const resourceSchemas: Record<string, PatchSchema> = {
  pods: { ...under('spec', podSpec), ...under('status', podStatus) },
  podtemplates: under('template', podTemplateSpec),
  replicationcontrollers: workload(),
  'deployments.apps': workload({ 'spec.strategy': { strategy: 'retainKeys' } }),
  'replicasets.apps': workload(),
  'daemonsets.apps': workload(),
  'statefulsets.apps': workload(),
  'jobs.batch': workload(),
  'cronjobs.batch': { ...under('spec.jobTemplate.metadata', objectMeta), ...under('spec.jobTemplate.spec.template', podTemplateSpec) },
  services: { 'spec.ports': merge('port'), ...under('status', conditionsByType) },
  serviceaccounts: { secrets: merge('name') },
  nodes: { 'spec.podCIDRs': merge(), 'status.conditions': merge('type'), 'status.addresses': merge('type') },
  namespaces: under('status', conditionsByType),
  persistentvolumeclaims: under('status', conditionsByType),
  componentstatuses: conditionsByType,
  'horizontalpodautoscalers.autoscaling': under('status', conditionsByType),
  'poddisruptionbudgets.policy': { 'spec.selector': { strategy: 'replace' }, ...under('status', conditionsByType) },
  'validatingwebhookconfigurations.admissionregistration.k8s.io': { webhooks: merge('name'), ...under('webhooks', webhook) },
  'mutatingwebhookconfigurations.admissionregistration.k8s.io': { webhooks: merge('name'), ...under('webhooks', webhook) },
  'validatingadmissionpolicies.admissionregistration.k8s.io': { 'spec.matchConditions': merge('name'), 'spec.variables': merge('name') },
  'csinodes.storage.k8s.io': { 'spec.drivers': merge('name') },
  'flowschemas.flowcontrol.apiserver.k8s.io': under('status', conditionsByType),
  'prioritylevelconfigurations.flowcontrol.apiserver.k8s.io': under('status', conditionsByType),
  'servicecidrs.networking.k8s.io': under('status', conditionsByType),
  'resourceclaims.resource.k8s.io': { 'status.reservedFor': merge('uid') },
};

/** The strategic-merge-patch tags kube-apiserver uses for `resource` (ObjectMeta's included). */
export function patchSchemaFor(resource: string): PatchSchema {
  return { ...under('metadata', objectMeta), ...(Object.hasOwn(resourceSchemas, resource) ? resourceSchemas[resource] : {}) };
}

// ---------------------------------------------------------------------------
// Strategic merge patch: the algorithm (ported from strategicpatch/patch.go)

const directiveMarker = '$patch';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList';
const retainKeysDirective = '$retainKeys';
const setElementOrderPrefix = '$setElementOrder';

/** An error the apiserver maps to 400 (interpretStrategicMergePatchError). */
const badRequest = (message: string): PatchError => new PatchError(400, 'BadRequest', message);
const errBadPatchFormatForPrimitiveList = (): PatchError => badRequest('invalid patch format of primitive list');
const errBadPatchFormatForRetainKeys = (): PatchError => badRequest('invalid patch format of retainKeys');
const errBadPatchFormatForSetElementOrderList = (): PatchError => badRequest('invalid patch format of setElementOrder list');
const errNoListOfLists = (): PatchError => new PatchError(422, 'Invalid', 'lists of lists are not supported');

/** Any other strategicpatch error reaches the client as a plain 500 with its text. */
const internal = (message: string): PatchError => new PatchError(500, '', message);
const errNoMergeKey = (m: unknown, key: string): PatchError => internal(`map: ${goSprint(m)} does not contain declared merge key: ${key}`);
const errBadArgType = (expected: string, actual: unknown): PatchError =>
  internal(`expected a ${expected}, but received a ${goTypeName(actual)}`);
const errBadPatchType = (t: unknown, m: JsonMap): PatchError => internal(`unknown patch type: ${goSprint(t)} in map: ${goSprint(m)}`);
const mapType = 'map[string]interface {}';
const sliceType = '[]interface {}';

interface Schema {
  table: PatchSchema;
  /** Path of the struct this schema describes ('' at the root). */
  path: string;
}

interface Lookup {
  sub: Schema;
  strategy: string;
  mergeKey: string;
}

/** LookupPatchMetadataFor{Struct,Slice} plus extractRetainKeysPatchStrategy. */
function lookup(schema: Schema, key: string): Lookup {
  const path = schema.path ? `${schema.path}.${key}` : key;
  const meta = Object.hasOwn(schema.table, path) ? schema.table[path] : undefined;
  const strategies = (meta?.strategy ?? '').split(',');
  let strategy: string;
  if (strategies.length === 1) strategy = strategies[0] === 'retainKeys' ? '' : strategies[0] ?? '';
  else if (strategies.length === 2 && strategies.includes('retainKeys')) strategy = strategies.find((s) => s !== 'retainKeys') ?? '';
  else throw internal(`unexpected patch strategy: [${strategies.join(' ')}]`);
  return { sub: { table: schema.table, path }, strategy, mergeKey: meta?.mergeKey ?? '' };
}

/** extractKey: the list name after `$prefix/`. */
function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    if (prefix === deleteFromPrimitiveListPrefix) throw errBadPatchFormatForPrimitiveList();
    throw errBadPatchFormatForSetElementOrderList();
  }
  return s.slice(slash + 1);
}

/** removeDirectives: drops maps carrying `$patch` (and their keys); returns [value, keep]. */
function removeDirectives(obj: unknown): [unknown, boolean] {
  if (isMap(obj)) {
    if (has(obj, directiveMarker)) return [null, false];
    for (const k of Object.keys(obj)) {
      const [v, keep] = removeDirectives(obj[k]);
      if (keep) setKey(obj, k, v);
      else delete obj[k];
    }
    return [obj, true];
  }
  if (Array.isArray(obj)) {
    const res: unknown[] = [];
    for (const v of obj) {
      const [nv, keep] = removeDirectives(v);
      if (keep) res.push(nv);
    }
    return [res, true];
  }
  return [obj, true];
}

function discardNullValuesFromPatch(v: unknown): void {
  if (isMap(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNullValuesFromPatch(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const item of v) discardNullValuesFromPatch(item);
  }
}

/** The value to store for a patch value that is not merged into anything. */
function takePatchValue(original: JsonMap, k: string, patchV: unknown): void {
  discardNullValuesFromPatch(patchV);
  const [v, keep] = removeDirectives(patchV);
  if (keep) setKey(original, k, v);
  else delete original[k];
}

function mergeMap(original: JsonMap | null, patch: JsonMap, schema: Schema): JsonMap {
  if (has(patch, directiveMarker)) return handleDirectiveInMergeMap(patch[directiveMarker], patch);
  const target = original ?? {};
  applyRetainKeysDirective(target, patch);
  mergePatchIntoOriginal(target, patch, schema);
  // Go ranges over the patch map in random order; here it is the patch's own key order.
  for (const [patchKey, patchV] of Object.entries(patch)) {
    let k = patchKey;
    let isDeleteList = false;
    if (k.startsWith(deleteFromPrimitiveListPrefix)) {
      k = extractKey(k, deleteFromPrimitiveListPrefix);
      isDeleteList = true;
    }
    // null deletes (IgnoreUnmatchedNulls: a null for an absent key is simply dropped).
    if (patchV === null) {
      delete target[k];
      continue;
    }
    if (!has(target, k) || goKind(target[k]) !== goKind(patchV)) {
      if (!isDeleteList) takePatchValue(target, k, patchV);
      continue;
    }
    const originalV = target[k];
    if (isMap(originalV)) {
      const { sub, strategy } = lookup(schema, k);
      setKey(target, k, strategy === 'replace' ? patchV : mergeMap(originalV, patchV as JsonMap, sub));
    } else if (Array.isArray(originalV)) {
      const { sub, strategy, mergeKey } = lookup(schema, k);
      setKey(target, k, mergeSliceHandler(originalV, patchV, sub, strategy, mergeKey, isDeleteList));
    } else {
      const [v, keep] = removeDirectives(patchV);
      if (keep) setKey(target, k, v);
      else delete target[k];
    }
  }
  return target;
}

/** `$patch` in a map: replace it by the rest of the patch, or empty it. */
function handleDirectiveInMergeMap(directive: unknown, patch: JsonMap): JsonMap {
  if (directive === 'replace') {
    delete patch[directiveMarker];
    return patch;
  }
  if (directive === 'delete') return {};
  throw errBadPatchType(directive, patch);
}

/** `$retainKeys`: clear every original key not listed; every patched key must be listed. */
function applyRetainKeysDirective(original: JsonMap, patch: JsonMap): void {
  if (!has(patch, retainKeysDirective)) return;
  const retainKeys = patch[retainKeysDirective];
  delete patch[retainKeysDirective];
  if (!Array.isArray(retainKeys)) throw errBadPatchFormatForRetainKeys();
  const keep = new Set<unknown>(retainKeys);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deleteFromPrimitiveListPrefix) || k.startsWith(setElementOrderPrefix)) continue;
    if (!keep.has(k)) throw errBadPatchFormatForRetainKeys();
  }
  for (const k of Object.keys(original)) {
    if (!keep.has(k)) delete original[k];
  }
}

/**
 * `$setElementOrder/<list>`: merges <list> now and orders the result: the directive's order
 * first, then the patch's, then the live object's.
 */
function mergePatchIntoOriginal(original: JsonMap, patch: JsonMap, schema: Schema): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(setElementOrderPrefix)) continue;
    const setOrder = patch[key];
    delete patch[key];
    if (!Array.isArray(setOrder)) throw errBadArgType(sliceType, setOrder);
    const listKey = extractKey(key, setElementOrderPrefix);
    const foundOriginal = has(original, listKey);
    const foundPatch = has(patch, listKey);
    const originalList = original[listKey];
    const patchList = patch[listKey];
    if (foundOriginal && !Array.isArray(originalList)) throw errBadArgType(sliceType, originalList);
    if (foundPatch && !Array.isArray(patchList)) throw errBadArgType(sliceType, patchList);
    const originalItems = (originalList ?? []) as unknown[];
    const patchItems = (patchList ?? []) as unknown[];
    const { sub, strategy, mergeKey } = lookup(schema, listKey);
    validatePatchWithSetOrderList(patchItems, setOrder, mergeKey);

    // Go merges into the live list's backing array in place; what that leaves behind in
    // the first len(original) slots is the "server order" used below (see GoSlice).
    const serverOrder = [...originalItems];
    let merged: unknown[];
    if (foundOriginal && !foundPatch) merged = originalItems;
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchItems)[0] as unknown[];
    else if (foundOriginal && foundPatch) merged = mergeSliceHandler(originalItems, patchItems, sub, strategy, mergeKey, false, serverOrder);
    else continue;

    const [inOrder, serverOnly] = mergeKey
      ? partitionMapsByPresentInList(merged, setOrder, mergeKey)
      : partitionPrimitivesByPresentInList(merged, setOrder);
    const kind = sliceElementKind([originalItems, patchItems]);
    setKey(original, listKey, normalizeElementOrder(inOrder, serverOnly, setOrder, serverOrder, mergeKey, kind));
    delete patch[listKey];
  }
}

/** The relative order of the patch list's items must agree with `$setElementOrder`. */
function validatePatchWithSetOrderList(patchList: unknown[], setOrder: unknown[], mergeKey: string): void {
  if (setOrder.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey ? extractToDeleteItems(patchList)[0] : patchList;
  let patchIndex = 0;
  let setOrderIndex = 0;
  while (patchIndex < nonDelete.length && setOrderIndex < setOrder.length) {
    const item = nonDelete[patchIndex];
    if (isMap(item) && has(item, directiveMarker)) {
      patchIndex++;
      continue;
    }
    if (mergeKeyValueEqual(item, setOrder[setOrderIndex], mergeKey)) patchIndex++;
    setOrderIndex++;
  }
  if (patchIndex < nonDelete.length && setOrderIndex >= setOrder.length) {
    throw internal(
      `The order in patch list:\n${goSprint(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${goSprint(setOrder)}\n`,
    );
  }
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isMap(left)) throw errBadArgType(mapType, left);
  if (!isMap(right)) throw errBadArgType(mapType, right);
  if (!has(left, mergeKey)) throw errNoMergeKey(left, mergeKey);
  if (!has(right, mergeKey)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

function mergeSliceHandler(
  original: unknown[], patch: unknown, schema: Schema, strategy: string, mergeKey: string, isDeleteList: boolean,
  backing?: unknown[],
): unknown[] {
  if (!Array.isArray(patch)) throw errBadArgType(sliceType, patch);
  // Delete lists apply whatever the field's strategy; other untagged lists are replaced whole.
  if (strategy === 'merge' || isDeleteList) return mergeSlice(original, patch, mergeKey, schema, isDeleteList, backing);
  return patch;
}

/**
 * A Go slice header over a backing array whose length is the capacity. strategicpatch
 * deletes and appends in place, so a caller still holding the original slice (the live
 * list, whose capacity equals its length after the apiserver's DeepCopy) sees its slots
 * shifted by deletions and refilled by appended patch items. That view changes the order
 * `$setElementOrder` produces, so it is reproduced here.
 */
interface GoSlice {
  arr: unknown[];
  len: number;
}

const view = (s: GoSlice): unknown[] => s.arr.slice(0, s.len);

/** append(s[:i], s[i+1:]...) */
function goDeleteAt(s: GoSlice, i: number): GoSlice {
  s.arr.copyWithin(i, i + 1, s.len);
  return { arr: s.arr, len: s.len - 1 };
}

/** append(s, v): in place while capacity lasts, else into a fresh array nobody else sees. */
function goAppend(s: GoSlice, v: unknown): GoSlice {
  if (s.len < s.arr.length) {
    s.arr[s.len] = v;
    return { arr: s.arr, len: s.len + 1 };
  }
  return { arr: [...view(s), v], len: s.len + 1 };
}

function mergeSlice(
  original: unknown[], patch: unknown[], mergeKey: string, schema: Schema, isDeleteList: boolean, backing?: unknown[],
): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind([original, patch]);
  let serverOrder = original;
  let patchOrder = patch;
  let merged: unknown[];
  if (kind !== 'map') {
    if (isDeleteList) return deleteFromSlice(original, patch);
    // append(original, patch...) reallocates (len == cap), so nothing is shared here.
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    // Go names the list's element kind here; merge lists are lists of structs.
    if (!mergeKey) throw internal('cannot merge lists without merge key for struct');
    const live: GoSlice = { arr: backing ?? [...original], len: original.length };
    const [remaining, plain] = mergeSliceWithSpecialElements(live, patch, mergeKey);
    serverOrder = view(remaining);
    patchOrder = plain;
    merged = view(mergeSliceWithoutSpecialElements(remaining, plain, mergeKey, schema));
  }
  const [patchItems, serverOnly] = mergeKey
    ? partitionMapsByPresentInList(merged, patchOrder, mergeKey)
    : partitionPrimitivesByPresentInList(merged, patchOrder);
  return normalizeElementOrder(patchItems, serverOnly, patchOrder, serverOrder, mergeKey, kind);
}

/** `$patch: delete|replace|merge` list items; returns the updated original and the plain items. */
function mergeSliceWithSpecialElements(original: GoSlice, patch: unknown[], mergeKey: string): [GoSlice, unknown[]] {
  const plain: unknown[] = [];
  let replace = false;
  let result = original;
  for (const v of patch) {
    const item = v as JsonMap;
    if (!has(item, directiveMarker)) {
      plain.push(v);
      continue;
    }
    const directive = item[directiveMarker];
    if (directive === 'delete') {
      if (!has(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      result = deleteMatchingEntries(result, mergeKey, item[mergeKey]);
    } else if (directive === 'replace') {
      // Keep scanning so the other directive items are dropped too.
      replace = true;
    } else if (directive === 'merge') {
      throw internal('merging lists cannot yet be specified in the patch');
    } else {
      throw errBadPatchType(directive, item);
    }
  }
  return replace ? [{ arr: plain, len: plain.length }, []] : [result, plain];
}

function deleteMatchingEntries(original: GoSlice, mergeKey: string, value: unknown): GoSlice {
  let result = original;
  for (;;) {
    const found = findMapInSliceBasedOnKeyValue(view(result), mergeKey, value);
    if (!found) return result;
    result = goDeleteAt(result, found.index);
  }
}

function mergeSliceWithoutSpecialElements(original: GoSlice, patch: unknown[], mergeKey: string, schema: Schema): GoSlice {
  let result = original;
  for (const v of patch) {
    const item = v as JsonMap;
    if (!has(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
    const found = findMapInSliceBasedOnKeyValue(view(result), mergeKey, item[mergeKey]);
    if (found) result.arr[found.index] = mergeMap(found.map, item, schema);
    else result = goAppend(result, v);
  }
  return result;
}

function findMapInSliceBasedOnKeyValue(list: unknown[], key: string, value: unknown): { map: JsonMap; index: number } | undefined {
  for (const [index, v] of list.entries()) {
    if (!isMap(v)) throw internal(`value for key ${index} is not a map`);
    if (has(v, key) && v[key] === value) return { map: v, index };
  }
  return undefined;
}

/** `$deleteFromPrimitiveList/<list>` on a list of scalars. */
function deleteFromSlice(current: unknown[], toDelete: unknown[]): unknown[] {
  const drop = new Set(toDelete);
  return current.filter((v) => !drop.has(v));
}

/** deduplicateScalars, including its habit of moving the last element into a duplicate's slot. */
function deduplicateScalars(s: unknown[]): unknown[] {
  const out = [...s];
  let length = out.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (out[i] === out[j]) {
        out[j] = out[length];
        out.length = length;
        length--;
        j--;
      }
    }
  }
  return out;
}

/** sliceElementType: all items share one type, which is not a list. */
function sliceElementKind(slices: unknown[][]): GoKind {
  let prev: GoKind | undefined;
  for (const s of slices) {
    for (const v of s) {
      const kind = goKind(v);
      if (prev === undefined) {
        if (kind === 'slice') throw errNoListOfLists();
        prev = kind;
      } else if (prev !== kind) {
        throw internal(`list element types are not identical: ${goSprint(slices)}`);
      }
    }
  }
  if (prev === undefined) throw internal('no elements in any of the given slices');
  return prev;
}

function partitionPrimitivesByPresentInList(original: unknown[], partitionBy: unknown[]): [unknown[], unknown[]] {
  const inPatch = new Set(partitionBy);
  return [original.filter((v) => inPatch.has(v)), original.filter((v) => !inPatch.has(v))];
}

function partitionMapsByPresentInList(original: unknown[], partitionBy: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const patch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of original) {
    if (!isMap(v)) throw errBadArgType(mapType, v);
    if (!has(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    (findMapInSliceBasedOnKeyValue(partitionBy, mergeKey, v[mergeKey]) ? patch : serverOnly).push(v);
  }
  return [patch, serverOnly];
}

/** Sorts the patch items by `patchOrder` and the server-only ones by `serverOrder`, then interleaves them. */
function normalizeElementOrder(
  patch: unknown[], serverOnly: unknown[], patchOrder: unknown[], serverOrder: unknown[], mergeKey: string, kind: GoKind,
): unknown[] {
  const sortedPatch = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const sortedServerOnly = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(sortedServerOnly, sortedPatch, serverOrder, mergeKey, kind);
}

/** Position of `item` in `list`, matching maps by merge key value (a missing key matches a missing key). */
function indexOf(list: unknown[], item: unknown, mergeKey: string, kind: GoKind): number {
  const value = (v: unknown): unknown => (kind === 'map' ? (isMap(v) && has(v, mergeKey) ? v[mergeKey] : null) : v);
  const wanted = value(item);
  return list.findIndex((v) => value(v) === wanted);
}

function extractToDeleteItems(list: unknown[]): [unknown[], unknown[]] {
  const keep: unknown[] = [];
  const toDelete: unknown[] = [];
  for (const v of list) {
    if (!isMap(v)) throw errBadArgType(mapType, v);
    (v[directiveMarker] === 'delete' ? toDelete : keep).push(v);
  }
  return [keep, toDelete];
}

function normalizeSliceOrder(toSort: unknown[], order: unknown[], mergeKey: string, kind: GoKind): unknown[] {
  let items = [...toSort];
  let toDelete: unknown[] = [];
  if (kind === 'map') {
    for (const list of [items, order]) {
      for (const v of list) {
        if (!isMap(v)) throw errBadArgType(mapType, v);
        if (!has(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
      }
    }
    [items, toDelete] = extractToDeleteItems(items);
  }
  // Go's comparator answers "less" whenever either item is absent from `order`; only an
  // exact port of sort.SliceStable reproduces the resulting order.
  goSliceStable(items, (a, b) => {
    const ia = indexOf(order, a, mergeKey, kind);
    if (ia >= 0) {
      const ib = indexOf(order, b, mergeKey, kind);
      if (ib >= 0) return ia < ib;
    }
    return true;
  });
  return [...items, ...toDelete];
}

/** Inserts each `left` item before the first `right` item that follows it in `serverOrder`. */
function mergeSortedSlice(left: unknown[], right: unknown[], serverOrder: unknown[], mergeKey: string, kind: GoKind): unknown[] {
  const less = (l: unknown, r: unknown): boolean => {
    const li = indexOf(serverOrder, l, mergeKey, kind);
    const ri = indexOf(serverOrder, r, mergeKey, kind);
    return li >= 0 && ri >= 0 && li < ri;
  };
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else if (less(left[i], right[j])) out.push(left[i++]);
    else out.push(right[j++]);
  }
  return out;
}

// Go's sort.SliceStable (insertion sort in blocks of 20, then SymMerge), ported from
// src/sort/zsortfunc.go so that inconsistent comparators order things as Go does.
function goSliceStable<T>(data: T[], less: (a: T, b: T) => boolean): void {
  const lessAt = (i: number, j: number): boolean => less(data[i] as T, data[j] as T);
  const swap = (i: number, j: number): void => {
    const t = data[i] as T;
    data[i] = data[j] as T;
    data[j] = t;
  };
  const insertionSort = (a: number, b: number): void => {
    for (let i = a + 1; i < b; i++) {
      for (let j = i; j > a && lessAt(j, j - 1); j--) swap(j, j - 1);
    }
  };
  const swapRange = (a: number, b: number, n: number): void => {
    for (let i = 0; i < n; i++) swap(a + i, b + i);
  };
  const rotate = (a: number, m: number, b: number): void => {
    let i = m - a;
    let j = b - m;
    while (i !== j) {
      if (i > j) {
        swapRange(m - i, m, j);
        i -= j;
      } else {
        swapRange(m - i, m + j - i, i);
        j -= i;
      }
    }
    swapRange(m - i, m, i);
  };
  const symMerge = (a: number, m: number, b: number): void => {
    if (m - a === 1) {
      let i = m;
      let j = b;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (lessAt(h, a)) i = h + 1;
        else j = h;
      }
      for (let k = a; k < i - 1; k++) swap(k, k + 1);
      return;
    }
    if (b - m === 1) {
      let i = a;
      let j = m;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (!lessAt(m, h)) i = h + 1;
        else j = h;
      }
      for (let k = m; k > i; k--) swap(k, k - 1);
      return;
    }
    const mid = (a + b) >>> 1;
    const n = mid + m;
    let start: number;
    let r: number;
    if (m > mid) {
      start = n - b;
      r = mid;
    } else {
      start = a;
      r = m;
    }
    const p = n - 1;
    while (start < r) {
      const c = (start + r) >>> 1;
      if (!lessAt(p - c, c)) start = c + 1;
      else r = c;
    }
    const end = n - start;
    if (start < m && m < end) rotate(start, m, end);
    if (a < start && start < mid) symMerge(a, start, mid);
    if (mid < end && end < b) symMerge(mid, end, b);
  };

  const n = data.length;
  let blockSize = 20;
  let a = 0;
  let b = blockSize;
  while (b <= n) {
    insertionSort(a, b);
    a = b;
    b += blockSize;
  }
  insertionSort(a, n);
  while (blockSize < n) {
    a = 0;
    b = 2 * blockSize;
    while (b <= n) {
      symMerge(a, a + blockSize, b);
      a = b;
      b += 2 * blockSize;
    }
    const m = a + blockSize;
    if (m < n) symMerge(a, m, n);
    blockSize *= 2;
  }
}

/**
 * Strategic merge patch of `patch` onto `original`, as kube-apiserver applies
 * application/strategic-merge-patch+json to the built-in `resource` (core plural such
 * as `pods`, else `<plural>.<group>` such as `deployments.apps`). Both must be JSON
 * objects. Custom resources do not support this patch type: the apiserver answers 415
 * before ever getting here.
 */
export function strategicMergePatch(original: unknown, patch: unknown, resource: string): unknown {
  // A JSON null decodes into a nil map: nothing to apply.
  if (patch === null) return clone(original);
  if (!isMap(patch)) throw badRequest(`json: cannot unmarshal ${jsonTypeName(patch)} into Go value of type map[string]interface {}`);
  const schema: Schema = { table: patchSchemaFor(resource), path: '' };
  return mergeMap(isMap(original) ? clone(original) : {}, clone(patch), schema);
}
