// Every check doctor runs, as data plus a function (ids are stable and
// documented in the README). Facts come from calico-facts.md: what each
// failure looks like through the API, its cause, and its fix.
import { containsCidr, parseCidr } from '../cidr.ts';
import { blockCount, checkPools, DEFAULT_BLOCK_SIZE, discoverPodCidrs, type ClusterNetwork, type JudgedPool, type PoolCheck, type PoolStage } from '../cluster-network.ts';
import { CALICO_NAMESPACES } from '../status.ts';
import { calicoVersionForOperator, DEFAULT_CALICO_VERSION, KUBERNETES_SUPPORT } from '../versions.ts';
import { countText, percent } from '../ipam/counts.ts';
import { capacityFindings, staleAffinityFindings } from '../ipam/check.ts';
import { freeBlocks } from '../ipam/usage.ts';
import { podProblem } from '../pods.ts';
import { bgpFromEvents } from './bgp-events.ts';
import type { Facts, Node, Pod, Workload } from './facts.ts';
import type { Permission } from '../../kube/access.ts';
import { fail, pass, skip, warn, type Check, type Verdict } from './types.ts';

const read = (resource: string, group = '', namespace?: string): Permission => ({ verb: 'list', group, resource, ...(namespace ? { namespace } : {}) });
const OPERATOR = 'operator.tigera.io';
const CALICO_CRDS = 'crd.projectcalico.org';
/** What the IPAM checks read: the pools, the blocks, the affinities, the nodes; only the leak check reads pods. */
const IPAM = { pools: read('ippools', CALICO_CRDS), blocks: read('ipamblocks', CALICO_CRDS), affinities: read('blockaffinities', CALICO_CRDS), nodes: read('nodes') };

const ready = (conditions: { type: string; status: string }[] | undefined, type = 'Ready') => (conditions ?? []).some((c) => c.type === type && c.status === 'True');
const podReady = (pod: Pod) => pod.status?.phase === 'Running' && ready(pod.status.conditions);
const nodeIP = (node: Node) => node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;

/** The Calico version doctor judges by: installed, else what init installs by default. */
async function calicoVersion(facts: Facts): Promise<string> {
  const installed = (await facts.installation())?.status?.calicoVersion;
  if (installed) return installed;
  const image = (await facts.operatorDeployment())?.spec?.template?.spec?.containers?.[0]?.image ?? '';
  return calicoVersionForOperator(image.split(':').pop() ?? '') ?? DEFAULT_CALICO_VERSION;
}

async function poolCidrs(facts: Facts) {
  const pools = (await facts.installation())?.spec?.calicoNetwork?.ipPools ?? [];
  return pools.flatMap((p) => {
    try {
      return [{ pool: p, cidr: parseCidr(p.cidr, 'ipPools') }];
    } catch {
      return [];
    }
  });
}

/** The IP pool checks read the Installation, the kubeadm-config and the nodes, installed or not. */
const POOL_NEEDS: Permission[] = [read('nodes'), { verb: 'get', group: '', resource: 'configmaps', namespace: 'kube-system' }, { verb: 'get', group: OPERATOR, resource: 'installations' }];

/** What CAL-0701/0703/0704 judge, with the judgement init makes (checkPools): the Installation's pools, or before there is one, the pool init would write. */
interface JudgedPools {
  stage: PoolStage;
  pools: JudgedPool[];
  network: ClusterNetwork;
  /** The pools as a PASS finding names them, then `verb` agreeing with them. */
  subject(verb: 'is' | 'has'): string;
  /** Why there is no pool to judge. */
  none: string;
}

async function judgedPools(facts: Facts): Promise<JudgedPools> {
  const network = await facts.clusterNetwork();
  if (await facts.installation()) {
    const pools = (await poolCidrs(facts)).map(({ pool, cidr }) => ({ cidr, blockSize: pool.blockSize ?? DEFAULT_BLOCK_SIZE[cidr.family] }));
    return { stage: 'installed', pools, network, subject: (verb) => `${plural(pools, 'pool')} ${cidrs(pools)} ${agree(pools, verb)}`, none: 'the Installation sets no IP pools' };
  }
  // What init without --pod-cidr writes, with its default block sizes.
  const discovered = discoverPodCidrs(network);
  const pools = (discovered?.cidrs ?? []).map((cidr) => ({ cidr, blockSize: DEFAULT_BLOCK_SIZE[cidr.family], name: `the pool init would write, ${cidr.text} (${discovered!.source}),` }));
  return {
    stage: 'choosing',
    pools,
    network,
    subject: (verb) => `the ${plural(pools, 'pool')} init would write, ${cidrs(pools)} (${discovered?.source}), ${agree(pools, verb)}`,
    none: "no Installation yet, and no pool init would write: kube-system/kubeadm-config has no podSubnet and the nodes no podCIDRs (init needs --pod-cidr)",
  };
}

const cidrs = (pools: JudgedPool[]) => pools.map((p) => p.cidr.text).join(', ');
const plural = (pools: JudgedPool[], noun: string) => (pools.length > 1 ? `${noun}s` : noun);
const agree = (pools: JudgedPool[], verb: 'is' | 'has') => (pools.length > 1 ? { is: 'are', has: 'have' }[verb] : verb);

