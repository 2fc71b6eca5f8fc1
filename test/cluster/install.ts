// Calico installed the way the install guide does it, for clusters that
// start with Calico (`--calico v3.29.0`): the release's manifests created as
// `kubectl create -f` creates them, the pool set to kubeadm's podSubnet (and
// above 100 nodes BGP route reflectors instead of the mesh); the simulated
// controllers then do the rest, as they would after a user's commands, so
// the cluster is the one a real install leaves behind.
import fs from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { manifestFiles, sha256 } from '../../src/calico/manifests.ts';
import { replaceFile } from '../../src/cli/files.ts';
import { TEST_CACHE } from '../cache-dir.ts';
import type { Runtime } from './controllers/runtime.ts';
import { jsonCopy } from './store.ts';
import type { KubeObject, NewObject } from './types.ts';

/** The Calico releases' manifests, one folder per tag (as upstream publishes them). */
export const CALICO_RELEASES = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'calico');

const KUBECTL_CREATE = { fieldManager: 'kubectl-create' };

/** Parsed manifests by file (with js-yaml, as the plugin reads them: 7 times faster than yaml on 1.6 MB), parsed once per process. */
const parsed = new Map<string, NewObject[]>();

/**
 * Where the objects of each manifest are kept as JSON, by the sha256 of its bytes: parsing a release's 1.6–3 MB
 * of YAML costs a test cluster's process 0.2–0.4 s of CPU, reading the JSON a tenth of it, and every test file's
 * process starts clusters with Calico.
 */
const PARSED_CACHE = path.join(TEST_CACHE, 'manifests');

export function manifestObjects(file: string): NewObject[] {
  let objects = parsed.get(file);
  if (!objects) {
    const data = fs.readFileSync(file);
    const cached = path.join(PARSED_CACHE, `${sha256(data)}.json`);
    try {
      objects = JSON.parse(fs.readFileSync(cached, 'utf8')) as NewObject[];
    } catch {
      objects = (loadAll(data.toString('utf8')) as (NewObject | null)[]).filter((o): o is NewObject => Boolean(o?.kind));
      replaceFile(cached, JSON.stringify(objects));
    }
    parsed.set(file, objects);
  }
  return objects;
}

/** The guide's files of `release`, in the order it creates them. */
function releaseFiles(release: string): string[] {
  const dir = path.join(CALICO_RELEASES, release);
  if (!/^v\d+\.\d+\.\d+$/.test(release) || !fs.existsSync(dir)) {
    const known = fs.existsSync(CALICO_RELEASES) ? fs.readdirSync(CALICO_RELEASES).filter((f) => f.startsWith('v')) : [];
    throw new Error(`--calico ${release}: no such release in ${CALICO_RELEASES} (known: ${known.join(', ')})`);
  }
  return manifestFiles(release).map((file) => path.join(dir, file));
}

/**
 * `kubectl create -f` of every file but custom-resources.yaml; once the
 * CRDs are Established (the guide's next command would otherwise fail with
 * "no matches for kind"), `createCustomResources` does the last one.
 */
function createOperator(rt: Runtime, release: string): void {
  for (const file of releaseFiles(release).slice(0, -1)) for (const object of manifestObjects(file)) create(rt, object);
}

