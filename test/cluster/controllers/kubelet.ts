// The kubelets of every node: they run the pods bound to their node —
// sandbox (which needs a CNI unless hostNetwork), init containers, image
// pulls, container start, readiness — and write pod status, events and
// logs as the real kubelet does; the faults make pulls fail or containers
// crash-loop. Each kubelet also posts its node's Ready condition.
import { createHash } from 'node:crypto';
import { imageContents, NotSimulated, resolveProgram, type ProgramResult } from '../programs/index.ts';
import type { KubeObject } from '../types.ts';
import { setUpPodNetwork, tearDownPodNetwork } from './cni.ts';
import { nodeInternalIPs } from './ipam.ts';
import type { Runtime } from './runtime.ts';

interface Container {
  name: string;
  image: string;
  readinessProbe?: { exec?: { command?: string[] }; periodSeconds?: number; successThreshold?: number; failureThreshold?: number };
}

interface PodSpec {
  nodeName?: string;
  hostNetwork?: boolean;
  containers: Container[];
  initContainers?: Container[];
}

interface ContainerStatus {
  name: string;
  state: Record<string, Record<string, unknown>>;
  lastState: Record<string, Record<string, unknown>>;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started?: boolean;
}

interface PodStatus {
  phase?: string;
  conditions?: { type: string; status: string; lastProbeTime: null; lastTransitionTime: string; reason?: string; message?: string }[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
  qosClass?: string;
}

const NETWORK_NOT_READY = 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';

export function startKubelets(rt: Runtime): void {
  const running = new Set<string>();
  rt.watch(['pods'], (event) => {
    const pod = event.object;
    const uid = pod.metadata.uid;
    if (event.type === 'DELETED') {
      running.delete(uid);
      rt.logs.forget(pod.metadata.namespace!, pod.metadata.name);
      // A pod removed without its kubelet (a force delete): its sandbox is stopped all the same.
      rt.enqueue(`teardown/${uid}`, 0, () => tearDownPodNetwork(rt, pod));
      return;
    }
    const spec = pod.spec as PodSpec;
    if (!spec.nodeName) return;
    if (pod.metadata.deletionTimestamp) {
      rt.enqueue(`kill/${uid}`, rt.timings.termination, () => terminate(rt, pod));
      return;
    }
    if (!running.has(uid) && !(pod.status as PodStatus | undefined)?.startTime) {
      running.add(uid);
      rt.enqueue(`start/${uid}`, 0, () => admitPod(rt, pod.metadata.namespace!, pod.metadata.name, uid));
    }
  });
  rt.onNetworkChange((node) => {
    for (const pod of rt.podsByNode.get(node)) {
      if ((pod.status as PodStatus)?.startTime && !(pod.status as PodStatus).podIP) {
        rt.enqueue(`sandbox/${pod.metadata.uid}`, rt.timings.containerStart, () => sandbox(rt, pod.metadata.namespace!, pod.metadata.name, pod.metadata.uid));
      }
    }
    postNodeStatus(rt, node);
  });
}

/** The pod as it is now, if it is still the same pod and not being deleted. */
function live(rt: Runtime, namespace: string, name: string, uid: string): KubeObject | undefined {
  const pod = rt.api.store.get('pods', namespace, name);
  return pod && pod.metadata.uid === uid && !pod.metadata.deletionTimestamp ? pod : undefined;
}

function writeStatus(rt: Runtime, pod: KubeObject, change: (status: PodStatus, spec: PodSpec) => void): void {
  rt.api.mutate(rt.type('pods'), pod.metadata.namespace, pod.metadata.name, (p) => {
    const status = (p.status ??= {}) as PodStatus;
    change(status, p.spec as PodSpec);
    refreshConditions(status, p.spec as PodSpec, rt.now());
  }, { fieldManager: 'kubelet', subresource: 'status' });
}

function admitPod(rt: Runtime, namespace: string, name: string, uid: string): void {
  const pod = live(rt, namespace, name, uid);
  if (!pod) return;
  const spec = pod.spec as PodSpec;
  const hostIPs = nodeInternalIPs(rt, spec.nodeName!);
  writeStatus(rt, pod, (status) => {
    status.phase = 'Pending';
    status.hostIP = hostIPs[0];
    status.hostIPs = hostIPs.map((ip) => ({ ip }));
    status.startTime = rt.now();
    status.initContainerStatuses = spec.initContainers?.map((c) => waiting(c, 'PodInitializing'));
    if (!status.initContainerStatuses) delete status.initContainerStatuses;
    status.containerStatuses = spec.containers.map((c) => waiting(c, spec.initContainers?.length ? 'PodInitializing' : 'ContainerCreating'));
  });
  sandbox(rt, namespace, name, uid);
}

/** The pod sandbox needs pod networking from a CNI, unless the pod uses the host's network. */
function sandbox(rt: Runtime, namespace: string, name: string, uid: string): void {
  const pod = live(rt, namespace, name, uid);
  if (!pod || (pod.status as PodStatus).podIP) return;
  const spec = pod.spec as PodSpec;
  if (!spec.hostNetwork && !rt.networkReady(spec.nodeName!)) {
    rt.event(pod, 'Warning', 'NetworkNotReady', `network is not ready: ${NETWORK_NOT_READY}`, { component: 'kubelet', host: spec.nodeName! });
    return;
  }
  // A hostNetwork pod's IPs are its node's (both families on a dual-stack node: kubelet_pods.go generateAPIPodStatus).
  const network = spec.hostNetwork ? { ips: nodeInternalIPs(rt, spec.nodeName!) } : setUpPodNetwork(rt, pod);
  if ('error' in network) {
    // The pod worker tries again after its back-off, with a new sandbox.
    rt.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${network.error}`, { component: 'kubelet', host: spec.nodeName! });
    rt.enqueue(`sandbox/${uid}`, rt.timings.backOff, () => sandbox(rt, namespace, name, uid));
    return;
  }
  writeStatus(rt, pod, (status) => {
    status.podIP = network.ips[0];
    status.podIPs = network.ips.map((ip) => ({ ip }));
  });
  runInit(rt, namespace, name, uid, 0);
}

function runInit(rt: Runtime, namespace: string, name: string, uid: string, index: number): void {
  const pod = live(rt, namespace, name, uid);
  if (!pod) return;
  const init = (pod.spec as PodSpec).initContainers ?? [];
  if (index >= init.length) {
    for (const container of (pod.spec as PodSpec).containers) pullImage(rt, namespace, name, uid, container, false, () => startContainer(rt, namespace, name, uid, container));
    return;
  }
  const container = init[index]!;
  pullImage(rt, namespace, name, uid, container, true, () => {
    const current = live(rt, namespace, name, uid);
    if (!current) return;
    const host = (current.spec as PodSpec).nodeName!;
    rt.event(current, 'Normal', 'Created', createdMessage(rt, container.name), { component: 'kubelet', host }, `spec.initContainers{${container.name}}`);
    rt.event(current, 'Normal', 'Started', `Started container ${container.name}`, { component: 'kubelet', host }, `spec.initContainers{${container.name}}`);
    rt.logs.append(namespace, name, container.name, `${container.name}: done`, rt.clock.now());
    rt.enqueue(`init/${uid}/${index}`, rt.timings.containerStart, () => {
      const after = live(rt, namespace, name, uid);
      if (!after) return;
      writeStatus(rt, after, (status) => {
        const entry = status.initContainerStatuses?.find((s) => s.name === container.name);
        if (entry) Object.assign(entry, { state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: rt.now(), finishedAt: rt.now(), containerID: containerID(uid, container.name) } }, ready: true, started: false, containerID: containerID(uid, container.name), imageID: imageID(container.image) });
        if (index + 1 >= init.length) for (const s of status.containerStatuses ?? []) s.state = { waiting: { reason: 'ContainerCreating' } };
      });
      runInit(rt, namespace, name, uid, index + 1);
    });
  });
}

/** Pulls an image, or fails to as the scenario says: ErrImagePull, then ImagePullBackOff, again and again. */
function pullImage(rt: Runtime, namespace: string, name: string, uid: string, container: Container, init: boolean, then: () => void, attempt = 0): void {
  const pod = live(rt, namespace, name, uid);
  if (!pod) return;
  const host = (pod.spec as PodSpec).nodeName!;
  const fieldPath = `spec.${init ? 'initContainers' : 'containers'}{${container.name}}`;
  rt.event(pod, 'Normal', 'Pulling', `Pulling image "${container.image}"`, { component: 'kubelet', host }, fieldPath);
  rt.enqueue(`pull/${uid}/${container.name}`, rt.timings.imagePull, () => {
    const current = live(rt, namespace, name, uid);
    if (!current) return;
    const unreachable = pullError(rt.faults, container.image);
    if (!unreachable && !rt.faults.failingImages.some((image) => container.image.includes(image))) {
      const seconds = (rt.timings.imagePull / 1000).toFixed(3);
      rt.event(current, 'Normal', 'Pulled', `Successfully pulled image "${container.image}" in ${seconds}s (${seconds}s including waiting). Image size: 72548310 bytes.`, { component: 'kubelet', host }, fieldPath);
      return then();
    }
    const reference = normalizeImage(container.image);
    const error = unreachable ?? `rpc error: code = NotFound desc = failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ${reference}: not found`;
    setWaiting(rt, current, container.name, init, 'ErrImagePull', error);
    rt.event(current, 'Warning', 'Failed', `Failed to pull image "${container.image}": ${error}`, { component: 'kubelet', host }, fieldPath);
    rt.event(current, 'Warning', 'Failed', 'Error: ErrImagePull', { component: 'kubelet', host }, fieldPath);
    const backOff = rt.timings.backOff * Math.min(8, 2 ** attempt);
    rt.enqueue(`backoff/${uid}/${container.name}`, backOff / 2, () => {
      const later = live(rt, namespace, name, uid);
      if (!later) return;
      setWaiting(rt, later, container.name, init, 'ImagePullBackOff', `Back-off pulling image "${container.image}"`);
      rt.event(later, 'Normal', 'BackOff', `Back-off pulling image "${container.image}"`, { component: 'kubelet', host }, fieldPath);
      rt.event(later, 'Warning', 'Failed', 'Error: ImagePullBackOff', { component: 'kubelet', host }, fieldPath);
      rt.enqueue(`retry/${uid}/${container.name}`, backOff, () => pullImage(rt, namespace, name, uid, container, init, then, attempt + 1));
    });
  });
}

function startContainer(rt: Runtime, namespace: string, name: string, uid: string, container: Container): void {
  const pod = live(rt, namespace, name, uid);
  if (!pod) return;
  const host = (pod.spec as PodSpec).nodeName!;
  const fieldPath = `spec.containers{${container.name}}`;
  rt.event(pod, 'Normal', 'Created', createdMessage(rt, container.name), { component: 'kubelet', host }, fieldPath);
  rt.event(pod, 'Normal', 'Started', `Started container ${container.name}`, { component: 'kubelet', host }, fieldPath);
  for (const line of startupLog(container)) rt.logs.append(namespace, name, container.name, line, rt.clock.now());
  writeStatus(rt, pod, (status) => {
    const entry = status.containerStatuses?.find((s) => s.name === container.name);
    if (entry) Object.assign(entry, { state: { running: { startedAt: rt.now() } }, started: true, containerID: containerID(uid, container.name), imageID: imageID(container.image) });
    if (!status.containerStatuses?.some((s) => s.state.waiting)) status.phase = 'Running';
  });
  const crashing = rt.faults.crashingContainers.some((spec) => {
    const [ns, prefix, c] = spec.split('/');
    return ns === namespace && name.startsWith(prefix ?? '') && c === container.name;
  });
  rt.enqueue(`ready/${uid}/${container.name}`, rt.timings.readiness, () => (crashing ? crash(rt, namespace, name, uid, container) : probeReadiness(rt, namespace, name, uid, container)));
}

function setReady(rt: Runtime, namespace: string, name: string, uid: string, container: string, ready = true): void {
  const pod = live(rt, namespace, name, uid);
  if (!pod) return;
  writeStatus(rt, pod, (status) => {
    const entry = status.containerStatuses?.find((s) => s.name === container);
    if (entry) entry.ready = ready;
  });
}

/**
 * The readiness probe of a started container as the kubelet's prober runs it:
 * at once, then every periodSeconds; ready after successThreshold successes
 * in a row, unready after failureThreshold failures in a row; each failure an
 * Unhealthy event carrying the probe's output. An exec probe runs the image's
 * program (programs/), as `kubectl exec` would. Other probes, and programs the
 * model does not simulate, are not run: the container is ready once started.
 */
function probeReadiness(rt: Runtime, namespace: string, name: string, uid: string, container: Container, streak = { ok: false, count: 0 }): void {
  const pod = live(rt, namespace, name, uid);
  const entry = (pod?.status as PodStatus | undefined)?.containerStatuses?.find((s) => s.name === container.name);
  if (!pod || !entry?.state.running) return;
  const probe = container.readinessProbe;
  const image = imageContents(container.image);
  const argv = probe?.exec?.command;
  if (!probe || !image || !argv?.length) return setReady(rt, namespace, name, uid, container.name);
  const found = resolveProgram(image, argv[0]!);
  const conclude = (result: ProgramResult) => {
    const now = live(rt, namespace, name, uid);
    const current = (now?.status as PodStatus | undefined)?.containerStatuses?.find((s) => s.name === container.name);
    if (!now || !current?.state.running || current.restartCount !== entry.restartCount) return;
    const ok = result.exitCode === 0;
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    if (!ok) rt.event(now, 'Warning', 'Unhealthy', `Readiness probe ${result.exitCode < 0 ? 'errored' : 'failed'}: ${output}`, { component: 'kubelet', host: (now.spec as PodSpec).nodeName! }, `spec.containers{${container.name}}`);
    const next = streak.ok === ok ? { ok, count: streak.count + 1 } : { ok, count: 1 };
    if (next.count >= (ok ? probe.successThreshold ?? 1 : probe.failureThreshold ?? 3) && current.ready !== ok) setReady(rt, namespace, name, uid, container.name, ok);
    rt.enqueue(`probe/${uid}/${container.name}/${entry.restartCount}`, (probe.periodSeconds ?? 10) * 1000, () => probeReadiness(rt, namespace, name, uid, container, next));
  };
  if ('error' in found) return conclude({ exitCode: -1, stdout: `rpc error: code = Unknown desc = failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: ${found.error}: unknown` });
  try {
    // A program that answers at once is concluded at once, so that a cluster on a ManualClock needs no turn of the event loop.
    const result = found.program({ runtime: rt, pod, container, image, argv, stdin: async () => Buffer.alloc(0), signal: new AbortController().signal });
    if (result instanceof Promise) result.then(conclude, (error: unknown) => (error instanceof NotSimulated ? setReady(rt, namespace, name, uid, container.name) : Promise.reject(error)));
    else conclude(result);
  } catch (error) {
    if (!(error instanceof NotSimulated)) throw error;
    setReady(rt, namespace, name, uid, container.name);
  }
}

/** The container exits with an error; the kubelet restarts it after a back-off (CrashLoopBackOff). */
function crash(rt: Runtime, namespace: string, name: string, uid: string, container: Container): void {
  const pod = live(rt, namespace, name, uid);
  if (!pod) return;
  const host = (pod.spec as PodSpec).nodeName!;
  const message = `${container.name}: fatal error: cannot start (simulated crash)`;
  rt.logs.append(namespace, name, container.name, message, rt.clock.now());
  rt.logs.restart(namespace, name, container.name);
  writeStatus(rt, pod, (status) => {
    const entry = status.containerStatuses?.find((s) => s.name === container.name);
    if (!entry) return;
    const startedAt = (entry.state.running?.startedAt as string | undefined) ?? rt.now();
    entry.lastState = { terminated: { exitCode: 1, reason: 'Error', message, startedAt, finishedAt: rt.now(), containerID: containerID(uid, container.name) } };
    entry.restartCount += 1;
    entry.ready = false;
    entry.started = false;
    entry.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${container.name} pod=${name}_${namespace}(${uid})` } };
  });
  rt.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${container.name} in pod ${name}_${namespace}(${uid})`, { component: 'kubelet', host }, `spec.containers{${container.name}}`);
  rt.enqueue(`restart/${uid}/${container.name}`, rt.timings.backOff, () => startContainer(rt, namespace, name, uid, container));
}

function terminate(rt: Runtime, pod: KubeObject): void {
  const current = rt.api.store.get('pods', pod.metadata.namespace, pod.metadata.name);
  if (!current || current.metadata.uid !== pod.metadata.uid) return;
  const host = (current.spec as PodSpec).nodeName;
  for (const container of (current.spec as PodSpec).containers) {
    rt.event(current, 'Normal', 'Killing', `Stopping container ${container.name}`, { component: 'kubelet', ...(host ? { host } : {}) }, `spec.containers{${container.name}}`);
  }
  tearDownPodNetwork(rt, current);
  rt.api.delete(rt.type('pods'), current.metadata.namespace, current.metadata.name, { gracePeriodSeconds: 0, preconditions: { uid: current.metadata.uid } });
}

function setWaiting(rt: Runtime, pod: KubeObject, container: string, init: boolean, reason: string, message: string): void {
  writeStatus(rt, pod, (status) => {
    const list = init ? status.initContainerStatuses : status.containerStatuses;
    const entry = list?.find((s) => s.name === container);
    if (entry) entry.state = { waiting: { reason, message } };
  });
}

/** Pod conditions from container states, in the kubelet's order. */
function refreshConditions(status: PodStatus, spec: PodSpec, now: string): void {
  const previous = status.conditions ?? [];
  const set = (type: string, ok: boolean, reason?: string, message?: string) => {
    const old = previous.find((c) => c.type === type);
    const value = ok ? 'True' : 'False';
    return { type, status: value, lastProbeTime: null, lastTransitionTime: old?.status === value ? old.lastTransitionTime : now, ...(ok || !reason ? {} : { reason, message }) };
  };
  const pendingInit = (status.initContainerStatuses ?? []).filter((s) => !s.state.terminated).map((s) => s.name);
  const unready = (status.containerStatuses ?? []).filter((s) => !s.ready).map((s) => s.name);
  const scheduled = previous.find((c) => c.type === 'PodScheduled') ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now };
  status.conditions = [
    set('PodReadyToStartContainers', status.podIP !== undefined),
    set('Initialized', pendingInit.length === 0, 'ContainersNotInitialized', `containers with incomplete status: [${pendingInit.join(' ')}]`),
    set('Ready', unready.length === 0, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`),
    set('ContainersReady', unready.length === 0, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`),
    scheduled,
  ];
  if (spec.containers.length === 0) status.conditions = [scheduled];
}

function waiting(container: Container, reason: string): ContainerStatus {
  return { name: container.name, state: { waiting: { reason } }, lastState: {}, ready: false, restartCount: 0, image: normalizeImage(container.image), imageID: '', started: false };
}

/** The 1.32 kubelet added a colon to the Created event. */
function createdMessage(rt: Runtime, container: string): string {
  return rt.api.minor >= 32 ? `Created container: ${container}` : `Created container ${container}`;
}

/** `calico/node:v3.29.0` → `docker.io/calico/node:v3.29.0`, as containerd reports images. */
/**
 * With --registry-only HOST (an air-gapped site with a mirror), a pull from any other registry fails as
 * containerd fails when the registry's name does not resolve: its endpoint (registry-1.docker.io for
 * docker.io) in a HEAD of the manifest.
 */
function pullError(faults: { registryOnly?: string }, image: string): string | undefined {
  if (!faults.registryOnly) return undefined;
  const reference = normalizeImage(image);
  const host = reference.split('/')[0]!;
  if (host === faults.registryOnly) return undefined;
  const endpoint = host === 'docker.io' ? 'registry-1.docker.io' : host;
  const [repository, tag] = [reference.slice(host.length + 1).replace(/[:@][^/]*$/, ''), reference.match(/[:@]([^/:@]+)$/)?.[1] ?? 'latest'];
  return `rpc error: code = Unknown desc = failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": failed to do request: Head "https://${endpoint}/v2/${repository}/manifests/${tag}": dial tcp: lookup ${endpoint.replace(/:\d+$/, '')}: no such host`;
}

