// Container logs the simulated kubelet writes, served by pods/{name}/log
// like kubelet's: plain text, with tailLines, sinceSeconds/sinceTime,
// limitBytes, timestamps, previous and follow. A container without a log to
// show is refused as the kubelet refuses it (validateContainerLogStatus in
// pkg/kubelet/kubelet_pods.go): waiting to start, or no previous instance.
// The parameters are validated as the API server validates PodLogOptions
// (pkg/apis/core/validation ValidatePodLogOptions).
import type { RegisteredType } from './registry.ts';
import type { RestContext } from './rest.ts';
import { badRequest } from './status.ts';
import type { KubeObject } from './types.ts';

interface Line {
  time: string;
  text: string;
}

type Follower = (line: Line) => void;

export class PodLogs {
  private readonly lines = new Map<string, Line[]>();
  private readonly previous = new Map<string, Line[]>();
  private readonly followers = new Map<string, Set<Follower>>();

  append(namespace: string, pod: string, container: string, text: string, time: Date): void {
    const key = logKey(namespace, pod, container);
    const line = { time: time.toISOString(), text };
    const list = this.lines.get(key) ?? [];
    list.push(line);
    this.lines.set(key, list);
    for (const follow of this.followers.get(key) ?? []) follow(line);
  }

  /** A container restarted: its log so far becomes the `--previous` one. */
  restart(namespace: string, pod: string, container: string): void {
    const key = logKey(namespace, pod, container);
    this.previous.set(key, this.lines.get(key) ?? []);
    this.lines.set(key, []);
  }

  tail(namespace: string, pod: string, container: string, count: number): string[] {
    return (this.lines.get(logKey(namespace, pod, container)) ?? []).slice(-count).map((l) => l.text);
  }

  forget(namespace: string, pod: string): void {
    const prefix = `${namespace}/${pod}/`;
    for (const map of [this.lines, this.previous]) for (const key of map.keys()) if (key.startsWith(prefix)) map.delete(key);
  }

