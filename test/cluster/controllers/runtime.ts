// What the simulated controllers share: the API, the clock, a work queue
// that runs their reconciles after the write that triggered them (never
// inside it), the event recorder, container logs and the timings.
import type { Api } from '../api.ts';
import { timestamp } from '../api.ts';
import type { Clock } from '../clock.ts';
import type { PodLogs } from '../logs.ts';
import type { RegisteredType } from '../registry.ts';
import type { StoreEvent } from '../store.ts';
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
  private lastEventNanos = 0n;

  constructor(api: Api, clock: Clock, logs: PodLogs, timings: Timings, faults: PodFaults) {
    this.api = api;
    this.clock = clock;
    this.logs = logs;
    this.timings = timings;
    this.faults = faults;
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
    const existing = this.api.store.list('events', namespace).find((e) => {
      const ev = e as unknown as { involvedObject: { uid: string; fieldPath?: string }; reason: string; message: string };
      return ev.involvedObject.uid === involved.metadata.uid && ev.reason === reason && ev.message === message && ev.involvedObject.fieldPath === fieldPath;
    });
    const now = this.now();
    if (existing) {
      this.api.mutate(eventsType, namespace, existing.metadata.name, (e) => {
        e.count = Number(e.count ?? 1) + 1;
        e.lastTimestamp = now;
      }, { fieldManager: source.component });
      return;
    }
    this.api.create(eventsType, namespace, {
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
  }
}

function isGone(error: unknown): boolean {
  const code = (error as { code?: number })?.code;
  return code === 404;
}
