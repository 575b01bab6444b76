/**
 * The `FleetStore` interface: where a control plane keeps desired state, per-node pins, the
 * expected inventory and the last observed state of every node, so a restart forgets nothing and
 * several replicas converge. Embedded implementations: {@link MemoryFleetStore} (here) and
 * `FileFleetStore` (`@plumbline/core/node`); `@plumbline/postgres` adds a shared store.
 *
 * @packageDocumentation
 */
import type { DigestString } from '../hash/digest.js';
import type { LiveConfigReport, LoadError, ReportedProvenance, WorkerReport } from './protocol.js';

/**
 * A rollout window: until `deadline`, nodes of the cluster may run `previous_hash` as well as
 * the desired hash (they are `pending`, not `drift`).
 *
 * @public
 */
export interface Rollout {
  /** The hash desired before this change (allowed until the deadline); `null` if none. */
  readonly previous_hash: DigestString | null;
  /** When the rollout started (RFC 3339). */
  readonly started_at: string;
  /** When the rollout must be complete (RFC 3339). */
  readonly deadline: string;
}

/**
 * The desired state of one cluster.
 *
 * @public
 */
export interface DesiredState {
  /** The cluster it applies to. */
  readonly cluster: string;
  /** The artifact every node of the cluster should run. */
  readonly artifact_hash: DigestString;
  /** Starts at 1 and rises by one with every change of this cluster's desired state (for compare-and-set). */
  readonly version: number;
  /** Who changed it (the authenticated caller). */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
  /** When (RFC 3339). */
  readonly changed_at: string;
  /** The rollout window, or `null` for an immediate change. */
  readonly rollout: Rollout | null;
}

/**
 * A per-node override of the cluster's desired hash (a canary, or a node held back).
 *
 * @public
 */
export interface NodePin {
  /** The pinned node. */
  readonly node_id: string;
  /** The node's cluster. */
  readonly cluster: string;
  /** The artifact the node should run instead of its cluster's desired hash. */
  readonly artifact_hash: DigestString;
  /** Who pinned it (the authenticated caller). */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
  /** When (RFC 3339). */
  readonly pinned_at: string;
}

/**
 * The nodes a cluster is expected to have (those never seen are `never_seen`).
 *
 * @public
 */
export interface ExpectedNodes {
  /** The cluster the inventory is for. */
  readonly cluster: string;
  /** Node ids, sorted, without duplicates. */
  readonly nodes: readonly string[];
  /** Who set the inventory (the authenticated caller). */
  readonly actor: string;
  /** When (RFC 3339). */
  readonly changed_at: string;
}

/**
 * The last observed state of a node, persisted so a restarted control plane still knows every
 * node it has seen (they come back as `disconnected` until they reconnect).
 *
 * @public
 */
export interface ObservedNode {
  /** The node's id. */
  readonly node_id: string;
  /** The cluster of its last `hello`. */
  readonly cluster: string;
  /** The `instance_id` of its last `hello` (one per data-plane process start); `null` if none. */
  readonly instance_id: string | null;
  /** The artifact it last reported; `null` when it reported none loaded. */
  readonly reported_hash: DigestString | null;
  /** The artifact each worker runs, as last reported; `null` when it listed no workers. */
  readonly workers: readonly WorkerReport[] | null;
  /**
   * The provenance its `hello` sent for `reported_hash`; `null` when none was sent or the node has
   * reported another hash since.
   */
  readonly provenance: ReportedProvenance | null;
  /** When it loaded what it runs (RFC 3339), as it reported; `null` when not reported. */
  readonly loaded_at: string | null;
  /** Its last failed load, as last reported in a heartbeat; `null` when none. */
  readonly last_load_error: LoadError | null;
  /** The last heartbeat or hello (RFC 3339); `null` for a node never seen. */
  readonly last_seen: string | null;
  /** The highest `seq` accepted from `instance_id`. */
  readonly last_seq: number;
  /**
   * Whether the node had an open session on the replica that wrote this record (what other
   * replicas sharing the store show). Absent in records of earlier versions: not connected.
   */
  readonly connected?: boolean;
  /** Whether that session had missed its heartbeats (`stale`). */
  readonly stale?: boolean;
  /** Whether that session had not yet reported what it runs (`awaiting_report`). */
  readonly awaiting_report?: boolean;
  /**
   * What the node's live-configuration probe last reported (protocol v1.1 `live_config`); `null`
   * when it reported none. Absent in records of earlier versions: `null`.
   */
  readonly live?: LiveConfigReport | null;
  /**
   * The node's flap damping, as the replica that wrote this record counted it, so replicas sharing
   * the store count the state changes of a node that reconnects among them together. Absent: none
   * counted.
   */
  readonly flap?: ObservedFlap;
  /**
   * When the node's open drift episode started (RFC 3339): its `drift.detected` was announced and
   * no `drift.resolved` yet. Absent or `null`: no open episode. Kept across disconnects, failovers
   * and restarts, so the episode is resolved once, and a node that comes back still drifting raises
   * no new `drift.detected`.
   */
  readonly drift_since?: string | null;
}

