// Shared by the tests: run the built binary, real kubectl and the test cluster.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { servedVersions, startCluster, type ClusterOptions, type TestCluster } from './cluster/cluster.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const DIST = path.join(ROOT, 'dist');
export const BINARY = path.join(DIST, 'kubectl-calico');
export const SHARED_CALICO = path.resolve(ROOT, '..', 'shared', 'calico');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Go's garbage collector at its default pace (GOGC=100) collects several times while kubectl starts, about a
 * fifth of the CPU of `kubectl calico version` (110 → 87 ms, measured); the suite runs kubectl ~2,000 times, on
 * two cores. GOGC only paces the collector: what kubectl does and prints is the same.
 */
const GO_GC = { GOGC: '400' };

/**
 * Runs a program without blocking the event loop (the test cluster lives in this process). Tests give the
 * plugin a --timeout below the 60 s limit here, so a stuck run reports what is stuck instead of being killed.
 */
export function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: { ...GO_GC, ...(options.env ?? process.env) }, cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** A new directory in $TMPDIR, removed when this test process exits. */
export function tempDir(prefix = 'kubectl-calico-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** What tempDir made: a suite's homes, folders and the release test's krew install (~300 MB) would stay in $TMPDIR. */
const madeDirs: string[] = [];
process.on('exit', () => {
  for (const dir of madeDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // A directory a test made unreadable: left, as before.
    }
  }
});

/** An environment like a user's shell: no KUBECONFIG, a fresh HOME (kubectl's caches live there). */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: `${DIST}:/usr/bin:/bin`, HOME: tempDir('home-'), ...GO_GC, ...extra };
}