  serve(ctx: RestContext, _type: RegisteredType, namespace: string, name: string): 'streaming' {
    const pod = ctx.api.get(ctx.api.registry.byKey('pods')!, namespace, name);
    const spec = pod.spec as { containers?: { name: string }[]; initContainers?: { name: string }[] };
    // Init containers' logs are served too; only a regular container is picked when the request names none.
    const containers = (spec.containers ?? []).map((c) => c.name);
    const all = [...(spec.initContainers ?? []).map((c) => c.name), ...containers];
    const query = ctx.url.searchParams;
    const container = query.get('container') ?? (containers.length === 1 ? containers[0]! : undefined);
    if (!container) {
      const init = (spec.initContainers ?? []).map((c) => c.name);
      throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${init.length ? ` or one of the init containers: [${init.join(' ')}]` : ''}`);
    }
    if (!all.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
    const options = logOptions(query);
    const key = logKey(namespace, name, container);
    const previous = query.get('previous') === 'true';
    const source = this.source(pod, key, container, previous);
    const now = ctx.runtime.clock.now().getTime();
    const since = options.sinceSeconds !== undefined ? now - options.sinceSeconds * 1000 : options.sinceTime;
    // The kubelet applies sinceSeconds/sinceTime, then tailLines, then cuts the bytes at limitBytes (mid-line too).
    const recent = since === undefined ? source : source.filter((l) => Date.parse(l.time) >= since);
    const lines = options.tailLines === undefined ? recent : options.tailLines === 0 ? [] : recent.slice(-options.tailLines);
    const format = (line: Line) => `${query.get('timestamps') === 'true' ? `${line.time} ` : ''}${line.text}\n`;
    let body = Buffer.from(lines.map(format).join(''));
    if (options.limitBytes !== undefined) body = body.subarray(0, options.limitBytes);
    ctx.response.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    ctx.response.write(body);
    if (query.get('follow') !== 'true') {
      ctx.response.end();
      ctx.done();
      return 'streaming';
    }
    const follower: Follower = (line) => ctx.response.write(format(line));
    const set = this.followers.get(key) ?? new Set();
    set.add(follower);
    this.followers.set(key, set);
    ctx.response.on('close', () => {
      set.delete(follower);
      ctx.done();
    });
    return 'streaming';
  }

  /** The lines the kubelet would read for this container, or its refusal. */
  private source(pod: KubeObject, key: string, container: string, previous: boolean): Line[] {
    const name = key.split('/')[1]!;
    const status = containerStatus(pod, container);
    if (previous) {
      const lines = this.previous.get(key);
      if (!lines || !status?.lastState?.terminated) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
      return lines;
    }
    const waiting = status?.state?.waiting;
    if (status && !status.state?.running && !status.state?.terminated) {
      // A container that crashed and waits to restart shows its last instance's log; one that never started has none.
      if (status.lastState?.terminated) return this.previous.get(key) ?? [];
      const reason = waiting?.reason ?? 'ContainerCreating';
      if (reason === 'ErrImagePull') throw badRequest(`container "${container}" in pod "${name}" is waiting to start: image can't be pulled`);
      if (reason === 'ImagePullBackOff') throw badRequest(`container "${container}" in pod "${name}" is waiting to start: trying and failing to pull image`);
      throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${reason}`);
    }
    if (!status) throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    return this.lines.get(key) ?? [];
  }
}

interface ContainerStatus {
  name: string;
  state?: { running?: object; terminated?: object; waiting?: { reason?: string } };
  lastState?: { terminated?: object };
}

function containerStatus(pod: KubeObject, container: string): ContainerStatus | undefined {
  const status = pod.status as { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] } | undefined;
  return [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])].find((s) => s.name === container);
}

interface LogOptions {
  sinceSeconds?: number;
  sinceTime?: number;
  tailLines?: number;
  limitBytes?: number;
}

/** PodLogOptions as the API server decodes and validates them. */
function logOptions(query: URLSearchParams): LogOptions {
  const integer = (name: string): number | undefined => {
    const text = query.get(name);
    if (text === null) return undefined;
    if (!/^-?\d+$/.test(text)) throw badRequest(`strconv.ParseInt: parsing "${text}": invalid syntax`);
    return Number(text);
  };
  const options: LogOptions = {};
  const sinceSeconds = integer('sinceSeconds');
  const tailLines = integer('tailLines');
  const limitBytes = integer('limitBytes');
  const sinceTime = query.get('sinceTime');
  const invalid: string[] = [];
  if (tailLines !== undefined) {
    if (tailLines < 0) invalid.push('tailLines: Invalid value: ' + tailLines + ': must be greater than or equal to 0');
    options.tailLines = tailLines;
  }
  if (limitBytes !== undefined) {
    if (limitBytes < 1) invalid.push('limitBytes: Invalid value: ' + limitBytes + ': must be greater than 0');
    options.limitBytes = limitBytes;
  }
  if (sinceSeconds !== undefined && sinceTime !== null) invalid.push('sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified');
  if (sinceSeconds !== undefined) {
    if (sinceSeconds < 1) invalid.push('sinceSeconds: Invalid value: ' + sinceSeconds + ': must be greater than 0');
    options.sinceSeconds = sinceSeconds;
  }
  if (sinceTime !== null) {
    const time = Date.parse(sinceTime);
    if (Number.isNaN(time)) throw badRequest(`parsing time "${sinceTime}" as "2006-01-02T15:04:05Z07:00": cannot parse "${sinceTime}" as "2006"`);
    options.sinceTime = time;
  }
  if (invalid.length) throw badRequest(`PodLogOptions "" is invalid: ${invalid.join(', ')}`);
  return options;
}

function logKey(namespace: string, pod: string, container: string): string {
  return `${namespace}/${pod}/${container}`;
}
