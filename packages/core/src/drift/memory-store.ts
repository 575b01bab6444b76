import { PlumblineError } from '../errors.js';
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
} from './store.js';

/**
 * The in-memory {@link FleetStore}: everything is lost when the process ends. The default store of
 * the fleet monitor, and the base of `FileFleetStore`.
 *
 * Mutations are serialized: each one runs after the previous has been persisted, so
 * compare-and-set is exact and the change feed is in revision order.
 *
 * @example
 * ```ts
 * const store = new MemoryFleetStore();
 * const monitor = await FleetMonitor.create({ store });
 * ```
 * @public
 */
export class MemoryFleetStore implements FleetStore {
  /** @internal The revision of the last change (0 when empty). */
  protected revision = 0;
  /** @internal Desired states by cluster. */
  protected readonly desired = new Map<string, DesiredState>();
  /** @internal Pins by node id. */
  protected readonly pins = new Map<string, NodePin>();
  /** @internal Expected inventories by cluster. */
  protected readonly expected = new Map<string, ExpectedNodes>();
  /** @internal Observed nodes by node id. */
  protected readonly observed = new Map<string, ObservedNode>();
  /** @internal Rises whenever a node id is added to or removed from `observed`. */
  protected observedKeys = 0;
  readonly #listeners = new Set<FleetChangeListener>();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  /**
   * @param snapshot - initial contents (used by stores that load from somewhere).
   */
  constructor(snapshot?: FleetSnapshot) {
    if (snapshot !== undefined) this.replace(snapshot);
  }

  /** @internal Replaces every table with a snapshot's contents. */
  protected replace(snapshot: FleetSnapshot): void {
    this.revision = snapshot.revision;
    this.desired.clear();
    this.pins.clear();
    this.expected.clear();
    this.observed.clear();
    for (const d of snapshot.desired) this.desired.set(d.cluster, d);
    for (const p of snapshot.pins) this.pins.set(p.node_id, p);
    for (const e of snapshot.expected) this.expected.set(e.cluster, e);
    for (const o of snapshot.observed) this.observed.set(o.node_id, o);
    this.observedKeys++;
  }