export function normalizeImage(image: string): string {
  const [first = '', ...rest] = image.split('/');
  const hasRegistry = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const path = hasRegistry ? image : `docker.io/${rest.length ? image : `library/${image}`}`;
  return /:[^/]+$/.test(path) || path.includes('@') ? path : `${path}:latest`;
}

function imageID(image: string): string {
  const reference = normalizeImage(image);
  return `${reference.replace(/:[^/:]+$/, '')}@sha256:${createHash('sha256').update(reference).digest('hex')}`;
}

function containerID(uid: string, container: string): string {
  return `containerd://${createHash('sha256').update(`${uid}/${container}`).digest('hex')}`;
}

function startupLog(container: Container): string[] {
  return [
    `Starting ${container.name} (${container.image})`,
    `${container.name}: configuration loaded`,
    `${container.name}: ready to serve`,
  ];
}

/** The kubelet's view of its node: Ready once the container runtime's network is. */
export function postNodeStatus(rt: Runtime, node: string): void {
  const type = rt.type('nodes');
  if (!rt.api.find(type, undefined, node)) return;
  const ready = rt.networkReady(node);
  rt.api.mutate(type, undefined, node, (n) => {
    const status = (n.status ??= {}) as { conditions?: { type: string; status: string; lastHeartbeatTime?: string; lastTransitionTime?: string; reason?: string; message?: string }[] };
    const conditions = status.conditions ?? [];
    const old = conditions.find((c) => c.type === 'Ready');
    const value = ready ? 'True' : 'False';
    if (old?.status === value) return;
    const readyCondition = ready
      ? { type: 'Ready', status: 'True', lastHeartbeatTime: rt.now(), lastTransitionTime: rt.now(), reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : { type: 'Ready', status: 'False', lastHeartbeatTime: rt.now(), lastTransitionTime: rt.now(), reason: 'KubeletNotReady', message: NETWORK_NOT_READY };
    status.conditions = [...conditions.filter((c) => c.type !== 'Ready'), readyCondition];
  }, { fieldManager: 'kubelet', subresource: 'status' });
}
