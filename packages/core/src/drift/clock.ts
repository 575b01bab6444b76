/**
 * An opaque timer handle returned by {@link Clock.setTimeout}.
 *
 * @public
 */
export type TimerHandle = unknown;

/**
 * The source of time and timers for the fleet monitor, the reporter and the sinks. Tests inject
 * a fake clock ({@link ManualClock}); production uses {@link systemClock}.
 *
 * @public
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `callback` once after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The wall clock, with timers that do not keep a Node process alive (`unref`).
 *
 * @public
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, Math.max(0, Math.min(ms, 2_147_483_647))) as unknown as {
      unref?: () => void;
    };
    handle.unref?.();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A fake clock for tests: time moves only when {@link ManualClock.advance} is called, and timers
 * due by then run in time order.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * clock.setTimeout(() => console.log('fired'), 1000);
 * clock.advance(1000); // fired
 * ```
 * @public
 */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, ManualTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  /** The fake time in milliseconds (starts at `start`, moves only with `advance` and `set`). */
  now(): number {
    return this.#now;
  }

  /**
   * Schedules `callback` to run when time reaches `now() + ms` (a negative `ms` counts as 0);
   * returns a numeric handle.
   */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  /** Cancels a pending timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** The number of timers not yet fired or cleared (tests assert no timer leaks). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every timer due on the way, in time order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let due: ManualTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.at <= target && (due === undefined || timer.at < due.at)) due = timer;
      }
      if (due === undefined) break;
      this.#timers.delete(due.id);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
    }
    this.#now = target;
  }

  /** Sets the time (forward only), running timers due on the way. */
  set(time: number): void {
    if (time > this.#now) this.advance(time - this.#now);
  }
}