/** The built binary, run directly. */
export function plugin(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Result> {
  return run(BINARY, args, { env });
}

/** Real kubectl (the client matching the server, see kubectlFor), with a fresh HOME unless given. */
export async function kubectl(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Result> {
  return withoutStreamRace(await run(kubectlFor(args, env), args, { env }));
}

const KUBECTL = '/usr/bin/kubectl';
/** Where gcloud's kubectl dispatcher keeps the clients it runs: kubectl.1.27 … kubectl.1.33. */
const CLIENTS = '/usr/lib/google-cloud-sdk/bin';
const DISPATCHER = fs.existsSync(KUBECTL) && fs.realpathSync(KUBECTL) === path.join(CLIENTS, 'kubectl');

/**
 * The kubectl that /usr/bin/kubectl runs for `args` in `env`. On this machine it is gcloud's dispatcher: it asks
 * the server its version (a Go start-up and a TLS connection, half the CPU of a short kubectl command), then
 * execs kubectl.1.<minor>, the same arguments and environment, or serves the command with its own v1.32 client
 * when it has none for that minor. When the server is a test cluster of this process, named by the current
 * context of the one file in KUBECONFIG and by no flag, its version is known here, and the client it would
 * pick is run directly; in every other case, the dispatcher.
 */
export function kubectlFor(args: string[], env: NodeJS.ProcessEnv): string {
  if (!DISPATCHER || args.some((arg) => /^(--kubeconfig|--context|--cluster|--server|-s)(=|$)|^-s./.test(arg))) return KUBECTL;
  const file = env.KUBECONFIG;
  if (!file || file.includes(path.delimiter)) return KUBECTL;
  const version = servedVersions.get(currentServer(file) ?? '');
  const client = version && path.join(CLIENTS, `kubectl.1.${Number(version.split('.')[1])}`);
  return client && fs.existsSync(client) ? client : KUBECTL;
}

/** The server of a kubeconfig's current context. */
function currentServer(file: string): string | undefined {
  try {
    const config = parse(fs.readFileSync(file, 'utf8')) as { 'current-context'?: string; contexts?: { name: string; context: { cluster: string } }[]; clusters?: { name: string; cluster: { server: string } }[] };
    const cluster = config.contexts?.find((c) => c.name === config['current-context'])?.context.cluster;
    return config.clusters?.find((c) => c.name === cluster)?.cluster.server;
  } catch {
    return undefined;
  }
}

/**
 * kube-apiserver writes an empty message on the lowest output stream as soon as an exec's WebSocket is open
 * (wsstream: "notify the client the connection is established"); kubectl 1.30–1.33 starts reading before it has
 * made its streams, and when that message wins the race it logs this line and drops the (empty) message —
 * kubernetes/kubernetes#131189, fixed in client-go by #131203. It says nothing about the cluster; a dropped message
 * with content would show as missing output, which the tests compare.
 */
const STREAM_RACE = /^E\d{4} [\d:.]+ +\d+ websocket\.go:\d+\] Unknown stream id 1, discarding message\n/m;

/** A kubectl run's result without the log line of that race (only that line: any other is kept and compared). */
export function withoutStreamRace(result: Result): Result {
  return { ...result, stderr: result.stderr.replace(STREAM_RACE, '') };
}

/** Starts a cluster with its kubeconfig written to a file, runs `body`, stops the cluster. */
export async function withCluster<T>(options: ClusterOptions, body: (cluster: TestCluster & { kubeconfigPath: string }) => Promise<T>): Promise<T> {
  const kubeconfigPath = path.join(tempDir('cluster-'), 'kubeconfig');
  const cluster = await startCluster({ ...options, kubeconfigPath });
  try {
    return await body({ ...cluster, kubeconfigPath });
  } finally {
    await cluster.stop();
  }
}

// Objects named by controllers with random suffixes (a pod's IPAM handle: its sandbox's id), and records of what happened, differ between any two runs.
const VOLATILE = new Set(['pods', 'replicasets.apps', 'events', 'events.events.k8s.io', 'leases.coordination.k8s.io', 'controllerrevisions.apps', 'endpointslices.discovery.k8s.io', 'ipamhandles.crd.projectcalico.org']);

/** Every lasting object in the cluster as `resource namespace/name`, sorted: two installs that converged have the same set. */
export function objectSet(cluster: TestCluster): string[] {
  return cluster.api.store.resources().filter((r) => !VOLATILE.has(r))
    .flatMap((r) => cluster.api.store.list(r).map((o) => `${r} ${o.metadata.namespace ?? ''}/${o.metadata.name}`))
    .sort();
}

/** Polls `check` until it returns a value (test clusters run in real time, fast timings). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A repeatable random source for tests (the test cluster's fault knobs, connectivity's pair sampling): a linear congruential generator. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    // In 32-bit integer arithmetic: as a float product the state lost its low bits and fell into short cycles,
    // and crossNodePairs' rejection sampling, drawing from such a cycle, never found a free pair (a unit run hung).
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 2 ** 31;
  };
}

/** A local mirror of the Calico release location serving `dir`'s files, counting what it serves. */
export async function mirror(dir: string): Promise<{ url: string; served: string[]; close(): Promise<void> }> {
  const served: string[] = [];
  const server = http.createServer((request, response) => {
    const file = path.join(dir, path.basename(request.url ?? ''));
    served.push(path.basename(request.url ?? ''));
    if (!fs.existsSync(file)) return void response.writeHead(404).end();
    response.end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/calico/v3.29.0`, served, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * A user's shell for `cluster` (a fresh HOME and cache) in which `kubectl calico init` has written HOME/calico;
 * with `podCidr` null, init reads the pool from the cluster's podSubnet.
 */
export async function initialized(cluster: { kubeconfigPath: string }, version = 'v3.29.0', podCidr: string | null = '10.97.0.0/16'): Promise<{ home: string; env: NodeJS.ProcessEnv; dir: string; calico: (...args: string[]) => Promise<Result> }> {
  const home = tempDir('calico-');
  const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
  const dir = path.join(home, 'calico');
  const calico = (...args: string[]) => kubectl(['calico', ...args], env);
  const init = await calico('init', ...(podCidr ? ['--pod-cidr', podCidr] : []), '--calico-version', version, '--manifests-from', path.join(SHARED_CALICO, version), '--dir', dir);
  if (init.code !== 0) throw new Error(`kubectl calico init failed: ${init.stderr}`);
  return { home, env, dir, calico };
}

/** An image that never pulls in execPods(): start the cluster with `podFaults: { failingImages: [UNPULLABLE] }`. */
export const UNPULLABLE = 'example.invalid/unpullable';

/**
 * Pods to exec into, in `default` (hostNetwork, so that no CNI is needed), running or deliberately not:
 * `agn` on kubernetes-worker-01 (containers `agnhost`, agnhost's image, and `node`, calico/node's), `lone` on
 * kubernetes-worker-02 (`agnhost`), `pulling` (its image never pulls) and `pending` (no node fits it); and users
 * `exec-get` (get on pods and pods/exec in `default`), `exec-get-create` (create on pods/exec as well) and
 * `exec-create` (get on pods, only create on pods/exec: what SPDY needed), by token.
 */
export async function execPods(cluster: TestCluster): Promise<{ tokens: { get: string; getCreate: string; create: string } }> {
  const { api } = cluster;
  const type = (key: string) => api.registry.byKey(key)!;
  const write = { fieldManager: 'kubectl-client-side-apply' };
  const agnhost = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
  const pod = (name: string, spec: object) => api.create(type('pods'), 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec }, write);
  pod('agn', { hostNetwork: true, nodeName: 'kubernetes-worker-01', containers: [{ name: 'agnhost', image: agnhost }, { name: 'node', image: 'docker.io/calico/node:v3.29.0' }] });
  pod('lone', { hostNetwork: true, nodeName: 'kubernetes-worker-02', containers: [{ name: 'agnhost', image: agnhost }] });
  pod('pulling', { hostNetwork: true, nodeName: 'kubernetes-worker-02', containers: [{ name: 'app', image: `${UNPULLABLE}:1` }] });
  pod('pending', { nodeSelector: { 'example.com/nowhere': 'true' }, containers: [{ name: 'app', image: agnhost }] });
  const role = (name: string, verbs: string[]) => {
    api.create(type('roles.rbac.authorization.k8s.io'), 'default', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: 'default' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: [''], resources: ['pods/exec'], verbs }] }, write);
    api.create(type('rolebindings.rbac.authorization.k8s.io'), 'default', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: 'default' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }] }, write);
    return cluster.addUser(name);
  };
  const tokens = { get: role('exec-get', ['get']), getCreate: role('exec-get-create', ['get', 'create']), create: role('exec-create', ['create']) };
  const state = (name: string) => ((api.store.get('pods', 'default', name)?.status as { containerStatuses?: { state: Record<string, { reason?: string }> }[] } | undefined)?.containerStatuses ?? []).map((s) => s.state);
  await eventually(() => state('agn').every((s) => s.running) && state('agn').length === 2 && state('lone')[0]?.running && state('pulling')[0]?.waiting?.reason?.includes('ImagePull'));
  return { tokens };
}