/** One check's part of the judgement: its findings FAIL on an error, else WARN; none PASSes with `passed`. */
function poolVerdict(judged: JudgedPools, check: PoolCheck, passed: string): Verdict {
  const findings = checkPools(judged.pools, judged.network, judged.stage).filter((f) => f.check === check);
  const preface = judged.stage === 'installed' ? '' : 'no Installation yet: ';
  if (findings.length === 0) return judged.pools.length ? pass(`${preface}${passed}`) : skip(judged.none);
  const finding = `${preface}${findings.map((f) => f.problem).join('; ')}`;
  const fix = [...new Set(findings.map((f) => f.fix))].join('; ');
  return findings.some((f) => f.level === 'error') ? fail(finding, fix) : warn(finding, fix);
}

const OTHER_CNIS: { name: string; match: (ds: Workload) => boolean }[] = [
  { name: 'flannel', match: (ds) => ds.metadata.labels?.app === 'flannel' || /flannel/.test(ds.metadata.name) },
  { name: 'weave', match: (ds) => /weave-net/.test(ds.metadata.name) || ds.metadata.labels?.name === 'weave-net' },
  { name: 'cilium', match: (ds) => ds.metadata.labels?.['k8s-app'] === 'cilium' || ds.metadata.name === 'cilium' },
  { name: 'canal', match: (ds) => ds.metadata.name === 'canal' || ds.metadata.labels?.['k8s-app'] === 'canal' },
];

