// `kubectl calico diags`: what Calico's maintainers ask for in every bug
// report, read through the API only (no kubectl, no access to the hosts but
// pods/exec in calico-node), made safe to attach to a public issue
// (redact.ts), written as one archive (archive.ts). The layout:
//
//   summary/        status.yaml, doctor.json, version.yaml (the commands' own documents, run in-process)
//   cluster/        nodes, Warning events, NetworkPolicies and the policy API's AdminNetworkPolicies,
//                   ServiceCIDRs (JSON Lists); crds.yaml (the CRDs' names and versions)
//   operator.tigera.io/, crd.projectcalico.org/   every kind the API serves, one JSON List each
//   namespaces/NS/  the workloads, pods, services, endpoint slices, service accounts, ConfigMaps, Secrets
//                   (names and key names only), events (JSON Lists); logs/POD/CONTAINER[.previous].log
//   kube-system/    CoreDNS and kube-proxy pods (JSON Lists) and logs, kubeadm's ClusterConfiguration,
//                   kube-proxy's config
//   nodes/NODE/     what calico-node sees on the host (node-data.ts)
//   local/          kubectl-calico.yaml from --dir
//   diags.log, index.yaml
//
// In three phases: the nodes (a --nodes name the cluster does not have is an
// error before anything is written), then everything read through the API,
// then node data, then logs (last: --max-total-bytes bounds them).
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'yaml';
import { insideFolder } from '../../cli/files.ts';
import type { KubeClient } from '../../kube/client.ts';
import { listAll } from '../../kube/list.ts';
import type { ProgressItem } from '../../print/diags-progress.ts';
import { serialize, API_VERSION } from '../../print/report.ts';
import { runDoctor } from '../doctor/run.ts';
import { installedCalico } from '../installed.ts';
import { pickNodeNames, type NodePick } from '../node-pick.ts';
import { readStatus, WORKLOAD_NAMESPACES } from '../status.ts';
import { machineStatus } from '../status-view.ts';
import { BundleFile } from './archive.ts';
import { collectLogs, podFacts, type PodObject } from './logs.ts';
import { collectNodeData, defaultNodeChoice, type NodeChoice, type NodeObject } from './node-data.ts';
import { redactObject, redactText, secretSummary } from './redact.ts';
import { describeFailure, DiagsRun } from './run.ts';

export interface DiagsOptions {
  /** Where the archive goes. */
  target: string;
  now: Date;
  /** Folder of `init` (kubectl-calico.yaml is taken from it when present). */
  dir: string;
  /** Logs newer than this (ms). */
  sinceMs: number;
  maxLogBytes: number;
  maxTotalBytes: number;
  /** Which nodes calico-node is asked about: undefined for the default choice (problems plus a sample), 'all', or picked. */
  nodes: NodePick | 'all' | undefined;
  nodeData: boolean;
  /** Requests (and execs) in flight at once. */
  concurrency: number;
  execTimeoutMs: number;
  clientVersion: object;
  defaultCalicoVersion: string;
  signal: AbortSignal;
  onItem: (outcome: ProgressItem) => void;
}

export interface DiagsResult {
  path: string;
  bytes: number;
  files: number;
  uncollected: number;
  /** Logs the byte budget (--max-total-bytes) left out. */
  logsLeftOut: number;
}

interface GroupList {
  groups: { name: string; versions: { groupVersion: string; version: string }[]; preferredVersion?: { version: string } }[];
}

interface ResourceList {
  resources: { name: string; namespaced: boolean; kind: string; verbs: string[] }[];
}

/** Namespaced kinds read in each Calico namespace: [API prefix, resource]. */
const NAMESPACED: [string, string][] = [
  ['/apis/apps/v1', 'deployments'], ['/apis/apps/v1', 'daemonsets'], ['/apis/apps/v1', 'replicasets'],
  ['/api/v1', 'pods'], ['/api/v1', 'services'], ['/apis/discovery.k8s.io/v1', 'endpointslices'],
  ['/api/v1', 'serviceaccounts'], ['/api/v1', 'configmaps'], ['/api/v1', 'secrets'], ['/api/v1', 'events'],
];

const EVENTS_NOTE = 'the API server keeps events for one hour by default, kube-apiserver --event-ttl: older ones are gone';