/**
 * Flap damping of a node, as a store keeps it (see {@link ObservedNode.flap}).
 *
 * @public
 */
export interface ObservedFlap {
  /** The score after the last counted state change (it halves every half-life since `at`). */
  readonly score: number;
  /** When the last state change was counted (RFC 3339). */
  readonly at: string;
  /** Whether the node is flapping (its alerts are held back until it settles). */
  readonly flapping: boolean;
  /** How many flapping episodes the node has started (the id of the current one). */
  readonly episode: number;
}

/**
 * Where a change was made, as a shared store tells its replicas: `local` is `false` on the
 * replicas that did not make it, so only the replica that did announces it (one alert per fact,
 * fleet-wide). Absent (single-process stores): the change is local.
 *
 * @public
 */
export interface FleetChangeOrigin {
  /** Whether this replica made the change. Default `true`. */
  readonly local?: boolean;
}

/**
 * A change recorded by a store, delivered through {@link FleetStore.subscribe} to every
 * subscriber (every control-plane replica), in `revision` order. A shared store also delivers
 * `observed` changes: the observed state of nodes attached to other replicas (their order is
 * per node only), `seen` changes (a newer heartbeat time of such a node, and nothing else), and
 * `observed_deleted` when a replica forgot a node (every replica drops it).
 *
 * @public
 */
export type FleetChange =
  | ({
      readonly kind: 'desired';
      readonly revision: number;
      readonly desired: DesiredState;
    } & FleetChangeOrigin)
  | ({
      readonly kind: 'desired_cleared';
      readonly revision: number;
      readonly cluster: string;
      readonly actor: string;
    } & FleetChangeOrigin)
  | ({ readonly kind: 'pin'; readonly revision: number; readonly pin: NodePin } & FleetChangeOrigin)
  | ({
      readonly kind: 'pin_removed';
      readonly revision: number;
      readonly node_id: string;
      readonly actor: string;
    } & FleetChangeOrigin)
  | ({
      readonly kind: 'expected';
      readonly revision: number;
      readonly expected: ExpectedNodes;
    } & FleetChangeOrigin)
  | ({
      readonly kind: 'observed_deleted';
      readonly revision: number;
      readonly node_id: string;
    } & FleetChangeOrigin)
  | FleetObservedChange
  | FleetSeenChange;

/**
 * The observed state of a node attached to another replica, as a shared store delivers it.
 *
 * @public
 */
export interface FleetObservedChange {
  /** The kind of change. */
  readonly kind: 'observed';
  /** The store's revision of this record (rises per node). */
  readonly revision: number;
  /** The node as its replica last wrote it (`connected`, `stale`, `awaiting_report` included). */
  readonly node: ObservedNode;
  /**
   * `true` on the one replica that announces this change's alerts (the sweep leader, for a node
   * whose replica died); `false` everywhere else (the node's own replica announced it).
   */
  readonly announce: boolean;
}

/**
 * A newer `last_seen` (and `last_seq`) of a node attached to another replica, which reported
 * nothing else new: a shared store may share heartbeat times this way, apart from
 * {@link FleetObservedChange}s, so its feed does not carry a whole record per heartbeat. A
 * replica that does not show the node yet ignores it (the record comes as an `observed` change).
 *
 * @public
 */
export interface FleetSeenChange {
  /** The kind of change. */
  readonly kind: 'seen';
  /** The revision of the node's record this time refreshes (unchanged by it). */
  readonly revision: number;
  /** The node. */
  readonly node_id: string;
  /** Its last heartbeat or hello on its replica (RFC 3339). */
  readonly last_seen: string;
  /** The highest `seq` its replica accepted from it. */
  readonly last_seq: number;
}

/**
 * Input of {@link FleetStore.setDesired}.
 *
 * @public
 */
export interface SetDesiredInput {
  /** The cluster to change. */
  readonly cluster: string;
  /** The artifact every node of the cluster should run. */
  readonly artifact_hash: DigestString;
  /** Who makes the change (the authenticated caller). */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
  /** When the change is made (RFC 3339); the caller's clock. */
  readonly changed_at: string;
  /** The rollout window, or `null` for an immediate change. */
  readonly rollout: Rollout | null;
  /**
   * Compare-and-set: the `version` the caller read (0 when the cluster had no desired state).
   * When given and the stored version differs, the store throws `PLB_STORE_CONFLICT`.
   */
  readonly expected_version?: number;
}

