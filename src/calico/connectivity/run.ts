// `connectivity` from start to end: the permissions it needs are asked first
// (nothing is created without them), the nodes are chosen, the workload
// deployed and waited for, the scenarios probed phase by phase (each phase
// under its NetworkPolicies), the failures diagnosed against what the
// cluster says, and everything removed — after success, failure, --timeout
// or Ctrl-C — unless --keep. A second Ctrl-C during the clean-up stops at
// once and says the one command that finishes it.
import { CliError, TimeoutError } from '../../cli/errors.ts';
import { interruptible } from '../../cli/interrupt.ts';
import { deniedPermissions, type Permission } from '../../kube/access.ts';
import type { KubeClient } from '../../kube/client.ts';
import { exec } from '../../kube/exec.ts';
import { CALICO_NODE_NAMESPACE } from '../bgp/node-status.ts';
import { pickNodes, type NodePick } from '../node-pick.ts';
import { describeNotReady, diagnose, type NotReadyPod } from './diagnosis.ts';
import { nodeNetworks, nodeSubnet, nodesToAskBgp, readBgpSessions, readFacts, type NodeNetwork, type NodeObject } from './facts.ts';
import { runProbes, type ProbeResult } from './probe.ts';
import { probedPairs, scenarioReport, type ConnectivityDoc } from './report.ts';
import { PHASES, SERVICE_PORT, type PlanOptions, type Probe, type Scenario, type Topology } from './scenarios.ts';
import { blockingTaint, claimNamespace, CONTAINER, deleteNamespace, deploy, namespaceState, PHASE_POLICIES, prepareNamespace, SERVICE_NAME, setPolicies } from './workload.ts';

export interface ConnectivityOptions {
  namespace: string;
  image: string;
  scenarios: Scenario[];
  /** --nodes and -l. */
  pick: NodePick;
  maxPairs: number;
  externalTarget: string | undefined;
  timeoutMs: number;
  keep: boolean;
}

/** What the run says of itself while it runs (src/print/connectivity-progress.ts shows it). */
export interface RunProgress {
  /** An object written or deleted: `namespace/calico-connectivity created`. */
  log(line: string): void;
  /** What the run does now: `deploying`, `probing under the egress policies`, `cleaning up`. */
  phase(name: string): void;
  pods(ready: number, expected: number, stuck: () => NotReadyPod[]): void;
  planned(probes: number): void;
  start(probe: Probe): void;
  done(result: ProbeResult, probe?: Probe): void;
  /** For a --timeout: what was still going on. */
  running(): string;
  /** The run is over: leave the last state on screen. */
  finish(): void;
}

/** How long the clean-up may take after the run (its own bound: it also follows a --timeout). */
const CLEANUP_TIMEOUT_MS = 60_000;
/** How long a policy probe is repeated while the new policy may still be reaching Felix on the nodes. */
const POLICY_SETTLE_MS = 5_000;
/** How long BIRD is asked at most, when probes failed across nodes; and what the --timeout keeps back from it for the report. */
const BGP_STEP_MS = 30_000;
const BGP_RESERVE_MS = 5_000;

/** What a run hands back: the report's document, and what the report should warn of. */
export interface ConnectivityResult {
  doc: ConnectivityDoc;
  warnings: string[];
}

/** What connectivity reads and writes; all of it asked of the server before anything is created. */
export function permissionsNeeded(namespace: string): Permission[] {
  const cluster = (verb: string, resource: string, group = ''): Permission => ({ verb, group, resource });
  const own = (verb: string, resource: string, group = '', subresource?: string): Permission => ({ verb, group, resource, namespace, ...(subresource ? { subresource } : {}) });
  return [
    cluster('list', 'nodes'),
    ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((verb) => cluster(verb, 'namespaces')),
    ...['create', 'patch'].map((verb) => own(verb, 'daemonsets', 'apps')),
    ...['create', 'patch'].map((verb) => own(verb, 'services')),
    ...['list', 'watch', 'create', 'patch', 'delete'].map((verb) => own(verb, 'pods')),
    own('get', 'pods', '', 'exec'),
    own('create', 'pods', '', 'exec'),
    ...['list', 'create', 'patch', 'delete'].map((verb) => own(verb, 'networkpolicies', 'networking.k8s.io')),
    cluster('list', 'ippools', 'crd.projectcalico.org'),
    // The BGP reading (node status's): BIRD asked in calico-node, when probes fail across nodes.
    cluster('get', 'installations', 'operator.tigera.io'),
    { verb: 'get', group: '', resource: 'pods', namespace: CALICO_NODE_NAMESPACE, subresource: 'exec' },
    { verb: 'create', group: '', resource: 'pods', namespace: CALICO_NODE_NAMESPACE, subresource: 'exec' },
    { verb: 'list', group: '', resource: 'pods', namespace: 'calico-system' },
    { verb: 'list', group: '', resource: 'events', namespace: 'calico-system' },
    { verb: 'list', group: '', resource: 'pods', namespace: 'kube-system' },
  ];
}

