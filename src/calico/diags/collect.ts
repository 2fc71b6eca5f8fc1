// `kubectl calico diags`: what Calico's maintainers ask for in every bug
// report, read through the API only (no kubectl, no access to the hosts but
// pods/exec in calico-node), made safe to attach to a public issue
// (redact.ts), written as one archive (archive.ts). The layout:
//
//   summary/        status.yaml, doctor.json, version.yaml (the commands' own documents, run in-process)
//   cluster/        nodes, Warning events, CRDs (names and versions), NetworkPolicies and the policy API's
//                   AdminNetworkPolicies, ServiceCIDRs
//   operator.tigera.io/, crd.projectcalico.org/   every kind the API serves, one file each
//   namespaces/NS/  the workloads, pods, services, endpoint slices, service accounts, ConfigMaps, Secrets
//                   (names and key names only), events; logs/POD/CONTAINER[.previous].log
//   kube-system/    CoreDNS and kube-proxy pods and logs, kubeadm's ClusterConfiguration, kube-proxy's config
//   nodes/NODE/     what calico-node sees on the host (node-data.ts)
//   local/          kubectl-calico.yaml from --dir
//   diags.log, index.yaml
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'yaml';
import { insideFolder } from '../../cli/files.ts';
import type { KubeClient } from '../../kube/client.ts';
import { serialize, API_VERSION } from '../../print/report.ts';
import { runDoctor } from '../doctor/run.ts';
import { installedCalico } from '../installed.ts';
import type { NodePick } from '../node-pick.ts';
import { readStatus, WORKLOAD_NAMESPACES } from '../status.ts';
import { machineStatus } from '../status-view.ts';
import { BundleFile } from './archive.ts';
import { collectLogs, type PodObject } from './logs.ts';
import { collectNodeData, type NodeObject } from './node-data.ts';
import { redactObject, redactText, secretSummary } from './redact.ts';
import { DiagsRun, type ItemOutcome } from './run.ts';

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
  onItem: (outcome: ItemOutcome) => void;
}

export interface DiagsResult {
  path: string;
  bytes: number;
  files: number;
  uncollected: number;
}

