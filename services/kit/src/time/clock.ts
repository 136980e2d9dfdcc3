/** Time comes from here, so schedulers and expiries are tested without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Where delayed work is scheduled: Node's timers, or a clock a test moves by hand. */
export interface Timers {
  setTimeout(work: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers; they never keep the process alive on their own (a stopped service exits). */
export const systemTimers: Timers = {
  setTimeout: (work, ms) => setTimeout(work, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * A clock tests move by hand, and the timers that follow it: `advance` runs every timer that falls
 * due on the way, each at its own time, in order, so a test steps through a schedule exactly.
 */
export class ManualClock implements Clock, Timers {
  private readonly pending = new Map<number, { at: number; work: () => void }>();
  private nextId = 1;

  constructor(private current: Date = new Date('2030-01-01T00:00:00Z')) {}

  now(): Date {
    return new Date(this.current);
  }

  /** Moves the clock to `to`: forwards runs what falls due on the way; backwards runs nothing. */
  set(to: Date): void {
    if (to.getTime() < this.current.getTime()) this.current = new Date(to);
    else this.runUntil(to.getTime());
  }

  advance(ms: number): void {
    this.runUntil(this.current.getTime() + ms);
  }

  setTimeout(work: () => void, ms: number): number {
    const id = this.nextId++;
    this.pending.set(id, { at: this.current.getTime() + Math.max(0, ms), work });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers waiting to fall due. */
  get waiting(): number {
    return this.pending.size;
  }

  private runUntil(target: number): void {
    for (;;) {
      let next: [number, { at: number; work: () => void }] | undefined;
      for (const entry of this.pending)
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.pending.delete(next[0]);
      if (next[1].at > this.current.getTime()) this.current = new Date(next[1].at);
      next[1].work();
    }
    if (target > this.current.getTime()) this.current = new Date(target);
  }
}