/**
 * Everything a store holds, as returned by {@link FleetStore.load}.
 *
 * @public
 */
export interface FleetSnapshot {
  /** The revision of the last change included (0 for an empty store). */
  readonly revision: number;
  /** Every cluster's desired state. */
  readonly desired: readonly DesiredState[];
  /** Every per-node pin. */
  readonly pins: readonly NodePin[];
  /** Every cluster's expected inventory. */
  readonly expected: readonly ExpectedNodes[];
  /** The last observed state of every node seen. */
  readonly observed: readonly ObservedNode[];
}

/**
 * A change-feed listener. Called once per change, in revision order, after the change is
 * durable. Listeners never throw (a store catches and ignores what they throw).
 *
 * @public
 */
export type FleetChangeListener = (change: FleetChange) => void;

/**
 * Observed-state updates a store dropped during one outage, because they did not fit its buffer
 * bound while its backend was unreachable: a count and a time span, never node ids.
 *
 * @public
 */
export interface ObservedDrop {
  /** The store's kind (`postgres`, …), as the audit trail names it. */
  readonly store: string;
  /** Updates dropped during the outage. */
  readonly dropped: number;
  /** The buffer bound (nodes) that was full. */
  readonly limit: number;
  /** When the first update of the outage was dropped (RFC 3339 UTC). */
  readonly first_dropped_at: string;
  /** When the last update of the outage was dropped (RFC 3339 UTC). */
  readonly last_dropped_at: string;
}

/**
 * Persistent state of a fleet. Writes of configuration (desired state, pins, expected nodes)
 * are durable when their promise resolves and appear on the change feed of every replica;
 * observed state is written in batches and is not on the feed (each replica observes its own
 * sessions).
 *
 * Implementations run the conformance suite `describeFleetStoreConformance` from
 * `@plumbline/core/testing`.
 *
 * @example
 * ```ts
 * const store = new MemoryFleetStore();
 * const desired = await store.setDesired({ cluster: 'prod', artifact_hash, actor: 'alice', reason: 'release 42',
 *   changed_at: new Date().toISOString(), rollout: null, expected_version: 0 });
 * ```
 * @public
 */
export interface FleetStore {
  /** Everything the store holds (used once at start-up). */
  load(): Promise<FleetSnapshot>;
  /**
   * Sets a cluster's desired state, assigning `version = previous version + 1`.
   *
   * @throws `PLB_STORE_CONFLICT` when `expected_version` is given and differs from the stored one.
   */
  setDesired(input: SetDesiredInput): Promise<DesiredState>;
  /** Removes a cluster's desired state (its nodes become `unknown`). No-op when absent. */
  clearDesired(cluster: string, actor: string): Promise<void>;
  /** Pins one node to a hash (replacing an earlier pin). */
  setPin(pin: NodePin): Promise<void>;
  /** Removes a node's pin. No-op when absent. */
  removePin(node_id: string, actor: string): Promise<void>;
  /** Replaces a cluster's expected inventory. */
  setExpected(expected: ExpectedNodes): Promise<void>;
  /** Upserts observed state for a batch of nodes (last write per node wins). */
  saveObserved(nodes: readonly ObservedNode[]): Promise<void>;
  /** Forgets a node's observed state. No-op when absent. */
  deleteObserved(node_id: string): Promise<void>;
  /**
   * Subscribes to the change feed; returns the unsubscribe function. Changes made through
   * any replica sharing the store are delivered, including this replica's own.
   */
  subscribe(listener: FleetChangeListener): () => void;
  /**
   * Claims a fact fleet-wide (a shared store): resolves `true` for exactly one caller per `key`
   * across every replica sharing the store, `false` for the others. The monitor announces facts
   * that every replica sees the same way (a rollout completing or missing its deadline) only when
   * it wins the claim. Absent: every fact is this process's own.
   */
  claimFact?(key: string): Promise<boolean>;
  /**
   * Subscribes to reports of observed-state updates the store dropped (a store that buffers them
   * while its backend is unreachable, up to a bound): one report per outage, once the backend is
   * back; returns the unsubscribe function. The monitor counts and audits them. Absent: the store
   * drops nothing (a failed `saveObserved` rejects and the monitor retries it).
   */
  onObservedDropped?(listener: (drop: ObservedDrop) => void): () => void;
  /** Flushes pending writes and releases resources. Further calls throw `PLB_STORE_CLOSED`. */
  close(): Promise<void>;
}
