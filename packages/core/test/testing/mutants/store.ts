/**
 * Broken fleet stores: a small correct store over shared memory (with replicas and reopen), with
 * one flaw each. The fleet store conformance suite must fail every one (mutation.test.ts).
 */
import { PlumblineError } from '@plumbline/core';
import type {
  DesiredState,
  ExpectedNodes,
  FleetChange,
  FleetChangeListener,
  FleetSnapshot,
  FleetStore,
  NodePin,
  ObservedNode,
  SetDesiredInput,
} from '@plumbline/core/drift';
import type { FleetStoreFactory } from '@plumbline/core/testing';

/** Each flaw and the contract clause the suite must name when it catches it. */
export const STORE_FLAWS = {
  'a batch truncated to its first 100 rows': 'store.observed',
  'nulls stored as missing': 'store.observed',
  'deleteObserved ignored': 'store.observed',
  'live configuration dropped': 'store.live',
  'overlapping saves reordered': 'store.call-order',
  'overlapping pins reordered': 'store.call-order',
  'load returns the live state': 'store.copies',
  'no compare-and-set': 'store.desired',
  'versions do not rise': 'store.desired',
  'a pin is never replaced': 'store.pins-expected',
  'expected inventory kept unsorted with duplicates': 'store.pins-expected',
  'a listener that throws stops the feed': 'store.feed',
  'unsubscribe ignored': 'store.feed',
  'revisions repeat': 'store.feed',
  'replica feed out of order': 'store.replicas',
  'replica feed drops changes under load': 'store.replicas',
  'compare-and-set per replica only': 'store.replicas',
  'works after close': 'store.closed',
  'observed state lost on reopen': 'store.durable',
  'not empty when new': 'store.empty',
} as const;

export type StoreFlaw = keyof typeof STORE_FLAWS;

interface Backing {
  revision: number;
  desired: Map<string, DesiredState>;
  pins: Map<string, NodePin>;
  expected: Map<string, ExpectedNodes>;
  observed: Map<string, ObservedNode>;
  replicas: Set<FlawedStore>;
  /** The snapshot handed out by the 'load returns the live state' flaw, until the next write. */
  live: FleetSnapshot | null;
}

