// What the simulated controllers share: the API, the clock, a work queue
// that runs their reconciles after the write that triggered them (never
// inside it), the event recorder, container logs and the timings.
import type { Api } from '../api.ts';
import { timestamp } from '../api.ts';
import type { Clock } from '../clock.ts';
import type { PodLogs } from '../logs.ts';
import type { RegisteredType } from '../registry.ts';
import { noNetworkFaults, type NetworkFaults } from '../dataplane/faults.ts';
import { IpamFaults } from './ipam-faults.ts';
import { storageKey, type Store, type StoreEvent } from '../store.ts';
import type { KubeObject } from '../types.ts';

/** Delays of the simulated machinery, in cluster milliseconds. */
export interface Timings {
  schedule: number;
  imagePull: number;
  containerStart: number;
  readiness: number;
  reconcile: number;
  backOff: number;
  termination: number;
}

export const FAST_TIMINGS: Timings = { schedule: 20, imagePull: 60, containerStart: 40, readiness: 60, reconcile: 30, backOff: 300, termination: 50 };

/** Faults a scenario or a test can switch on for pods. */
export interface PodFaults {
  /** Images (substring match) whose pull fails. */
  failingImages: string[];
  /** Containers (`namespace/podPrefix/container`, prefix match on the pod name) that exit with an error after starting. */
  crashingContainers: string[];
  /** An air-gapped site's mirror (host[:port]): pulls from any other registry fail as from one that does not resolve. */
  registryOnly?: string;
}

export class Runtime {
  readonly api: Api;
  readonly clock: Clock;
  readonly logs: PodLogs;
  readonly timings: Timings;
  readonly faults: PodFaults;
  private readonly pending = new Map<string, { at: number; cancel: () => void }>();
  /** Nodes whose container runtime has a working CNI config (Calico's install-cni wrote one). */
  private readonly cniReady = new Set<string>();
  private readonly cniListeners: ((node: string) => void)[] = [];
  /** What each component's event recorder remembers: the Event it wrote for an object, reason and message. */
  private readonly recordedEvents = new Map<string, { namespace: string; name: string }>();
  /** What each recorder's EventAggregator remembers: the messages of similar events (same source, object, type and reason). */
  private readonly similarEvents = new Map<string, { messages: Set<string>; last: number }>();
  private lastEventNanos = 0n;
  /** Pods by `spec.nodeName` ('' until bound: the scheduler's queue) and by their controller's uid. */
  readonly podsByNode: Index;
  readonly podsByOwner: Index;
  /** Each node's address on its host interface, with the prefix length of its network. */
  private readonly hostAddresses = new Map<string, string>();
  private readonly hostAddresses6 = new Map<string, string>();
  /** The network's faults, live (dataplane/faults.ts): what the models of BGP, Felix and reachability read. */
  network: NetworkFaults = noNetworkFaults();
  /** Calico IPAM's faults, live (controllers/ipam-faults.ts). */
  readonly ipamFaults = new IpamFaults();

  constructor(api: Api, clock: Clock, logs: PodLogs, timings: Timings, faults: PodFaults) {
    this.api = api;
    this.clock = clock;
    this.logs = logs;
    this.timings = timings;
    this.faults = faults;
    this.podsByNode = new Index(api.store, 'pods', (pod) => (pod.spec as { nodeName?: string }).nodeName ?? '');
    this.podsByOwner = new Index(api.store, 'pods', (pod) => pod.metadata.ownerReferences?.find((r) => r.controller)?.uid);
  }

  networkReady(node: string): boolean {
    return this.cniReady.has(node);
  }

  setNetworkReady(node: string, ready: boolean): void {
    if (this.cniReady.has(node) === ready) return;
    if (ready) this.cniReady.add(node);
    else this.cniReady.delete(node);
    for (const listener of this.cniListeners) listener(node);
  }

  /** Where the scenario put a node's host: what calico-node's address autodetection finds there. */
  setHostAddress(node: string, cidr: string): void {
    this.hostAddresses.set(node, cidr);
  }

  hostAddress(node: string): string | undefined {
    return this.hostAddresses.get(node);
  }

  /** A dual-stack node's IPv6 address on the same interface, with its prefix length (what IP6 autodetection finds). */
  setHostAddress6(node: string, cidr: string): void {
    this.hostAddresses6.set(node, cidr);
  }

  hostAddress6(node: string): string | undefined {
    return this.hostAddresses6.get(node);
  }

  onNetworkChange(listener: (node: string) => void): void {
    this.cniListeners.push(listener);
  }

  type(key: string): RegisteredType {
    const type = this.api.registry.byKey(key);
    if (!type) throw new Error(`unknown resource ${key}`);
    return type;
  }