export async function collectDiags(kube: KubeClient, options: DiagsOptions): Promise<DiagsResult> {
  // The nodes first, before any file exists: the names --nodes or -l pick must be the cluster's.
  let nodes: NodeObject[] | undefined;
  let nodesFailure: unknown;
  try {
    nodes = await listAll<NodeObject>(kube, '/api/v1/nodes', { signal: options.signal });
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    nodesFailure = error;
  }
  const picked = nodes && options.nodes ? await pickedNodes(kube, options.nodes, nodes) : undefined;

  const bundle = new BundleFile(options.target, options.now);
  const run = new DiagsRun(bundle, { concurrency: options.concurrency, signal: options.signal, onItem: options.onItem });
  try {
    run.note(`kubectl-calico diags of context "${kube.contextName}" (${kube.server}) as user "${kube.userName}", started ${options.now.toISOString()}`);
    const pods: { namespace: string; items: PodObject[] }[] = [];
    const calicoPools: { spec?: { cidr?: string } }[] = [];
    let bgpDisabled = false;

    // Ctrl-C ends the run at once, whatever is in flight (status and doctor take no signal): the file is removed below.
    await orAbort(Promise.all([
      summaries(kube, run, options),
      nodes ? run.item('cluster/nodes.json', () => run.addItems('cluster/nodes.json', nodes, 'GET /api/v1/nodes')) : run.skip('cluster/nodes.json', describeFailure(nodesFailure)),
      run.item('cluster/warning-events.json', () => run.addList('cluster/warning-events.json', kube, '/api/v1/events', { query: { fieldSelector: 'type=Warning' }, note: EVENTS_NOTE })),
      run.item('cluster/crds.yaml', async () => {
        const crds = await listAll<{ metadata: { name: string }; spec: { group: string; scope: string; versions: { name: string; served: boolean; storage: boolean }[] }; status?: { conditions?: { type: string; status: string }[] } }>(kube, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { signal: run.signal });
        const summary = crds.map((c) => ({
          name: c.metadata.name,
          group: c.spec.group,
          scope: c.spec.scope,
          versions: c.spec.versions.map((v) => `${v.name}${v.served ? '' : ' (not served)'}${v.storage ? ' (storage)' : ''}`),
          established: c.status?.conditions?.find((x) => x.type === 'Established')?.status ?? 'Unknown',
        }));
        await run.addObject('cluster/crds.yaml', summary, 'GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions (names and versions only)');
      }),
      apiGroups(kube, run, (file, apiPath) => run.addList(file, kube, apiPath, {
        each: (items) => {
          if (apiPath.endsWith('/ippools')) calicoPools.push(...(items as typeof calicoPools));
          if (apiPath.endsWith('/installations')) bgpDisabled ||= (items as { spec?: { calicoNetwork?: { bgp?: string } } }[]).some((i) => i.spec?.calicoNetwork?.bgp === 'Disabled');
        },
      })),
      ...WORKLOAD_NAMESPACES.flatMap((namespace) => NAMESPACED.map(([prefix, resource]) => {
        const file = `namespaces/${namespace}/${resource}.json`;
        const apiPath = `${prefix}/namespaces/${namespace}/${resource}`;
        return run.item(file, async () => {
          if (resource === 'pods') {
            const read: PodObject[] = [];
            await run.addList<PodObject>(file, kube, apiPath, { each: (items) => read.push(...items.map(podFacts)) });
            pods.push({ namespace, items: read });
          } else if (resource === 'secrets') await run.addList(file, kube, apiPath, { summary: secretSummary, note: 'name, namespace, type and key names only' });
          else await run.addList(file, kube, apiPath, resource === 'events' ? { note: EVENTS_NOTE } : {});
        });
      })),
      ...[['coredns', 'k8s-app=kube-dns'], ['kube-proxy', 'k8s-app=kube-proxy']].map(([name, selector]) => run.item(`kube-system/${name}-pods.json`, async () => {
        const read: PodObject[] = [];
        await run.addList<PodObject>(`kube-system/${name}-pods.json`, kube, '/api/v1/namespaces/kube-system/pods', { query: { labelSelector: selector! }, each: (items) => read.push(...items.map(podFacts)) });
        pods.push({ namespace: 'kube-system', items: read });
      })),
      configFromConfigMap(kube, run, 'kube-system/kubeadm-config.yaml', 'kubeadm-config', 'ClusterConfiguration'),
      configFromConfigMap(kube, run, 'kube-system/kube-proxy-config.yaml', 'kube-proxy', 'config.conf'),
      localPlan(run, options.dir),
    ]), run.signal);

    const calicoNodePods = pods.find((p) => p.namespace === 'calico-system')?.items ?? [];
    const choice: NodeChoice = picked ? { names: picked, notes: [`nodes asked: ${picked.length} (${options.nodes === 'all' ? '--nodes all' : '--nodes, -l'})`] } : defaultNodeChoice(nodes, calicoNodePods);
    if (options.nodes && !nodes) run.note(`${options.nodes === 'all' ? '--nodes all' : '--nodes, -l'}: not applied, the node list could not be read`);
    for (const note of choice.notes) run.note(note);
    if (!options.nodeData) run.note('node data not collected: --no-node-data');
    else if (!nodes) run.skip('nodes/', 'needs the list of nodes, which could not be read');
    else await orAbort(collectNodeData(kube, run, { names: choice.names, calicoNodePods, ipv6: calicoPools.some((p) => p.spec?.cidr?.includes(':')), bgp: !bgpDisabled, execTimeoutMs: options.execTimeoutMs }), run.signal);
    const leftOut = await orAbort(collectLogs(kube, run, { pods, nodes: choice.names, sinceMs: options.sinceMs, maxLogBytes: options.maxLogBytes, maxTotalBytes: options.maxTotalBytes }), run.signal);
    if (run.fromCluster === 0) throw new NothingReadable(run.uncollected, run.firstFailure && redactText(run.firstFailure).replace(/\s*\n\s*/g, ' '));

    run.note(`done: ${bundle.entries.length} files, ${run.uncollected} items not collected, ${leftOut} logs left out at --max-total-bytes`);
    const files = bundle.entries.length + 2;
    await bundle.add('diags.log', redactText(run.logText()), 'kubectl-calico diags: every failed request, missing permission and skipped item');
    await bundle.add('index.yaml', yaml.stringify({ apiVersion: API_VERSION, kind: 'DiagsIndex', context: kube.contextName, created: options.now.toISOString(), uncollected: run.uncollected, logsLeftOut: leftOut, files: bundle.entries }, { lineWidth: 0 }), 'kubectl-calico diags');
    const bytes = await bundle.finish();
    return { path: bundle.target, bytes, files, uncollected: run.uncollected, logsLeftOut: leftOut };
  } catch (error) {
    bundle.abort();
    throw error;
  }
}

