// `apply`: the guide's create → wait for the operator → create, done with
// server-side apply (field manager kubectl-calico) so a re-run says
// `unchanged` instead of AlreadyExists and the big CRDs never hit the
// annotation limit. Stages: CRDs (then Established), the operator (then its
// pod Running and Ready), the custom resources. One write per object,
// concurrent within a stage; the gates follow watch events.
import type { DryRun } from '../cli/dry-run.ts';
import { CliError } from '../cli/errors.ts';
import type { KubeClient, RawResponse } from '../kube/client.ts';
import { ApiError } from '../kube/errors.ts';
import { displayName, objectPath, resourceOf, type ManifestObject, type ResourceInfo } from '../kube/resources.ts';
import { watchUntil, type Change, type KubeObjectLike, type WatchTarget } from '../kube/watch.ts';
import type { PoolSettings } from './custom-resources.ts';
import type { Stage } from './plan.ts';

export const FIELD_MANAGER = 'kubectl-calico';
const CONCURRENCY = 8;


export interface ApplyOptions {
  dryRun: DryRun;
  forceConflicts: boolean;
  /** Allows a change of the pool CIDR of a running install (a pool migration). */
  force: boolean;
  signal: AbortSignal;
  /** Each object as it is done, e.g. `deployment.apps/tigera-operator serverside-applied`. */
  onObject: (result: ObjectResult) => void;
  /** Each gate as it is passed. */
  onGate: (gate: string) => void;
  /** When kubectl-calico's field manager last changed each object, as the last apply from this folder saw it. */
  previous: ReadonlyMap<string, string>;
  /** The command that finishes an interrupted run (apply, or upgrade). */
  rerun: string;
}

export interface ObjectResult {
  name: string;
  action: 'created' | 'serverside-applied' | 'unchanged' | 'skipped';
  dryRun: DryRun;
  resourceVersion?: string;
  /** managedFields time of kubectl-calico's Apply entry: it moves only when an apply changes something. */
  changedAt?: string;
  note?: string;
}

/** What one apply has done so far: finished objects, and those whose write was sent. */
interface Run {
  results: ObjectResult[];
  sent: Set<string>;
}

export async function applyStages(kube: KubeClient, stages: Stage[], options: ApplyOptions): Promise<ObjectResult[]> {
  const run: Run = { results: [], sent: new Set() };
  try {
    for (const stage of stages) {
      // A stage's gate starts watching before its writes, so the events that pass it are not waited for twice.
      const gate = options.dryRun === 'none' ? gateFor(kube, stage, options) : undefined;
      try {
        await applyStage(kube, stage, options, run);
        await gate?.passed();
      } finally {
        gate?.stop();
      }
    }
  } catch (error) {
    const all = stages.flatMap((s) => s.objects.map((o) => displayName(resourceOf(o.object, o.file), o.object)));
    // An interruption or --timeout (the signal's reason) or a failure part-way through says what was and was not applied.
    const interruption = options.signal.aborted && options.signal.reason instanceof CliError ? options.signal.reason : undefined;
    if (interruption) throw new CliError(`${interruption.message}\n${progress(run, all)}\nRe-run "${options.rerun}" to finish: it converges from any point.`, interruption.exitCode);
    if (error instanceof CliError && run.results.length > 0 && error.exitCode === 1) throw new CliError(`${error.message}\n${progress(run, all)}`);
    throw error;
  }
  return run.results;
}

/** Applied, cut off in flight (an interruption aborts writes the server may already have done), not applied. */
function progress(run: Run, all: string[]): string {
  const done = new Set(run.results.map((r) => r.name));
  const inFlight = all.filter((name) => run.sent.has(name) && !done.has(name));
  const lines = [`applied: ${[...done].join(', ') || 'nothing'}`];
  if (inFlight.length) lines.push(`unknown (cut off in flight): ${inFlight.join(', ')}`);
  lines.push(`not applied: ${all.filter((name) => !done.has(name) && !run.sent.has(name)).join(', ') || 'nothing'}`);
  return lines.join('\n');
}

async function applyStage(kube: KubeClient, stage: Stage, options: ApplyOptions, run: Run): Promise<void> {
  const objects = stage.objects.map((o) => o.object);
  if (stage.name === 'resources') return applyCustomResources(kube, objects, options, run);
  if (stage.name === 'crds') return applyAll(kube, objects, options, run);
  // The Namespace before what goes in it; the ImageSet before the operator, which reads it as it starts.
  const [namespaces, rest] = partition(objects, (o) => o.kind === 'Namespace');
  const [imageSets, others] = partition(rest, (o) => o.kind === 'ImageSet');
  await applyAll(kube, namespaces, options, run);
  await applyAll(kube, imageSets, options, run);
  await applyAll(kube, others, options, run);
}

