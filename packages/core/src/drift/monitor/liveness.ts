/**
 * Liveness: the list of connected nodes ordered by their last heartbeat, walked by one timer that
 * marks the silent ones stale, and flap damping (a node changing state too often has its alerts
 * held back until it settles).
 *
 * @internal
 * @packageDocumentation
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { NodeRecord } from './records.js';

/**
 * The liveness list and its sweep timer.
 *
 * @internal
 */
export class LivenessList {
  readonly #clock: Clock;
  readonly #staleMs: number;
  readonly #onStale: (node: NodeRecord, now: number) => void;
  #head: NodeRecord | null = null;
  #tail: NodeRecord | null = null;
  #timer: TimerHandle | null = null;
  #closed = false;

  constructor(clock: Clock, staleMs: number, onStale: (node: NodeRecord, now: number) => void) {
    this.#clock = clock;
    this.#staleMs = staleMs;
    this.#onStale = onStale;
  }

  /** Moves a node to the end of the list (it was just heard from). */
  touch(node: NodeRecord): void {
    if (node.inList) {
      if (this.#tail === node) return;
      this.unlink(node);
    }
    node.prev = this.#tail;
    node.next = null;
    if (this.#tail !== null) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    node.inList = true;
    if (this.#timer === null && !this.#closed) this.#schedule();
  }

  unlink(node: NodeRecord): void {
    if (!node.inList) return;
    if (node.prev !== null) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = null;
    node.next = null;
    node.inList = false;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    const head = this.#head;
    if (head === null) return;
    const wait = head.last_seen + this.#staleMs - this.#clock.now();
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), Math.max(1, wait));
  }

  #sweep(): void {
    this.#timer = null;
    if (this.#closed) return;
    const now = this.#clock.now();
    const limit = now - this.#staleMs;
    let node = this.#head;
    while (node !== null && node.last_seen <= limit) {
      const next = node.next;
      this.unlink(node);
      node.stale = true;
      this.#onStale(node, now);
      node = next;
    }
    this.#schedule();
  }
}

/** What flap damping reports. @internal */
export interface FlapHooks {
  /** The node started flapping (score reached the threshold). */
  started(node: NodeRecord): void;
  /** The node settled at time `now`. */
  ended(node: NodeRecord, now: number): void;
  /** Whether the monitor is closed. */
  closed(): boolean;
}

/**
 * Flap damping: every state change adds 1 to a node's score, which halves every half-life.
 *
 * @internal
 */
export class FlapDamper {
  readonly #clock: Clock;
  readonly #threshold: number;
  readonly #halfLife: number;
  readonly #hooks: FlapHooks;

  constructor(clock: Clock, threshold: number, halfLife: number, hooks: FlapHooks) {
    this.#clock = clock;
    this.#threshold = threshold;
    this.#halfLife = halfLife;
    this.#hooks = hooks;
  }

  get enabled(): boolean {
    return this.#threshold !== Infinity;
  }

  #decay(node: NodeRecord, now: number): number {
    const elapsed = Math.max(0, now - node.flapAt);
    return node.flapScore * Math.pow(2, -elapsed / this.#halfLife);
  }

  /** Counts one state change of the node. */
  flap(node: NodeRecord, now: number): void {
    node.flapScore = this.#decay(node, now) + 1;
    node.flapAt = now;
    if (!node.flapping && node.flapScore >= this.#threshold) {
      node.flapping = true;
      this.#hooks.started(node);
      this.#scheduleCheck(node, now);
    }
  }

  /** Cancels the node's settle check. */
  clear(node: NodeRecord): void {
    if (node.flapTimer !== null) this.#clock.clearTimeout(node.flapTimer);
    node.flapTimer = null;
  }

  #scheduleCheck(node: NodeRecord, now: number): void {
    this.clear(node);
    const low = this.#threshold / 2;
    const score = this.#decay(node, now);
    const wait = score <= low ? 0 : Math.ceil(this.#halfLife * Math.log2(score / low));
    node.flapTimer = this.#clock.setTimeout(
      () => {
        node.flapTimer = null;
        if (this.#hooks.closed() || !node.flapping) return;
        const t = this.#clock.now();
        if (this.#decay(node, t) < low + 1e-9) {
          node.flapping = false;
          this.#hooks.ended(node, t);
        } else {
          this.#scheduleCheck(node, t);
        }
      },
      Math.max(1, wait),
    );
  }
}