/** The nodes --nodes or -l picked, in the order given; a name the cluster does not have is an error (CliError). */
async function pickedNodes(kube: KubeClient, pick: NodePick | 'all', nodes: NodeObject[]): Promise<string[]> {
  const names = nodes.map((n) => n.metadata.name);
  return pick === 'all' ? names : pickNodeNames(kube, pick, names);
}

/** Nothing could be read from the cluster: no bundle is left; the first failure (on one line) says why. */
export class NothingReadable extends Error {
  readonly failures: number;
  readonly first: string | undefined;
  constructor(failures: number, first: string | undefined) {
    super('nothing could be read from the cluster');
    this.failures = failures;
    this.first = first;
  }
}

function orAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** status -o yaml, doctor -o json and version -o yaml, as those commands print them. */
async function summaries(kube: KubeClient, run: DiagsRun, options: DiagsOptions): Promise<void> {
  await Promise.all([
    run.item('summary/status.yaml', async () => {
      const snapshot = await readStatus(kube, { all: true });
      await run.addObject('summary/status.yaml', { apiVersion: API_VERSION, kind: 'Status', ...machineStatus(snapshot) }, 'kubectl calico status -o yaml');
    }),
    run.item('summary/doctor.json', async () => {
      const checks = await runDoctor(kube, undefined);
      const summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
      for (const c of checks) summary[c.status.toLowerCase() as keyof typeof summary]++;
      // Doctor reports an unreachable server as a finding rather than failing: only its answering counts as read.
      const answered = checks.some((c) => c.id === 'CAL-0101' && c.status === 'PASS');
      await run.add('summary/doctor.json', await serialize(redactObject({ apiVersion: API_VERSION, kind: 'DoctorReport', checks, summary }), 'json'), 'kubectl calico doctor -o json', undefined, answered);
    }),
    run.item('summary/version.yaml', async () => {
      const [serverVersion, calico] = await Promise.all([kube.json<object>('/version', { signal: run.signal }), installedCalico(kube)]);
      await run.addObject('summary/version.yaml', { apiVersion: API_VERSION, kind: 'Version', clientVersion: options.clientVersion, defaultCalicoVersion: options.defaultCalicoVersion, serverVersion, calico }, 'kubectl calico version -o yaml');
    }),
  ]);
}