interface List<T = unknown> {
  items: T[];
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

const EVENTS_NOTE = 'The API server keeps events for one hour by default (kube-apiserver --event-ttl): older ones are gone.';

export async function collectDiags(kube: KubeClient, options: DiagsOptions): Promise<DiagsResult> {
  const bundle = new BundleFile(options.target, options.now);
  const run = new DiagsRun(bundle, { concurrency: options.concurrency, signal: options.signal, onItem: options.onItem });
  try {
    run.note(`kubectl-calico diags of context "${kube.contextName}" (${kube.server}) as user "${kube.userName}", started ${options.now.toISOString()}`);
    const pods: { namespace: string; items: PodObject[] }[] = [];
    let nodes: NodeObject[] | undefined;
    let calicoPools: { spec?: { cidr?: string } }[] | undefined;
    let bgpDisabled = false;
    const list = (file: string, apiPath: string, query: Record<string, string>, comment: string) => run.item(file, async () => {
      const result = await kube.json<List>(apiPath, { query, signal: run.signal });
      await run.addObject(file, listOf(result.items), `GET ${apiPath}?${new URLSearchParams(query)}`, comment);
    });

    // Ctrl-C ends the run at once, whatever is in flight (status and doctor take no signal): the file is removed below.
    await orAbort(Promise.all([
      summaries(kube, run, options),
      run.item('cluster/nodes.yaml', async () => {
        nodes = (await kube.json<List<NodeObject>>('/api/v1/nodes', { signal: run.signal })).items;
        await run.addObject('cluster/nodes.yaml', listOf(nodes), 'GET /api/v1/nodes');
      }),
      list('cluster/warning-events.yaml', '/api/v1/events', { fieldSelector: 'type=Warning' }, EVENTS_NOTE),
      run.item('cluster/crds.yaml', async () => {
        const crds = await kube.json<List<{ metadata: { name: string }; spec: { group: string; scope: string; versions: { name: string; served: boolean; storage: boolean }[] }; status?: { conditions?: { type: string; status: string }[] } }>>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { signal: run.signal });
        const summary = crds.items.map((c) => ({
          name: c.metadata.name,
          group: c.spec.group,
          scope: c.spec.scope,
          versions: c.spec.versions.map((v) => `${v.name}${v.served ? '' : ' (not served)'}${v.storage ? ' (storage)' : ''}`),
          established: c.status?.conditions?.find((x) => x.type === 'Established')?.status ?? 'Unknown',
        }));
        await run.addObject('cluster/crds.yaml', summary, 'GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions (names and versions only)');
      }),
      apiGroups(kube, run, async (file, apiPath, items) => {
        if (apiPath.endsWith('/ippools')) calicoPools = items as typeof calicoPools;
        if (apiPath.endsWith('/installations')) bgpDisabled = (items as { spec?: { calicoNetwork?: { bgp?: string } } }[]).some((i) => i.spec?.calicoNetwork?.bgp === 'Disabled');
        await run.addObject(file, listOf(items), `GET ${apiPath}`);
      }),
      ...WORKLOAD_NAMESPACES.flatMap((namespace) => NAMESPACED.map(([prefix, resource]) => {
        const file = `namespaces/${namespace}/${resource}.yaml`;
        const apiPath = `${prefix}/namespaces/${namespace}/${resource}`;
        return run.item(file, async () => {
          const result = await kube.json<List>(apiPath, { signal: run.signal });
          if (resource === 'pods') pods.push({ namespace, items: result.items as PodObject[] });
          const items = resource === 'secrets' ? (result.items as Parameters<typeof secretSummary>[0][]).map(secretSummary) : result.items;
          await run.addObject(file, listOf(items), `GET ${apiPath}${resource === 'secrets' ? ' (name, namespace, type and key names only)' : ''}`, resource === 'events' ? EVENTS_NOTE : undefined);
        });
      })),
      ...[['coredns', 'k8s-app=kube-dns'], ['kube-proxy', 'k8s-app=kube-proxy']].map(([name, selector]) => run.item(`kube-system/${name}-pods.yaml`, async () => {
        const result = await kube.json<List<PodObject>>('/api/v1/namespaces/kube-system/pods', { query: { labelSelector: selector! }, signal: run.signal });
        pods.push({ namespace: 'kube-system', items: result.items });
        await run.addObject(`kube-system/${name}-pods.yaml`, listOf(result.items), `GET /api/v1/namespaces/kube-system/pods?labelSelector=${selector}`);
      })),
      configFromConfigMap(kube, run, 'kube-system/kubeadm-config.yaml', 'kubeadm-config', 'ClusterConfiguration'),
      configFromConfigMap(kube, run, 'kube-system/kube-proxy-config.yaml', 'kube-proxy', 'config.conf'),
      localPlan(run, options.dir),
    ]), run.signal);

    await orAbort(Promise.all([
      options.nodeData ? collectNodeData(kube, run, { nodes, calicoNodePods: pods.find((p) => p.namespace === 'calico-system')?.items, pick: options.nodes, ipv6: (calicoPools ?? []).some((p) => p.spec?.cidr?.includes(':')), bgp: !bgpDisabled, execTimeoutMs: options.execTimeoutMs }) : run.note('node data not collected: --no-node-data'),
      collectLogs(kube, run, { pods, sinceMs: options.sinceMs, maxLogBytes: options.maxLogBytes, maxTotalBytes: options.maxTotalBytes }),
    ]), run.signal);
    if (run.fromCluster === 0) throw new NothingReadable(run.logText());

    run.note(`done: ${bundle.entries.length} files, ${run.uncollected} items not collected`);
    const files = bundle.entries.length + 2;
    await bundle.add('diags.log', run.logText(), 'kubectl-calico diags: every failed request, missing permission and skipped item');
    await bundle.add('index.yaml', yaml.stringify({ apiVersion: API_VERSION, kind: 'DiagsIndex', context: kube.contextName, created: options.now.toISOString(), uncollected: run.uncollected, files: bundle.entries }, { lineWidth: 0 }), 'kubectl-calico diags');
    const bytes = await bundle.finish();
    return { path: bundle.target, bytes, files, uncollected: run.uncollected };
  } catch (error) {
    bundle.abort();
    throw error;
  }
}

/** Nothing could be read from the cluster: no bundle is left, and the log says why. */
export class NothingReadable extends Error {
  readonly log: string;
  constructor(log: string) {
    super('nothing could be read from the cluster');
    this.log = log;
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

function listOf(items: unknown[]): object {
  return { apiVersion: 'v1', kind: 'List', items };
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
async function apiGroups(kube: KubeClient, run: DiagsRun, write: (file: string, apiPath: string, items: unknown[]) => Promise<void>): Promise<void> {
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
        const file = `${want.folder}/${r.name}.yaml`;
        const apiPath = `/apis/${version.groupVersion}/${r.name}`;
        work.push(run.item(file, async () => write(file, apiPath, (await kube.json<List>(apiPath, { signal: run.signal })).items)));
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
