// `apply`: the guide's create → wait for the operator → create, done with
// server-side apply (field manager kubectl-calico) so a re-run says
// `unchanged` instead of AlreadyExists and the big CRDs never hit the
// annotation limit. Stages: CRDs (then Established), the operator (then its
// pod Running and Ready), the custom resources. One write per object,
// concurrent within a stage; the gates follow watch events.
import { CliError } from '../cli/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { ApiError } from '../kube/errors.ts';
import { displayName, objectPath, resourceOf, type ManifestObject } from '../kube/resources.ts';
import { inform } from '../kube/watch.ts';
import type { PoolSettings } from './custom-resources.ts';
import type { Stage } from './plan.ts';

export const FIELD_MANAGER = 'kubectl-calico';
const CONCURRENCY = 8;

export type DryRun = 'none' | 'client' | 'server';

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
  /** resourceVersions this folder's last apply left, by object: equal again means unchanged. */
  previous: ReadonlyMap<string, string>;
}

export interface ObjectResult {
  name: string;
  action: 'created' | 'serverside-applied' | 'unchanged' | 'skipped';
  dryRun: DryRun;
  resourceVersion?: string;
  note?: string;
}

export async function applyStages(kube: KubeClient, stages: Stage[], options: ApplyOptions): Promise<ObjectResult[]> {
  const results: ObjectResult[] = [];
  const all = stages.flatMap((s) => s.objects.map((o) => displayName(resourceOf(o.object, o.file), o.object)));
  const done = () => results.map((r) => r.name);
  try {
    for (const stage of stages) {
      // A stage's gate starts watching before its writes, so the events that pass it are not waited for twice.
      const gate = options.dryRun === 'none' ? gateFor(kube, stage, options) : undefined;
      try {
        await applyStage(kube, stage, options, results);
        await gate?.passed();
      } finally {
        gate?.stop();
      }
    }
  } catch (error) {
    // An interruption or --timeout (the signal's reason) or a failure part-way through says what was and was not applied.
    const interruption = options.signal.aborted && options.signal.reason instanceof CliError ? options.signal.reason : undefined;
    if (interruption) throw new CliError(`${interruption.message}\n${progress(done(), all)}\nRe-run "kubectl calico apply" to finish: it converges from any point.`, interruption.exitCode);
    if (error instanceof CliError && results.length > 0 && error.exitCode === 1) throw new CliError(`${error.message}\n${progress(done(), all)}`);
    throw error;
  }
  return results;
}

function progress(done: string[], all: string[]): string {
  return `applied: ${done.join(', ') || 'nothing'}\nnot applied: ${all.filter((name) => !done.includes(name)).join(', ') || 'nothing'}`;
}

async function applyStage(kube: KubeClient, stage: Stage, options: ApplyOptions, results: ObjectResult[]): Promise<void> {
  const objects = stage.objects.map((o) => o.object);
  if (stage.name === 'resources') return applyCustomResources(kube, objects, options, results);
  if (stage.name === 'crds') return applyAll(kube, objects, options, results);
  const [namespaces, rest] = partition(objects, (o) => o.kind === 'Namespace');
  await applyAll(kube, namespaces, options, results);
  await applyAll(kube, rest, options, results);
}

async function applyAll(kube: KubeClient, objects: ManifestObject[], options: ApplyOptions, results: ObjectResult[]): Promise<void> {
  const queue = [...objects];
  const failures: unknown[] = [];
  // After a failure no new write starts, and the ones already sent are waited for: the error then says
  // exactly which objects were applied, not ones whose write was still under way.
  const worker = async () => {
    for (let object = queue.shift(); object && failures.length === 0; object = queue.shift()) {
      try {
        const result = await applyObject(kube, object, options);
        results.push(result);
        options.onObject(result);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, objects.length) }, worker));
  if (failures.length) throw failures[0];
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
    const response = await kube.request(objectPath(info, object), {
      method: 'PATCH',
      body: object,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: options.forceConflicts, ...(options.dryRun === 'server' ? { dryRun: 'All' } : {}) },
      signal: options.signal,
    });
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
    if (response.statusCode === 201) return { name, action: 'created', dryRun: options.dryRun, ...(resourceVersion ? { resourceVersion } : {}) };
    // A no-op apply writes nothing: the resourceVersion is the one the last apply left, and our
    // managedFields time (one-second resolution) is older than this request.
    const mine = applied.metadata?.managedFields?.find((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply');
    const unchanged = (resourceVersion !== undefined && options.previous.get(name) === resourceVersion) || (mine?.time !== undefined && Date.parse(mine.time) < started);
    return { name, action: unchanged ? 'unchanged' : 'serverside-applied', dryRun: options.dryRun, ...(resourceVersion ? { resourceVersion } : {}) };
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 409 && error.reason === 'Conflict') throw conflictError(name, error);
    if (error instanceof ApiError) throw new CliError(`applying ${name}: ${error.message}`);
    throw error;
  }
}