/**
 * Up to CONCURRENCY writes at a time. After a failure no new write starts and
 * the ones in flight are let finish, so the report names exactly what was applied.
 */
async function applyAll(kube: KubeClient, objects: ManifestObject[], options: ApplyOptions, run: Run): Promise<void> {
  const queue = [...objects];
  const worker = async () => {
    for (let object = queue.shift(); object; object = queue.shift()) {
      const name = displayName(resourceOf(object, 'manifest'), object);
      run.sent.add(name);
      try {
        finish(run, options, await applyObject(kube, object, options));
      } catch (error) {
        // A refused write was not applied; one cut off by an interruption may have been.
        if (!options.signal.aborted) run.sent.delete(name);
        queue.length = 0;
        throw error;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, objects.length) }, worker));
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
}

/** What the applied record keeps for an object to tell a later no-op apply (see applyObject). */
export function marker(result: Pick<ObjectResult, 'changedAt' | 'resourceVersion'>): string | undefined {
  return result.changedAt ?? (result.resourceVersion ? `resourceVersion ${result.resourceVersion}` : undefined);
}

function finish(run: Run, options: ApplyOptions, result: ObjectResult): void {
  run.results.push(result);
  options.onObject(result);
}

interface Applied {
  metadata?: { resourceVersion?: string; managedFields?: { manager: string; operation: string; time?: string }[] };
}

async function applyObject(kube: KubeClient, object: ManifestObject, options: ApplyOptions): Promise<ObjectResult> {
  const info = resourceOf(object, 'manifest');
  const name = displayName(info, object);
  if (options.dryRun === 'client') return { name, action: 'serverside-applied', dryRun: 'client' };
  const started = Math.floor(Date.now() / 1000) * 1000;
  try {
    const response = await serverSideApply(kube, info, object, { force: options.forceConflicts, dryRun: options.dryRun === 'server', signal: options.signal });
    if (response.statusCode === 404 && options.dryRun === 'server') {
      // A dry run creates nothing, so what depends on this apply's own CRDs or Namespace cannot be checked yet.
      const missing = info.group === 'operator.tigera.io' ? 'its CRD is not installed yet' : 'its namespace is created by this apply';
      return { name, action: 'skipped', dryRun: 'server', note: `${missing}, so the server cannot check it` };
    }
    if (response.statusCode >= 300) {
      const { apiError } = await import('../kube/client.ts');
      throw apiError(response);
    }
    const applied = JSON.parse(response.body.toString('utf8')) as Applied;
    const resourceVersion = applied.metadata?.resourceVersion;
    const changedAt = applied.metadata?.managedFields?.find((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply')?.time;
    const recorded = { dryRun: options.dryRun, ...(resourceVersion ? { resourceVersion } : {}), ...(changedAt ? { changedAt } : {}) };
    if (response.statusCode === 201) return { name, action: 'created', ...recorded };
    // A no-op apply leaves our managedFields entry as it was: older than this request (one-second
    // resolution), or equal to what the last apply from this folder recorded (the same second).
    // An object without fields of ours (e.g. a Whisker with no spec) has no entry: its resourceVersion stands in.
    const unchanged = changedAt !== undefined ? Date.parse(changedAt) < started || options.previous.get(name) === changedAt : options.previous.get(name) === marker(recorded);
    return { name, action: unchanged ? 'unchanged' : 'serverside-applied', ...recorded };
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 409 && error.reason === 'Conflict') throw conflictError(name, error);
    if (error instanceof ApiError) throw new CliError(`applying ${name}: ${error.message}`);
    throw error;
  }
}

/**
 * The one write path of every command that creates objects: a server-side apply as field manager
 * `kubectl-calico`, the object labelled as ours. The raw answer, for the caller to judge (apply tells
 * `created` from `unchanged` by it).
 */
export function serverSideApply(kube: KubeClient, info: ResourceInfo, object: ManifestObject, options: { force?: boolean; dryRun?: boolean; signal?: AbortSignal }): Promise<RawResponse> {
  return kube.request(objectPath(info, object), {
    method: 'PATCH',
    body: withOwnerLabel(object),
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force: options.force ?? false, ...(options.dryRun ? { dryRun: 'All' } : {}) },
    signal: options.signal,
  });
}

