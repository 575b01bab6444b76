/**
 * Liveness: the list of connected nodes ordered by their last heartbeat, walked by one timer that
 * marks the silent ones stale, and flap damping (a node changing state too often has its alerts
 * held back until it settles).
 *
 * @internal
 * @packageDocumentation
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { FleetEvent } from '../events.js';
import type { Announcer } from './announce.js';
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

  /**
   * Counts one state change of the node. A node flapping without a settle check here had its
   * episode started by another replica sharing the store: this replica checks when it settles too.
   */
  flap(node: NodeRecord, now: number): void {
    if (node.flapping && node.flapTimer === null) this.#scheduleCheck(node, now);
    node.flapScore = this.#decay(node, now) + 1;
    node.flapAt = now;
    if (!node.flapping && node.flapScore >= this.#threshold) {
      node.flapping = true;
      node.flapEpisode += 1;
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

/** What {@link flapAnnouncements} needs from the monitor. @internal */
export interface FlapAnnouncementOptions {
  readonly announcer: Announcer;
  /** Announces a fact once fleet-wide, under the id of its key. */
  readonly announceFact: (key: string, event: FleetEvent) => void;
  /** The node's record changed (to be written to the store). */
  readonly changed: (node: NodeRecord) => void;
  readonly closed: () => boolean;
}

/**
 * The flap-damping announcements: `node.flapping` and `node.flapping_ended` are facts of the
 * node's episode (`node.flapping|<node>|<episode>`), announced once fleet-wide under one id when
 * the store is shared by replicas among which the node reconnects; when the episode ends, the
 * node's state is announced by the replica holding its session.
 *
 * @internal
 */
export function flapAnnouncements(o: FlapAnnouncementOptions): FlapHooks {
  const key = (type: string, node: NodeRecord): string =>
    `${type}|${node.node_id}|${node.flapEpisode}`;
  return {
    started: (node) => {
      o.changed(node);
      o.announceFact(key('node.flapping', node), {
        ...o.announcer.nodeEvent(node, 'node.flapping'),
        score: node.flapScore,
      });
    },
    ended: (node, now) => {
      o.changed(node);
      o.announceFact(
        key('node.flapping_ended', node),
        o.announcer.nodeEvent(node, 'node.flapping_ended'),
      );
      if (!node.remote) o.announcer.announce(node, now);
    },
    closed: o.closed,
  };
}
