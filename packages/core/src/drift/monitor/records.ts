/**
 * The monitor's in-memory records: one mutable object per node and per cluster, and the small
 * comparisons the hot path uses.
 *
 * @internal
 * @packageDocumentation
 */
import type { DigestString } from '../../hash/digest.js';
import type { TimerHandle } from '../clock.js';
import type { RolloutStatus } from '../monitor-types.js';
import type {
  LiveConfigReport,
  LoadError,
  ReportedProvenance,
  VerificationReasonReport,
  WorkerReport,
} from '../protocol.js';
import type { DesiredState, ObservedNode, Rollout } from '../store.js';
import { NODE_STATES, STATE_INDEX, type NodeState } from './state.js';

/**
 * A node as the monitor holds it: one object per node, mutated in place on the hot path.
 *
 * @internal
 */
export interface NodeRecord {
  readonly node_id: string;
  cluster: ClusterRecord;
  state: NodeState;
  since: number;
  reported: DigestString | null;
  workers: readonly WorkerReport[] | null;
  /** The provenance of `reported`: `null` when unknown for that hash. */
  provenance: ReportedProvenance | null;
  /** The provenance the session's `hello` announced, and the hash it belongs to. */
  helloProvenance: ReportedProvenance | null;
  helloHash: DigestString | null;
  loaded_at: string | null;
  last_load_error: LoadError | null;
  /** What its live-configuration probe last found (protocol v1.1); `null` without a probe. */
  live: LiveConfigReport | null;
  /** The verification checks its `warn` policy tolerated, as last reported (protocol v1.1). */
  reasons: readonly VerificationReasonReport[] | null;
  instance_id: string | null;
  last_seq: number;
  /** Milliseconds since the epoch, or -1 when never seen. */
  last_seen: number;
  session: string | null;
  stale: boolean;
  /** Connected through a hello without a report; not judged until its first heartbeat. */
  awaiting: boolean;
  /**
   * The node's state comes from another replica sharing the store (its session is there); that
   * replica announces its alerts. `remoteConnected` is whether that session is open.
   */
  remote: boolean;
  remoteConnected: boolean;
  expected: boolean;
  closeCode: number | null;
  /** Liveness list (connected, not stale), ordered by last_seen. */
  prev: NodeRecord | null;
  next: NodeRecord | null;
  inList: boolean;
  /** Flap damping. */
  flapScore: number;
  flapAt: number;
  flapping: boolean;
  /** Flapping episodes started (a shared store carries it, so replicas name an episode alike). */
  flapEpisode: number;
  flapTimer: TimerHandle | null;
  /** The state alerts last announced (differs from `state` while flapping). */
  announced: NodeState;
  /**
   * The open drift episode: set when `drift.detected` is announced, cleared when `drift.resolved`
   * is (or the node is forgotten). It survives `disconnected`, `stale`, `awaiting_report` and
   * every state that does not resolve drift, and travels with the observed record, so a node that
   * comes back still drifting (reconnect, failover, restart) raises no new alert.
   */
  driftOpen: boolean;
  /** When the open drift episode started (milliseconds since the epoch). */
  driftSince: number;
  dirty: boolean;
}

/** @internal */
export interface RolloutRecord extends Rollout {
  readonly deadlineMs: number;
  status: RolloutStatus['status'];
  timer: TimerHandle | null;
}

/** @internal */
export interface ClusterRecord {
  readonly name: string;
  desired: DesiredState | null;
  rollout: RolloutRecord | null;
  readonly counts: number[];
  readonly nodes: Set<NodeRecord>;
  expected: Set<string>;
}

/**
 * Copies what a node reported, as a store holds it, into its record (its liveness fields are the
 * caller's: they differ between loading the state and following another replica).
 *
 * @internal
 */
