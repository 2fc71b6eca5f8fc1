// What connectivity replaces: the guide's "run a busybox pod and wget"
// advice, done for the same probes by a shell script of kubectl commands — a
// `kubectl run` of an echo pod (agnhost serve-hostname) and a client pod
// (agnhost pause) pinned to every node, two hostNetwork echo pods, `kubectl
// expose` for the Service, `kubectl wait` for them all, then one `kubectl
// exec` per probe, one after the other (dig first for a name), the
// NetworkPolicies applied and removed between the phases, and `kubectl delete
// namespace` at the end. The probes are the plugin's own (the scenario
// functions of src/calico/connectivity/scenarios.ts on the same nodes, the
// same image and agnhost/dig command lines), so both sides make the same
// number of probes and execs; each result is checked.
//
// On 3 nodes the script runs whole. On 500 it runs on a sample of the nodes
// (the plugin's rules on them; cross-node pairs limited to as many as there are
// nodes) and is scaled linearly, step by step: the time of a `kubectl run`
// times the pods the full run makes, the time of an exec times its execs
// (one whose connection a policy blocks apart: it waits agnhost's 1 s
// --timeout), plus what does not grow with the nodes (the namespace, the
// Service, the wait, the policies, the delete) as measured on the sample.
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_IMAGE, DEFAULT_MAX_PAIRS } from '../src/calico/connectivity/defaults.ts';
import { ECHO_PORT, HOST_PORT, PHASES, SCENARIOS, SERVICE_PORT, type Phase, type Probe, type Topology } from '../src/calico/connectivity/scenarios.ts';
import { measure, withClusterProcess, type Measurement } from './measure.ts';
import { KUBECTL } from './startup.ts';

const NAMESPACE = 'connectivity-by-hand';
/** Nodes the script runs on when the cluster is large (npm run bench on 500): about a minute of kubectl. */
export const SCRIPT_SAMPLE_NODES = 10;
/** Scenarios that need what the plugin was not given (--external-target) or a dual-stack cluster are left out on both sides. */
const SKIPPED = new Set(['pod-to-external', 'pod-to-pod-same-node-ipv6', 'pod-to-pod-cross-node-ipv6', 'pod-to-service-ipv6']);

export interface ScriptPlan {
  nodes: number;
  pods: number;
  probes: number;
  /** Execs of probes that should connect or resolve (a probe by name is two: dig, then agnhost connect). */
  execs: number;
  /** Execs of probes a policy should block: each waits agnhost's --timeout. */
  blocked: number;
}

export interface ConnectivityScriptFigures extends Measurement {
  nodes: number;
  /** What the script ran (the sample, on a large cluster). */
  ran: ScriptPlan;
  /** What the plugin's run on every node makes: the figures the estimate is scaled to. */
  full: ScriptPlan;
  /** Seconds a step costs, as measured: a `kubectl run`, an exec, a blocked exec; and the steps that do not grow with the nodes. */
  perPod: number;
  perExec: number;
  perBlocked: number;
  fixed: number;
  /** The script's wall time for every node: measured when it ran whole, else scaled from the sample. */
  estimate: number;
  passed: number;
  failed: number;
  /** Requests kubectl made (execs apart), and its execs. */
  requests: number;
  execRequests: number;
}

/** A deterministic random for the cross-node pairs (the plugin draws its own; only their number matters here). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The plugin's probes on these nodes, with the addresses as shell variables the script sets once its pods are up. */
function plan(nodes: string[], maxPairs: number): { probes: Probe[]; topology: Topology } {
  const end = (component: string, node: string) => ({ pod: `${component}${nodes.indexOf(node)}`, node, ips: [`$${component}${nodes.indexOf(node)}`] });
  const hostNodes = nodes.length > 1 ? [nodes[0]!, nodes[1]!] : [nodes[0]!];
  const topology: Topology = {
    nodes,
    echo: new Map(nodes.map((n) => [n, end('echo', n)])),
    client: new Map(nodes.map((n) => [n, end('client', n)])),
    hosts: hostNodes.map((node, i) => ({ pod: `host${i}`, node, ips: [`$host${i}`] })),
    service: { name: 'echo', ips: ['$svc'], port: SERVICE_PORT },
    subnets: new Map(),
  };
  const options = { maxPairs, externalTarget: undefined, random: seeded(20) };
  const probes = SCENARIOS.filter((s) => !SKIPPED.has(s.name) && !s.unavailable?.(topology, options)).flatMap((s) => s.probes(topology, options));
  return { probes, topology };
}

function count(nodes: string[], maxPairs: number): ScriptPlan {
  const { probes, topology } = plan(nodes, maxPairs);
  const execsOf = (p: Probe) => (p.to.ip === undefined && p.expect !== 'resolve' ? 2 : 1);
  return {
    nodes: nodes.length,
    pods: topology.echo.size + topology.client.size + topology.hosts.length,
    probes: probes.length,
    execs: probes.filter((p) => p.expect !== 'blocked').reduce((n, p) => n + execsOf(p), 0),
    blocked: probes.filter((p) => p.expect === 'blocked').length,
  };
}

