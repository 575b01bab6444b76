import type { AuditActor, AuditEventInput, AuditLogger } from '../audit/index.js';
import {
  desiredStateChanged,
  driftDetected,
  driftResolved,
  expectedNodesChanged,
  nodeStateChanged,
} from '../audit/catalogue.js';
import { PlumblineError } from '../errors.js';
import type { DigestString } from '../hash/digest.js';
import { isDigestString } from '../hash/digest.js';
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';
import { ALERT_EVENT_TYPES, NODE_STATES } from './events.js';
import type { FleetEvent, FleetEventOf, FleetEventType, NodeState } from './events.js';
import { MemoryFleetStore } from './memory-store.js';
import { createMonitorMetrics, type MonitorMetrics } from './metrics.js';
import type {
  ClusterSummary,
  ConnectResult,
  FleetMonitorOptions,
  MonitorCounters,
  MonitorLogger,
  NodeQuery,
  NodeStatus,
  RolloutStatus,
  SetDesiredOptions,
} from './monitor-types.js';
import type {
  HeartbeatFrame,
  HelloFrame,
  LoadError,
  ReportedProvenance,
  WorkerReport,
} from './protocol.js';
import { DriftCloseCode, isSupportedProtocol } from './protocol.js';
import type { AlertSink } from './sink.js';
import type {
  DesiredState,
  FleetChange,
  FleetStore,
  NodePin,
  ObservedNode,
  Rollout,
} from './store.js';
import type { DriftIdentity } from './transport.js';

const STATE_INDEX: Readonly<Record<NodeState, number>> = {
  in_sync: 0,
  drift: 1,
  pending: 2,
  rejected: 3,
  unknown: 4,
  stale: 5,
  disconnected: 6,
  never_seen: 7,
};

/** A node as the monitor holds it: one object per node, mutated in place on the hot path. */
interface NodeRecord {
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
  instance_id: string | null;
  last_seq: number;
  /** Milliseconds since the epoch, or -1 when never seen. */
  last_seen: number;
  session: string | null;
  stale: boolean;
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
  flapTimer: TimerHandle | null;
  /** The state alerts last announced (differs from `state` while flapping). */
  announced: NodeState;
  driftSince: number;
  dirty: boolean;
}

interface RolloutRecord extends Rollout {
  readonly deadlineMs: number;
  status: RolloutStatus['status'];
  timer: TimerHandle | null;
}

interface ClusterRecord {
  readonly name: string;
  desired: DesiredState | null;
  rollout: RolloutRecord | null;
  readonly counts: number[];
  readonly nodes: Set<NodeRecord>;
  expected: Set<string>;
}

