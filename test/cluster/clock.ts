// The test cluster's notion of time. Controllers schedule everything through
// a Clock, so a test can run a scenario on a ManualClock without sleeping,
// and `--speed` can make a real-time cluster faster or slower.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): Date;
  /** Runs `fn` after `ms` of cluster time. */
  after(ms: number, fn: () => void): Timer;
}

/** Wall-clock time; `speed` > 1 makes cluster-time delays shorter. */
export class RealClock implements Clock {
  readonly speed: number;
  constructor(speed = 1) {
    this.speed = speed;
  }
  now(): Date {
    return new Date();
  }
  after(ms: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, ms / this.speed));
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