const POLICIES: Record<string, string> = {
  'default-deny-ingress': 'spec: {podSelector: {}, policyTypes: [Ingress]}',
  'allow-ingress-from-client': 'spec: {podSelector: {matchLabels: {app: echo}}, policyTypes: [Ingress], ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]}',
  'default-deny-egress': 'spec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]}]}',
};

const policyYaml = (name: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}}\n${POLICIES[name]}\n`;

/** A word in double quotes: `$name` expands, nothing else does. */
const word = (w: string) => (/^[\w./=+:@-]+$/.test(w) ? w : `"${w.replace(/["\\`]/g, '\\$&')}"`);

/** The script: sh, the exact kubectl client, a line per probe, `@ STEP TIME` on stderr where the kind of step changes. */
export function script(nodes: string[], maxPairs: number): string {
  const { probes, topology } = plan(nodes, maxPairs);
  const k = 'k';
  const overrides = (node: string, host = false) => `'${JSON.stringify({ spec: { nodeName: node, terminationGracePeriodSeconds: 0, ...(host ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}) } })}'`;
  const lines = [
    'set -u',
    `KUBECTL=${KUBECTL}`,
    `IMAGE=${DEFAULT_IMAGE}`,
    `k() { "$KUBECTL" -n ${NAMESPACE} "$@"; }`,
    'mark() { echo "@ $1 $(date +%s.%N)" >&2; }',
    'ok=0 failed=0',
    '# check EXPECT LABEL COMMAND...: connect (exit 0) or blocked (exit 1), a line either way',
    'check() {',
    '  want=$1 label=$2; shift 2',
    '  if "$@" >/dev/null 2>&1; then got=connect; else got=blocked; fi',
    '  if [ "$got" = "$want" ]; then ok=$((ok + 1)); echo "PASS $label"; else failed=$((failed + 1)); echo "FAIL $label"; fi',
    '}',
    'mark fixed',
    // kubectl create namespace and create service send protobuf, which the test cluster does not read: a manifest instead.
    `printf 'apiVersion: v1\\nkind: Namespace\\nmetadata: {name: ${NAMESPACE}}\\n' | "$KUBECTL" create -f -`,
    'mark run',
    ...nodes.flatMap((node, i) => [
      `${k} run echo${i} --image=$IMAGE --labels=app=echo --overrides=${overrides(node)} -- serve-hostname --port=${ECHO_PORT}`,
      `${k} run client${i} --image=$IMAGE --labels=app=client --overrides=${overrides(node)} -- pause`,
    ]),
    ...topology.hosts.map((h, i) => `${k} run host${i} --image=$IMAGE --labels=app=host --overrides=${overrides(h.node, true)} -- serve-hostname --port=${HOST_PORT}`),
    'mark fixed',
    `${k} expose pod echo0 --name=echo --selector=app=echo --port=${SERVICE_PORT} --target-port=${ECHO_PORT}`,
    `${k} wait --for=condition=Ready pod --all --timeout=5m`,
    `eval "$(${k} get pods -o jsonpath='{range .items[*]}{.metadata.name}={.status.podIP}{"\\n"}{end}')"`,
    `svc=$(${k} get service echo -o jsonpath='{.spec.clusterIP}')`,
  ];
  const phasePolicies: Record<Phase, string[]> = { 'basic': [], 'ingress-deny': ['default-deny-ingress'], 'ingress-allow': ['allow-ingress-from-client'], 'egress': ['default-deny-egress'] };
  for (const phase of PHASES) {
    const inPhase = probes.filter((p) => SCENARIOS.find((s) => s.name === p.scenario)!.phase === phase);
    if (!inPhase.length) continue;
    if (phase === 'egress') lines.push('mark fixed', `${k} delete networkpolicy default-deny-ingress allow-ingress-from-client`);
    for (const name of phasePolicies[phase]) lines.push('mark fixed', `${k} apply -f - <<'EOF'\n${policyYaml(name)}EOF`);
    let step = '';
    for (const p of inPhase) {
      const kind = p.expect === 'blocked' ? 'blocked' : 'exec';
      if (kind !== step) lines.push(`mark ${kind}`);
      step = kind;
      const label = `${p.scenario} ${p.from.pod} -> ${p.to.pod ?? p.to.name ?? 'service'}`;
      const exec = `${k} exec ${p.from.pod} --`;
      if (p.to.ip === undefined) {
        // By name: dig with the pod's search path, then (unless only the lookup is probed) agnhost connect to what it found.
        lines.push(`a=$(${exec} ${p.command.map(word).join(' ')} 2>/dev/null | head -n 1)`);
        if (p.expect === 'resolve') lines.push(`check connect ${word(label)} test -n "$a"`);
        else lines.push(`check ${p.expect} ${word(label)} ${exec} /agnhost connect "$a:${p.to.port}" --timeout=${p.timeoutSeconds}s`);
      } else lines.push(`check ${p.expect} ${word(label)} ${exec} ${p.command.map(word).join(' ')}`);
    }
  }
  lines.push('mark fixed', `"$KUBECTL" delete namespace ${NAMESPACE}`, 'mark end', 'echo "$((ok + failed)) probes: $ok passed, $failed failed"', '[ "$failed" -eq 0 ]');
  return `${lines.join('\n')}\n`;
}

