/**
 * Fleet states and the typed events the {@link FleetMonitor} emits.
 *
 * @packageDocumentation
 */
import type { DigestString } from '../hash/digest.js';
import type { LiveConfigReport, LoadError, ReportedProvenance, WorkerReport } from './protocol.js';
import type { Rollout } from './store.js';

import type { NodeState } from './monitor/state.js';

// The one list of fleet states lives with the node-state rule; it is re-exported here, where the
// events that carry states are.
export { NODE_STATES } from './monitor/state.js';
export type { NodeState } from './monitor/state.js';

/**
 * Fields every fleet event carries.
 *
 * @public
 */
export interface FleetEventBase {
  /** Unique event id; webhooks send it as the idempotency key (`Plumbline-Event-Id`). */
  readonly id: string;
  /** When the event happened (RFC 3339, the monitor's clock). */
  readonly at: string;
}

/**
 * Fields of events about one node.
 *
 * @public
 */
export interface NodeEventFields extends FleetEventBase {
  /** The node's id (its authenticated identity). */
  readonly node_id: string;
  /** The node's cluster. */
  readonly cluster: string;
  /** The node's state after the event. */
  readonly state: NodeState;
  /** The artifact the node reports (`null` when it loaded none or was never seen). */
  readonly reported_hash: DigestString | null;
  /** The artifact it should run (`null` when there is no desired state). */
  readonly desired_hash: DigestString | null;
  /**
   * The `instance_id` of the node's last `hello` (one per data-plane process start); `null` when it
   * never sent one.
   */
  readonly instance_id: string | null;
}

/**
 * Every state change of a node, exactly once (also while flapping; not sent to alert sinks).
 *
 * @public
 */
export interface NodeStateChangedEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'node.state_changed';
  /** The node's previous state. */
  readonly from: NodeState;
}

/**
 * A node runs something other than its desired artifact: the `ConfigurationDrift` event.
 *
 * @public
 */
export interface DriftDetectedEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'drift.detected';
  /**
   * The state last announced before this one (transitions of a flapping node are not announced, so
   * it can differ from the immediately previous state).
   */
  readonly from: NodeState;
  /** The provenance the node sent for what it runs. */
  readonly provenance: ReportedProvenance | null;
  /** The artifact each worker runs, as last reported; `null` when the node listed no workers. */
  readonly workers: readonly WorkerReport[] | null;
  /**
   * For a drift of the running configuration (changed out of band): what the node's probe found,
   * with the differing JSON pointers or normalised lines in `differences`. Absent otherwise.
   */
  readonly live_config?: LiveConfigReport;
}

/**
 * The probe of a node's live configuration fails (gateway down, admin API refused, output
 * malformed): what it runs now is unknown.
 *
 * @public
 */
export interface NodeProbeFailingEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'node.probe_failing';
  /** The state last announced before this one. */
  readonly from: NodeState;
  /** The failing report: the probe kind, its `code` and `message`. */
  readonly live_config: LiveConfigReport | null;
}

/**
 * The `ConfigurationDrift` event of docs/protocol.md (an alias of {@link DriftDetectedEvent}).
 *
 * @public
 */
export type ConfigurationDrift = DriftDetectedEvent;

/**
 * A drifted node no longer drifts (it runs the desired artifact, or a rollout now allows it).
 *
 * @public
 */
export interface DriftResolvedEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'drift.resolved';
  /** When the drift began (RFC 3339). */
  readonly drift_since: string;
}

/**
 * A node failed to load its desired artifact.
 *
 * @public
 */
export interface NodeRejectedEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'node.rejected';
  /**
   * The state last announced before this one (transitions of a flapping node are not announced, so
   * it can differ from the immediately previous state).
   */
  readonly from: NodeState;
  /** The failed load the node last reported (its `artifact_hash` is the desired one). */
  readonly last_load_error: LoadError | null;
}

/**
 * A connected node stopped sending heartbeats.
 *
 * @public
 */
export interface NodeStaleEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'node.stale';
  /**
   * The state last announced before this one (transitions of a flapping node are not announced, so
   * it can differ from the immediately previous state).
   */
  readonly from: NodeState;
  /** The node's last `hello` or heartbeat (RFC 3339); `null` if never seen. */
  readonly last_seen: string | null;
}

/**
 * A node's session ended.
 *
 * @public
 */
