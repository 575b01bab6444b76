/**
 * The fleet state list and the node-state rule: one pure function, used by the
 * {@link FleetMonitor} and by any store's sweep, so every place that judges a node judges it the
 * same way.
 *
 * @packageDocumentation
 */
import type { DigestString } from '../../hash/digest.js';
import type { LiveConfigReport, LoadError, WorkerReport } from '../protocol.js';

/**
 * The state of one node (docs/protocol.md "Fleet states"):
 * - `in_sync`: runs the desired artifact (every worker);
 * - `drift`: runs something else (emits `drift.detected`, a.k.a. {@link ConfigurationDrift});
 * - `pending`: a rollout is in progress, before its deadline, and the node still runs the previous artifact;
 * - `rejected`: the node failed to load the desired artifact (`last_load_error`);
 * - `unknown`: its cluster has no desired state;
 * - `stale`: connected, but no heartbeat for `staleAfterIntervals` intervals;
 * - `disconnected`: its session ended;
 * - `never_seen`: expected, but never connected;
 * - `awaiting_report`: connected through a transport whose hello carries no artifact hash (such as
 *   Barbacane's `register`); not judged, no alert, until its first heartbeat reports a hash;
 * - `reload_pending`: runs the desired artifact and its live configuration matches it, but the
 *   gateway's files on disk changed after it loaded them (a reload would change what it runs);
 *   shown, not alerted (protocol v1.1 `live_config`);
 * - `probe_failing`: runs the desired artifact by its report, but the probe of its live
 *   configuration fails (gateway down, admin API refused): never silently `in_sync`; alerted
 *   (`node.probe_failing`).
 *
 * A node whose live configuration differs from what its (desired) artifact says — changed out of
 * band, through the gateway's admin API or an edited file reloaded by hand — is `drift`.
 *
 * @public
 */
export type NodeState =
  | 'in_sync'
  | 'drift'
  | 'pending'
  | 'rejected'
  | 'unknown'
  | 'stale'
  | 'disconnected'
  | 'never_seen'
  | 'awaiting_report'
  | 'reload_pending'
  | 'probe_failing';

/**
 * Every {@link NodeState}, in a fixed order (used for summaries and metrics). The one list of fleet
 * states: add a state here and everything that counts states follows.
 *
 * @public
 */
export const NODE_STATES: readonly NodeState[] = [
  'in_sync',
  'drift',
  'pending',
  'rejected',
  'unknown',
  'stale',
  'disconnected',
  'never_seen',
  'awaiting_report',
  'reload_pending',
  'probe_failing',
];

/**
 * The position of each state in {@link NODE_STATES} (counts arrays are indexed by it).
 *
 * @internal
 */
export const STATE_INDEX: Readonly<Record<NodeState, number>> = Object.fromEntries(
  NODE_STATES.map((state, index) => [state, index]),
) as Record<NodeState, number>;

/**
 * What {@link decideNodeState} needs to know about a node.
 *
 * @public
 */
export interface NodeFacts {
  /** Whether the node has an open session. */
  readonly connected: boolean;
  /** Whether the node was ever seen (a `hello` or a heartbeat). */
  readonly seen: boolean;
  /** Whether a connected node missed its heartbeats. */
  readonly stale: boolean;
  /** Whether a connected node has not yet reported what it runs (see `awaiting_report`). */
  readonly awaitingReport: boolean;
  /** The artifact it reports; `null` when it reports none loaded. */
  readonly reported: DigestString | null;
  /** Its workers' artifacts, as last reported; `null` when it listed none. */
  readonly workers: readonly WorkerReport[] | null;
  /** Its last failed load; `null` when none. */
  readonly last_load_error: LoadError | null;
  /**
   * What its live-configuration probe last found (protocol v1.1); `null` or absent when the node
   * has no probe.
   */
  readonly live?: Pick<LiveConfigReport, 'status' | 'digest' | 'expected_digest'> | null;
}

/**
 * What {@link decideNodeState} needs to know about what the node should run.
 *
 * @public
 */
