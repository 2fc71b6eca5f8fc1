// The test cluster's notion of time. Controllers schedule everything through
// a Clock, so a test can run a scenario on a ManualClock without sleeping,
// `--speed` can make a real-time cluster faster or slower, and a cluster
// that starts with Calico installed hurries through the install.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): Date;
  /** Runs `fn` after `ms` of cluster time. */
  after(ms: number, fn: () => void): Timer;
  /**
   * Lets the simulation run as fast as it can until `done()` (a cluster
   * seeded with Calico converging), then at its own pace again; throws when
   * `done()` is still false after `limitMs` (of wall time on a RealClock).
   */
  hurry(done: () => boolean, limitMs: number): Promise<void>;
}

/** How much faster than wall time a RealClock runs while it hurries: the fast timings' delays become a few ms at most. */
const HURRY_SPEED = 100;

/**
 * Wall-clock time, `speed` times as fast: a delay of cluster time takes 1/speed of it, and the cluster's
 * clock runs ahead to match, so what compares times (BIRD's hold timer, a garbage collector's grace) sees
 * the cluster time the timers wait for. At speed 1 it is the wall clock. Hurrying shortens the delays
 * only: the install it speeds up does not push the cluster's clock ahead of the wall's.
 */
export class RealClock implements Clock {
  private readonly speed: number;
  /** How fast delays pass: `speed`, or HURRY_SPEED while hurrying. */
  private pace: number;
  private readonly startedAt = Date.now();

  constructor(speed = 1) {
    this.speed = speed;
    this.pace = speed;
  }

  async hurry(done: () => boolean, limitMs: number): Promise<void> {
    const deadline = Date.now() + limitMs;
    this.pace = HURRY_SPEED;
    try {
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`not done after ${limitMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      this.pace = this.speed;
    }
  }

  now(): Date {
    return new Date(this.startedAt + (Date.now() - this.startedAt) * this.speed);
  }

  after(ms: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, ms / this.pace));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  }
}

/** Time moves only when the test says so. */
export class ManualClock implements Clock {
  private current: number;
  private queue: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(start = Date.parse('2026-11-26T05:00:00Z')) {
    this.current = start;
  }

  now(): Date {
    return new Date(this.current);
  }

  after(ms: number, fn: () => void): Timer {
    const entry = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.queue.push(entry);
    return { cancel: () => void (this.queue = this.queue.filter((e) => e !== entry)) };
  }

  async hurry(done: () => boolean, limitMs: number): Promise<void> {
    for (let elapsed = 0; !done(); elapsed += 100) {
      if (elapsed > limitMs) throw new Error(`not done after ${limitMs / 1000} s`);
      this.advance(100);
    }
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (let next = this.nextDue(end); next; next = this.nextDue(end)) {
      this.current = Math.max(this.current, next.at);
      this.queue = this.queue.filter((e) => e !== next);
      next.fn();
    }
    this.current = end;
  }

  /** Runs timers until none is left (bounded, so a controller loop cannot hang a test). */
  runAll(limit = 100_000): void {
    for (let i = 0; i < limit && this.queue.length; i++) this.advance(Math.max(0, this.earliest() - this.current));
  }

  private earliest(): number {
    return Math.min(...this.queue.map((e) => e.at));
  }

  private nextDue(end: number) {
    let best: (typeof this.queue)[number] | undefined;
    for (const e of this.queue) if (e.at <= end && (!best || e.at < best.at || (e.at === best.at && e.seq < best.seq))) best = e;
    return best;
  }
}
