/**
 * Public option, input and query types of the {@link FleetMonitor}.
 *
 * @packageDocumentation
 */
import type { Meter } from '@opentelemetry/api';
import type { AuditLogger, RedactionOptions } from '../audit/index.js';
import type { DigestString } from '../hash/digest.js';
import type { Clock } from './clock.js';
import type { NodeState } from './events.js';
import type {
  LiveConfigReport,
  LoadError,
  ReportedProvenance,
  VerificationReasonReport,
  WorkerReport,
} from './protocol.js';
import type { AlertSink } from './sink.js';
import type { DesiredState, FleetStore, Rollout } from './store.js';

/**
 * Flap damping: every state change of a node adds 1 to its flap score, which halves every
 * `halfLifeMs`. When the score reaches `threshold` the node is reported as flapping
 * (`node.flapping`) and its alerts are held back; when the score decays below `threshold / 2`
 * it is reported settled (`node.flapping_ended`) with an alert for where it settled.
 *
 * @public
 */
export interface FlapDampingOptions {
  /** Score at which a node is flapping. Default 5. */
  readonly threshold?: number;
  /** Half-life of the score in milliseconds. Default 60,000. */
  readonly halfLifeMs?: number;
}

/**
 * A minimal logger for errors the monitor catches (store failures, throwing listeners).
 * Messages never hold secrets.
 *
 * @public
 */
export interface MonitorLogger {
  /**
   * Reports a caught error or a failed delivery: a short message and structured details (such as an
   * error `code`), never secrets.
   */
  warn(message: string, details?: Readonly<Record<string, unknown>>): void;
}

/**
 * Options of {@link FleetMonitor.create}.
 *
 * @public
 */
export interface FleetMonitorOptions {
  /** Where desired state, pins, inventory and observed state persist. Default: a new `MemoryFleetStore`. */
  readonly store?: FleetStore;
  /** Time source and timers. Default `systemClock`. */
  readonly clock?: Clock;
  /** The heartbeat interval announced in `welcome`. Default 5,000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** A connected node is `stale` after this many intervals without a heartbeat. Default 3. */
  readonly staleAfterIntervals?: number;
  /** Flap damping, or `false` to report every transition. Default `{ threshold: 5, halfLifeMs: 60000 }`. */
  readonly flapDamping?: FlapDampingOptions | false;
  /** Most nodes the monitor tracks; a `hello` from a new node beyond it is refused. Default 250,000. */
  readonly maxNodes?: number;
  /** Most expected nodes per cluster in `setExpectedNodes`. Default 100,000. */
  readonly maxExpectedPerCluster?: number;
  /** Alert sinks; each receives the events in `ALERT_EVENT_TYPES`. */
  readonly sinks?: readonly AlertSink[];
  /** How long `close()` waits for the sinks to flush. Default 5,000 ms. */
  readonly sinkFlushTimeoutMs?: number;
  /** OpenTelemetry meter for fleet metrics (see docs/protocol.md "Metrics"). Default: none. */
  readonly meter?: Meter;
  /**
   * How often observed state is written to the store. Default 1,000 ms. A store shared by replicas
   * (one that can claim facts) gets a changed node within 100 ms, so other replicas show it.
   */
  readonly persistIntervalMs?: number;
  /** Event id generator. Default `crypto.randomUUID()`. */
  readonly newEventId?: () => string;
  /** Where caught errors are reported. Default: nowhere (they are counted). */
  readonly logger?: MonitorLogger;
  /**
   * The audit trail. The monitor emits `desired_state.changed` and
   * `fleet.expected_nodes_changed` for configuration changes made through it (awaited: a failed
   * must-write sink fails the call), and `fleet.node_state_changed`, `drift.detected` and
   * `drift.resolved` for announced transitions (flap-damped, fire-and-forget, failures counted).
   */
  readonly audit?: AuditLogger;
  /**
   * How the free text of callers (the `reason` of a desired state or a pin) is redacted: once, when
   * it enters the monitor, so the store, events, sinks and logs never hold a secret written there.
   * Pass the audit logger's settings. Default: the audit redactor's defaults.
   */
  readonly redaction?: RedactionOptions;
}