const sorted = <T>(map: Map<string, T>): T[] =>
  [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
const copy = <T>(value: T): T => structuredClone(value);
type ChangeInput = FleetChange extends infer C
  ? C extends FleetChange
    ? Omit<C, 'revision'>
    : never
  : never;
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class FlawedStore implements FleetStore {
  readonly #b: Backing;
  readonly #flaw: StoreFlaw;
  readonly #listeners = new Set<FleetChangeListener>();
  #closed = false;
  #calls = 0;
  #versions = new Map<string, number>();
  #feedCount = 0;
  #held: FleetChange | null = null;

  constructor(backing: Backing, flaw: StoreFlaw) {
    this.#b = backing;
    this.#flaw = flaw;
    backing.replicas.add(this);
  }

  #live(): void {
    if (this.#closed && this.#flaw !== 'works after close') {
      throw new PlumblineError('PLB_STORE_CLOSED', 'the store is closed');
    }
  }

  /** Delays the call when the flaw reorders overlapping calls: later calls land first. */
  async #turn(reorder: boolean): Promise<void> {
    const n = ++this.#calls;
    if (reorder) await tick(Math.max(0, 40 - n));
    else await Promise.resolve();
  }

  #publish(change: ChangeInput): void {
    this.#b.live = null;
    if (this.#flaw !== 'revisions repeat' || this.#b.revision === 0) this.#b.revision += 1;
    const full = { ...change, revision: this.#b.revision } as FleetChange;
    for (const replica of this.#b.replicas) replica.#hear(full, replica !== this);
  }

  #hear(change: FleetChange, remote: boolean): void {
    if (this.#closed) return;
    if (remote && this.#flaw === 'replica feed drops changes under load') {
      this.#feedCount += 1;
      if (this.#feedCount > 16) return;
    }
    if (remote && this.#flaw === 'replica feed out of order') {
      if (this.#held === null) {
        this.#held = change;
        setTimeout(() => {
          if (this.#held !== null) this.#emit(this.#held);
          this.#held = null;
        }, 5);
        return;
      }
      this.#emit(change);
      const held = this.#held;
      this.#held = null;
      this.#emit(held);
      return;
    }
    setTimeout(() => this.#emit(change), 0);
  }

  #emit(change: FleetChange): void {
    if (this.#flaw === 'a listener that throws stops the feed') {
      try {
        for (const listener of [...this.#listeners]) listener(change);
      } catch {
        // the rest of the listeners miss the change
      }
      return;
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // ignored
      }
    }
  }

  async load(): Promise<FleetSnapshot> {
    this.#live();
    await Promise.resolve();
    const b = this.#b;
    const snapshot: FleetSnapshot = {
      revision: b.revision,
      desired: sorted(b.desired),
      pins: sorted(b.pins),
      expected: sorted(b.expected),
      observed: sorted(b.observed),
    };
    if (this.#flaw === 'not empty when new' && b.revision === 0) {
      return { ...snapshot, revision: 1 };
    }
    if (this.#flaw === 'load returns the live state') return (b.live ??= snapshot);
    return copy(snapshot);
  }

  async setDesired(input: SetDesiredInput): Promise<DesiredState> {
    this.#live();
    await this.#turn(false);
    const current = this.#b.desired.get(input.cluster);
    const known =
      this.#flaw === 'compare-and-set per replica only'
        ? (this.#versions.get(input.cluster) ?? 0)
        : (current?.version ?? 0);
    if (
      this.#flaw !== 'no compare-and-set' &&
      input.expected_version !== undefined &&
      input.expected_version !== known
    ) {
      throw new PlumblineError('PLB_STORE_CONFLICT', 'stale expected_version');
    }
    const version = this.#flaw === 'versions do not rise' ? 1 : (current?.version ?? 0) + 1;
    const { expected_version: _ignored, ...rest } = input;
    const desired: DesiredState = copy({ ...rest, version });
    this.#b.desired.set(input.cluster, desired);
    this.#versions.set(input.cluster, version);
    this.#publish({ kind: 'desired', desired: copy(desired) });
    return copy(desired);
  }

  async clearDesired(cluster: string, actor: string): Promise<void> {
    this.#live();
    await this.#turn(false);
    if (!this.#b.desired.delete(cluster)) return;
    this.#publish({ kind: 'desired_cleared', cluster, actor });
  }

  async setPin(pin: NodePin): Promise<void> {
    this.#live();
    await this.#turn(this.#flaw === 'overlapping pins reordered');
    if (this.#flaw === 'a pin is never replaced' && this.#b.pins.has(pin.node_id)) return;
    this.#b.pins.set(pin.node_id, copy(pin));
    this.#publish({ kind: 'pin', pin: copy(pin) });
  }

  async removePin(node_id: string, actor: string): Promise<void> {
    this.#live();
    await this.#turn(false);
    if (!this.#b.pins.delete(node_id)) return;
    this.#publish({ kind: 'pin_removed', node_id, actor });
  }

  async setExpected(expected: ExpectedNodes): Promise<void> {
    this.#live();
    await this.#turn(false);
    const nodes =
      this.#flaw === 'expected inventory kept unsorted with duplicates'
        ? [...expected.nodes]
        : [...new Set(expected.nodes)].sort();
    const stored = { ...copy(expected), nodes };
    this.#b.expected.set(expected.cluster, stored);
    this.#publish({ kind: 'expected', expected: copy(stored) });
  }

  async saveObserved(nodes: readonly ObservedNode[]): Promise<void> {
    this.#live();
    await this.#turn(this.#flaw === 'overlapping saves reordered');
    const batch =
      this.#flaw === 'a batch truncated to its first 100 rows' ? nodes.slice(0, 100) : nodes;
    for (const node of batch) {
      let row = copy(node);
      if (this.#flaw === 'nulls stored as missing') {
        row = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null)) as ObservedNode;
      }
      if (this.#flaw === 'live configuration dropped' && row.live !== undefined) {
        const { live: _live, ...rest } = row;
        row = rest;
      }
      this.#b.observed.set(node.node_id, row);
    }
    this.#b.live = null;
  }

  async deleteObserved(node_id: string): Promise<void> {
    this.#live();
    await this.#turn(false);
    if (this.#flaw !== 'deleteObserved ignored') this.#b.observed.delete(node_id);
  }

  subscribe(listener: FleetChangeListener): () => void {
    this.#live();
    this.#listeners.add(listener);
    return () => {
      if (this.#flaw !== 'unsubscribe ignored') this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#b.replicas.delete(this);
    if (this.#flaw === 'observed state lost on reopen') this.#b.observed.clear();
  }
}

/** A store factory with `flaw` built in (and a correct store for `undefined`). */
export function flawedStore(flaw: StoreFlaw | undefined): FleetStoreFactory {
  return async () => {
    const backing: Backing = {
      revision: 0,
      desired: new Map(),
      pins: new Map(),
      expected: new Map(),
      observed: new Map(),
      replicas: new Set(),
      live: null,
    };
    const open = async (): Promise<FleetStore> =>
      new FlawedStore(backing, flaw ?? ('' as StoreFlaw));
    return { store: await open(), reopen: open, replica: open };
  };
}
