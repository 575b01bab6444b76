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

/** The observed state of a node, as the store keeps it. @internal */
export function observedOf(node: NodeRecord): ObservedNode {
  return {
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
  };
}

/**
 * The dirty set and its flush.
 *
 * @internal
 */
export class ObservedWriter {
  readonly #o: PersistenceOptions;
  readonly #dirty = new Set<NodeRecord>();
  #timer: TimerHandle | null = null;
  #persisting: Promise<void> = Promise.resolve();
  #closed = false;
  storeErrors = 0;

  constructor(options: PersistenceOptions) {
    this.#o = options;
  }

  mark(node: NodeRecord): void {
    // Another replica writes the nodes attached to it.
    if (node.dirty || node.remote) return;
    node.dirty = true;
    this.#dirty.add(node);
    if (this.#timer === null && !this.#closed) {
      this.#timer = this.#o.clock.setTimeout(() => {
        this.#timer = null;
        void this.flush();
      }, this.#o.intervalMs);
    }
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
        if (node.last_seen >= 0) batch.push(observedOf(node));
      }
      this.#dirty.clear();
      if (batch.length === 0) return;
      try {
        await this.#o.store.saveObserved(batch);
      } catch (error) {
        this.storeErrors++;
        this.#o.warn('the fleet store could not save observed state', error);
        for (const node of nodes) {
          if (this.#o.current(node)) this.mark(node);
        }
      }
    };
    this.#persisting = this.#persisting.then(run, run);
    return this.#persisting;
  }
}