/**
 * Rollout window of {@link SetDesiredOptions}: an absolute `deadline` or a `graceMs` from now.
 *
 * @public
 */
export interface RolloutOptions {
  /** Absolute deadline (RFC 3339 text, a `Date`, or milliseconds since the epoch). */
  readonly deadline?: string | Date | number;
  /** Deadline relative to now, in milliseconds. */
  readonly graceMs?: number;
}

/**
 * Input of {@link FleetMonitor.setDesired}.
 *
 * @public
 */
export interface SetDesiredOptions {
  /** The cluster to change. */
  readonly cluster: string;
  /**
   * The artifact its nodes should run; a value that is not a `sha256:<hex>` digest is refused
   * (`PLB_INVALID_DIGEST`).
   */
  readonly artifact_hash: DigestString;
  /** Who makes the change (the authenticated caller). */
  readonly actor: string;
  /** The kind of caller, for the audit trail. Default `user`. */
  readonly actor_type?: 'user' | 'service' | 'system';
  /** Why (free text; secrets in it are redacted before it is stored or announced). */
  readonly reason: string;
  /** A rollout window during which the previous and the new hash are both allowed. */
  readonly rollout?: RolloutOptions;
  /** Compare-and-set against the current `version` (0 when none). */
  readonly expected_version?: number;
}

/**
 * One node as the monitor sees it (the node objects of `GET /v1/fleet`).
 *
 * @public
 */
export interface NodeStatus {
  /** The node's id. */
  readonly node_id: string;
  /** The node's cluster. */
  readonly cluster: string;
  /** The node's current state. */
  readonly state: NodeState;
  /** When the node entered `state` (RFC 3339). */
  readonly since: string;
  /**
   * The artifact the node reports running; `null` when it reports none loaded or was never seen.
   */
  readonly reported_hash: DigestString | null;
  /**
   * The artifact it should run: its pin's hash when pinned, else the cluster's desired hash; `null`
   * when there is neither.
   */
  readonly desired_hash: DigestString | null;
  /** The last hello or heartbeat (RFC 3339), `null` if never seen. */
  readonly last_seen: string | null;
  /**
   * The `instance_id` of its last `hello` (one per data-plane process start); `null` if never seen.
   */
  readonly instance_id: string | null;
  /**
   * The provenance its `hello` sent for `reported_hash`; `null` when none was sent or the node has
   * reported another hash since.
   */
  readonly provenance: ReportedProvenance | null;
  /** When it loaded what it runs (RFC 3339), as it reported; `null` when not reported. */
  readonly loaded_at: string | null;
  /** The artifact each worker runs, as last reported; `null` when it listed no workers. */
  readonly workers: readonly WorkerReport[] | null;
  /** Its last failed load, as last reported in a heartbeat; `null` when none. */
  readonly last_load_error: LoadError | null;
  /**
   * What the node's live-configuration probe last found (protocol v1.1): the live and expected
   * digests, where they differ, or why the probe fails; `null` when the node reports no probe.
   */
  readonly live_config: LiveConfigReport | null;
  /**
   * The load-time checks that failed on the artifact it runs and that its `warn` policy
   * tolerated, as last reported (protocol v1.1); `null` when none.
   */
  readonly verification_reasons: readonly VerificationReasonReport[] | null;
  /** Whether the desired hash comes from a per-node pin. */
  readonly pinned: boolean;
  /** Whether the node is flapping (alerts held back). */
  readonly flapping: boolean;
  /** Whether the node has an open session on this monitor. */
  readonly connected: boolean;
}

/**
 * The state of a cluster's rollout.
 *
 * @public
 */
export interface RolloutStatus extends Rollout {
  /**
   * `in_progress` until every reporting node runs the new artifact (`completed`) or the deadline
   * passes first (`deadline_exceeded`).
   */
  readonly status: 'in_progress' | 'completed' | 'deadline_exceeded';
}

/**
 * One cluster in the fleet summary.
 *
 * @public
 */
