// `uninstall`: takes out what kubectl-calico applied, in the order that lets
// the operator clean up after itself — the custom resources (the operator
// then removes calico-system and calico-apiserver and drops its finalizer),
// then the operator, then the CRDs. Only objects kubectl-calico's field
// manager applied are touched, and of those, any that a manager outside
// Calico also manages stays, named. Everything is found in the cluster, so no
// folder is needed and a re-run continues where the last one stopped.
import { CliError, TimeoutError } from '../cli/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { displayName, objectPath, resourceOf, type ManifestObject } from '../kube/resources.ts';
import { watchUntil, type KubeObjectLike } from '../kube/watch.ts';
import type { DryRun } from '../cli/dry-run.ts';
import { FIELD_MANAGER } from './apply.ts';
import { OPERATOR_NAMESPACE } from './installed.ts';
import { CALICO_NAMESPACES } from './status.ts';

/**
 * Field managers that do not make an object someone else's: ours, the Tigera operator's, and Kubernetes' own
 * control plane (the deployment controller annotates the Deployment it rolls). Any other manager's fields mean
 * something else relies on the object.
 */
const CALICO_MANAGERS = new Set([FIELD_MANAGER, 'operator', 'tigera-operator', 'kube-controller-manager', 'kube-apiserver', 'kube-scheduler']);

/** The order of an uninstall; `contents` are objects in the operator's namespace that kubectl-calico never deletes itself. */
export type Step = 'resources' | 'operator' | 'crds' | 'contents';

