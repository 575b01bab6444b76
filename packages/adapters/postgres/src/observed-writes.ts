/**
 * Observed-state writes of one replica, in call order: upserted in batches while PostgreSQL is
 * reachable, kept in a bounded buffer (one entry per node; what does not fit is counted in
 * `dropped`) while it is not, and written on reconnect. A node whose record changed only in
 * `last_seen` (it heartbeated and reported nothing new) has only that column written: no
 * revision, no feed notification, no row for every other replica to read at once.
 */
import type { ObservedDrop, ObservedNode } from '@plumbline/core/drift';
import { isUnavailable } from './connection.js';
import type { StoreCounters } from './options.js';
import type { SessionFollower } from './sweep.js';
import type { PgStorage } from './storage.js';

/** @internal */
export interface ObservedWritesOptions {
  readonly storage: PgStorage;
  readonly sessions: SessionFollower;
  readonly counters: StoreCounters;
  readonly maxBatchRows: number;
  readonly maxBuffered: number;
  readonly connected: () => boolean;
}

/**
 * The write queue and the offline buffer.
 *
 * @internal
 */
export class ObservedWrites {
  readonly #o: ObservedWritesOptions;
  /** A node's latest update not yet written; `null` for a node forgotten. */
  readonly #buffer = new Map<string, ObservedNode | null>();
  #writes: Promise<unknown> = Promise.resolve();
  /**
   * Each node's last full write (the record, and whether it was written closed): a save that
   * differs from it only in `last_seen` and `last_seq` writes only those.
   */
  readonly #written = new Map<string, { readonly node: ObservedNode; readonly closed: boolean }>();
  /** What the current outage dropped (reported once the buffer is written). */
  #outage: { dropped: number; first: string; last: string } | null = null;

  constructor(options: ObservedWritesOptions) {
    this.#o = options;
  }

  get buffered(): number {
    return this.#buffer.size;
  }

  /** The updates not yet written (newer than the table). */
  get pending(): ReadonlyMap<string, ObservedNode | null> {
    return this.#buffer;
  }

  /** Runs `body` after every earlier write. */
  serial<T>(body: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(body, body);
    this.#writes = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every write made so far has ended. */
  async settled(): Promise<void> {
    await this.#writes;
  }

  /** Whether `node` says nothing new since its last full write but its time and sequence. */
  #steady(node: ObservedNode): boolean {
    const last = this.#written.get(node.node_id);
    return (
      last !== undefined &&
      last.closed === this.#o.sessions.has(node.node_id) &&
      sameBesidesTime(last.node, node)
    );
  }

  async #upsert(nodes: readonly ObservedNode[]): Promise<void> {
    const statements = await this.#o.storage.upsertObserved(nodes, (id) =>
      this.#o.sessions.has(id),
    );
    this.#o.counters.observedStatements += statements;
    this.#o.counters.observedRows += nodes.length;
    for (const node of nodes) {
      this.#written.set(node.node_id, { node, closed: this.#o.sessions.has(node.node_id) });
    }
  }

  /**
   * Writes the latest record of each node: only `last_seen` and `last_seq` for a node whose shape equals its
   * last full write and whose row this replica still holds open, the whole row otherwise.
   */
  async #write(nodes: readonly ObservedNode[]): Promise<void> {
    const full: ObservedNode[] = [];
    const touch: ObservedNode[] = [];
    for (const node of nodes) {
      (node.last_seen !== null && this.#steady(node) ? touch : full).push(node);
    }
    if (touch.length > 0) {
      const { written, statements } = await this.#o.storage.touchObserved(
        touch.map((n) => ({ node_id: n.node_id, last_seen: n.last_seen!, last_seq: n.last_seq })),
      );
      this.#o.counters.seenStatements += statements;
      this.#o.counters.seenRows += written.size;
      // A row another replica took over, the sweep marked or someone deleted: written whole.
      for (const node of touch) if (!written.has(node.node_id)) full.push(node);
    }
    if (full.length > 0) await this.#upsert(full);
  }

  save(nodes: readonly ObservedNode[]): Promise<void> {
    this.#o.counters.observedUpdates += nodes.length;
    if (nodes.length === 0) return Promise.resolve();
    return this.serial(async () => {
      const latest = new Map<string, ObservedNode>();
      for (const node of nodes) latest.set(node.node_id, node);
      if (!this.#o.connected()) {
        for (const [id, node] of latest) this.#keep(id, node);
        return;
      }
      try {
        await this.#write([...latest.values()]);
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        for (const [id, node] of latest) this.#keep(id, node);
      }
    });
  }

  delete(node_id: string): Promise<void> {
    this.#o.sessions.forget(node_id);
    this.#written.delete(node_id);
    return this.serial(async () => {
      if (!this.#o.connected()) {
        this.#keep(node_id, null);
        return;
      }
      try {
        await this.#o.storage.deleteObserved([node_id]);
        this.#buffer.delete(node_id);
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        this.#keep(node_id, null);
      }
    });
  }

  /** Writes the buffer (after a reconnect, and on close). */
  async drain(): Promise<void> {
    await this.serial(async () => {
      while (this.#buffer.size > 0) {
        const entries = [...this.#buffer].slice(0, this.#o.maxBatchRows);
        const saves = entries.filter((e) => e[1] !== null).map((e) => e[1] as ObservedNode);
        const deletes = entries.filter((e) => e[1] === null).map((e) => e[0]);
        if (saves.length > 0) await this.#upsert(saves);
        if (deletes.length > 0) await this.#o.storage.deleteObserved(deletes);
        for (const [id, value] of entries) {
          if (this.#buffer.get(id) === value) this.#buffer.delete(id);
        }
      }
    });
  }

  #keep(node_id: string, value: ObservedNode | null): void {
    // Written whole once PostgreSQL is back.
    this.#written.delete(node_id);
    if (!this.#buffer.has(node_id) && this.#buffer.size >= this.#o.maxBuffered) {
      this.#o.counters.dropped++;
      const at = new Date().toISOString();
      if (this.#outage === null) this.#outage = { dropped: 0, first: at, last: at };
      this.#outage.dropped++;
      this.#outage.last = at;
      return;
    }
    this.#buffer.set(node_id, value);
  }

  /** What the outage that just ended dropped (a count and a time span), once; `null` if nothing. */
  takeDrops(): ObservedDrop | null {
    const drops = this.#outage;
    if (drops === null) return null;
    this.#outage = null;
    return {
      store: 'postgres',
      dropped: drops.dropped,
      limit: this.#o.maxBuffered,
      first_dropped_at: drops.first,
      last_dropped_at: drops.last,
    };
  }
}

/**
 * Whether two records of a node say the same but for `last_seen` and `last_seq`: every other
 * field equal, objects (provenance, workers, load error, live configuration, flap damping) by
 * reference or else by their JSON text. A difference in key order counts as a change (a whole
 * write, never a missed one).
 */
function sameBesidesTime(a: ObservedNode, b: ObservedNode): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  for (const key of keys) {
    if (key === 'last_seen' || key === 'last_seq') continue;
    const u = x[key];
    const v = y[key];
    if (u === v) continue;
    if (typeof u !== 'object' || typeof v !== 'object' || u === null || v === null) return false;
    if (JSON.stringify(u) !== JSON.stringify(v)) return false;
  }
  return true;
}
