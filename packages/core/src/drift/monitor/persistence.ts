/**
 * Persistence: the nodes whose observed state changed, written to the store in one batch every
 * `persistIntervalMs` (and on `flush()` and `close()`); a failed write is counted and retried.
 *
 * @internal
 * @packageDocumentation
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { FleetStore, ObservedNode } from '../store.js';
import { iso, type NodeRecord } from './records.js';

/** @internal */
export interface PersistenceOptions {
  readonly store: FleetStore;
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Whether `node` is still the monitor's record for its id (not forgotten). */
  readonly current: (node: NodeRecord) => boolean;
  readonly warn: (message: string, error: unknown) => void;
}

/**
 * The observed state of a node, as the store keeps it. `shared`: the store is shared by replicas,
 * which then also count the node's flap damping together.
 *
 * @internal
 */
export function observedOf(node: NodeRecord, shared = false): ObservedNode {
  const record: ObservedNode = {
    node_id: node.node_id,
    cluster: node.cluster.name,
    instance_id: node.instance_id,
    reported_hash: node.reported,
    workers: node.workers,
    provenance: node.provenance,
    loaded_at: node.loaded_at,
    last_load_error: node.last_load_error,
    last_seen: node.last_seen < 0 ? null : iso(node.last_seen),
    last_seq: node.last_seq,
    connected: node.session !== null,
    stale: node.stale,
    awaiting_report: node.awaiting,
    live: node.live,
    ...(node.driftOpen ? { drift_since: iso(node.driftSince) } : {}),
  };
  if (!shared || (node.flapScore === 0 && node.flapEpisode === 0)) return record;
  const flap = {
    score: node.flapScore,
    at: iso(node.flapAt),
    flapping: node.flapping,
    episode: node.flapEpisode,
  };
  return { ...record, flap };
}

/**
 * How soon a changed node is written to a store shared by replicas (one that can claim facts):
 * the other replicas show the change once it is written, so it is not held for the whole
 * persist interval. A single-process store is written once per interval.
 *
 * @internal
 */
export const SHARED_WRITE_DELAY_MS = 100;

/**
 * The dirty set and its flush. With a store shared by replicas (one that can claim facts), every
 * node that heartbeated is written at the next flush too ({@link ObservedWriter.seen}), so every
 * replica's `last_seen` of a node lags the node's own replica by at most one flush interval, at
 * one batched write per interval rather than one per heartbeat; a change of what a node reports
 * or of its state is written within {@link SHARED_WRITE_DELAY_MS}.
 *
 * @internal
 */
export class ObservedWriter {
  readonly #o: PersistenceOptions;
  readonly #dirty = new Set<NodeRecord>();
  readonly #shared: boolean;
  /** How long after a change it is written. */
  readonly #soonMs: number;
  #timer: TimerHandle | null = null;
  /** When the pending timer fires (clock ms). */
  #due = 0;
  #persisting: Promise<void> = Promise.resolve();
  #closed = false;
  storeErrors = 0;

  constructor(options: PersistenceOptions) {
    this.#o = options;
    this.#shared = options.store.claimFact !== undefined;
    this.#soonMs = this.#shared
      ? Math.min(options.intervalMs, SHARED_WRITE_DELAY_MS)
      : options.intervalMs;
  }

  /** The node heartbeated: a shared store gets its new `last_seen` at the next flush. */
  seen(node: NodeRecord): void {
    if (this.#shared) this.mark(node, false);
  }

  /**
   * The node's observed state changed (`soon`: what it reports or its state, written within
   * `#soonMs`; otherwise only its `last_seen`, written at the interval).
   */
  mark(node: NodeRecord, soon = true): void {
    // Another replica writes the nodes attached to it.
    if (node.remote) return;
    if (!node.dirty) {
      node.dirty = true;
      this.#dirty.add(node);
    }
    this.#schedule(soon ? this.#soonMs : this.#o.intervalMs);
  }

  /** Makes the next flush happen within `ms` (an earlier pending one stays). */
  #schedule(ms: number): void {
    if (this.#closed) return;
    const due = this.#o.clock.now() + ms;
    if (this.#timer !== null) {
      if (this.#due <= due) return;
      this.#o.clock.clearTimeout(this.#timer);
    }
    this.#due = due;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, ms);
  }

  forget(node: NodeRecord): void {
    this.#dirty.delete(node);
  }

  /** Stops the timer; later marks are written only by an explicit flush. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#dirty.size === 0) return;
      const batch: ObservedNode[] = [];
      const nodes = [...this.#dirty];
      for (const node of nodes) {
        node.dirty = false;
        if (node.last_seen >= 0) batch.push(observedOf(node, this.#shared));
      }
      this.#dirty.clear();
      if (batch.length === 0) return;
      try {
        await this.#o.store.saveObserved(batch);
      } catch (error) {
        this.storeErrors++;
        this.#o.warn('the fleet store could not save observed state', error);
        for (const node of nodes) {
          if (this.#o.current(node)) this.mark(node, false);
        }
      }
    };
    this.#persisting = this.#persisting.then(run, run);
    return this.#persisting;
  }
}