/**
 * Every object carries `app.kubernetes.io/managed-by: kubectl-calico`: a field of ours that no one else sets, so
 * our managedFields entry outlives the operator taking over every other field we set (it rewrites the
 * Installation's ipPools), and uninstall can still tell what kubectl-calico applied.
 */
const OWNER_LABEL = { 'app.kubernetes.io/managed-by': FIELD_MANAGER };

function withOwnerLabel(object: ManifestObject): ManifestObject {
  const labels = (object.metadata.labels as Record<string, string> | undefined) ?? {};
  return { ...object, metadata: { ...object.metadata, labels: { ...labels, ...OWNER_LABEL } } };
}

function conflictError(name: string, error: ApiError): CliError {
  const causes = (error.status.details?.causes ?? []).map((c) => `  ${c.field}: ${c.message}`).join('\n');
  return new CliError(`applying ${name}: another field manager owns fields kubectl-calico would change:\n${causes}\nRe-run with --force-conflicts to take them over (the other manager's values are overwritten).`);
}

/** The Installation is compared first: an equal one is left alone, a pool CIDR change is a migration. */
async function applyCustomResources(kube: KubeClient, objects: ManifestObject[], options: ApplyOptions, run: Run): Promise<void> {
  const [installations, rest] = partition(objects, (o) => o.kind === 'Installation');
  const installation = installations[0]!;
  const live = options.dryRun === 'client' ? undefined : await kube.optional<ManifestObject>(objectPath(resourceOf(installation, 'custom-resources.yaml'), installation), { signal: options.signal }).catch((error: unknown) => {
    if (error instanceof ApiError && error.statusCode === 404) return undefined;
    throw error;
  });
  const desired = poolsOf(installation);
  const current = live ? poolsOf(live) : [];
  if (live && current.length && !options.force) {
    const moved = desired.filter((d) => !current.some((c) => c.cidr === d.cidr));
    if (moved.length) {
      throw new CliError(
        `the Installation already has IP pool ${current.map((c) => c.cidr).join(', ')}; applying ${desired.map((d) => d.cidr).join(', ')} is a pool migration: ` +
        'the operator creates the new pool and deletes the old one, and running pods keep their old addresses until they are restarted. ' +
        'Re-run with --force to do that, or run init again with the current CIDR.',
      );
    }
  }
  if (live && samePools(desired, current) && sameImageSettings(installation, live)) {
    const rv = (live.metadata as { resourceVersion?: string }).resourceVersion;
    const changedAt = (live.metadata as Applied['metadata'])?.managedFields?.find((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply')?.time;
    finish(run, options, { name: 'installation.operator.tigera.io/default', action: 'unchanged', dryRun: options.dryRun, ...(rv ? { resourceVersion: rv } : {}), ...(changedAt ? { changedAt } : {}) });
    return applyAll(kube, rest, options, run);
  }
  await applyAll(kube, [...installations, ...rest], options, run);
}

function poolsOf(object: ManifestObject): Partial<PoolSettings>[] {
  return ((object.spec as { calicoNetwork?: { ipPools?: Partial<PoolSettings>[] } } | undefined)?.calicoNetwork?.ipPools) ?? [];
}

/** Equal in every value the plan sets; the operator's defaults on top of them do not count. */
function samePools(desired: Partial<PoolSettings>[], current: Partial<PoolSettings>[]): boolean {
  return desired.length === current.length && desired.every((d, i) => (Object.keys(d) as (keyof PoolSettings)[]).filter((k) => (k as string) !== 'name').every((k) => String(current[i]?.[k]) === String(d[k])));
}

const IMAGE_FIELDS = ['registry', 'imagePath', 'imagePrefix', 'imagePullSecrets'] as const;

/** The mirror settings init writes; the operator leaves them as written (the registry already ends with `/`). */
function sameImageSettings(desired: ManifestObject, live: ManifestObject): boolean {
  const pick = (o: ManifestObject) => JSON.stringify(IMAGE_FIELDS.map((k) => (o.spec as Record<string, unknown> | undefined)?.[k] ?? null));
  return pick(desired) === pick(live);
}

/**
 * The operator copies the Installation's imagePullSecrets from its own
 * namespace; one missing there leaves every component unable to pull, so
 * apply stops first and says how to create it.
 */
export async function checkPullSecrets(kube: KubeClient, stages: Stage[], signal?: AbortSignal): Promise<void> {
  const installation = stages.flatMap((s) => s.objects).find((o) => o.object.kind === 'Installation')?.object;
  const spec = installation?.spec as { registry?: string; imagePullSecrets?: { name: string }[] } | undefined;
  const names = (spec?.imagePullSecrets ?? []).map((s) => s.name);
  const missing = [];
  // Whether each exists, asked as a one-row Table without the object: never the Secret's data, nor its annotations
  // (where a client-side apply keeps a copy of the data), even in a -v 8 log.
  const exists = { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io', query: { includeObject: 'None' }, signal };
  for (const name of names) if (!(await kube.optional(`/api/v1/namespaces/tigera-operator/secrets/${encodeURIComponent(name)}`, exists))) missing.push(name);
  if (!missing.length) return;
  const server = (spec?.registry ?? '').replace(/\/.*$/, '') || '<registry>';
  const namespace = (await kube.optional('/api/v1/namespaces/tigera-operator', { signal })) ? '' : 'kubectl create namespace tigera-operator && ';
  throw new CliError(`the Installation pulls with ${missing.length === 1 ? 'secret' : 'secrets'} ${missing.join(', ')}, which ${missing.length === 1 ? 'does' : 'do'} not exist in namespace tigera-operator (the operator copies pull secrets from there); nothing was applied. Create ${missing.length === 1 ? 'it' : 'them'} first: ${namespace}${missing.map((m) => `kubectl create secret docker-registry ${m} -n tigera-operator --docker-server=${server} --docker-username=<user> --docker-password=<password>`).join(' && ')}`);
}

interface Gate {
  /** Resolves when the gate is passed, and says so. */
  passed(): Promise<void>;
  stop(): void;
}

function gateFor(kube: KubeClient, stage: Stage, options: ApplyOptions): Gate | undefined {
  if (stage.name === 'crds' && stage.objects.length) return establishedGate(kube, stage.objects.map((o) => o.object.metadata.name), options);
  if (stage.name === 'operator') return operatorGate(kube, operatorImage(stage), options);
  return undefined;
}

/** Gate 1: every applied CRD is Established (watched, not polled). */
function establishedGate(kube: KubeClient, names: string[], options: ApplyOptions): Gate {
  const pending = new Set(names);
  return gate<ManifestObject & { status?: { conditions?: { type: string; status: string }[] } }>(kube, { path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions' }, options, (change) => {
    const established = change.object.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    if (change.type !== 'DELETED' && established) pending.delete(change.object.metadata.name);
  }, () => (pending.size === 0 ? `${names.length} CustomResourceDefinitions Established` : undefined));
}

type OperatorPod = ManifestObject & { spec?: { containers?: { image?: string }[] }; status?: { phase?: string; conditions?: { type: string; status: string }[] } };

/** The operator image the stage's Deployment runs: the gate waits for a pod of exactly that (an upgrade's new operator). */
function operatorImage(stage: Stage): string | undefined {
  const deployment = stage.objects.find((o) => o.object.kind === 'Deployment' && o.object.metadata.name === 'tigera-operator')?.object as OperatorPod | undefined;
  return (deployment?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec?.containers?.[0]?.image;
}

/** Gate 2, the guide's: the tigera-operator pod is Running and Ready — one running the image just applied. */
function operatorGate(kube: KubeClient, image: string | undefined, options: ApplyOptions): Gate {
  let ready: string | undefined;
  return gate<OperatorPod>(kube, { path: '/api/v1/namespaces/tigera-operator/pods', query: { labelSelector: 'name=tigera-operator' } }, options, (change) => {
    const pod = change.object;
    // By name and tag: a registry mirror or an admission webhook may rewrite the registry part.
    const current = image === undefined || imageName(pod.spec?.containers?.[0]?.image) === imageName(image);
    if (change.type !== 'DELETED' && current && !pod.metadata.deletionTimestamp && pod.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready ??= pod.metadata.name;
  }, () => (ready ? `pod tigera-operator/${ready} Running and Ready` : undefined));
}

function imageName(image: string | undefined): string | undefined {
  return image?.split('/').pop();
}

/** Watches from now (before the stage's writes) until `passed` names the gate; `passed()` waits for that. */
function gate<T extends KubeObjectLike>(kube: KubeClient, target: WatchTarget, options: ApplyOptions, onChange: (change: Change<T>) => void, passed: () => string | undefined): Gate {
  const stop = new AbortController();
  const outcome = watchUntil<T, string>(kube, [target], { signal: AbortSignal.any([options.signal, stop.signal]), onChange, until: passed });
  outcome.catch(() => {}); // Failures surface from passed(); the stage's own writes may fail first.
  return {
    passed: async () => options.onGate(await outcome),
    stop: () => stop.abort(),
  };
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((i) => !test(i))];
}