export const CHECKS: Check[] = [
  {
    id: 'CAL-0201', category: 'Versions', check: 'Kubernetes version supported', needs: [],
    async run(facts) {
      const version = await calicoVersion(facts);
      const kube = (await facts.version()).gitVersion;
      const minor = kube.replace(/^v/, '').split('.').slice(0, 2).join('.');
      const supported = KUBERNETES_SUPPORT[version.split('.').slice(0, 2).join('.')];
      if (!supported) return warn(`Calico ${version} is not a release kubectl-calico knows the support matrix of`, 'Check https://docs.tigera.io/calico/latest/getting-started/kubernetes/requirements');
      if (supported.includes(minor)) return pass(`Kubernetes ${kube} is tested with Calico ${version} (${supported.join(', ')})`);
      return fail(`Kubernetes ${kube} is outside Calico ${version}'s tested versions (${supported.join(', ')})`, 'Upgrade Calico to a release that supports this Kubernetes minor (kubectl calico init --calico-version …)');
    },
  },
  {
    id: 'CAL-0202', category: 'Versions', check: 'Operator image matches Calico', needs: [{ verb: 'get', group: 'apps', resource: 'deployments', namespace: 'tigera-operator' }, { verb: 'get', group: OPERATOR, resource: 'installations' }],
    async run(facts) {
      const image = (await facts.operatorDeployment())?.spec?.template?.spec?.containers?.[0]?.image;
      if (!image) return skip('the tigera-operator Deployment does not exist');
      const imageVersion = calicoVersionForOperator(image.split(':').pop() ?? '');
      const installed = (await facts.installation())?.status?.calicoVersion;
      if (!imageVersion) return warn(`the operator image ${image} is not one kubectl-calico knows the Calico version of`, 'Use the tigera-operator.yaml of a Calico release');
      if (!installed) return pass(`operator ${image} runs Calico ${imageVersion} (the Installation reports no version yet)`);
      if (installed === imageVersion) return pass(`operator ${image} and the Installation both run Calico ${installed}`);
      return fail(`operator ${image} is Calico ${imageVersion}, but the Installation reports Calico ${installed}: the components have not been rolled to the operator's version`, 'kubectl calico wait; if it stays, check the operator log: kubectl logs -n tigera-operator deploy/tigera-operator');
    },
  },
  {
    id: 'CAL-0301', category: 'Other CNIs', check: 'No other CNI', needs: [read('daemonsets', 'apps')],
    async run(facts) {
      const found = (await facts.daemonSets()).flatMap((ds) => OTHER_CNIS.filter((c) => c.match(ds)).map((c) => `${c.name} (daemonset ${ds.metadata.namespace}/${ds.metadata.name})`));
      if (found.length === 0) return pass('no flannel, weave, cilium or canal DaemonSet');
      return fail(`another CNI runs alongside Calico: ${found.join(', ')}`, 'Remove the other CNI (kubectl delete -f its manifest) and its files in /etc/cni/net.d on every node, then restart the pods');
    },
  },
  {
    id: 'CAL-0302', category: 'Other CNIs', check: 'No manifest-based calico-node in kube-system', needs: [read('daemonsets', 'apps', 'kube-system')],
    async run(facts) {
      const manifest = (await facts.daemonSets('kube-system')).find((ds) => ds.metadata.name === 'calico-node');
      if (!manifest) return pass('no calico-node DaemonSet in kube-system');
      const operator = await facts.operatorDeployment();
      if (!operator) return warn('a manifest-based calico-node DaemonSet runs in kube-system (calico.yaml install)', 'This is a manifest install; migrate it with the operator only on the same Calico version (docs: operator migration)');
      return fail('kube-system/calico-node (a manifest install) runs alongside the Tigera operator, which will try to migrate it', 'Follow the operator migration guide, or remove the manifest install before applying the operator');
    },
  },
  {
    id: 'CAL-0401', category: 'Operator', check: 'tigera-operator namespace', needs: [{ verb: 'get', group: '', resource: 'namespaces' }],
    async run(facts) {
      return (await facts.operatorNamespace()) ? pass('namespace tigera-operator exists') : fail('namespace tigera-operator does not exist: the operator is not installed', 'kubectl calico init --pod-cidr <pod subnet> && kubectl calico apply');
    },
  },
  {
    id: 'CAL-0402', category: 'Operator', check: 'Operator Deployment available', needs: [{ verb: 'get', group: 'apps', resource: 'deployments', namespace: 'tigera-operator' }],
    async run(facts) {
      const deployment = await facts.operatorDeployment();
      if (!deployment) return fail('deployment tigera-operator/tigera-operator does not exist', 'kubectl calico apply');
      const available = Number(deployment.status?.availableReplicas ?? 0);
      const wanted = deployment.spec?.replicas ?? 1;
      return available >= wanted ? pass(`deployment tigera-operator ${available}/${wanted} available`) : fail(`deployment tigera-operator has ${available}/${wanted} available replicas`, 'kubectl describe pod -n tigera-operator -l k8s-app=tigera-operator');
    },
  },
  {
    id: 'CAL-0403', category: 'Operator', check: 'Operator pod healthy', needs: [read('pods', '', 'tigera-operator'), { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'tigera-operator' }],
    async run(facts) {
      const pods = await facts.operatorPods();
      if (pods.length === 0) return skip('no tigera-operator pod');
      for (const pod of pods) {
        const pull = (pod.status?.containerStatuses ?? []).find((c) => /^(ErrImagePull|ImagePullBackOff)$/.test(c.state?.waiting?.reason ?? ''));
        if (pull) return fail(`pod tigera-operator/${pod.metadata.name}: ${podProblem(pod)}`, await mirrorFix(facts, pull.image ?? pod.spec?.containers?.[0]?.image ?? ''));
        const crash = [...(pod.status?.containerStatuses ?? [])].find((c) => c.state?.waiting?.reason === 'CrashLoopBackOff');
        if (crash) {
          const last = crash.lastState?.terminated;
          const log = await facts.lastLog('tigera-operator', pod.metadata.name, crash.name, 3);
          return fail(`pod tigera-operator/${pod.metadata.name} is in CrashLoopBackOff (${crash.restartCount} restarts; last exit ${last?.exitCode ?? '?'}${last?.message ? `: ${last.message.trim()}` : ''})${log.length ? `; last log: ${log.join(' | ')}` : ''}`, `kubectl logs -n tigera-operator ${pod.metadata.name} --previous`);
        }
        const restarts = Math.max(0, ...(pod.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
        if (restarts > 0) return warn(`pod tigera-operator/${pod.metadata.name} restarted ${restarts} times`, `kubectl logs -n tigera-operator ${pod.metadata.name} --previous`);
      }
      return pass(`${pods.length} tigera-operator pod(s) running without restarts`);
    },
  },
  ...(['operator.tigera.io', 'crd.projectcalico.org'] as const).map((group, i): Check => ({
    id: `CAL-050${i + 1}`, category: 'CRDs', check: `${group} CRDs Established`, needs: [read('customresourcedefinitions', 'apiextensions.k8s.io')],
    async run(facts) {
      const crds = (await facts.crds()).filter((c) => c.spec?.group === group);
      if (crds.length === 0) return fail(`no ${group} CRDs: the Calico CRDs are not installed`, 'kubectl calico apply');
      const pending = crds.filter((c) => !ready(c.status?.conditions, 'Established')).map((c) => c.metadata.name);
      return pending.length ? fail(`${pending.length} ${group} CRDs are not Established: ${pending.join(', ')}`, 'kubectl describe crd <name>; a CRD that never becomes Established has a name conflict') : pass(`${crds.length} ${group} CRDs Established`);
    },
  })),
  {
    id: 'CAL-0601', category: 'Installation', check: 'Installation default exists', needs: [{ verb: 'get', group: OPERATOR, resource: 'installations' }],
    async run(facts) {
      return (await facts.installation()) ? pass('installation.operator.tigera.io/default exists') : fail('there is no Installation "default": the operator has nothing to install', 'kubectl calico apply (it applies custom-resources.yaml)');
    },
  },
  {
    id: 'CAL-0602', category: 'Installation', check: 'Installation status', needs: [{ verb: 'get', group: OPERATOR, resource: 'installations' }],
    async run(facts) {
      const installation = await facts.installation();
      if (!installation) return skip('there is no Installation');
      const status = installation.status ?? {};
      const degraded = (status.conditions ?? []).find((c) => c.type === 'Degraded' && c.status === 'True');
      if (degraded) return fail(`the Installation is Degraded: ${degraded.message}`, 'kubectl get tigerastatus; kubectl calico status');
      if (!status.calicoVersion) return warn('the Installation reports no Calico version yet: the first rollout has not finished', 'kubectl calico wait');
      return pass(`variant ${status.variant}, Calico ${status.calicoVersion}, MTU ${status.mtu ?? 'auto'}`);
    },
  },
  {
    id: 'CAL-0603', category: 'Installation', check: 'TigeraStatus Available', needs: [read('tigerastatuses', OPERATOR)],
    async run(facts) {
      const statuses = await facts.tigeraStatuses();
      if (statuses.length === 0) return (await facts.installation()) ? warn('no TigeraStatus yet: the operator has not reported', 'kubectl logs -n tigera-operator deploy/tigera-operator') : skip('there is no Installation');
      const degraded = statuses.filter((s) => ready(s.status?.conditions, 'Degraded'));
      if (degraded.length) return fail(degraded.map((s) => `${s.metadata.name} Degraded: ${s.status?.conditions?.find((c) => c.type === 'Degraded')?.message}`).join('; '), `kubectl describe tigerastatus ${degraded[0]!.metadata.name}`);
      const waiting = statuses.filter((s) => !ready(s.status?.conditions, 'Available'));
      if (waiting.length) return warn(waiting.map((s) => `${s.metadata.name} not Available${s.status?.conditions?.find((c) => c.type === 'Progressing' && c.status === 'True')?.message ? ` (${s.status?.conditions?.find((c) => c.type === 'Progressing')?.message})` : ''}`).join('; '), 'kubectl calico wait');
      return pass(`${statuses.map((s) => s.metadata.name).join(', ')} Available`);
    },
  },
  {
    id: 'CAL-0701', category: 'IP pools', check: 'Pool within kubeadm podSubnet', needs: POOL_NEEDS,
    async run(facts) {
      const judged = await judgedPools(facts);
      if (judged.network.kubeadmProblem) return skip(judged.network.kubeadmProblem);
      return poolVerdict(judged, 'pod-subnet', judged.stage === 'installed' ? `${judged.subject('is')} the kubeadm podSubnet` : `the ${plural(judged.pools, 'pool')} init would write ${agree(judged.pools, 'is')} the kubeadm podSubnet ${cidrs(judged.pools)}`);
    },
  },
  {
    id: 'CAL-0702', category: 'IP pools', check: "Pools cover the nodes' podCIDRs", needs: [read('nodes'), { verb: 'get', group: OPERATOR, resource: 'installations' }],
    async run(facts) {
      const pools = await poolCidrs(facts);
      if (pools.length === 0) return skip('the Installation sets no IP pools');
      const outside = (await facts.nodes()).flatMap((n) => (n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])).map((c) => ({ node: n.metadata.name, cidr: c }))).filter(({ cidr }) => !pools.some((p) => containsCidr(p.cidr, parseCidr(cidr, 'podCIDR'))));
      if (outside.length === 0) return pass("every node's podCIDR is inside a Calico pool");
      return warn(`${outside.length} node podCIDR(s) outside every pool, e.g. ${outside[0]!.node} ${outside[0]!.cidr} (Calico IPAM ignores podCIDR, but other tools may rely on it)`, "Make the pool equal the cluster's pod subnet");
    },
  },
  {
    id: 'CAL-0703', category: 'IP pools', check: 'No overlap with services or nodes', needs: POOL_NEEDS,
    async run(facts) {
      const judged = await judgedPools(facts);
      const services = judged.network.serviceSubnets.map((s) => ` ${s.text}`).join(',');
      return poolVerdict(judged, 'no-overlap', `${judged.subject('is')} clear of the service subnet${services} and the node addresses`);
    },
  },
  {
    id: 'CAL-0704', category: 'IP pools', check: 'Enough blocks for the nodes', needs: POOL_NEEDS,
    async run(facts) {
      const judged = await judgedPools(facts);
      const blocks = judged.pools.map((p) => `${blockCount(p)} blocks of /${p.blockSize}`).join(' and ');
      return poolVerdict(judged, 'blocks', `${judged.subject('has')} ${blocks} for ${judged.network.nodeCount} nodes`);
    },
  },
  {
    id: 'CAL-0705', category: 'IP pools', check: 'An enabled IP pool exists', needs: [read('ippools', 'crd.projectcalico.org')],
    async run(facts) {
      const pools = await facts.ipPools();
      if (pools.length === 0) return (await facts.installation()) ? warn('no IPPool yet: the operator creates it from the Installation', 'kubectl get tigerastatus ippools') : skip('Calico is not installed');
      const enabled = pools.filter((p) => !p.spec?.disabled);
      if (enabled.length === 0) return fail(`every IP pool is disabled (${pools.map((p) => p.metadata.name).join(', ')}): new pods get no address`, 'Enable a pool, or add one to the Installation');
      return pass(`${enabled.length} enabled pool(s): ${enabled.map((p) => `${p.metadata.name} ${p.spec?.cidr}`).join(', ')}`);
    },
  },
  ...([['CAL-0801', 'daemonsets', 'calico-node'], ['CAL-0802', 'deployments', 'calico-typha'], ['CAL-0803', 'deployments', 'calico-kube-controllers'], ['CAL-0804', 'daemonsets', 'csi-node-driver']] as const).map(([id, kind, name]): Check => ({
    id, category: 'Workloads', check: `${name} ready`, needs: [read(kind, 'apps', 'calico-system'), read('pods', '', 'calico-system'), read('nodes')],
    async run(facts) {
      const workload = (kind === 'daemonsets' ? await facts.daemonSets('calico-system') : await facts.deployments('calico-system')).find((w) => w.metadata.name === name);
      if (!workload) return (await facts.installation()) ? fail(`${kind === 'daemonsets' ? 'daemonset' : 'deployment'} calico-system/${name} does not exist`, 'kubectl get tigerastatus calico; kubectl logs -n tigera-operator deploy/tigera-operator') : skip('Calico is not installed');
      const s = workload.status ?? {};
      const desired = kind === 'daemonsets' ? Number(s.desiredNumberScheduled ?? 0) : Number(workload.spec?.replicas ?? 1);
      const readyCount = kind === 'daemonsets' ? Number(s.numberReady ?? 0) : Number(s.readyReplicas ?? 0);
      if (readyCount >= desired && desired > 0) return pass(`${name}: ${readyCount}/${desired} ready`);
      if (kind !== 'daemonsets') return fail(`deployment calico-system/${name}: ${readyCount}/${desired} ready`, `kubectl describe pods -n calico-system -l k8s-app=${name}`);
      const pods = await facts.pods('calico-system', `k8s-app=${name}`);
      const withReady = new Set(pods.filter(podReady).map((p) => p.spec?.nodeName));
      const missing = (await facts.nodes()).filter((n) => !withReady.has(n.metadata.name)).map((n) => n.metadata.name);
      return fail(`daemonset calico-system/${name}: ${readyCount}/${desired} ready; no ready ${name} on ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`, `kubectl describe pods -n calico-system -l k8s-app=${name}`);
    },
  })),
  {
    id: 'CAL-0805', category: 'Workloads', check: 'Calico pods running', needs: [read('daemonsets', 'apps', 'calico-system'), read('deployments', 'apps', 'calico-system'), read('pods', '', 'calico-system'), { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'calico-system' }],
    async run(facts) {
      const workloads = [...(await facts.daemonSets('calico-system')), ...(await facts.deployments('calico-system'))];
      if (workloads.length === 0) return skip('no Calico workloads');
      const unhealthy = workloads.filter((w) => {
        const s = w.status ?? {};
        return w.spec?.replicas !== undefined && !('desiredNumberScheduled' in s) ? Number(s.readyReplicas ?? 0) < (w.spec.replicas ?? 1) : Number(s.numberReady ?? 0) < Number(s.desiredNumberScheduled ?? 0);
      });
      if (unhealthy.length === 0) return pass('every Calico pod is Running and Ready');
      const pods = (await Promise.all(unhealthy.map((w) => facts.pods('calico-system', `k8s-app=${w.metadata.name}`)))).flat().filter((p) => !podReady(p));
      if (pods.length === 0) return warn('Calico workloads are still rolling out', 'kubectl calico wait');
      // A pod that cannot pull or keeps crashing is a cause; pods merely not ready are often its effect (Felix without Typha).
      const failing = (p: (typeof pods)[number]) => [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].some((c) => /^(CrashLoopBackOff|ErrImagePull|ImagePullBackOff)$/.test(c.state?.waiting?.reason ?? ''));
      const pod = pods.find(failing) ?? pods[0]!;
      const crash = (pod.status?.containerStatuses ?? []).find((c) => c.state?.waiting?.reason === 'CrashLoopBackOff');
      const log = crash ? await facts.lastLog('calico-system', pod.metadata.name, crash.name) : [];
      const more = pods.length > 1 ? ` (and ${pods.length - 1} more pods)` : '';
      const detail = `pod calico-system/${pod.metadata.name}: ${podProblem(pod)}${log.length ? `; last log: ${log.join(' | ')}` : ''}${more}`;
      const pulling = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((c) => /^(ErrImagePull|ImagePullBackOff)$/.test(c.state?.waiting?.reason ?? ''));
      if (pulling) return fail(detail, await mirrorFix(facts, pulling.image ?? ''));
      if (crash) return fail(detail, `kubectl logs -n calico-system ${pod.metadata.name} -c ${crash.name} --previous`);
      return fail(detail, `kubectl describe pod -n calico-system ${pod.metadata.name}`);
    },
  },
  {
    id: 'CAL-0807', category: 'Workloads', check: "Images from the Installation's registry",
    needs: [{ verb: 'get', group: OPERATOR, resource: 'installations' }, { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'tigera-operator' }, ...CALICO_NAMESPACES.flatMap((ns) => [read('daemonsets', 'apps', ns), read('deployments', 'apps', ns)])],
    async run(facts) {
      const installation = await facts.installation();
      if (!installation) return skip('no Installation');
      const registry = installation.spec?.registry;
      if (!registry || registry === 'UseDefault') return pass("the Installation names no registry: Calico's images come from the release's default registries (docker.io or quay.io)");
      // Pod templates rather than pods: every pod runs its template's images, and a big cluster's pods are never all listed.
      const workloads = [
        ...[await facts.operatorDeployment()].filter((w): w is Workload => w !== undefined).map((w) => ({ ...w, kind: 'Deployment' as const })),
        ...(await Promise.all(CALICO_NAMESPACES.map(async (ns) => [...(await facts.daemonSets(ns)).map((w) => ({ ...w, kind: 'DaemonSet' as const })), ...(await facts.deployments(ns)).map((w) => ({ ...w, kind: 'Deployment' as const }))]))).flat(),
      ];
      const stray = workloads.flatMap((w) => templateImages(w).filter((image) => !image.startsWith(registry)).map((image) => `${w.kind.toLowerCase()} ${w.metadata.namespace}/${w.metadata.name} runs ${image}`));
      if (stray.length === 0) return pass(`every Calico workload (${workloads.length}, the operator included) pulls from ${registry}`);
      const operator = stray.some((s) => s.includes('tigera-operator/tigera-operator'));
      const version = await calicoVersion(facts);
      return fail(`${stray.length} image(s) not from the Installation's registry ${registry}: ${stray.slice(0, 3).join('; ')}${stray.length > 3 ? ` and ${stray.length - 3} more` : ''}`,
        operator
          ? `the operator's image is set in tigera-operator.yaml, not by the Installation: "kubectl calico init --registry ${registry.replace(/\/$/, '')} --overwrite" rewrites it, then "kubectl calico apply" ("kubectl calico images --calico-version ${version} --registry ${registry.replace(/\/$/, '')}" lists every image to mirror)`
          : 'the operator has not rolled these yet: "kubectl calico wait", then "kubectl get installation default -o yaml" if they stay');
    },
  },
  {
    id: 'CAL-0806', category: 'Workloads', check: 'Taints keep calico-node off no node', needs: [read('nodes'), read('daemonsets', 'apps', 'calico-system')],
    async run(facts) {
      const ds = (await facts.daemonSets('calico-system')).find((d) => d.metadata.name === 'calico-node');
      if (!ds) return skip('no calico-node DaemonSet');
      const tolerations = ds.spec?.template?.spec?.tolerations ?? [];
      const tolerated = (taint: { key: string; effect: string }) => tolerations.some((t) => (t.operator === 'Exists' && (!t.key || t.key === taint.key) && (!t.effect || t.effect === taint.effect)) || (t.key === taint.key && (!t.effect || t.effect === taint.effect)));
      const blocked = (await facts.nodes()).flatMap((n) => (n.spec?.taints ?? []).filter((t) => t.effect !== 'PreferNoSchedule' && !tolerated(t) && !t.key.startsWith('node.kubernetes.io/')).map((t) => `${n.metadata.name} (${t.key}${t.value ? `=${t.value}` : ''}:${t.effect})`));
      return blocked.length ? fail(`taints calico-node does not tolerate: ${blocked.join(', ')}`, 'Remove the taints (kubectl taint nodes <node> <key>-) or restore calico-node\'s default tolerations') : pass('calico-node tolerates every node taint');
    },
  },
  {
    id: 'CAL-0901', category: 'Nodes', check: 'Nodes Ready', needs: [read('nodes')],
    async run(facts) {
      const notReady = (await facts.nodes()).filter((n) => !ready(n.status?.conditions));
      if (notReady.length === 0) return pass(`${(await facts.nodes()).length} nodes Ready`);
      const message = notReady[0]!.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? 'no Ready condition';
      const cni = /cni plugin not initialized|NetworkPluginNotReady/.test(message);
      return fail(`${notReady.length} NotReady: ${notReady.slice(0, 5).map((n) => n.metadata.name).join(', ')}${notReady.length > 5 ? ', …' : ''} (${message})`, cni ? 'The CNI is not installed or calico-node is not running on them: kubectl calico apply && kubectl calico wait' : `kubectl describe node ${notReady[0]!.metadata.name}`);
    },
  },
  {
    id: 'CAL-0902', category: 'Nodes', check: 'CoreDNS running', needs: [read('pods', '', 'kube-system')],
    async run(facts) {
      const pods = await facts.pods('kube-system', 'k8s-app=kube-dns');
      if (pods.length === 0) return skip('no CoreDNS pods (k8s-app=kube-dns) in kube-system');
      const down = pods.filter((p) => !podReady(p));
      if (down.length === 0) return pass(`${pods.length} CoreDNS pods ready`);
      const pending = down.find((p) => p.status?.phase === 'Pending');
      return fail(`${down.length} of ${pods.length} CoreDNS pods not ready${pending ? ` (Pending: ${podProblem(pending).replace(/^Pending: /, '')})` : ''}: the usual symptom of a missing or broken CNI`, 'Get the pod network up first (kubectl calico wait); CoreDNS then starts by itself');
    },
  },
  {
    id: 'CAL-1001', category: 'Data plane', check: 'kube-proxy mode', needs: [{ verb: 'get', group: '', resource: 'configmaps', namespace: 'kube-system' }, read('daemonsets', 'apps', 'kube-system')],
    async run(facts) {
      const config = await facts.configMap('kube-system', 'kube-proxy');
      const ds = (await facts.daemonSets('kube-system')).find((d) => d.metadata.name === 'kube-proxy');
      const bpf = ((await facts.installation())?.spec as { calicoNetwork?: { linuxDataplane?: string } } | undefined)?.calicoNetwork?.linuxDataplane === 'BPF';
      if (!ds) return bpf ? pass('no kube-proxy, as expected with the eBPF data plane') : warn('no kube-proxy DaemonSet and not the eBPF data plane: Services may not work', 'Install kube-proxy, or use Calico\'s eBPF data plane');
      const mode = /^mode:\s*"?(\w*)"?/m.exec(config?.data?.['config.conf'] ?? '')?.[1] || 'iptables';
      if (mode === 'ipvs') return warn('kube-proxy runs in ipvs mode: Calico detects it when calico-node starts; switching modes later needs calico-node restarted', 'After changing the kube-proxy mode: kubectl rollout restart -n calico-system ds/calico-node');
      if (mode === 'nftables') return warn('kube-proxy runs in nftables mode: Calico\'s iptables data plane should then be nftables too (linuxDataplane: Nftables)', 'Set spec.calicoNetwork.linuxDataplane: Nftables in the Installation');
      return pass(`kube-proxy in ${mode} mode`);
    },
  },
  {
    id: 'CAL-1002', category: 'Data plane', check: 'Encapsulation fits the node network', needs: [read('nodes'), { verb: 'get', group: OPERATOR, resource: 'installations' }],
    async run(facts) {
      const pools = await poolCidrs(facts);
      if (pools.length === 0) return skip('the Installation sets no IP pools');
      const subnets = new Set((await facts.nodes()).map((n) => (nodeIP(n) ?? '').split('.').slice(0, 3).join('.')));
      const encapsulation = pools[0]!.pool.encapsulation ?? 'IPIP';
      if (encapsulation === 'None' && subnets.size > 1) return warn(`encapsulation None with nodes in ${subnets.size} /24 subnets: pod traffic between subnets needs BGP peering with the routers`, 'Use VXLANCrossSubnet unless the network routes the pod CIDR; `kubectl calico connectivity` tests the paths between the nodes (it deploys test pods; doctor only reads)');
      return pass(`${encapsulation} with nodes in ${subnets.size} /24 subnet(s)`);
    },
  },
  {
    id: 'CAL-1201', category: 'IPAM', check: 'IP pools have addresses left', needs: [IPAM.pools, IPAM.blocks, IPAM.nodes, { verb: 'get', group: OPERATOR, resource: 'installations' }],
    async run(facts) {
      const usage = await facts.poolUsage();
      const pools = usage.pools.filter((u) => !u.pool.disabled);
      if (pools.length === 0) return (await facts.installation()) ? warn('no enabled IPPool yet: the operator creates it from the Installation', 'kubectl get tigerastatus ippools') : skip('Calico is not installed');
      const findings = capacityFindings(usage);
      const full = findings.filter((f) => f.id === 'pool-exhausted');
      if (full.length) return fail(full.map((f) => f.message).join('; '), full[0]!.fix);
      const short = findings.filter((f) => f.id === 'blocks-short' || f.id === 'pool-nearly-full');
      if (short.length) return warn(short.map((f) => f.message).join('; '), short[0]!.fix);
      return pass(pools.map((u) => `${u.pool.name} ${u.pool.cidr}: ${countText(u.addressesInUse)} of ${countText(u.addressesPossible)} addresses in use (${percent(u.addressesInUse, u.addressesPossible)}), ${u.blocks.length} of ${countText(u.blocksPossible)} blocks, ${countText(freeBlocks(u))} free for ${u.nodesWithoutBlock?.length ?? 0} nodes without one`).join('; '));
    },
  },
  {
    id: 'CAL-1202', category: 'IPAM', check: 'No leaked addresses',
    // Every pod's address (listed), the suspects' pods and blocks as they are now (got), and the leak grace period.
    needs: [...Object.values(IPAM), read('pods'), { verb: 'get', group: '', resource: 'pods' }, { verb: 'get', group: CALICO_CRDS, resource: 'ipamblocks' }, { verb: 'get', group: CALICO_CRDS, resource: 'kubecontrollersconfigurations' }],
    async run(facts) {
      const check = await facts.ipamCheck();
      const unconfirmed = check.checked.unconfirmed ? ` (${check.checked.unconfirmed} pods not looked up: kubectl calico ipam check confirms every one)` : '';
      const described = (id: string) => {
        const f = check.findings.find((x) => x.id === id);
        return f && `${f.message}${f.oldest ? `; the oldest allocated ${f.oldest} ago` : ''}: ${f.items.slice(0, 3).map((i) => `${i.ADDRESS} (${i.OWNER}, ${i.NODE})`).join(', ')}${f.items.length > 3 ? ` and ${f.items.length - 3} more` : ''}${unconfirmed}`;
      };
      const old = described('leaked-addresses');
      if (old) return fail(old, check.findings.find((f) => f.id === 'leaked-addresses')!.fix);
      const young = described('young-leaks');
      if (young) return warn(young, 'Nothing, unless they outlive leakGracePeriod; kubectl calico ipam check lists them');
      return pass(check.checked.blocks ? `${check.checked.allocations} allocations in ${check.checked.blocks} blocks, each held by a pod or a node` : 'no IPAM block yet: no address allocated');
    },
  },
  {
    id: 'CAL-1203', category: 'IPAM', check: 'No blocks of deleted nodes', needs: [IPAM.blocks, IPAM.affinities, IPAM.nodes],
    async run(facts) {
      const [affinities, blocks, nodes, now] = await Promise.all([facts.blockAffinities(), facts.ipamBlocks(), facts.ipamNodes(), facts.now()]);
      const [stale] = staleAffinityFindings({ affinities, blocks, nodes }, now);
      if (stale) return fail(`${stale.message}: ${stale.items.slice(0, 3).map((i) => `${i.BLOCK} (${i.NODE})`).join(', ')}${stale.items.length > 3 ? ` and ${stale.items.length - 3} more` : ''}`, stale.fix);
      return pass(blocks.length ? `every one of ${blocks.length} blocks is affine to a node that exists, or to none` : 'no IPAM block yet');
    },
  },
  {
    id: 'CAL-1301', category: 'BGP', check: 'BGP sessions Established', needs: [{ verb: 'get', group: OPERATOR, resource: 'installations' }, read('events', '', 'calico-system'), read('pods', '', 'calico-system'), read('nodes'), read('ippools', CALICO_CRDS)],
    async run(facts) {
      const installation = await facts.installation();
      if (!installation) return skip('Calico is not installed');
      if ((installation.spec as { calicoNetwork?: { bgp?: string } } | undefined)?.calicoNetwork?.bgp === 'Disabled') return pass('BGP is disabled in the Installation: no BIRD runs, no session to check');
      const sessions = await bgpFromEvents(facts);
      const exec = 'exec-level detail, BIRD\'s own view from both ends: kubectl calico node status';
      if (sessions.pairs.length === 0 && sessions.external.length === 0) return pass(`no calico-node readiness probe reported a BGP session down in the last hour (${exec})`);
      const named = [
        ...sessions.pairs.map((p) => `${p.a} and ${p.b} (${p.both ? 'both ends' : `${p.a}'s probe`}, last ${p.ago} ago)`),
        ...sessions.external.map((p) => `${p.node} and ${p.address} (outside the cluster, last ${p.ago} ago)`),
      ];
      const nodes = [...new Set(sessions.pairs.flatMap((p) => [p.a, p.b]).concat(sessions.external.map((p) => p.node)))];
      const finding = `BGP not established between ${named.slice(0, 5).join('; ')}${named.length > 5 ? ` and ${named.length - 5} more` : ''}, from calico-node's Unhealthy events; ${sessions.routing === 'vxlan' ? 'with VXLAN pools this affects BIRD\'s readiness only' : 'with IPIP or unencapsulated pools pods on these nodes cannot reach each other'}`;
      const fix = `Allow TCP 179 between those nodes, both ways; ${exec} --nodes ${nodes.slice(0, 10).join(',')}`;
      return sessions.routing === 'vxlan' ? warn(finding, fix) : fail(finding, fix);
    },
  },
  {
    id: 'CAL-1101', category: 'Events', check: 'No recent Warning events', needs: CALICO_NAMESPACES.concat('tigera-operator').flatMap((ns) => [read('events', '', ns), read('pods', '', ns)]),
    async run(facts) {
      const since = Date.now() - 3600_000;
      const recent = (await Promise.all(['tigera-operator', ...CALICO_NAMESPACES].map((ns) => facts.warningEvents(ns)))).flat()
        .filter((e) => Date.parse(e.lastTimestamp ?? e.eventTime ?? '') >= since);
      // Warnings about pods that have since become ready (e.g. NetworkNotReady while the CNI was coming up) are history, not problems.
      const namespaces = [...new Set(recent.filter((e) => e.involvedObject?.kind === 'Pod').map((e) => e.involvedObject!.namespace!))];
      const readyPods = new Set((await Promise.all(namespaces.map((ns) => facts.pods(ns)))).flat().filter(podReady).map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
      const events = recent.filter((e) => !(e.involvedObject?.kind === 'Pod' && readyPods.has(`${e.involvedObject.namespace}/${e.involvedObject.name}`)));
      if (events.length === 0) return pass(`no Warning events in tigera-operator, calico-system or calico-apiserver in the last hour${recent.length ? ` about anything still unhealthy (${recent.length} about pods that recovered)` : ''}`);
      const groups = new Map<string, number>();
      for (const e of events) {
        const key = `${e.reason}: ${(e.message ?? '').replace(/\b(calico|csi)-[\w-]*-[a-z0-9]{5}\b/g, '<pod>')}`;
        groups.set(key, (groups.get(key) ?? 0) + (e.count ?? 1));
      }
      const top = [...groups].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([text, n]) => `${n}× ${text}`);
      return warn(`${events.length} Warning events in the last hour: ${top.join('; ')}`, 'kubectl get events -n calico-system --field-selector type=Warning');
    },
  },
];

function imageRegistry(image: string): string {
  const [first = '', ...rest] = image.split('/');
  return rest.length && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/**
 * The fix for an image the nodes cannot pull: when the Installation names a mirror, copy the image there;
 * otherwise the registry is unreachable from the nodes (an air-gapped site) and Calico needs a mirror.
 */
async function mirrorFix(facts: Facts, image: string): Promise<string> {
  const version = await calicoVersion(facts);
  const registry = (await facts.installation())?.spec?.registry;
  const from = imageRegistry(image);
  if (registry && registry !== 'UseDefault') return `the nodes cannot pull ${image} from ${from}: copy it into the mirror ("kubectl calico images --calico-version ${version} --registry ${registry.replace(/\/$/, '')} -o list" names it and its mirrored name), or check the pull secret`;
  return `the nodes cannot pull ${image} from ${from}; if they cannot reach it (an air-gapped site), mirror the images ("kubectl calico images --calico-version ${version} --registry <your-registry> -o list") and install with "kubectl calico init --registry <your-registry> --overwrite" and "kubectl calico apply"`;
}

type Template = { containers?: { image?: string }[]; initContainers?: { image?: string }[] };

/** Every image a workload's pods run, from its pod template (each pod is made from it). */
function templateImages(workload: Workload): string[] {
  const spec = workload.spec?.template?.spec as Template | undefined;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.image ?? '').filter(Boolean);
}

export type { Verdict };