function conflictError(name: string, error: ApiError): CliError {
  const causes = (error.status.details?.causes ?? []).map((c) => `  ${c.field}: ${c.message}`).join('\n');
  return new CliError(`applying ${name}: another field manager owns fields kubectl-calico would change:\n${causes}\nRe-run with --force-conflicts to take them over (the other manager's values are overwritten).`);
}

/** The Installation is compared first: an equal one is left alone, a pool CIDR change is a migration. */
async function applyCustomResources(kube: KubeClient, objects: ManifestObject[], options: ApplyOptions, results: ObjectResult[]): Promise<void> {
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
  if (live && samePools(desired, current)) {
    const rv = (live.metadata as { resourceVersion?: string }).resourceVersion;
    const result: ObjectResult = { name: 'installation.operator.tigera.io/default', action: 'unchanged', dryRun: options.dryRun, ...(rv ? { resourceVersion: rv } : {}) };
    results.push(result);
    options.onObject(result);
    return applyAll(kube, rest, options, results);
  }
  await applyAll(kube, [...installations, ...rest], options, results);
}

function poolsOf(object: ManifestObject): Partial<PoolSettings>[] {
  return ((object.spec as { calicoNetwork?: { ipPools?: Partial<PoolSettings>[] } } | undefined)?.calicoNetwork?.ipPools) ?? [];
}

/** Equal in every value the plan sets; the operator's defaults on top of them do not count. */
function samePools(desired: Partial<PoolSettings>[], current: Partial<PoolSettings>[]): boolean {
  return desired.length === current.length && desired.every((d, i) => (Object.keys(d) as (keyof PoolSettings)[]).filter((k) => (k as string) !== 'name').every((k) => String(current[i]?.[k]) === String(d[k])));
}

interface Gate {
  /** Resolves when the gate is passed, and says so. */
  passed(): Promise<void>;
  stop(): void;
}

function gateFor(kube: KubeClient, stage: Stage, options: ApplyOptions): Gate | undefined {
  if (stage.name === 'crds' && stage.objects.length) return establishedGate(kube, stage.objects.map((o) => o.object.metadata.name), options);
  if (stage.name === 'operator') return operatorGate(kube, options);
  return undefined;
}

/** Gate 1: every applied CRD is Established (watched, not polled). */
function establishedGate(kube: KubeClient, names: string[], options: ApplyOptions): Gate {
  const pending = new Set(names);
  return watchUntil(options, `${names.length} CustomResourceDefinitions Established`, (resolve) => inform<ManifestObject & { status?: { conditions?: { type: string; status: string }[] } }>(kube, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {}, (change) => {
    const established = change.object.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    if (change.type !== 'DELETED' && established) pending.delete(change.object.metadata.name);
    if (pending.size === 0) resolve('');
  }, options.signal));
}

/** Gate 2, the guide's: the tigera-operator pod is Running and Ready. */
function operatorGate(kube: KubeClient, options: ApplyOptions): Gate {
  return watchUntil(options, (pod) => `pod tigera-operator/${pod} Running and Ready`, (resolve) => inform<ManifestObject & { status?: { phase?: string; conditions?: { type: string; status: string }[] } }>(kube, '/api/v1/namespaces/tigera-operator/pods', { labelSelector: 'name=tigera-operator' }, (change) => {
    const pod = change.object;
    if (change.type !== 'DELETED' && pod.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) resolve(pod.metadata.name);
  }, options.signal));
}

/** Runs an informer from now until its callback resolves; `passed` waits for that, then stops it. */
function watchUntil(options: ApplyOptions, gate: string | ((found: string) => string), start: (resolve: (found: string) => void) => { stop(): void; done: Promise<void>; synced: Promise<void> }): Gate {
  let finish: (found: string) => void = () => {};
  const reached = new Promise<string>((resolve) => (finish = resolve));
  const informer = start(finish);
  const aborted = new Promise<never>((_, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
  const outcome = Promise.race([reached, aborted, informer.synced.then(() => reached), informer.done.then(() => reached)]);
  outcome.catch(() => {}); // Failures surface from passed(); the stage's own writes may fail first.
  return {
    passed: async () => {
      const found = await outcome;
      informer.stop();
      options.onGate(typeof gate === 'string' ? gate : gate(found));
    },
    stop: () => informer.stop(),
  };
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((i) => !test(i))];
}