export function copyObserved(node: NodeRecord, observed: ObservedNode): void {
  node.reported = observed.reported_hash;
  node.workers = observed.workers;
  node.provenance = observed.provenance;
  node.helloProvenance = observed.provenance;
  node.helloHash = observed.reported_hash;
  node.loaded_at = observed.loaded_at;
  node.last_load_error = observed.last_load_error;
  node.live = observed.live ?? null;
  node.instance_id = observed.instance_id;
  node.last_seq = observed.last_seq;
  // Flap damping as the writing replica counted it (written by shared stores only).
  const flap = observed.flap;
  if (flap !== undefined) {
    node.flapScore = flap.score;
    node.flapAt = Date.parse(flap.at);
    node.flapping = flap.flapping;
    node.flapEpisode = flap.episode;
  }
  // The drift episode as the writing replica (or this one, before a restart) left it.
  const driftSince = observed.drift_since === undefined ? null : observed.drift_since;
  node.driftOpen = driftSince !== null;
  if (driftSince !== null) node.driftSince = Date.parse(driftSince);
}

/** @internal */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** @internal */
export function newClusterRecord(name: string): ClusterRecord {
  return {
    name,
    desired: null,
    rollout: null,
    counts: NODE_STATES.map(() => 0),
    nodes: new Set(),
    expected: new Set(),
  };
}

/** @internal */
export function newNodeRecord(
  node_id: string,
  cluster: ClusterRecord,
  state: NodeState,
  since: number,
): NodeRecord {
  return {
    node_id,
    cluster,
    state,
    since,
    reported: null,
    workers: null,
    provenance: null,
    helloProvenance: null,
    helloHash: null,
    loaded_at: null,
    last_load_error: null,
    live: null,
    reasons: null,
    instance_id: null,
    last_seq: 0,
    last_seen: -1,
    session: null,
    stale: false,
    awaiting: false,
    remote: false,
    remoteConnected: false,
    expected: cluster.expected.has(node_id),
    closeCode: null,
    prev: null,
    next: null,
    inList: false,
    flapScore: 0,
    flapAt: 0,
    flapping: false,
    flapEpisode: 0,
    flapTimer: null,
    announced: state,
    driftOpen: false,
    driftSince: since,
    dirty: false,
  };
}

/** Moves one node of a cluster's counts from one state to another. @internal */
export function countMove(
  cluster: ClusterRecord,
  from: NodeState | null,
  to: NodeState | null,
): void {
  if (from !== null) cluster.counts[STATE_INDEX[from]]! -= 1;
  if (to !== null) cluster.counts[STATE_INDEX[to]]! += 1;
}

/** @internal */
export function sameWorkers(
  a: readonly WorkerReport[] | null,
  b: readonly WorkerReport[] | null | undefined,
): boolean {
  const bb = b ?? null;
  if (a === bb) return true;
  if (a === null || bb === null || a.length !== bb.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as WorkerReport;
    const y = bb[i] as WorkerReport;
    if (x.id !== y.id || x.artifact_hash !== y.artifact_hash) return false;
  }
  return true;
}

/** @internal */
export function sameLoadError(a: LoadError | null, b: LoadError | null | undefined): boolean {
  const bb = b ?? null;
  if (a === bb) return true;
  if (a === null || bb === null) return false;
  return (
    a.artifact_hash === bb.artifact_hash &&
    a.code === bb.code &&
    a.message === bb.message &&
    a.at === bb.at
  );
}

/** Whether two live-configuration reports say the same (their times aside). @internal */
export function sameLive(
  a: LiveConfigReport | null,
  b: LiveConfigReport | null | undefined,
): boolean {
  const bb = b ?? null;
  if (a === bb) return true;
  if (a === null || bb === null) return false;
  if (
    a.status !== bb.status ||
    a.digest !== bb.digest ||
    a.expected_digest !== bb.expected_digest ||
    a.code !== bb.code ||
    a.probe !== bb.probe
  )
    return false;
  const x = a.differences ?? [];
  const y = bb.differences ?? [];
  return x.length === y.length && x.every((d, i) => d === y[i]);
}
