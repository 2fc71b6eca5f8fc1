// Container logs the simulated kubelet writes, served by pods/{name}/log
// like kubelet's: plain text, with tailLines, timestamps, previous and follow.
import type { RegisteredType } from './registry.ts';
import type { RestContext } from './rest.ts';
import { badRequest } from './status.ts';

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
    const containers = ((pod.spec as { containers?: { name: string }[] }).containers ?? []).map((c) => c.name);
    const query = ctx.url.searchParams;
    const container = query.get('container') ?? (containers.length === 1 ? containers[0]! : undefined);
    if (!container) {
      throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    }
    if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
    const key = logKey(namespace, name, container);
    const source = query.get('previous') === 'true' ? this.previous.get(key) : this.lines.get(key);
    if (query.get('previous') === 'true' && !source) {
      throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    }
    const tail = query.get('tailLines');
    const lines = tail === null ? (source ?? []) : (source ?? []).slice(-Number(tail));
    const format = (line: Line) => `${query.get('timestamps') === 'true' ? `${line.time} ` : ''}${line.text}\n`;
    ctx.response.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    ctx.response.write(lines.map(format).join(''));
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
}

function logKey(namespace: string, pod: string, container: string): string {
  return `${namespace}/${pod}/${container}`;
}