export interface DesiredFacts {
  /** The node's pin hash when pinned, else its cluster's desired hash; `null` when neither. */
  readonly desired: DigestString | null;
  /** Whether `desired` comes from a per-node pin (a pinned node is never `pending`). */
  readonly pinned: boolean;
  /**
   * The cluster's rollout: `previous_hash` is allowed while `in_progress` (the node is `pending`).
   * `null` when there is none.
   */
  readonly rollout: {
    readonly previous_hash: DigestString | null;
    readonly status: 'in_progress' | 'completed' | 'deadline_exceeded';
  } | null;
}

/** Whether the node (and every worker) runs exactly `hash`. */
function runsOnly(node: NodeFacts, hash: DigestString): boolean {
  if (node.reported !== hash) return false;
  const workers = node.workers;
  if (workers !== null) {
    for (let i = 0; i < workers.length; i++) {
      if ((workers[i] as WorkerReport).artifact_hash !== hash) return false;
    }
  }
  return true;
}

/** Whether the node (and every worker) runs `a` or `b`. */
function runsEither(node: NodeFacts, a: DigestString | null, b: DigestString): boolean {
  if (node.reported !== b && (a === null || node.reported !== a)) return false;
  const workers = node.workers;
  if (workers !== null) {
    for (let i = 0; i < workers.length; i++) {
      const h = (workers[i] as WorkerReport).artifact_hash;
      if (h !== b && (a === null || h !== a)) return false;
    }
  }
  return true;
}

/**
 * The state of a node that reports the desired artifact, by its live configuration: a failing
 * probe is `probe_failing`; a live digest other than the artifact's is `drift` (changed out of
 * band), or `pending` while a rollout is in progress (the gateway may not have reloaded yet);
 * a matching one with files changed on disk is `reload_pending`; else `in_sync`.
 */
function liveState(live: (NodeFacts['live'] & object) | null, target: DesiredFacts): NodeState {
  if (live === null) return 'in_sync';
  if (live.status === 'failing') return 'probe_failing';
  if (live.expected_digest !== null && live.digest !== live.expected_digest) {
    const rollout = target.rollout;
    return !target.pinned && rollout !== null && rollout.status === 'in_progress'
      ? 'pending'
      : 'drift';
  }
  return live.status === 'reload_pending' ? 'reload_pending' : 'in_sync';
}

/**
 * The node-state rule (docs/protocol.md "Fleet states"), as one pure function: liveness first
 * (`never_seen`, `disconnected`, `stale`, `awaiting_report`), then what it runs against what it
 * should (`unknown`, `in_sync`, `rejected`, `pending`, `drift`), then, for a node that runs the
 * desired artifact and reports `live_config`, what the gateway runs now (`probe_failing`,
 * `drift`, `reload_pending`). Every worker must run the desired
 * artifact for `in_sync`; a failed load of the desired artifact is `rejected`; during a rollout
 * in progress a node (not pinned) running the previous or the new artifact is `pending`.
 *
 * @example
 * ```ts
 * decideNodeState(
 *   { connected: true, seen: true, stale: false, awaitingReport: false, reported: a, workers: null, last_load_error: null },
 *   { desired: a, pinned: false, rollout: null },
 * ); // 'in_sync'
 * ```
 * @public
 */
export function decideNodeState(node: NodeFacts, target: DesiredFacts): NodeState {
  if (!node.connected) return node.seen ? 'disconnected' : 'never_seen';
  if (node.stale) return 'stale';
  if (node.awaitingReport) return 'awaiting_report';
  const desired = target.desired;
  if (desired === null) return 'unknown';
  if (runsOnly(node, desired)) return liveState(node.live ?? null, target);
  const error = node.last_load_error;
  if (error !== null && error.artifact_hash === desired) return 'rejected';
  const rollout = target.rollout;
  if (
    !target.pinned &&
    rollout !== null &&
    rollout.status === 'in_progress' &&
    runsEither(node, rollout.previous_hash, desired)
  ) {
    return 'pending';
  }
  return 'drift';
}