/**
 * The script on a fresh `--nodes N --calico v3.29.0` test cluster: whole when `sample` covers every node, else
 * on `sample` nodes spread over the list, scaled to every node.
 */
export async function benchConnectivityScript(nodes: number, sample = nodes): Promise<ConnectivityScriptFigures> {
  return withClusterProcess('connectivity-script', ['--nodes', String(nodes), '--calico', 'v3.29.0'], async (cluster) => {
    const env = cluster.env;
    const list = await measure([KUBECTL, 'get', 'nodes', '-o', 'name'], env); // also warms kubectl's discovery cache
    const all = list.stdout.split('\n').filter(Boolean).map((n) => n.replace(/^node\//, '')).sort();
    await measure([KUBECTL, 'api-resources'], env);
    const whole = sample >= all.length;
    const chosen = whole ? all : all.filter((_, i) => i % Math.floor(all.length / sample) === 0).slice(0, sample);
    const maxPairs = whole ? DEFAULT_MAX_PAIRS : chosen.length;
    const file = path.join(cluster.home, 'connectivity.sh');
    fs.writeFileSync(file, script(chosen, maxPairs));
    const before = cluster.requests().length;
    const run = await measure(['/bin/sh', file], env);
    const served = cluster.requests().slice(before);
    const summary = /(\d+) probes: (\d+) passed, (\d+) failed/.exec(run.stdout);
    if (!summary) throw new Error(`the script stopped (exit ${run.code}): ${run.stderr.slice(-2000)}`);
    // Time spent in each kind of step, from the marks.
    const marks = [...run.stderr.matchAll(/^@ (\w+) ([\d.]+)$/gm)].map((m) => ({ step: m[1]!, at: Number(m[2]) }));
    const spent: Record<string, number> = {};
    for (let i = 0; i + 1 < marks.length; i++) spent[marks[i]!.step] = (spent[marks[i]!.step] ?? 0) + marks[i + 1]!.at - marks[i]!.at;
    const ran = count(chosen, maxPairs);
    const full = count(all, DEFAULT_MAX_PAIRS);
    const perPod = (spent.run ?? 0) / ran.pods;
    const perExec = (spent.exec ?? 0) / ran.execs;
    const perBlocked = ran.blocked ? (spent.blocked ?? 0) / ran.blocked : 0;
    const fixed = spent.fixed ?? 0;
    const estimate = whole ? run.seconds : fixed + perPod * full.pods + perExec * full.execs + perBlocked * full.blocked;
    const execRequests = served.filter((r) => r.path.includes('/exec')).length;
    return {
      ...run, nodes, ran, full, perPod, perExec, perBlocked, fixed, estimate,
      passed: Number(summary[2]), failed: Number(summary[3]), requests: served.length - execRequests, execRequests,
    };
  });
}

if (import.meta.main) {
  const nodes = Number(process.argv[2] ?? 3);
  const sample = Number(process.argv[3] ?? nodes);
  if (process.argv[4] === '--print') {
    process.stdout.write(script(Array.from({ length: sample }, (_, i) => `node-${i}`), sample >= nodes ? DEFAULT_MAX_PAIRS : sample));
    process.exit(0);
  }
  const r = await benchConnectivityScript(nodes, sample);
  process.stdout.write(`kubectl run/exec script on ${nodes} nodes${r.ran.nodes < nodes ? ` (sample of ${r.ran.nodes})` : ''}: ${r.passed} passed, ${r.failed} failed (exit ${r.code}); ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU, ${r.peakMiB.toFixed(0)} MiB peak, ${r.lines} lines, ${r.requests} requests + ${r.execRequests} execs\n`);
  process.stdout.write(`  ran ${JSON.stringify(r.ran)}; full ${JSON.stringify(r.full)}\n`);
  process.stdout.write(`  ${r.perPod.toFixed(3)} s a kubectl run, ${r.perExec.toFixed(3)} s an exec, ${r.perBlocked.toFixed(3)} s a blocked exec, ${r.fixed.toFixed(1)} s fixed; ≈ ${r.estimate.toFixed(0)} s for every node\n`);
}