function crdsEstablished(rt: Runtime, release: string): boolean {
  const crds = releaseFiles(release).slice(0, -1).flatMap(manifestObjects).filter((o) => o.kind === 'CustomResourceDefinition');
  return crds.every((crd) => ((rt.api.store.get('customresourcedefinitions.apiextensions.k8s.io', undefined, crd.metadata.name!)?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True'));
}

/** An Installation IP pool as the user writes it into custom-resources.yaml. */
export interface PoolEdit {
  cidr: string;
  blockSize?: number;
  encapsulation?: string;
  natOutgoing?: string;
  nodeSelector?: string;
}

/**
 * custom-resources.yaml with its pool edited as the guide says to (the
 * cidr set to the podSubnet), and any further pools added (a dual-stack
 * cluster's IPv6 pool).
 */
function createCustomResources(rt: Runtime, release: string, [first, ...more]: PoolEdit[]): void {
  for (const object of manifestObjects(releaseFiles(release).at(-1)!)) {
    const edited = jsonCopy(object);
    const pools = (edited.spec as { calicoNetwork?: { ipPools?: object[] } } | undefined)?.calicoNetwork?.ipPools;
    if (pools?.[0] && first) {
      pools[0] = { ...pools[0], ...first };
      pools.push(...more);
    }
    create(rt, edited);
  }
}

function create(rt: Runtime, object: NewObject): void {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
  const type = rt.api.registry.byKind(group, object.kind);
  if (!type) throw new Error(`no matches for kind "${object.kind}" in version "${object.apiVersion}"`);
  rt.api.create(type, object.metadata.namespace, object, KUBECTL_CREATE);
}

/** Above this many nodes Calico's docs advise route reflectors instead of the node-to-node mesh (networking/configuring/bgp.mdx). */
export const MESH_LIMIT = 100;

/** The route reflectors a large install gets: three workers, so that losing one leaves two. */
export const ROUTE_REFLECTORS = 3;

/**
 * What an admin following "Configure BGP peering" does for a large cluster
 * before creating the Installation, so that BIRD never runs a full mesh: in
 * the Kubernetes datastore a reflector is a node annotated with a cluster ID
 * and labelled to be selected; a BGPPeer peers every node with the
 * reflectors; BGPConfiguration `default` turns the mesh off.
 */
function configureRouteReflectors(rt: Runtime): void {
  const workers = rt.api.store.list('nodes').filter((n) => n.metadata.labels?.['node-role.kubernetes.io/control-plane'] === undefined).slice(0, ROUTE_REFLECTORS);
  for (const node of workers) {
    rt.api.mutate(rt.type('nodes'), undefined, node.metadata.name, (n) => {
      n.metadata.annotations = { ...n.metadata.annotations, 'projectcalico.org/RouteReflectorClusterID': '244.0.0.1' };
    }, { fieldManager: 'kubectl-annotate' });
    rt.api.mutate(rt.type('nodes'), undefined, node.metadata.name, (n) => {
      n.metadata.labels = { ...n.metadata.labels, 'route-reflector': 'true' };
    }, { fieldManager: 'kubectl-label' });
  }
  const calicoctl = { fieldManager: 'calicoctl' };
  rt.api.create(rt.type('bgppeers.crd.projectcalico.org'), undefined, {
    apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPPeer', metadata: { name: 'peer-with-route-reflectors' },
    spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" },
  }, calicoctl);
  rt.api.create(rt.type('bgpconfigurations.crd.projectcalico.org'), undefined, {
    apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPConfiguration', metadata: { name: 'default' },
    spec: { nodeToNodeMeshEnabled: false },
  }, calicoctl);
}

/**
 * What the install still waits for, or undefined once it is done: every
 * TigeraStatus Available, every node Ready, every pod Running and Ready.
 */
function installPending(rt: Runtime): string | undefined {
  const store = rt.api.store;
  const statuses = store.list('tigerastatuses.operator.tigera.io');
  if (statuses.length === 0) return 'no TigeraStatus yet';
  for (const status of statuses) {
    const conditions = conditionsOf(status);
    if (!conditions.some((c) => c.type === 'Available' && c.status === 'True')) {
      const reason = conditions.find((c) => (c.type === 'Degraded' || c.type === 'Progressing') && c.status === 'True');
      return `TigeraStatus ${status.metadata.name} is not Available${reason?.message ? `: ${reason.message}` : ''}`;
    }
  }
  const node = store.list('nodes').find((n) => !conditionsOf(n).some((c) => c.type === 'Ready' && c.status === 'True'));
  if (node) return `node ${node.metadata.name} is NotReady`;
  // A container --crashing-container breaks outside Calico (CoreDNS) is a fault the cluster starts with, not an install to wait for.
  const broken = (p: KubeObject) => !p.metadata.namespace?.startsWith('calico') && rt.faults.crashingContainers.some((spec) => {
    const [ns, prefix = ''] = spec.split('/');
    return ns === p.metadata.namespace && p.metadata.name.startsWith(prefix);
  });
  const pod = store.list('pods').find((p) => !broken(p) && ((p.status as { phase?: string } | undefined)?.phase !== 'Running' || !conditionsOf(p).some((c) => c.type === 'Ready' && c.status === 'True')));
  if (pod) return `pod ${pod.metadata.namespace}/${pod.metadata.name} is not Running and Ready`;
  return undefined;
}

function degraded(rt: Runtime): string | undefined {
  const status = rt.api.store.list('tigerastatuses.operator.tigera.io').find((s) => conditionsOf(s).some((c) => c.type === 'Degraded' && c.status === 'True'));
  return status && `TigeraStatus ${status.metadata.name} is Degraded: ${conditionsOf(status).find((c) => c.type === 'Degraded')!.message}`;
}

function conditionsOf(object: KubeObject): { type: string; status: string; message?: string }[] {
  return (object.status as { conditions?: { type: string; status: string; message?: string }[] } | undefined)?.conditions ?? [];
}

/** How long an install may take before startCluster gives up and says what it waits for (5,000 nodes take ~1 min). */
const INSTALL_LIMIT_MS = 10 * 60_000;

/**
 * The guide's install, run to its end: every TigeraStatus Available, every
 * node and pod Ready. A Degraded TigeraStatus (pod faults: images that
 * cannot be pulled, containers that crash), or a pod whose sandbox cannot be
 * created (an IP pool too small for the install), ends it at once, with its
 * message.
 */
export async function installCalico(rt: Runtime, release: string, pools: PoolEdit[]): Promise<void> {
  let sandboxFailure: string | undefined;
  const unsubscribe = rt.api.store.subscribe(({ key, object }) => {
    if (sandboxFailure || key !== 'events' || object.reason !== 'FailedCreatePodSandBox') return;
    const pod = object.involvedObject as { namespace: string; name: string };
    sandboxFailure = `pod ${pod.namespace}/${pod.name}: ${String(object.message)}`;
  });
  const failure = () => degraded(rt) ?? sandboxFailure;
  const settle = async (pending: () => string | undefined) => {
    try {
      await rt.clock.hurry(() => failure() !== undefined || pending() === undefined, INSTALL_LIMIT_MS);
    } catch (error) {
      throw new Error(`Calico ${release} did not come up: ${failure() ?? pending()} (${(error as Error).message})`);
    }
    if (failure()) throw new Error(`Calico ${release} did not come up: ${failure()}`);
  };
  try {
    createOperator(rt, release);
    await settle(() => (crdsEstablished(rt, release) ? undefined : 'the CRDs are not Established'));
    if (rt.api.store.count('nodes') > MESH_LIMIT) configureRouteReflectors(rt);
    createCustomResources(rt, release, pools);
    await settle(() => installPending(rt));
  } finally {
    unsubscribe();
  }
}