  /** The tables as they are, unsorted (a cheap copy to undo a mutation whose write failed). */
  #copy(): FleetSnapshot {
    return {
      revision: this.revision,
      desired: [...this.desired.values()],
      pins: [...this.pins.values()],
      expected: [...this.expected.values()],
      observed: [...this.observed.values()],
    };
  }

  /** @internal The current contents, sorted for stable output. */
  protected snapshot(): FleetSnapshot {
    const byKey = <T>(map: Map<string, T>): T[] =>
      [...map.keys()].sort().map((key) => map.get(key) as T);
    return {
      revision: this.revision,
      desired: byKey(this.desired),
      pins: byKey(this.pins),
      expected: byKey(this.expected),
      observed: byKey(this.observed),
    };
  }

  /**
   * @internal Makes the current tables durable. The memory store has nothing to do; the file
   * store writes its file. A rejection fails the mutation that caused it.
   */
  protected persist(): Promise<void> {
    return Promise.resolve();
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new PlumblineError('PLB_STORE_CLOSED', 'the fleet store is closed');
    }
  }

  /** Runs one mutation after the previous one, persists, then publishes its changes. */
  #mutate<T>(apply: () => { result: T; changes: FleetChange[]; dirty: boolean }): Promise<T> {
    const run = async (): Promise<T> => {
      this.#checkOpen();
      const before = this.#copy();
      const { result, changes, dirty } = apply();
      if (dirty) {
        try {
          await this.persist();
        } catch (error) {
          this.replace(before);
          throw error;
        }
      }
      for (const change of changes) this.#publish(change);
      return result;
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #publish(change: FleetChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // Listeners never throw into the store.
      }
    }
  }

  /** Everything the store holds (used once at start-up). */
  async load(): Promise<FleetSnapshot> {
    this.#checkOpen();
    await this.#queue;
    return this.snapshot();
  }

  /**
   * Sets a cluster's desired state, assigning `version = previous version + 1`.
   *
   * @throws `PLB_STORE_CONFLICT` when `expected_version` is given and differs from the stored one.
   */
  setDesired(input: SetDesiredInput): Promise<DesiredState> {
    return this.#mutate(() => {
      const current = this.desired.get(input.cluster);
      const version = current?.version ?? 0;
      if (input.expected_version !== undefined && input.expected_version !== version) {
        throw new PlumblineError(
          'PLB_STORE_CONFLICT',
          `the desired state of cluster "${input.cluster}" is at version ${version}, not ${input.expected_version}`,
          {
            details: {
              cluster: input.cluster,
              version,
              expected_version: input.expected_version,
            },
          },
        );
      }
      const desired: DesiredState = {
        cluster: input.cluster,
        artifact_hash: input.artifact_hash,
        version: version + 1,
        actor: input.actor,
        reason: input.reason,
        changed_at: input.changed_at,
        rollout: input.rollout,
      };
      this.desired.set(input.cluster, desired);
      this.revision++;
      return {
        result: desired,
        changes: [{ kind: 'desired', revision: this.revision, desired }],
        dirty: true,
      };
    });
  }

  /** Removes a cluster's desired state (its nodes become `unknown`). No-op when absent. */
  clearDesired(cluster: string, actor: string): Promise<void> {
    return this.#mutate(() => {
      if (!this.desired.delete(cluster)) return { result: undefined, changes: [], dirty: false };
      this.revision++;
      return {
        result: undefined,
        changes: [{ kind: 'desired_cleared', revision: this.revision, cluster, actor }],
        dirty: true,
      };
    });
  }

  /** Pins one node to a hash (replacing an earlier pin). */
  setPin(pin: NodePin): Promise<void> {
    return this.#mutate(() => {
      this.pins.set(pin.node_id, pin);
      this.revision++;
      return {
        result: undefined,
        changes: [{ kind: 'pin', revision: this.revision, pin }],
        dirty: true,
      };
    });
  }

  /** Removes a node's pin. No-op when absent. */
  removePin(node_id: string, actor: string): Promise<void> {
    return this.#mutate(() => {
      if (!this.pins.delete(node_id)) return { result: undefined, changes: [], dirty: false };
      this.revision++;
      return {
        result: undefined,
        changes: [{ kind: 'pin_removed', revision: this.revision, node_id, actor }],
        dirty: true,
      };
    });
  }

  /** Replaces a cluster's expected inventory. */
  setExpected(expected: ExpectedNodes): Promise<void> {
    return this.#mutate(() => {
      const nodes = [...new Set(expected.nodes)].sort();
      const record: ExpectedNodes = { ...expected, nodes };
      this.expected.set(expected.cluster, record);
      this.revision++;
      return {
        result: undefined,
        changes: [{ kind: 'expected', revision: this.revision, expected: record }],
        dirty: true,
      };
    });
  }

  /** Upserts observed state for a batch of nodes (last write per node wins). */
  saveObserved(nodes: readonly ObservedNode[]): Promise<void> {
    return this.#mutate(() => {
      for (const node of nodes) {
        if (!this.observed.has(node.node_id)) this.observedKeys++;
        this.observed.set(node.node_id, node);
      }
      return { result: undefined, changes: [], dirty: nodes.length > 0 };
    });
  }

  /** Forgets a node's observed state. No-op when absent. */
  deleteObserved(node_id: string): Promise<void> {
    return this.#mutate(() => {
      const dirty = this.observed.delete(node_id);
      if (dirty) this.observedKeys++;
      return { result: undefined, changes: [], dirty };
    });
  }

  /**
   * Subscribes to the change feed; returns the unsubscribe function. Changes made through
   * any replica sharing the store are delivered, including this replica's own.
   */
  subscribe(listener: FleetChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Flushes pending writes and releases resources. Further calls throw `PLB_STORE_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue;
    this.#closed = true;
    this.#listeners.clear();
  }
}