type Listener = (event: FleetEvent) => void;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sameWorkers(
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

function sameLoadError(a: LoadError | null, b: LoadError | null | undefined): boolean {
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

function runsOnly(node: NodeRecord, hash: DigestString): boolean {
  if (node.reported !== hash) return false;
  const workers = node.workers;
  if (workers !== null) {
    for (let i = 0; i < workers.length; i++) {
      if ((workers[i] as WorkerReport).artifact_hash !== hash) return false;
    }
  }
  return true;
}

function runsEither(node: NodeRecord, a: DigestString | null, b: DigestString): boolean {
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

function parseDeadline(value: string | Date | number): number {
  const ms =
    typeof value === 'number' ? value : value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new PlumblineError('PLB_DRIFT_INVALID_ROLLOUT', 'a rollout deadline is not a valid time');
  }
  return ms;
}

/**
 * The control plane's view of the fleet: desired state per cluster, per-node pins, the expected
 * inventory, and every node's state (DESIGN.md "Fleet states per node"), with transitions emitted
 * once as typed events. Feed it through {@link serveDrift} (or call {@link FleetMonitor.connect},
 * {@link FleetMonitor.heartbeat} and {@link FleetMonitor.disconnect} from your own transport glue).
 *
 * The heartbeat path is O(1) and allocates nothing beyond what the parser produced; staleness is
 * found by a single timer walking a list ordered by last heartbeat. Time comes from the injected
 * clock; {@link FleetMonitor.close} cancels every timer.
 *
 * @example
 * ```ts
 * const monitor = await FleetMonitor.create({ store: new MemoryFleetStore() });
 * monitor.on('drift.detected', (event) => console.log('ConfigurationDrift', event.node_id));
 * await monitor.setDesired({ cluster: 'prod', artifact_hash, actor: 'alice', reason: 'release 42',
 *   rollout: { graceMs: 10 * 60_000 } });
 * ```
 * @public
 */
export class FleetMonitor {
  readonly #store: FleetStore;
  readonly #ownsStore: boolean;
  readonly #clock: Clock;
  readonly #heartbeatIntervalMs: number;
  readonly #staleMs: number;
  readonly #flapThreshold: number;
  readonly #flapHalfLife: number;
  readonly #maxNodes: number;
  readonly #maxExpected: number;
  readonly #persistIntervalMs: number;
  readonly #sinkFlushTimeoutMs: number;
  readonly #sinks: readonly AlertSink[];
  readonly #newEventId: () => string;
  readonly #logger: MonitorLogger | undefined;
  readonly #metrics: MonitorMetrics | null;
  readonly #audit: AuditLogger | undefined;

  readonly #nodes = new Map<string, NodeRecord>();
  readonly #clusters = new Map<string, ClusterRecord>();
  readonly #pins = new Map<string, NodePin>();
  readonly #listeners = new Map<FleetEventType | '*', Set<Listener>>();
  readonly #dirty = new Set<NodeRecord>();
  readonly #alertTypes = new Set<FleetEventType>(ALERT_EVENT_TYPES);

  #head: NodeRecord | null = null;
  #tail: NodeRecord | null = null;
  #sweepTimer: TimerHandle | null = null;
  #persistTimer: TimerHandle | null = null;
  #persisting: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | null = null;
  #closed = false;
  #recomputingCluster = false;

  #heartbeats = 0;
  #replayed = 0;
  #transitions = 0;
  #storeErrors = 0;
  #listenerErrors = 0;
  #auditErrors = 0;
  readonly #rejected: Record<string, number> = {};

  private constructor(options: FleetMonitorOptions) {
    this.#ownsStore = options.store === undefined;
    this.#store = options.store ?? new MemoryFleetStore();
    this.#clock = options.clock ?? systemClock;
    this.#heartbeatIntervalMs = positive(
      options.heartbeatIntervalMs ?? 5000,
      'heartbeatIntervalMs',
    );
    this.#staleMs =
      this.#heartbeatIntervalMs * positive(options.staleAfterIntervals ?? 3, 'staleAfterIntervals');
    const flap = options.flapDamping === false ? null : (options.flapDamping ?? {});
    this.#flapThreshold =
      flap === null ? Infinity : positive(flap.threshold ?? 5, 'flapDamping.threshold');
    this.#flapHalfLife =
      flap === null ? 1 : positive(flap.halfLifeMs ?? 60_000, 'flapDamping.halfLifeMs');
    this.#maxNodes = positive(options.maxNodes ?? 250_000, 'maxNodes');
    this.#maxExpected = positive(options.maxExpectedPerCluster ?? 100_000, 'maxExpectedPerCluster');
    this.#persistIntervalMs = positive(options.persistIntervalMs ?? 1000, 'persistIntervalMs');
    this.#sinkFlushTimeoutMs = positive(options.sinkFlushTimeoutMs ?? 5000, 'sinkFlushTimeoutMs');
    this.#sinks = options.sinks ?? [];
    this.#newEventId = options.newEventId ?? (() => crypto.randomUUID());
    this.#logger = options.logger;
    this.#audit = options.audit;
    this.#metrics =
      options.meter === undefined
        ? null
        : createMonitorMetrics(options.meter, {
            counts: (visit) => {
              for (const cluster of this.#clusters.values()) {
                for (let i = 0; i < NODE_STATES.length; i++) {
                  visit(cluster.name, NODE_STATES[i] as NodeState, cluster.counts[i] as number);
                }
              }
            },
            counters: () => this.counters(),
            sinks: () => this.#sinks,
          });
  }

  /**
   * Creates a monitor and loads the store's contents: nodes seen before come back as
   * `disconnected` (or `never_seen` when expected and never seen), rollouts resume their deadlines.
   *
   * @example
   * ```ts
   * const monitor = await FleetMonitor.create({ clock: new ManualClock(0), heartbeatIntervalMs: 1000 });
   * ```
   * @throws {@link PlumblineError} `PLB_DRIFT_INVALID_OPTION` for an option out of range; the
   *   store's own errors when it cannot load.
   */
  static async create(options: FleetMonitorOptions = {}): Promise<FleetMonitor> {
    const monitor = new FleetMonitor(options);
    await monitor.#load();
    return monitor;
  }

  /** The heartbeat interval data planes are told to use (milliseconds). */
  get heartbeatIntervalMs(): number {
    return this.#heartbeatIntervalMs;
  }

  /** The monitor's clock (serveDrift uses it for hello deadlines and `server_time`). */
  get clock(): Clock {
    return this.#clock;
  }

  // ---------------------------------------------------------------- events

  /**
   * Subscribes to one event type; returns the unsubscribe function. Listeners run synchronously
   * and must not throw (what they throw is caught and counted).
   *
   * @example
   * ```ts
   * const off = monitor.on('drift.detected', (e) => alert(e.node_id, e.reported_hash, e.desired_hash));
   * ```
   */
  on<T extends FleetEventType>(type: T, listener: (event: FleetEventOf<T>) => void): () => void {
    return this.#addListener(type, listener as Listener);
  }

  /**
   * Subscribes to every event (including `node.state_changed`); returns the unsubscribe function.
   *
   * @example
   * ```ts
   * monitor.onAny((event) => log.info(event));
   * ```
   */
  onAny(listener: (event: FleetEvent) => void): () => void {
    return this.#addListener('*', listener);
  }

  #addListener(key: FleetEventType | '*', listener: Listener): () => void {
    let set = this.#listeners.get(key);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  #emit(event: FleetEvent): void {
    const call = (set: Set<Listener> | undefined): void => {
      if (set === undefined) return;
      for (const listener of set) {
        try {
          listener(event);
        } catch (error) {
          this.#listenerErrors++;
          this.#warn('a fleet event listener threw', error);
        }
      }
    };
    call(this.#listeners.get(event.type));
    call(this.#listeners.get('*'));
    if (this.#alertTypes.has(event.type)) {
      for (const sink of this.#sinks) {
        try {
          sink.send(event);
        } catch (error) {
          this.#listenerErrors++;
          this.#warn(`alert sink ${sink.name} threw`, error);
        }
      }
    }
  }

  #warn(message: string, error: unknown): void {
    if (this.#logger === undefined) return;
    try {
      this.#logger.warn(message, {
        code: PlumblineError.is(error) ? error.code : undefined,
        error: error instanceof Error ? error.message : String(error),
      });
    } catch {
      // A logger never throws into the monitor.
    }
  }

  // ---------------------------------------------------------------- loading and the change feed

  async #load(): Promise<void> {
    const snapshot = await this.#store.load();
    const now = this.#clock.now();
    for (const pin of snapshot.pins) this.#pins.set(pin.node_id, pin);
    for (const observed of snapshot.observed) {
      const cluster = this.#cluster(observed.cluster);
      const lastSeen = observed.last_seen === null ? -1 : Date.parse(observed.last_seen);
      const node = this.#newNode(
        observed.node_id,
        cluster,
        lastSeen >= 0 ? 'disconnected' : 'never_seen',
        lastSeen >= 0 ? lastSeen : now,
      );
      node.reported = observed.reported_hash;
      node.workers = observed.workers;
      node.provenance = observed.provenance;
      node.helloProvenance = observed.provenance;
      node.helloHash = observed.reported_hash;
      node.loaded_at = observed.loaded_at;
      node.last_load_error = observed.last_load_error;
      node.instance_id = observed.instance_id;
      node.last_seq = observed.last_seq;
      node.last_seen = lastSeen;
    }
    for (const expected of snapshot.expected)
      this.#applyExpected(expected.cluster, expected.nodes, false);
    for (const desired of snapshot.desired) this.#applyDesired(desired, false);
    this.#unsubscribe = this.#store.subscribe((change) => this.#applyChange(change));
  }

  #applyChange(change: FleetChange): void {
    if (this.#closed) return;
    switch (change.kind) {
      case 'desired':
        this.#applyDesired(change.desired, true);
        break;
      case 'desired_cleared':
        this.#applyCleared(change.cluster, change.actor);
        break;
      case 'pin':
        this.#pins.set(change.pin.node_id, change.pin);
        this.#recomputeNode(change.pin.node_id);
        break;
      case 'pin_removed':
        if (this.#pins.delete(change.node_id)) this.#recomputeNode(change.node_id);
        break;
      case 'expected':
        this.#applyExpected(change.expected.cluster, change.expected.nodes, true);
        break;
    }
  }

  #applyDesired(desired: DesiredState, emit: boolean): void {
    const cluster = this.#cluster(desired.cluster);
    if (cluster.desired !== null && cluster.desired.version >= desired.version) return;
    const previous = cluster.desired?.artifact_hash ?? null;
    cluster.desired = desired;
    this.#clearRolloutTimer(cluster);
    cluster.rollout = null;
    if (desired.rollout !== null) {
      const deadlineMs = Date.parse(desired.rollout.deadline);
      const rollout: RolloutRecord = {
        ...desired.rollout,
        deadlineMs,
        status: 'in_progress',
        timer: null,
      };
      cluster.rollout = rollout;
      if (deadlineMs <= this.#clock.now()) rollout.status = 'deadline_exceeded';
      else
        rollout.timer = this.#clock.setTimeout(
          () => this.#deadline(cluster, rollout),
          deadlineMs - this.#clock.now(),
        );
    }
    if (emit) {
      this.#emit({
        type: 'desired_state.changed',
        id: this.#newEventId(),
        at: iso(this.#clock.now()),
        cluster: desired.cluster,
        artifact_hash: desired.artifact_hash,
        previous_hash: previous,
        version: desired.version,
        actor: desired.actor,
        reason: desired.reason,
        rollout: desired.rollout,
      });
    }
    this.#recomputeCluster(cluster);
    this.#checkRollout(cluster);
  }

  #applyCleared(name: string, actor: string): void {
    const cluster = this.#clusters.get(name);
    if (cluster === undefined || cluster.desired === null) return;
    const previous = cluster.desired.artifact_hash;
    cluster.desired = null;
    this.#clearRolloutTimer(cluster);
    cluster.rollout = null;
    this.#emit({
      type: 'desired_state.changed',
      id: this.#newEventId(),
      at: iso(this.#clock.now()),
      cluster: name,
      artifact_hash: null,
      previous_hash: previous,
      version: 0,
      actor,
      reason: 'cleared',
      rollout: null,
    });
    this.#recomputeCluster(cluster);
  }

  #applyExpected(name: string, nodes: readonly string[], emit: boolean): void {
    const cluster = this.#cluster(name);
    const next = new Set(nodes);
    for (const node of [...cluster.nodes]) {
      if (node.expected && !next.has(node.node_id)) {
        node.expected = false;
        if (node.last_seen < 0 && node.session === null) this.#removeNode(node);
      }
    }
    for (const id of next) {
      let node = this.#nodes.get(id);
      if (node === undefined) {
        if (this.#nodes.size >= this.#maxNodes) {
          this.#rejectedReason('fleet_full');
          continue;
        }
        node = this.#newNode(id, cluster, 'never_seen', this.#clock.now());
        node.expected = true;
        if (emit) this.#emit(this.#nodeEvent(node, 'node.never_seen'));
      } else {
        node.expected = true;
      }
    }
    cluster.expected = next;
  }

  // ---------------------------------------------------------------- configuration

  /**
   * Sets a cluster's desired artifact. With `rollout`, nodes may run the previous or the new
   * artifact until the deadline (`pending`); without, nodes not on the new artifact drift at once.
   * Resolves once the store has it (and every replica sharing the store will apply it).
   *
   * @example
   * ```ts
   * await monitor.setDesired({ cluster: 'prod', artifact_hash: 'sha256:…', actor: 'alice',
   *   reason: 'release 42', rollout: { graceMs: 600_000 } });
   * ```
   * @throws {@link PlumblineError} `PLB_STORE_CONFLICT` when `expected_version` is stale,
   *   `PLB_INVALID_DIGEST` for a bad hash, `PLB_DRIFT_INVALID_ROLLOUT` for a bad deadline,
   *   `PLB_DRIFT_MONITOR_CLOSED` after close.
   */
  async setDesired(options: SetDesiredOptions): Promise<DesiredState> {
    this.#checkOpen();
    if (!isDigestString(options.artifact_hash)) {
      throw new PlumblineError('PLB_INVALID_DIGEST', 'artifact_hash is not a sha256 digest string');
    }
    checkName(options.cluster, 'cluster');
    const now = this.#clock.now();
    let rollout: Rollout | null = null;
    if (options.rollout !== undefined) {
      const { deadline, graceMs } = options.rollout;
      let deadlineMs: number;
      if (deadline !== undefined) deadlineMs = parseDeadline(deadline);
      else if (graceMs !== undefined && Number.isFinite(graceMs) && graceMs > 0)
        deadlineMs = now + graceMs;
      else {
        throw new PlumblineError(
          'PLB_DRIFT_INVALID_ROLLOUT',
          'a rollout needs a deadline or a positive graceMs',
        );
      }
      if (deadlineMs <= now) {
        throw new PlumblineError('PLB_DRIFT_INVALID_ROLLOUT', 'a rollout deadline is in the past');
      }
      rollout = {
        previous_hash: this.#clusters.get(options.cluster)?.desired?.artifact_hash ?? null,
        started_at: iso(now),
        deadline: iso(deadlineMs),
      };
    }
    const actor: AuditActor = { type: options.actor_type ?? 'user', id: options.actor };
    const previous = this.#clusters.get(options.cluster)?.desired?.artifact_hash ?? null;
    const auditInput = (outcome: 'success' | 'failure', reason: string) =>
      desiredStateChanged({
        actor,
        outcome,
        reason,
        time: iso(now),
        details: {
          cluster: options.cluster,
          previous_hash: previous,
          artifact_hash: options.artifact_hash,
          ...(rollout === null
            ? {}
            : { deadline_seconds: Math.ceil((Date.parse(rollout.deadline) - now) / 1000) }),
        },
      });
    let desired: DesiredState;
    try {
      desired = await this.#store.setDesired({
        cluster: options.cluster,
        artifact_hash: options.artifact_hash,
        actor: options.actor,
        reason: options.reason,
        changed_at: iso(now),
        rollout,
        ...(options.expected_version === undefined
          ? {}
          : { expected_version: options.expected_version }),
      });
    } catch (error) {
      const code = PlumblineError.is(error) ? error.code : 'PLB_STORE_IO';
      this.#auditLater(auditInput('failure', `${options.reason} (${code})`));
      throw error;
    }
    await this.#audit?.emit(auditInput('success', options.reason));
    return desired;
  }

  /**
   * Removes a cluster's desired state: its nodes become `unknown`.
   *
   * @example
   * ```ts
   * await monitor.clearDesired('staging', 'alice');
   * ```
   * @throws {@link PlumblineError} `PLB_DRIFT_MONITOR_CLOSED` after close; store errors.
   */
  async clearDesired(cluster: string, actor: string): Promise<void> {
    this.#checkOpen();
    const previous = this.#clusters.get(cluster)?.desired?.artifact_hash ?? null;
    await this.#store.clearDesired(cluster, actor);
    if (previous === null) return;
    await this.#audit?.emit(
      desiredStateChanged({
        actor: { type: 'user', id: actor },
        reason: 'desired state cleared',
        time: iso(this.#clock.now()),
        details: { cluster, previous_hash: previous, artifact_hash: null },
      }),
    );
  }

  /**
   * Pins one node to an artifact, overriding its cluster's desired state (canaries, holds).
   *
   * @example
   * ```ts
   * await monitor.pin({ node_id: 'gw-7', cluster: 'prod', artifact_hash: canary, actor: 'alice', reason: 'canary' });
   * ```
   * @throws {@link PlumblineError} `PLB_INVALID_DIGEST`, `PLB_DRIFT_MONITOR_CLOSED`; store errors.
   */
  async pin(pin: Omit<NodePin, 'pinned_at'>): Promise<void> {
    this.#checkOpen();
    if (!isDigestString(pin.artifact_hash)) {
      throw new PlumblineError('PLB_INVALID_DIGEST', 'artifact_hash is not a sha256 digest string');
    }
    checkName(pin.node_id, 'node_id');
    checkName(pin.cluster, 'cluster');
    const previous = this.#desiredFor(this.#nodes.get(pin.node_id) ?? null, pin.cluster);
    await this.#store.setPin({ ...pin, pinned_at: iso(this.#clock.now()) });
    await this.#audit?.emit(
      desiredStateChanged({
        actor: { type: 'user', id: pin.actor },
        reason: pin.reason,
        subject: { type: 'node', id: pin.node_id },
        time: iso(this.#clock.now()),
        details: {
          cluster: pin.cluster,
          previous_hash: previous,
          artifact_hash: pin.artifact_hash,
        },
      }),
    );
  }

  /**
   * Removes a node's pin.
   *
   * @example
   * ```ts
   * await monitor.unpin('gw-7', 'alice');
   * ```
   * @throws {@link PlumblineError} `PLB_DRIFT_MONITOR_CLOSED`; store errors.
   */
  async unpin(node_id: string, actor: string): Promise<void> {
    this.#checkOpen();
    const pin = this.#pins.get(node_id);
    await this.#store.removePin(node_id, actor);
    if (pin === undefined) return;
    await this.#audit?.emit(
      desiredStateChanged({
        actor: { type: 'user', id: actor },
        reason: 'pin removed',
        subject: { type: 'node', id: node_id },
        time: iso(this.#clock.now()),
        details: {
          cluster: pin.cluster,
          previous_hash: pin.artifact_hash,
          artifact_hash: this.#clusters.get(pin.cluster)?.desired?.artifact_hash ?? null,
        },
      }),
    );
  }

  /**
   * Replaces a cluster's expected inventory. Expected nodes that never connected are `never_seen`.
   *
   * @example
   * ```ts
   * await monitor.setExpectedNodes('prod', ['gw-1', 'gw-2', 'gw-3'], 'alice');
   * ```
   * @throws {@link PlumblineError} `PLB_LIMIT_EXPECTED_NODES` over `maxExpectedPerCluster`;
   *   `PLB_DRIFT_MONITOR_CLOSED`; store errors.
   */
  async setExpectedNodes(cluster: string, nodes: readonly string[], actor: string): Promise<void> {
    this.#checkOpen();
    checkName(cluster, 'cluster');
    if (nodes.length > this.#maxExpected) {
      throw new PlumblineError(
        'PLB_LIMIT_EXPECTED_NODES',
        `more than ${this.#maxExpected} expected nodes in one cluster`,
        { details: { limit: this.#maxExpected } },
      );
    }
    for (const node of nodes) checkName(node, 'node_id');
    const next = [...new Set(nodes)].sort();
    const before = this.#clusters.get(cluster)?.expected ?? new Set<string>();
    await this.#store.setExpected({
      cluster,
      nodes: next,
      actor,
      changed_at: iso(this.#clock.now()),
    });
    const nextSet = new Set(next);
    await this.#audit?.emit(
      expectedNodesChanged({
        actor: { type: 'user', id: actor },
        time: iso(this.#clock.now()),
        details: {
          cluster,
          added: next.filter((id) => !before.has(id)),
          removed: [...before].filter((id) => !nextSet.has(id)).sort(),
        },
      }),
    );
  }

  /**
   * The desired state of a cluster, or `undefined`.
   *
   * @example
   * ```ts
   * const version = monitor.desired('prod')?.version ?? 0;
   * ```
   */
  desired(cluster: string): DesiredState | undefined {
    return this.#clusters.get(cluster)?.desired ?? undefined;
  }

  // ---------------------------------------------------------------- observations (the hot path)

  /**
   * Accepts a `hello` from an authenticated session. The identity comes from the transport's
   * authentication: a hello naming another node or cluster is refused (4403). A newer session
   * of the node replaces the older one (the caller closes the old session with 4409).
   *
   * @example
   * ```ts
   * const result = monitor.connect(session.identity, hello, session.id);
   * if (!result.ok) session.close(result.close_code, result.code);
   * ```
   */
  connect(identity: DriftIdentity, hello: HelloFrame, session_id: string): ConnectResult {
    if (this.#closed) {
      return {
        ok: false,
        code: 'PLB_DRIFT_SHUTDOWN',
        message: 'the control plane is shutting down',
        close_code: DriftCloseCode.Shutdown,
      };
    }
    if (!isSupportedProtocol(hello.protocol)) {
      this.#rejectedReason('protocol');
      return {
        ok: false,
        code: 'PLB_DRIFT_UNSUPPORTED_PROTOCOL',
        message: `protocol ${hello.protocol.slice(0, 64)} is not supported; this control plane speaks plumbline.drift/v1`,
        close_code: DriftCloseCode.Malformed,
      };
    }
    if (hello.node_id !== identity.node_id || hello.cluster !== identity.cluster) {
      this.#rejectedReason('identity_mismatch');
      return {
        ok: false,
        code: 'PLB_DRIFT_IDENTITY_MISMATCH',
        message: 'the hello names another node or cluster than the authenticated identity',
        close_code: DriftCloseCode.IdentityMismatch,
      };
    }
    const now = this.#clock.now();
    let node = this.#nodes.get(identity.node_id);
    const cluster = this.#cluster(identity.cluster);
    if (node === undefined) {
      if (this.#nodes.size >= this.#maxNodes) {
        this.#rejectedReason('fleet_full');
        return {
          ok: false,
          code: 'PLB_DRIFT_FLEET_FULL',
          message: 'the control plane tracks its maximum number of nodes',
          close_code: DriftCloseCode.RateLimited,
        };
      }
      node = this.#newNode(identity.node_id, cluster, 'never_seen', now);
    } else if (node.cluster !== cluster) {
      this.#moveNode(node, cluster);
    }
    if (node.instance_id !== hello.instance_id) {
      node.instance_id = hello.instance_id;
      node.last_seq = 0;
    }
    node.session = session_id;
    node.closeCode = null;
    node.reported = hello.artifact_hash;
    node.workers = hello.workers ?? null;
    node.provenance = hello.provenance ?? null;
    node.helloProvenance = node.provenance;
    node.helloHash = hello.artifact_hash;
    node.loaded_at = hello.loaded_at ?? null;
    node.last_seen = now;
    node.stale = false;
    this.#touch(node);
    this.#markDirty(node);
    this.#recompute(node, now);
    return { ok: true };
  }

  /**
   * Accepts a heartbeat from the node's current session. Returns `false` (and counts it) when
   * `seq` is not above the last accepted one for the instance (a replay), or when the session is
   * not the node's current one.
   *
   * @example
   * ```ts
   * monitor.heartbeat(session.identity.node_id, session.id, frame);
   * ```
   */
  heartbeat(node_id: string, session_id: string, frame: HeartbeatFrame): boolean {
    const node = this.#nodes.get(node_id);
    if (node === undefined || node.session !== session_id) {
      this.#rejectedReason('out_of_order');
      return false;
    }
    if (frame.seq <= node.last_seq) {
      this.#replayed++;
      return false;
    }
    this.#heartbeats++;
    const now = this.#clock.now();
    node.last_seq = frame.seq;
    node.last_seen = now;
    let changed = node.stale;
    node.stale = false;
    this.#touch(node);
    if (node.reported !== frame.artifact_hash) {
      node.reported = frame.artifact_hash;
      // Provenance travels only in `hello`: it describes the hash announced there, so a node that
      // reloads another artifact within its session has unknown provenance until it says hello again.
      node.provenance = frame.artifact_hash === node.helloHash ? node.helloProvenance : null;
      changed = true;
    }
    if (!sameWorkers(node.workers, frame.workers)) {
      node.workers = frame.workers ?? null;
      changed = true;
    }
    if (!sameLoadError(node.last_load_error, frame.last_load_error)) {
      node.last_load_error = frame.last_load_error ?? null;
      changed = true;
    }
    const loadedAt = frame.loaded_at ?? node.loaded_at;
    if (loadedAt !== node.loaded_at) {
      node.loaded_at = loadedAt;
      this.#markDirty(node);
    }
    if (changed) {
      this.#markDirty(node);
      this.#recompute(node, now);
    }
    return true;
  }

  /**
   * Records the end of a node's session. Ignored when `session_id` is not the node's current
   * session (an older, replaced session closing late).
   *
   * @example
   * ```ts
   * monitor.disconnect(session.identity.node_id, session.id, 1006);
   * ```
   */
  disconnect(node_id: string, session_id: string, close_code: number | null = null): void {
    const node = this.#nodes.get(node_id);
    if (node === undefined || node.session !== session_id) return;
    node.session = null;
    node.stale = false;
    node.closeCode = close_code;
    this.#unlink(node);
    this.#markDirty(node);
    this.#recompute(node, this.#clock.now());
  }

  /**
   * Counts a refused message or connection (for metrics), by reason.
   *
   * @example
   * ```ts
   * monitor.countRejected('malformed');
   * ```
   */
  countRejected(reason: string): void {
    this.#rejectedReason(reason);
  }

  #rejectedReason(reason: string): void {
    this.#rejected[reason] = (this.#rejected[reason] ?? 0) + 1;
  }

  /**
   * Removes a disconnected or never-seen node from the monitor and the store (decommissioned).
   * Connected or expected nodes are kept.
   *
   * @example
   * ```ts
   * await monitor.forget('gw-old');
   * ```
   * @returns whether the node was removed.
   */
  async forget(node_id: string): Promise<boolean> {
    const node = this.#nodes.get(node_id);
    if (node === undefined || node.session !== null || node.expected) return false;
    this.#removeNode(node);
    try {
      await this.#store.deleteObserved(node_id);
    } catch (error) {
      this.#storeErrors++;
      this.#warn('the fleet store could not delete a node', error);
    }
    return true;
  }

  // ---------------------------------------------------------------- queries

  /**
   * One node's detail, or `undefined` when the monitor does not know it.
   *
   * @example
   * ```ts
   * const status = monitor.node('gw-1');
   * ```
   */
  node(node_id: string): NodeStatus | undefined {
    const node = this.#nodes.get(node_id);
    return node === undefined ? undefined : this.#status(node);
  }

  /**
   * Nodes, sorted by node id, optionally of one cluster and/or in one state.
   *
   * @example
   * ```ts
   * const drifted = monitor.nodes({ state: 'drift' });
   * ```
   */
  nodes(query: NodeQuery = {}): NodeStatus[] {
    const source =
      query.cluster === undefined
        ? this.#nodes.values()
        : (this.#clusters.get(query.cluster)?.nodes.values() ?? [].values());
    const selected: NodeRecord[] = [];
    for (const node of source) {
      if (query.state === undefined || node.state === query.state) selected.push(node);
    }
    selected.sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
    const limit = query.limit ?? selected.length;
    return selected.slice(0, limit).map((node) => this.#status(node));
  }

  /**
   * The fleet summary: one entry per cluster (sorted by name) with its desired hash, rollout and
   * node counts per state.
   *
   * @example
   * ```ts
   * for (const c of monitor.summary()) console.log(c.cluster, c.counts.drift);
   * ```
   */
  summary(): ClusterSummary[] {
    return [...this.#clusters.keys()]
      .sort()
      .map((name) => this.#clusterSummary(this.#clusters.get(name) as ClusterRecord));
  }

  /**
   * One cluster's summary, or `undefined`.
   *
   * @example
   * ```ts
   * monitor.cluster('prod')?.counts.in_sync;
   * ```
   */
  cluster(name: string): ClusterSummary | undefined {
    const cluster = this.#clusters.get(name);
    return cluster === undefined ? undefined : this.#clusterSummary(cluster);
  }

  #clusterSummary(cluster: ClusterRecord): ClusterSummary {
    const counts = {} as Record<NodeState, number>;
    let total = 0;
    for (let i = 0; i < NODE_STATES.length; i++) {
      const n = cluster.counts[i] as number;
      counts[NODE_STATES[i] as NodeState] = n;
      total += n;
    }
    const rollout = cluster.rollout;
    return {
      cluster: cluster.name,
      desired_hash: cluster.desired?.artifact_hash ?? null,
      desired_version: cluster.desired?.version ?? 0,
      rollout:
        rollout === null
          ? null
          : {
              previous_hash: rollout.previous_hash,
              started_at: rollout.started_at,
              deadline: rollout.deadline,
              status: rollout.status,
            },
      counts,
      total,
    };
  }

  /**
   * The monitor's counters.
   *
   * @example
   * ```ts
   * monitor.counters().replayed;
   * ```
   */
  counters(): MonitorCounters {
    return {
      heartbeats: this.#heartbeats,
      replayed: this.#replayed,
      rejected: { ...this.#rejected },
      transitions: this.#transitions,
      storeErrors: this.#storeErrors,
      listenerErrors: this.#listenerErrors,
      auditErrors: this.#auditErrors,
    };
  }

  #status(node: NodeRecord): NodeStatus {
    const desired = this.#desiredFor(node);
    return {
      node_id: node.node_id,
      cluster: node.cluster.name,
      state: node.state,
      since: iso(node.since),
      reported_hash: node.reported,
      desired_hash: desired,
      last_seen: node.last_seen < 0 ? null : iso(node.last_seen),
      instance_id: node.instance_id,
      provenance: node.provenance,
      loaded_at: node.loaded_at,
      workers: node.workers,
      last_load_error: node.last_load_error,
      pinned: this.#pins.has(node.node_id),
      flapping: node.flapping,
      connected: node.session !== null,
    };
  }

  // ---------------------------------------------------------------- state machine

  #cluster(name: string): ClusterRecord {
    let cluster = this.#clusters.get(name);
    if (cluster === undefined) {
      cluster = {
        name,
        desired: null,
        rollout: null,
        counts: [0, 0, 0, 0, 0, 0, 0, 0],
        nodes: new Set(),
        expected: new Set(),
      };
      this.#clusters.set(name, cluster);
    }
    return cluster;
  }

  #newNode(node_id: string, cluster: ClusterRecord, state: NodeState, since: number): NodeRecord {
    const node: NodeRecord = {
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
      instance_id: null,
      last_seq: 0,
      last_seen: -1,
      session: null,
      stale: false,
      expected: cluster.expected.has(node_id),
      closeCode: null,
      prev: null,
      next: null,
      inList: false,
      flapScore: 0,
      flapAt: 0,
      flapping: false,
      flapTimer: null,
      announced: state,
      driftSince: since,
      dirty: false,
    };
    this.#nodes.set(node_id, node);
    cluster.nodes.add(node);
    cluster.counts[STATE_INDEX[state]]! += 1;
    return node;
  }

  #removeNode(node: NodeRecord): void {
    this.#unlink(node);
    if (node.flapTimer !== null) this.#clock.clearTimeout(node.flapTimer);
    node.flapTimer = null;
    node.cluster.nodes.delete(node);
    node.cluster.counts[STATE_INDEX[node.state]]! -= 1;
    this.#nodes.delete(node.node_id);
    this.#dirty.delete(node);
  }

  #moveNode(node: NodeRecord, cluster: ClusterRecord): void {
    const old = node.cluster;
    old.nodes.delete(node);
    old.counts[STATE_INDEX[node.state]]! -= 1;
    node.cluster = cluster;
    node.expected = cluster.expected.has(node.node_id);
    cluster.nodes.add(node);
    cluster.counts[STATE_INDEX[node.state]]! += 1;
    this.#checkRollout(old);
  }

  #desiredFor(node: NodeRecord | null, clusterName?: string): DigestString | null {
    if (node !== null) {
      const pin = this.#pins.get(node.node_id);
      if (pin !== undefined) return pin.artifact_hash;
      return node.cluster.desired?.artifact_hash ?? null;
    }
    return this.#clusters.get(clusterName ?? '')?.desired?.artifact_hash ?? null;
  }

  #compute(node: NodeRecord): NodeState {
    if (node.session === null) return node.last_seen < 0 ? 'never_seen' : 'disconnected';
    if (node.stale) return 'stale';
    const pin = this.#pins.size === 0 ? undefined : this.#pins.get(node.node_id);
    const desired =
      pin !== undefined ? pin.artifact_hash : (node.cluster.desired?.artifact_hash ?? null);
    if (desired === null) return 'unknown';
    if (runsOnly(node, desired)) return 'in_sync';
    const error = node.last_load_error;
    if (error !== null && error.artifact_hash === desired) return 'rejected';
    const rollout = node.cluster.rollout;
    if (
      pin === undefined &&
      rollout !== null &&
      rollout.status === 'in_progress' &&
      runsEither(node, rollout.previous_hash, desired)
    ) {
      return 'pending';
    }
    return 'drift';
  }

  #recomputeNode(node_id: string): void {
    const node = this.#nodes.get(node_id);
    if (node !== undefined) this.#recompute(node, this.#clock.now());
  }

  #recomputeCluster(cluster: ClusterRecord): void {
    const now = this.#clock.now();
    // A rollout is judged on the whole cluster's new states, not half-way through the loop (a node
    // not yet recomputed still holds its state under the previous desired hash).
    const outer = this.#recomputingCluster;
    this.#recomputingCluster = true;
    try {
      for (const node of cluster.nodes) this.#recompute(node, now);
    } finally {
      this.#recomputingCluster = outer;
    }
    if (!outer) this.#checkRollout(cluster);
  }

  #recompute(node: NodeRecord, now: number): void {
    const next = this.#compute(node);
    const from = node.state;
    if (next === from) return;
    const counts = node.cluster.counts;
    counts[STATE_INDEX[from]]! -= 1;
    counts[STATE_INDEX[next]]! += 1;
    node.state = next;
    node.since = now;
    this.#transitions++;
    this.#markDirty(node);
    this.#metrics?.transition(from, next);
    this.#emit({ ...this.#nodeEvent(node, 'node.state_changed'), from });
    if (this.#flapThreshold !== Infinity) this.#flap(node, now);
    if (!node.flapping) this.#announce(node, now);
    if (!this.#recomputingCluster) this.#checkRollout(node.cluster);
  }

  /** Emits the alert events for the change from the last announced state to the current one. */
  #announce(node: NodeRecord, now: number): void {
    const from = node.announced;
    const to = node.state;
    if (from === to) return;
    node.announced = to;
    if (this.#audit !== undefined) this.#auditTransition(node, from, to, now);
    if (from === 'drift' && (to === 'in_sync' || to === 'pending' || to === 'unknown')) {
      this.#emit({ ...this.#nodeEvent(node, 'drift.resolved'), drift_since: iso(node.driftSince) });
    }
    switch (to) {
      case 'drift':
        node.driftSince = now;
        this.#emit({
          ...this.#nodeEvent(node, 'drift.detected'),
          from,
          provenance: node.provenance,
          workers: node.workers,
        });
        break;
      case 'rejected':
        this.#emit({
          ...this.#nodeEvent(node, 'node.rejected'),
          from,
          last_load_error: node.last_load_error,
        });
        break;
      case 'stale':
        this.#emit({
          ...this.#nodeEvent(node, 'node.stale'),
          from,
          last_seen: node.last_seen < 0 ? null : iso(node.last_seen),
        });
        break;
      case 'disconnected':
        this.#emit({
          ...this.#nodeEvent(node, 'node.disconnected'),
          from,
          last_seen: node.last_seen < 0 ? null : iso(node.last_seen),
          close_code: node.closeCode,
        });
        break;
      case 'never_seen':
        this.#emit(this.#nodeEvent(node, 'node.never_seen'));
        break;
      default:
        break;
    }
  }

  #auditLater(event: AuditEventInput): void {
    const audit = this.#audit;
    if (audit === undefined) return;
    try {
      audit.emit(event).catch((error: unknown) => {
        this.#auditErrors++;
        this.#warn('an audit event could not be written', error);
      });
    } catch (error) {
      this.#auditErrors++;
      this.#warn('an audit event could not be written', error);
    }
  }

  #auditTransition(node: NodeRecord, from: NodeState, to: NodeState, now: number): void {
    const actor: AuditActor = { type: 'system', id: 'fleet-monitor' };
    const time = iso(now);
    const base = {
      node_id: node.node_id,
      cluster: node.cluster.name,
      reported_hash: node.reported,
      desired_hash: this.#desiredFor(node),
      ...(node.instance_id === null ? {} : { instance_id: node.instance_id }),
    };
    this.#auditLater(nodeStateChanged({ actor, time, details: { ...base, from, to } }));
    if (to === 'drift') this.#auditLater(driftDetected({ actor, time, details: base }));
    else if (from === 'drift' && (to === 'in_sync' || to === 'pending' || to === 'unknown')) {
      this.#auditLater(
        driftResolved({
          actor,
          time,
          details: { ...base, drift_duration_ms: Math.max(0, now - node.driftSince) },
        }),
      );
    }
  }

  #nodeEvent<T extends FleetEventType>(node: NodeRecord, type: T) {
    return {
      type,
      id: this.#newEventId(),
      at: iso(this.#clock.now()),
      node_id: node.node_id,
      cluster: node.cluster.name,
      state: node.state,
      reported_hash: node.reported,
      desired_hash: this.#desiredFor(node),
      instance_id: node.instance_id,
    };
  }

  #flapDecay(node: NodeRecord, now: number): number {
    const elapsed = Math.max(0, now - node.flapAt);
    return node.flapScore * Math.pow(2, -elapsed / this.#flapHalfLife);
  }

  #flap(node: NodeRecord, now: number): void {
    node.flapScore = this.#flapDecay(node, now) + 1;
    node.flapAt = now;
    if (!node.flapping && node.flapScore >= this.#flapThreshold) {
      node.flapping = true;
      this.#emit({ ...this.#nodeEvent(node, 'node.flapping'), score: node.flapScore });
      this.#scheduleFlapCheck(node, now);
    }
  }

  #scheduleFlapCheck(node: NodeRecord, now: number): void {
    if (node.flapTimer !== null) this.#clock.clearTimeout(node.flapTimer);
    const low = this.#flapThreshold / 2;
    const score = this.#flapDecay(node, now);
    const wait = score <= low ? 0 : Math.ceil(this.#flapHalfLife * Math.log2(score / low));
    node.flapTimer = this.#clock.setTimeout(
      () => {
        node.flapTimer = null;
        if (this.#closed || !node.flapping) return;
        const t = this.#clock.now();
        if (this.#flapDecay(node, t) < low + 1e-9) {
          node.flapping = false;
          this.#emit(this.#nodeEvent(node, 'node.flapping_ended'));
          this.#announce(node, t);
        } else {
          this.#scheduleFlapCheck(node, t);
        }
      },
      Math.max(1, wait),
    );
  }

  // ---------------------------------------------------------------- rollouts

  #clearRolloutTimer(cluster: ClusterRecord): void {
    if (cluster.rollout !== null && cluster.rollout.timer !== null) {
      this.#clock.clearTimeout(cluster.rollout.timer);
      cluster.rollout.timer = null;
    }
  }

  #checkRollout(cluster: ClusterRecord): void {
    const rollout = cluster.rollout;
    if (rollout === null || rollout.status !== 'in_progress' || cluster.desired === null) return;
    const c = cluster.counts;
    if (
      (c[STATE_INDEX.pending] as number) +
        (c[STATE_INDEX.drift] as number) +
        (c[STATE_INDEX.rejected] as number) +
        (c[STATE_INDEX.stale] as number) >
      0
    )
      return;
    if ((c[STATE_INDEX.in_sync] as number) === 0) return;
    rollout.status = 'completed';
    this.#clearRolloutTimer(cluster);
    this.#emit({
      type: 'rollout.completed',
      ...this.#rolloutFields(cluster, cluster.desired, rollout),
    });
  }

  /** The fields every rollout event carries. */
  #rolloutFields(cluster: ClusterRecord, desired: DesiredState, rollout: RolloutRecord) {
    return {
      id: this.#newEventId(),
      at: iso(this.#clock.now()),
      cluster: cluster.name,
      artifact_hash: desired.artifact_hash,
      version: desired.version,
      rollout: {
        previous_hash: rollout.previous_hash,
        started_at: rollout.started_at,
        deadline: rollout.deadline,
      },
    };
  }

  #deadline(cluster: ClusterRecord, rollout: RolloutRecord): void {
    rollout.timer = null;
    if (
      this.#closed ||
      cluster.rollout !== rollout ||
      rollout.status !== 'in_progress' ||
      cluster.desired === null
    )
      return;
    rollout.status = 'deadline_exceeded';
    this.#recomputeCluster(cluster);
    const lagging: string[] = [];
    for (const node of cluster.nodes) {
      if (
        node.state === 'drift' ||
        node.state === 'rejected' ||
        node.state === 'pending' ||
        node.state === 'stale'
      )
        lagging.push(node.node_id);
    }
    lagging.sort();
    this.#emit({
      type: 'rollout.deadline_exceeded',
      ...this.#rolloutFields(cluster, cluster.desired, rollout),
      lagging: lagging.length,
      lagging_nodes: lagging.slice(0, 100),
    });
  }

  // ---------------------------------------------------------------- liveness list and sweep

  #touch(node: NodeRecord): void {
    if (node.inList) {
      if (this.#tail === node) return;
      this.#unlink(node);
    }
    node.prev = this.#tail;
    node.next = null;
    if (this.#tail !== null) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    node.inList = true;
    if (this.#sweepTimer === null && !this.#closed) this.#scheduleSweep();
  }

  #unlink(node: NodeRecord): void {
    if (!node.inList) return;
    if (node.prev !== null) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = null;
    node.next = null;
    node.inList = false;
  }

  #scheduleSweep(): void {
    const head = this.#head;
    if (head === null) return;
    const wait = head.last_seen + this.#staleMs - this.#clock.now();
    this.#sweepTimer = this.#clock.setTimeout(() => this.#sweep(), Math.max(1, wait));
  }

  #sweep(): void {
    this.#sweepTimer = null;
    if (this.#closed) return;
    const now = this.#clock.now();
    const limit = now - this.#staleMs;
    let node = this.#head;
    while (node !== null && node.last_seen <= limit) {
      const next = node.next;
      this.#unlink(node);
      node.stale = true;
      this.#recompute(node, now);
      node = next;
    }
    this.#scheduleSweep();
  }

  // ---------------------------------------------------------------- persistence

  #markDirty(node: NodeRecord): void {
    if (node.dirty) return;
    node.dirty = true;
    this.#dirty.add(node);
    if (this.#persistTimer === null && !this.#closed) {
      this.#persistTimer = this.#clock.setTimeout(() => {
        this.#persistTimer = null;
        void this.flush();
      }, this.#persistIntervalMs);
    }
  }

  #observed(node: NodeRecord): ObservedNode {
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
    };
  }

  /**
   * Writes observed state of changed nodes to the store now (it is also written every
   * `persistIntervalMs`). A failed write is counted and retried on the next flush.
   *
   * @example
   * ```ts
   * await monitor.flush();
   * ```
   */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#dirty.size === 0) return;
      const batch: ObservedNode[] = [];
      const nodes = [...this.#dirty];
      for (const node of nodes) {
        node.dirty = false;
        if (node.last_seen >= 0) batch.push(this.#observed(node));
      }
      this.#dirty.clear();
      if (batch.length === 0) return;
      try {
        await this.#store.saveObserved(batch);
      } catch (error) {
        this.#storeErrors++;
        this.#warn('the fleet store could not save observed state', error);
        for (const node of nodes) {
          if (this.#nodes.get(node.node_id) === node) this.#markDirty(node);
        }
      }
    };
    this.#persisting = this.#persisting.then(run, run);
    return this.#persisting;
  }

  #checkOpen(): void {
    if (this.#closed)
      throw new PlumblineError('PLB_DRIFT_MONITOR_CLOSED', 'the fleet monitor is closed');
  }

  /**
   * Stops the monitor: cancels every timer, writes observed state (connected nodes with their
   * latest heartbeat), flushes the sinks, and closes the store when the monitor created it.
   * Idempotent.
   *
   * @example
   * ```ts
   * await monitor.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const node of this.#nodes.values()) {
      if (node.session !== null) this.#markDirty(node);
    }
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    const clear = (handle: TimerHandle | null): void => {
      if (handle !== null) this.#clock.clearTimeout(handle);
    };
    clear(this.#sweepTimer);
    this.#sweepTimer = null;
    clear(this.#persistTimer);
    this.#persistTimer = null;
    for (const cluster of this.#clusters.values()) this.#clearRolloutTimer(cluster);
    for (const node of this.#nodes.values()) {
      clear(node.flapTimer);
      node.flapTimer = null;
    }
    await this.flush();
    this.#metrics?.close();
    if (this.#sinks.length > 0) {
      // Bounded: a sink retrying against a dead receiver must not hold up a shutdown.
      let timer: TimerHandle | null = null;
      await Promise.race([
        Promise.all(this.#sinks.map((sink) => sink.flush().catch(() => undefined))),
        new Promise<void>((resolve) => {
          timer = this.#clock.setTimeout(resolve, this.#sinkFlushTimeoutMs);
        }),
      ]);
      clear(timer);
    }
    if (this.#ownsStore) await this.#store.close();
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new PlumblineError('PLB_DRIFT_INVALID_OPTION', `${name} must be a positive number`, {
      details: { option: name },
    });
  }
  return value;
}

function checkName(value: string, name: string): void {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > 253 ||
    !/^[\x21-\x7e]+$/.test(value)
  ) {
    throw new PlumblineError(
      'PLB_DRIFT_INVALID_NAME',
      `${name} must be 1–253 printable ASCII characters without spaces`,
      {
        details: { field: name },
      },
    );
  }
}