  /** Runs `work` once after `delayMs`; asking again for the same key before then keeps the earlier time. */
  enqueue(key: string, delayMs: number, work: () => void): void {
    const at = this.clock.now().getTime() + delayMs;
    const existing = this.pending.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const timer = this.clock.after(delayMs, () => {
      this.pending.delete(key);
      try {
        work();
      } catch (error) {
        // A conflict with a concurrent writer: try again shortly, as a controller would.
        if (!isGone(error)) this.enqueue(key, this.timings.reconcile, work);
      }
    });
    this.pending.set(key, { at, cancel: () => timer.cancel() });
  }

  watch(keys: string[], listener: (event: StoreEvent) => void): void {
    const wanted = new Set(keys);
    this.api.store.subscribe((event) => {
      if (wanted.has(event.key)) listener(event);
    });
  }

  now(): string {
    return timestamp(this.clock.now());
  }

  /**
   * client-go names an Event `<object>.<UnixNano in hex>`; the nanoseconds
   * are made up within the clock's millisecond, and kept increasing so that
   * two events of one object never get the same name (a create would fail).
   */
  private eventNanos(): bigint {
    const nanos = BigInt(this.clock.now().getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6));
    this.lastEventNanos = nanos > this.lastEventNanos ? nanos : this.lastEventNanos + 1n;
    return this.lastEventNanos;
  }

  /** Records a core/v1 Event, folding repeats into a count like client-go's recorder. */
  event(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, source: { component: string; host?: string }, fieldPath?: string): void {
    const eventsType = this.type('events');
    const namespace = involved.metadata.namespace ?? 'default';
    if (!this.api.store.get('namespaces', undefined, namespace) || this.api.store.get('namespaces', undefined, namespace)?.metadata.deletionTimestamp) return;
    // client-go's EventCorrelator: a repeat is found in the recorder's cache, not by listing events;
    // similar events with a tenth different message in ten minutes are combined into one.
    let repeatKey = JSON.stringify([involved.metadata.uid, reason, message, fieldPath]);
    const similarKey = JSON.stringify([source.component, source.host, involved.metadata.uid, type, reason]);
    const at = this.clock.now().getTime();
    let similar = this.similarEvents.get(similarKey);
    if (!similar || at - similar.last > 600_000) this.similarEvents.set(similarKey, (similar = { messages: new Set(), last: at }));
    similar.messages.add(message);
    similar.last = at;
    if (similar.messages.size >= 10) {
      similar.messages.delete(similar.messages.values().next().value!);
      message = `(combined from similar events): ${message}`;
      repeatKey = similarKey;
    }
    const recorded = this.recordedEvents.get(repeatKey);
    const existing = recorded && this.api.store.get('events', recorded.namespace, recorded.name);
    const now = this.now();
    if (existing) {
      this.api.mutate(eventsType, namespace, existing.metadata.name, (e) => {
        e.count = Number(e.count ?? 1) + 1;
        e.lastTimestamp = now;
        e.message = message;
      }, { fieldManager: source.component });
      return;
    }
    const created = this.api.create(eventsType, namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${involved.metadata.name}.${this.eventNanos().toString(16)}`, namespace },
      involvedObject: {
        kind: involved.kind,
        namespace: involved.metadata.namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
        apiVersion: involved.apiVersion,
        resourceVersion: involved.metadata.resourceVersion,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    }, { fieldManager: source.component });
    this.recordedEvents.set(repeatKey, { namespace, name: created.metadata.name });
  }
}

function isGone(error: unknown): boolean {
  const code = (error as { code?: number })?.code;
  return code === 404;
}

/**
 * Objects of one resource grouped by a value of theirs (pods by node, by
 * owner), kept current from the store's changes like an informer's indexer:
 * a controller reads a group without listing the whole resource.
 */
export class Index {
  private readonly groups = new Map<string, Map<string, KubeObject>>();
  private readonly groupOf = new Map<string, string>();

  constructor(store: Store, resource: string, valueOf: (object: KubeObject) => string | undefined) {
    const update = (object: KubeObject, deleted: boolean) => {
      const id = storageKey(object.metadata.namespace, object.metadata.name);
      const before = this.groupOf.get(id);
      const after = deleted ? undefined : valueOf(object);
      if (before !== undefined && before !== after) {
        const group = this.groups.get(before)!;
        group.delete(id);
        if (group.size === 0) this.groups.delete(before);
        this.groupOf.delete(id);
      }
      if (after === undefined) return;
      let group = this.groups.get(after);
      if (!group) this.groups.set(after, (group = new Map()));
      group.set(id, object);
      this.groupOf.set(id, after);
    };
    for (const object of store.list(resource)) update(object, false);
    store.subscribe((event) => {
      if (event.key === resource) update(event.object, event.type === 'DELETED');
    });
  }

  /** The objects whose value is `value`, in key order (as a list of the resource would give them). */
  get(value: string): KubeObject[] {
    const group = this.groups.get(value);
    if (!group) return [];
    return [...group.keys()].sort().map((id) => group.get(id)!);
  }

  count(value: string): number {
    return this.groups.get(value)?.size ?? 0;
  }
}