/**
 * Every kind of operator.tigera.io and crd.projectcalico.org the API serves, Kubernetes NetworkPolicies, the policy
 * API's AdminNetworkPolicies and BaselineAdminNetworkPolicies and ServiceCIDRs where served, found by discovery.
 */
async function apiGroups(kube: KubeClient, run: DiagsRun, write: (file: string, apiPath: string) => Promise<void>): Promise<void> {
  let groups: GroupList['groups'] = [];
  await run.item('discovery /apis', async () => {
    groups = (await kube.json<GroupList>('/apis', { signal: run.signal })).groups;
  });
  const wanted: { group: string; folder: string; only?: string[] }[] = [
    { group: 'operator.tigera.io', folder: 'operator.tigera.io' },
    { group: 'crd.projectcalico.org', folder: 'crd.projectcalico.org' },
    { group: 'networking.k8s.io', folder: 'cluster', only: ['networkpolicies', 'servicecidrs'] },
    { group: 'policy.networking.k8s.io', folder: 'cluster', only: ['adminnetworkpolicies', 'baselineadminnetworkpolicies'] },
  ];
  const seen = new Set<string>();
  const work: Promise<void>[] = [];
  for (const want of wanted) {
    const group = groups.find((g) => g.name === want.group);
    if (!group) {
      if (groups.length) run.note(`${want.group} is not served: nothing of it collected`);
      continue;
    }
    // The preferred version first: a kind served in several versions is read once, in the version the server prefers.
    const versions = [...group.versions].sort((a, b) => Number(b.version === group.preferredVersion?.version) - Number(a.version === group.preferredVersion?.version));
    for (const version of versions) {
      let resources: ResourceList['resources'] = [];
      await run.item(`discovery /apis/${version.groupVersion}`, async () => {
        resources = (await kube.json<ResourceList>(`/apis/${version.groupVersion}`, { signal: run.signal })).resources;
      });
      for (const r of resources) {
        if (r.name.includes('/') || !r.verbs.includes('list') || (want.only && !want.only.includes(r.name)) || seen.has(`${want.group}/${r.name}`)) continue;
        seen.add(`${want.group}/${r.name}`);
        const file = `${want.folder}/${r.name}.json`;
        const apiPath = `/apis/${version.groupVersion}/${r.name}`;
        work.push(run.item(file, () => write(file, apiPath)));
      }
    }
  }
  await Promise.all(work);
}

/** One key of a kube-system ConfigMap (the configuration file it carries), redacted as text. */
function configFromConfigMap(kube: KubeClient, run: DiagsRun, file: string, name: string, key: string): Promise<void> {
  const apiPath = `/api/v1/namespaces/kube-system/configmaps/${name}`;
  return run.item(file, async () => {
    const configMap = await kube.optional<{ data?: Record<string, string> }>(apiPath, { signal: run.signal });
    const text = configMap?.data?.[key];
    if (text === undefined) {
      run.note(`${file}: ${configMap ? `ConfigMap kube-system/${name} has no ${key}` : `there is no ConfigMap kube-system/${name}`} (not a kubeadm cluster, or no kube-proxy)`);
      return;
    }
    await run.add(file, redactText(text), `GET ${apiPath} (data.${key})`);
  });
}

/** kubectl-calico.yaml of --dir, when init wrote one there (never a file a symlink leads to outside the folder). */
async function localPlan(run: DiagsRun, dir: string): Promise<void> {
  const file = path.join(dir, 'kubectl-calico.yaml');
  if (!fs.existsSync(file)) {
    run.note(`local/kubectl-calico.yaml: ${file} does not exist (no init folder at --dir)`);
    return;
  }
  if (!insideFolder(dir, file)) {
    run.skip('local/kubectl-calico.yaml', `${file} is a symbolic link out of ${dir}; not read`);
    return;
  }
  await run.bundle.add('local/kubectl-calico.yaml', redactText(fs.readFileSync(file, 'utf8')), `${file} (written by kubectl calico init)`);
}