export interface NodeDisconnectedEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'node.disconnected';
  /**
   * The state last announced before this one (transitions of a flapping node are not announced, so
   * it can differ from the immediately previous state).
   */
  readonly from: NodeState;
  /** The node's last `hello` or heartbeat (RFC 3339); `null` if never seen. */
  readonly last_seen: string | null;
  /** The close code the transport reported. */
  readonly close_code: number | null;
}

/**
 * An expected node has never connected (emitted when it becomes expected).
 *
 * @public
 */
export interface NodeNeverSeenEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'node.never_seen';
}

/**
 * A node changes state too often: alerts about it are held back until it settles.
 *
 * @public
 */
export interface NodeFlappingEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'node.flapping';
  /** The decayed number of recent transitions that crossed the threshold. */
  readonly score: number;
}

/**
 * A flapping node settled; `state` is where it settled.
 *
 * @public
 */
export interface NodeFlappingEndedEvent extends NodeEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'node.flapping_ended';
}

/**
 * Fields of events about a cluster's rollout.
 *
 * @public
 */
export interface RolloutEventFields extends FleetEventBase {
  /** The cluster whose rollout it is. */
  readonly cluster: string;
  /** The cluster's desired artifact, which the rollout moves to. */
  readonly artifact_hash: DigestString;
  /** The version of the desired state the rollout belongs to. */
  readonly version: number;
  /** The rollout window (previous hash, start and deadline). */
  readonly rollout: Rollout;
}

/**
 * Every reporting node of the cluster runs the new artifact before the deadline.
 *
 * @public
 */
export interface RolloutCompletedEvent extends RolloutEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'rollout.completed';
}

/**
 * The deadline passed with nodes still on another artifact (they are now `drift` or `rejected`).
 *
 * @public
 */
export interface RolloutDeadlineExceededEvent extends RolloutEventFields {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'rollout.deadline_exceeded';
  /** How many nodes were not in sync at the deadline. */
  readonly lagging: number;
  /** Up to 100 of their node ids, sorted. */
  readonly lagging_nodes: readonly string[];
}

/**
 * A cluster's desired state changed (set or cleared).
 *
 * @public
 */
export interface DesiredStateChangedEvent extends FleetEventBase {
  /** The event type (the discriminant of {@link FleetEvent}). */
  readonly type: 'desired_state.changed';
  /** The cluster whose desired state changed. */
  readonly cluster: string;
  /** The new desired hash; `null` when cleared. */
  readonly artifact_hash: DigestString | null;
  /**
   * The cluster's desired hash before the change; `null` when it had none (per-node pins are not
   * counted).
   */
  readonly previous_hash: DigestString | null;
  /** The new version (0 when cleared). */
  readonly version: number;
  /** Who made the change. */
  readonly actor: string;
  /** Why (`cleared` when the desired state was cleared). */
  readonly reason: string;
  /** The new rollout window; `null` for an immediate change or when cleared. */
  readonly rollout: Rollout | null;
}

/**
 * Every event the fleet monitor emits.
 *
 * @public
 */
export type FleetEvent =
  | NodeStateChangedEvent
  | DriftDetectedEvent
  | DriftResolvedEvent
  | NodeRejectedEvent
  | NodeProbeFailingEvent
  | NodeStaleEvent
  | NodeDisconnectedEvent
  | NodeNeverSeenEvent
  | NodeFlappingEvent
  | NodeFlappingEndedEvent
  | RolloutCompletedEvent
  | RolloutDeadlineExceededEvent
  | DesiredStateChangedEvent;

/**
 * The `type` of a {@link FleetEvent}.
 *
 * @public
 */
export type FleetEventType = FleetEvent['type'];

/**
 * The event of a given type.
 *
 * @public
 */
export type FleetEventOf<T extends FleetEventType> = Extract<FleetEvent, { type: T }>;

/**
 * The events alert sinks receive by default: every type but `node.state_changed`.
 *
 * @public
 */
export const ALERT_EVENT_TYPES: readonly FleetEventType[] = [
  'drift.detected',
  'drift.resolved',
  'node.rejected',
  'node.probe_failing',
  'node.stale',
  'node.disconnected',
  'node.never_seen',
  'node.flapping',
  'node.flapping_ended',
  'rollout.completed',
  'rollout.deadline_exceeded',
  'desired_state.changed',
];