/** The test, start to end: the report's document, or the error that stopped it (after the clean-up either way). */
export async function runConnectivity(kube: KubeClient, options: ConnectivityOptions, progress: RunProgress): Promise<ConnectivityResult> {
  const started = performance.now();
  const state = { touched: false };
  const run = interruptible(options.timeoutMs, 'connectivity');
  let result: ConnectivityResult | undefined;
  let failure: unknown;
  try {
    result = await test(kube, options, progress, state, run.signal, started + options.timeoutMs);
  } catch (error) {
    // Aborted requests fail with an AbortError of their own: the signal's reason says why (SIGINT, SIGTERM, --timeout).
    const cause = run.signal.aborted ? run.signal.reason : error;
    failure = cause instanceof TimeoutError ? new TimeoutError(`${cause.message}: still running: ${progress.running()}`) : cause;
  }
  // The clean-up listens for signals before the run stops listening: a second Ctrl-C is never left to the default handler.
  const cleanup = interruptible(CLEANUP_TIMEOUT_MS, 'cleanup');
  run.dispose();
  try {
    if (state.touched) await cleanUp(kube, options, progress, cleanup.signal);
  } catch (error) {
    const stopped = cleanup.signal.aborted ? (cleanup.signal.reason as CliError) : (error as Error);
    const why = stopped.message;
    const left = cleanup.signal.reason instanceof TimeoutError ? ` (${await namespaceState(kube, options.namespace)})` : '';
    const exitCode = failure instanceof CliError ? failure.exitCode : stopped instanceof CliError ? stopped.exitCode : 1;
    throw new CliError(`${failure instanceof Error ? `${failure.message}\n` : ''}clean-up stopped (${why}): namespace ${options.namespace} may be left${left}; remove it with: kubectl delete namespace ${options.namespace}`, exitCode);
  } finally {
    cleanup.dispose();
    progress.finish();
  }
  if (failure) {
    if (!(failure instanceof CliError)) throw failure;
    const after = !state.touched ? (/nothing was created/.test(failure.message) ? '' : '\nNothing was created.')
      : options.keep ? `\nKept namespace ${options.namespace} (--keep); delete it with: kubectl delete namespace ${options.namespace}`
        : `\nEverything the test created was removed (namespace ${options.namespace}).`;
    throw new CliError(`${failure.message}${after}`, failure.exitCode);
  }
  return { ...result!, doc: { ...result!.doc, seconds: Math.round(performance.now() - started) / 1000 } };
}