/** Where kubectl-calico's objects can be, in the order each step deletes them. */
const SOURCES: { step: Step; apiVersion: string; kind: string; namespace?: string }[] = [
  { step: 'resources', apiVersion: 'operator.tigera.io/v1', kind: 'Installation' },
  { step: 'resources', apiVersion: 'operator.tigera.io/v1', kind: 'APIServer' },
  { step: 'resources', apiVersion: 'operator.tigera.io/v1', kind: 'Goldmane' },
  { step: 'resources', apiVersion: 'operator.tigera.io/v1', kind: 'Whisker' },
  // One left behind (--keep-crds) would make the operator of a later install without one require it.
  { step: 'resources', apiVersion: 'operator.tigera.io/v1', kind: 'ImageSet' },
  { step: 'operator', apiVersion: 'apps/v1', kind: 'Deployment', namespace: OPERATOR_NAMESPACE },
  { step: 'operator', apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespace: OPERATOR_NAMESPACE },
  { step: 'operator', apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { step: 'operator', apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { step: 'operator', apiVersion: 'v1', kind: 'ServiceAccount', namespace: OPERATOR_NAMESPACE },
  { step: 'operator', apiVersion: 'v1', kind: 'Namespace' },
  { step: 'crds', apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
];

interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  subresource?: string;
}

export interface LiveObject extends KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata: KubeObjectLike['metadata'] & { managedFields?: ManagedFieldsEntry[]; finalizers?: string[]; deletionTimestamp?: string };
  spec?: { names?: { kind?: string }; group?: string; finalizers?: string[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface Found {
  step: Step;
  name: string;
  path: string;
  object: LiveObject;
}

export interface UninstallResult {
  name: string;
  action: 'deleted' | 'kept' | 'gone';
  dryRun: DryRun;
  note?: string;
}

/** Kinds users add to the operator's namespace (the eBPF kubernetes-services-endpoint ConfigMap, pull secrets). */
const NAMESPACE_CONTENTS = [['configmaps', 'configmap'], ['secrets', 'secret']] as const;

/** Every object a Calico source holds, with its display name and path; and what else the operator's namespace holds. */
export async function discover(kube: KubeClient): Promise<Found[]> {
  const [objects, contents] = await Promise.all([discoverSources(kube), discoverContents(kube)]);
  return [...objects, ...contents];
}

async function discoverContents(kube: KubeClient): Promise<Found[]> {
  const lists = await Promise.all(NAMESPACE_CONTENTS.map(async ([resource, kind]) => {
    const path = `/api/v1/namespaces/${OPERATOR_NAMESPACE}/${resource}`;
    const list = await kube.optional<{ items: LiveObject[] }>(path);
    // Only the metadata is kept: a Secret's data has no business in memory longer than the list.
    return (list?.items ?? []).map((object): Found => ({ step: 'contents', name: `${kind}/${object.metadata.name}`, path: `${path}/${object.metadata.name}`, object: { metadata: object.metadata } }));
  }));
  return lists.flat();
}

async function discoverSources(kube: KubeClient): Promise<Found[]> {
  const lists = await Promise.all(SOURCES.map(async (source) => {
    const info = resourceOf({ apiVersion: source.apiVersion, kind: source.kind, metadata: { name: '' } }, 'uninstall');
    const template = (name: string): ManifestObject => ({ apiVersion: source.apiVersion, kind: source.kind, metadata: { name, ...(source.namespace ? { namespace: source.namespace } : {}) } });
    const listPath = objectPath(info, template('')).replace(/\/$/, '');
    // A list of a kind whose CRD is gone (a re-run) is a 404: nothing of that kind is left.
    const list = await kube.optional<{ items: LiveObject[] }>(listPath);
    return (list?.items ?? []).map((object) => ({ step: source.step, name: displayName(info, template(object.metadata.name)), path: objectPath(info, template(object.metadata.name)), object }));
  }));
  return lists.flat();
}

function managers(object: LiveObject): string[] {
  return [...new Set((object.metadata.managedFields ?? []).filter((m) => !m.subresource).map((m) => m.manager))];
}

export function appliedByUs(object: LiveObject): boolean {
  return managers(object).includes(FIELD_MANAGER);
}

export interface Plan {
  remove: Found[];
  keep: { found: Found; reason: string }[];
  /** The operator removes calico-system (and calico-apiserver) only when the Installation goes: wait for that unless it stays. */
  waitForNamespaces: boolean;
}

/**
 * What to delete and what to keep, and why: objects kubectl-calico did not
 * apply are not touched (and not listed); an object another manager also
 * manages stays; while an Installation stays, the operator and the CRDs it
 * needs stay too; `--keep-crds` keeps every CRD.
 */
export function planUninstall(found: Found[], keepCrds: boolean): Plan {
  const installationStays = found.some((f) => f.step === 'resources' && f.name === 'installation.operator.tigera.io/default' && (!appliedByUs(f.object) || outside(f.object).length > 0));
  const plan: Plan = { remove: [], keep: [], waitForNamespaces: !installationStays };
  const keptKinds = new Set<string>();
  // Deleting a namespace deletes what is in it: one that holds something another tool manages stays.
  const otherInNamespace = found.find((f) => outside(f.object).length > 0 && f.path.includes(`/namespaces/${OPERATOR_NAMESPACE}/`));
  for (const f of found.filter((x) => x.step !== 'contents' && appliedByUs(x.object))) {
    const others = outside(f.object);
    if (others.length) {
      plan.keep.push({ found: f, reason: `also managed by ${others.join(', ')}` });
      if (f.step === 'resources') keptKinds.add(f.name.split('/')[0]!);
    } else if (f.step === 'operator' && installationStays) plan.keep.push({ found: f, reason: 'the Installation stays, and it needs the operator' });
    else if (f.name === `namespace/${OPERATOR_NAMESPACE}` && otherInNamespace) plan.keep.push({ found: f, reason: `it holds ${otherInNamespace.name}, managed by ${outside(otherInNamespace.object).join(', ')}` });
    else if (f.step === 'crds' && keepCrds) plan.keep.push({ found: f, reason: '--keep-crds' });
    else if (f.step === 'crds' && (installationStays || keptKinds.has(crdResourceName(f.object)))) plan.keep.push({ found: f, reason: 'a custom resource of it stays' });
    else plan.remove.push(f);
  }
  return plan;
}

function outside(object: LiveObject): string[] {
  return managers(object).filter((m) => !CALICO_MANAGERS.has(m));
}

/** The display-name prefix of a CRD's objects, e.g. `installation.operator.tigera.io`. */
function crdResourceName(crd: LiveObject): string {
  return `${crd.spec?.names?.kind?.toLowerCase()}.${crd.spec?.group}`;
}

export interface RunOptions {
  dryRun: DryRun;
  signal: AbortSignal;
  onObject: (result: UninstallResult) => void;
  onWait: (text: string) => void;
}

/** Deletes the plan's objects step by step, waiting after each step until what it removes is gone. */
export async function runUninstall(kube: KubeClient, plan: Plan, options: RunOptions): Promise<UninstallResult[]> {
  const results: UninstallResult[] = [];
  const report = (result: UninstallResult) => {
    results.push(result);
    options.onObject(result);
  };
  for (const { found, reason } of plan.keep) report({ name: found.name, action: 'kept', dryRun: options.dryRun, note: reason });
  try {
    for (const step of ['resources', 'operator', 'crds'] as const) {
      const targets = plan.remove.filter((f) => f.step === step);
      // After the custom resources the namespaces are waited for even on a re-run that has no custom resource left to delete.
      const namespaces = step === 'resources' && plan.waitForNamespaces;
      if (!targets.length && !namespaces) continue;
      // The operator's objects go one by one, the Deployment first, so no operator runs while its RBAC is taken away.
      if (step === 'operator') for (const target of targets) report(await remove(kube, target, options));
      else await removeAll(kube, targets, options, report);
      if (options.dryRun === 'none') await waitGone(kube, step, targets, namespaces, options);
    }
  } catch (error) {
    // A failure, an interruption (SIGINT, SIGTERM) or the --timeout: say what was and was not deleted, with the exit code of the cause.
    const cause = error instanceof CliError ? error : options.signal.aborted && options.signal.reason instanceof CliError ? options.signal.reason : undefined;
    if (!cause) throw error;
    throw new CliError(`${cause.message}\n${progress(results, plan)}\nRe-run "kubectl calico uninstall" to continue: it starts again from what is in the cluster.`, cause.exitCode);
  }
  return results;
}

/** Deleted and not deleted, both in the plan's order (concurrent deletes finish in any order). */
function progress(results: UninstallResult[], plan: Plan): string {
  const done = new Set(results.filter((r) => r.action !== 'kept').map((r) => r.name));
  const [deleted, left] = [plan.remove.filter((f) => done.has(f.name)), plan.remove.filter((f) => !done.has(f.name))];
  return `deleted: ${deleted.map((f) => f.name).join(', ') || 'nothing'}\nnot deleted: ${left.map((f) => f.name).join(', ') || 'nothing'}`;
}

/** Concurrent deletes; after a failure the others still finish, so the report names exactly what was deleted. */
async function removeAll(kube: KubeClient, targets: Found[], options: RunOptions, report: (result: UninstallResult) => void): Promise<void> {
  const outcomes = await Promise.allSettled(targets.map((t) => remove(kube, t, options).then(report)));
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
}

async function remove(kube: KubeClient, target: Found, options: RunOptions): Promise<UninstallResult> {
  if (options.dryRun === 'client') return { name: target.name, action: 'deleted', dryRun: 'client' };
  const response = await kube.request(target.path, {
    method: 'DELETE',
    body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' },
    query: options.dryRun === 'server' ? { dryRun: 'All' } : {},
    signal: options.signal,
  });
  if (response.statusCode === 404) return { name: target.name, action: 'gone', dryRun: options.dryRun };
  if (response.statusCode >= 300) {
    const { apiError } = await import('../kube/client.ts');
    throw new CliError(`deleting ${target.name}: ${apiError(response).message}`);
  }
  return { name: target.name, action: 'deleted', dryRun: options.dryRun };
}

/** Watches until every target of a step (and, with `namespaces`, Calico's namespaces) is gone. */
async function waitGone(kube: KubeClient, step: Step, targets: Found[], namespaces: boolean, options: RunOptions): Promise<void> {
  const groups = new Map<string, Set<string>>();
  const add = (list: string, name: string) => groups.set(list, (groups.get(list) ?? new Set()).add(name));
  for (const target of targets) add(target.path.slice(0, target.path.lastIndexOf('/')), target.path.slice(target.path.lastIndexOf('/') + 1));
  if (namespaces) for (const ns of CALICO_NAMESPACES) add('/api/v1/namespaces', ns);
  const lists = [...groups];
  // What is still there, by list and name; a list whose CRD went away (404) has nothing left in it.
  const left = new Map<string, { list: string; object: LiveObject }>();
  try {
    await watchUntil<LiveObject, true>(kube, lists.map(([path]) => ({ path, absentIsEmpty: true })), {
      signal: options.signal,
      onChange: (change, index) => {
        const [list, names] = lists[index]!;
        if (!names.has(change.object.metadata.name)) return;
        const key = `${list}/${change.object.metadata.name}`;
        if (change.type === 'DELETED') left.delete(key);
        else left.set(key, { list, object: change.object });
      },
      until: () => (left.size === 0 ? true : undefined),
    });
  } catch (error) {
    if (error instanceof TimeoutError) throw new TimeoutError(`${error.message}; still there:\n${[...left.values()].map((l) => `  ${stuck(l.list, l.object)}`).sort().join('\n')}`);
    throw error;
  }
  options.onWait(step === 'resources' ? `${targets.length ? `${targets.length} custom resources and ` : ''}Calico's namespaces gone` : step === 'operator' ? 'the operator gone' : `${targets.length} CustomResourceDefinitions gone`);
}

/** One line on why an object is still there: not being deleted, or Terminating and waiting on what. */
export function stuck(list: string, object: LiveObject): string {
  const name = `${list.split('/').pop()}/${object.metadata.name}`;
  if (!object.metadata.deletionTimestamp) return `${name}: not being deleted`;
  const finalizers = [...(object.metadata.finalizers ?? []), ...(object.spec?.finalizers ?? [])];
  const conditions = (object.status?.conditions ?? []).filter((c) => c.status === 'True' && c.message).map((c) => c.message);
  const operator = finalizers.includes('tigera.io/operator-cleanup') ? ' (the operator removes it once calico-system is gone: is the tigera-operator pod running?)' : '';
  return `${name}: Terminating since ${object.metadata.deletionTimestamp}${finalizers.length ? `, waiting for finalizers ${finalizers.join(', ')}${operator}` : ''}${conditions.length ? `; ${conditions.join('; ')}` : ''}`;
}

export interface Leftovers {
  /** Calico's namespaces still there, and why (as stuck() says it). */
  namespaces: { name: string; state: string }[];
  /** Nodes whose NetworkUnavailable condition is still the one calico-node set. */
  nodes: { name: string; status: string; reason: string; message: string }[];
}

/** What the API can see of Calico after an uninstall. */
export async function readLeftovers(kube: KubeClient): Promise<Leftovers> {
  const [namespaces, nodes] = await Promise.all([
    kube.json<{ items: LiveObject[] }>('/api/v1/namespaces'),
    kube.json<{ items: LiveObject[] }>('/api/v1/nodes'),
  ]);
  return {
    namespaces: namespaces.items.filter((n) => [...CALICO_NAMESPACES, OPERATOR_NAMESPACE].includes(n.metadata.name)).map((n) => ({ name: n.metadata.name, state: stuck('namespaces', n).replace(/^[^:]*: /, '') })),
    nodes: nodes.items.flatMap((node) => {
      const condition = node.status?.conditions?.find((c) => c.type === 'NetworkUnavailable' && c.reason === 'CalicoIsUp');
      return condition ? [{ name: node.metadata.name, status: condition.status, reason: condition.reason!, message: condition.message ?? '' }] : [];
    }),
  };
}

/** What stays on every host: the API cannot see it, so it is guidance. */
export const HOST_LEFTOVERS = [
  'the CNI configuration /etc/cni/net.d/10-calico.conflist and calico-kubeconfig (remove them, or the kubelet keeps using Calico\'s CNI plugin)',
  'the CNI plugins /opt/cni/bin/calico and /opt/cni/bin/calico-ipam',
  'the cali* veth interfaces, vxlan.calico, vxlan-v6.calico and tunl0 (gone after a reboot, or: ip link delete <name>)',
  'the cali-* iptables chains or Calico\'s nftables tables (gone after a reboot)',
  '/var/lib/calico, /var/run/calico and /var/log/calico',
];