export interface ClusterSummary {
  /** The cluster name. */
  readonly cluster: string;
  /**
   * The cluster's desired artifact; `null` when it has none (per-node pins are not reflected here).
   */
  readonly desired_hash: DigestString | null;
  /** The desired-state version (0 when none). */
  readonly desired_version: number;
  /**
   * The rollout of the current desired state, with its status; `null` when there is no desired
   * state or it has no rollout window.
   */
  readonly rollout: RolloutStatus | null;
  /** Nodes per state (every state present, zero when none). */
  readonly counts: Readonly<Record<NodeState, number>>;
  /** How many nodes of the cluster the monitor tracks (the sum of `counts`). */
  readonly total: number;
}

/**
 * Query of {@link FleetMonitor.nodes}.
 *
 * @public
 */
export interface NodeQuery {
  /** Only nodes of this cluster. */
  readonly cluster?: string;
  /** Only nodes in this state. */
  readonly state?: NodeState;
  /** At most this many nodes (default: all). */
  readonly limit?: number;
}

/**
 * Result of {@link FleetMonitor.connect}.
 *
 * @public
 */
export type ConnectResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** The `error` frame code. */
      readonly code: string;
      readonly message: string;
      /** The close code to close the session with. */
      readonly close_code: number;
    };

/**
 * Counters of the monitor (also exported as metrics).
 *
 * @public
 */
export interface MonitorCounters {
  /** Heartbeats accepted. */
  readonly heartbeats: number;
  /** Heartbeats dropped because their `seq` was not above the last one (replays). */
  readonly replayed: number;
  /** Frames refused, by reason (`malformed`, `too_big`, `identity_mismatch`, `protocol`, `out_of_order`, `unauthenticated`, `fleet_full`). */
  readonly rejected: Readonly<Record<string, number>>;
  /** State transitions. */
  readonly transitions: number;
  /** Store writes that failed (retried on the next flush). */
  readonly storeErrors: number;
  /** Listeners that threw (caught). */
  readonly listenerErrors: number;
  /** Fire-and-forget audit events that failed (caught). */
  readonly auditErrors: number;
  /**
   * Observed-state updates the store dropped while unreachable, beyond its buffer bound (reported
   * by the store once per outage; each outage is audited as `fleet.observed_dropped`).
   */
  readonly observedDropped: number;
}

/**
 * A desired state as returned by the monitor.
 *
 * @public
 */
export type DesiredStateRecord = DesiredState;

/**
 * Options of {@link FleetMonitor.connect}.
 *
 * @public
 */
export interface ConnectOptions {
  /**
   * The transport's hello carries no artifact hash (Barbacane's `register`): the node is
   * `awaiting_report` — not judged, no alert, no flap — until its first heartbeat with a hash.
   * Default `false`.
   */
  readonly awaitingReport?: boolean;
}

/**
 * One drift in a {@link ClusterHistory}: a node's stretch in `drift`, ended or still lasting.
 *
 * @public
 */
export interface HistoryDrift {
  readonly node_id: string;
  readonly since: string;
  /** When the drift ended; `null` while the node still drifts. */
  readonly until: string | null;
  readonly duration_ms: number;
}

/**
 * One change of a cluster's desired state in a {@link ClusterHistory}: who, why, when.
 *
 * @public
 */
export interface HistoryChange {
  readonly version: number;
  readonly artifact_hash: string;
  readonly actor: string;
  readonly reason: string;
  readonly changed_at: string;
}

/**
 * The `GET /v1/clusters/{cluster}/history` document of the control plane (its dashboard's history
 * chart and tables).
 *
 * @public
 */
export interface ClusterHistory {
  readonly cluster: string;
  /** The window's start: `hours` before `to`, or when the replica started recording if later. */
  readonly from: string;
  readonly to: string;
  readonly step_ms: number;
  /**
   * Node counts per state at the end of each step, and the most nodes drifting at once during
   * the step (so that a drift shorter than a step still shows), oldest first.
   */
  readonly samples: readonly {
    readonly at: string;
    readonly counts: Readonly<Record<NodeState, number>>;
    readonly peak_drift: number;
  }[];
  readonly drifts: readonly HistoryDrift[];
  /**
   * The changes of the cluster's desired state in the window, newest first: read from the store
   * when it records them (PostgreSQL: the same on every replica, whenever it started), else the
   * store's current one and the earlier ones the replica saw.
   */
  readonly changes: readonly HistoryChange[];
  /** Whether the replica's ring lost transitions inside the window (older samples are then approximate). */
  readonly truncated: boolean;
}