/** Everything between the permission check and the report: `state.touched` once the namespace may exist; `deadline` the --timeout's (performance.now()). */
async function test(kube: KubeClient, options: ConnectivityOptions, progress: RunProgress, state: { touched: boolean }, signal: AbortSignal, deadline: number): Promise<ConnectivityResult> {
  const denied = await deniedPermissions(kube, permissionsNeeded(options.namespace), signal);
  if (denied.size) throw new CliError(`connectivity needs permissions that are not granted: ${[...denied].join(', ')}; nothing was created`);
  const nodes = await selectNodes(kube, options, signal);
  const networks = nodeNetworks(nodes.objects);
  progress.phase('deploying');
  const existing = await claimNamespace(kube, options.namespace, signal);
  state.touched = true;
  await prepareNamespace(kube, options.namespace, existing, signal, (line) => progress.log(line));
  const deployed = await deploy(kube, { namespace: options.namespace, image: options.image, nodeNames: options.pick.names, selector: options.pick.selector, nodes: nodes.eligible, hostNodes: pickHostNodes(nodes.eligible, networks) }, {
    signal,
    report: (line) => progress.log(line),
    onPods: (ready, expected, stuck) => progress.pods(ready, expected, stuck),
  });
  const probed = nodes.eligible.filter((n) => deployed.echo.has(n) && deployed.client.has(n));
  if (probed.length === 0) throw new CliError(`no connectivity pod became ready: ${describeNotReady(deployed.notReady)}`);
  const topology: Topology = {
    nodes: probed,
    echo: deployed.echo,
    client: deployed.client,
    hosts: deployed.hosts,
    service: { name: SERVICE_NAME, ips: deployed.serviceIPs, port: SERVICE_PORT },
    subnets: new Map([...networks].flatMap(([name, n]) => (nodeSubnet(n) ? [[name, nodeSubnet(n)!]] : []))),
  };
  // What the diagnosis reads is read while the probes run.
  const facts = readFacts(kube, networks, signal);
  facts.catch(() => {});
  const runs = await probeScenarios(kube, options, topology, { maxPairs: options.maxPairs, externalTarget: options.externalTarget, random: Math.random }, progress, signal);
  const probes = runs.flatMap((r) => r.probes);
  const read = await facts;
  const warnings: string[] = [];
  const askBgp = nodesToAskBgp(probes, read);
  if (askBgp.nodes.length) {
    const { nodes: ask, wanted } = askBgp;
    const events = 'their BGP sessions are judged by calico-node\'s readiness events';
    if (ask.length < wanted) warnings.push(`BIRD was asked on ${ask.length} of the ${wanted} nodes whose probes failed across nodes or whose calico-node is not Ready; for the others ${events}`);
    // The reading ends in time for the report: a --timeout during it would lose every probe's result.
    const budgetMs = Math.min(BGP_STEP_MS, deadline - performance.now() - BGP_RESERVE_MS);
    if (budgetMs < 1000) warnings.push(`BIRD was not asked (the --timeout left no time); ${events}`);
    else {
      progress.phase(`reading BGP sessions (${ask.length === 1 ? ask[0] : `${ask.length}${ask.length < wanted ? ` of ${wanted}` : ''} nodes`})`);
      const { unanswered } = await readBgpSessions(kube, read, ask, signal, budgetMs);
      if (unanswered) warnings.push(`BIRD was not asked on ${unanswered} of ${ask.length} nodes within ${Math.round(budgetMs / 1000)}s; for those ${events}`);
    }
  }
  const findings = diagnose({ results: probes, facts: read, notReady: deployed.notReady, notScheduled: nodes.notScheduled, namespace: options.namespace });
  const scenarios = runs.map((r) => scenarioReport(r.scenario.name, r.scenario.summary, r.probes, r.unavailable));
  const tally = <T extends string, K extends string>(values: T[], keys: Record<K, T>) => Object.fromEntries(Object.entries(keys).map(([key, value]) => [key, values.filter((v) => v === value).length])) as Record<K, number>;
  const probedSet = new Set(probed);
  const notReadyOn = new Map<string, NotReadyPod[]>();
  for (const pod of deployed.notReady) notReadyOn.set(pod.node, [...(notReadyOn.get(pod.node) ?? []), pod]);
  const notProbed = nodes.eligible.filter((n) => !probedSet.has(n)).map((node) => ({ node, reason: describeNotReady(notReadyOn.get(node) ?? []) }));
  const doc: ConnectivityDoc = {
    namespace: options.namespace,
    image: options.image,
    nodes: { selected: nodes.selected.length, probed: probed.length, notProbed: [...nodes.notScheduled, ...notProbed] },
    pairs: { probed: probedPairs(probes), total: probed.length * (probed.length - 1) },
    scenarios,
    probes,
    findings,
    summary: {
      scenarios: tally(scenarios.map((s) => s.result), { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' }),
      probes: tally(probes.map((p) => p.result), { passed: 'PASS', failed: 'FAIL', errors: 'ERROR', skipped: 'SKIP' }),
    },
    cleanup: options.keep ? 'kept' : 'deleted',
    seconds: 0,
  };
  return { doc, warnings };
}

/** Removes the namespace and waits until it is gone; with --keep, only the test's policies. */
async function cleanUp(kube: KubeClient, options: ConnectivityOptions, progress: RunProgress, signal: AbortSignal): Promise<void> {
  if (options.keep) {
    // Kept pods are left as pods are: under no policy of the test's.
    await setPolicies(kube, options.namespace, [], signal, (line) => progress.log(line));
    return;
  }
  progress.phase('cleaning up');
  const at = performance.now();
  if (await deleteNamespace(kube, options.namespace, signal)) progress.log(`namespace/${options.namespace} deleted (${((performance.now() - at) / 1000).toFixed(1)}s)`);
}

interface SelectedNodes {
  objects: NodeObject[];
  selected: string[];
  /** Selected nodes the pods can run on. */
  eligible: string[];
  notScheduled: { node: string; reason: string }[];
}

async function selectNodes(kube: KubeClient, options: ConnectivityOptions, signal: AbortSignal): Promise<SelectedNodes> {
  const objects = await pickNodes<NodeObject>(kube, options.pick, signal);
  const selected = objects.map((n) => n.metadata.name).sort();
  const notScheduled = objects.flatMap((n) => {
    const taint = blockingTaint({ name: n.metadata.name, taints: n.spec?.taints ?? [] });
    return taint ? [{ node: n.metadata.name, reason: taint }] : [];
  }).sort((a, b) => a.node.localeCompare(b.node));
  const blocked = new Set(notScheduled.map((s) => s.node));
  const eligible = selected.filter((n) => !blocked.has(n));
  if (eligible.length === 0) throw new CliError(`the connectivity pods can run on none of the selected nodes: ${notScheduled.map((s) => `${s.node} (taint ${s.reason})`).join(', ')}`);
  return { objects, selected, eligible, notScheduled };
}

/** Two nodes for the hostNetwork pods: the first, and one in another subnet if there is one (that path differs). */
function pickHostNodes(nodes: string[], networks: Map<string, NodeNetwork>): string[] {
  const first = nodes[0]!;
  const subnet = (node: string) => { const n = networks.get(node); return n && nodeSubnet(n); };
  const other = nodes.find((n) => n !== first && subnet(n) !== subnet(first)) ?? nodes.find((n) => n !== first);
  return other ? [first, other] : [first];
}


interface ScenarioRun {
  scenario: Scenario;
  unavailable: string | undefined;
  probes: ProbeResult[];
}

/** Every selected scenario, phase by phase; a policy probe runs only where its path worked without policy. */
async function probeScenarios(kube: KubeClient, options: ConnectivityOptions, topology: Topology, plan: PlanOptions, progress: RunProgress, signal: AbortSignal): Promise<ScenarioRun[]> {
  const runs: ScenarioRun[] = options.scenarios.map((scenario) => ({ scenario, unavailable: scenario.unavailable?.(topology, plan), probes: [] }));
  const planned = new Map(runs.map((r) => [r, r.unavailable === undefined ? r.scenario.probes(topology, plan) : []]));
  progress.planned([...planned.values()].reduce((n, p) => n + p.length, 0));
  const execute = (o: { pod: string; command: string[]; timeoutMs: number; signal?: AbortSignal }) => exec(kube, { namespace: options.namespace, container: CONTAINER, ...o });
  for (const phase of PHASES) {
    const inPhase = runs.filter((r) => r.scenario.phase === phase && planned.get(r)!.length);
    if (!inPhase.length) continue;
    // Per scenario and source node: whether an earlier probe passed there (absent: none ran).
    const earlier = new Map<string, boolean>();
    for (const p of runs.flatMap((r) => r.probes)) earlier.set(`${p.scenario}\n${p.from.node}`, earlier.get(`${p.scenario}\n${p.from.node}`) === true || p.result === 'PASS');
    // A basic scenario that was not run (filtered out by --test) does not hold a policy probe back.
    const passedOn = (scenario: string, node: string) => earlier.get(`${scenario}\n${node}`) ?? true;
    let settleUntil: number | undefined;
    if (phase !== 'basic') {
      progress.phase(`applying the ${phase} policies`);
      await setPolicies(kube, options.namespace, PHASE_POLICIES[phase], signal, (line) => progress.log(line));
      settleUntil = Date.now() + POLICY_SETTLE_MS;
    }
    progress.phase(phase === 'basic' ? 'probing' : `probing under the ${phase} policies`);
    const runnable: Probe[] = [];
    for (const run of inPhase) {
      for (const probe of planned.get(run)!) {
        if (probe.requires && !passedOn(probe.requires.scenario, probe.requires.node)) {
          const skipped: ProbeResult = { ...probe, result: 'SKIP', detail: `${probe.requires.scenario} fails on ${probe.requires.node}`, attempts: 0, seconds: 0 };
          run.probes.push(skipped);
          progress.done(skipped);
        } else runnable.push(probe);
      }
    }
    const results = await runProbes(execute, runnable, { signal, settleUntil, onStart: (p) => progress.start(p), onDone: (r, p) => progress.done(r, p) });
    const byName = new Map(inPhase.map((r) => [r.scenario.name, r]));
    for (const result of results) byName.get(result.scenario)!.probes.push(result);
  }
  return runs;
}
