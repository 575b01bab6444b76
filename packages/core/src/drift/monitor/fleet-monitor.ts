import type { AuditActor } from '../../audit/index.js';
import { createRedactor, REDACTED } from '../../audit/redact.js';
import { desiredStateChanged, expectedNodesChanged } from '../../audit/catalogue.js';
import { PlumblineError } from '../../errors.js';
import type { DigestString } from '../../hash/digest.js';
import { isDigestString } from '../../hash/digest.js';
import type { Clock, TimerHandle } from '../clock.js';
import { systemClock } from '../clock.js';
import type { FleetEvent, FleetEventOf, FleetEventType } from '../events.js';
import { MemoryFleetStore } from '../memory-store.js';
import { createMonitorMetrics, type MonitorMetrics } from '../metrics.js';
import type {
  ClusterSummary,
  ConnectOptions,
  ConnectResult,
  FleetMonitorOptions,
  MonitorCounters,
  NodeQuery,
  NodeStatus,
  SetDesiredOptions,
} from '../monitor-types.js';
import type { HeartbeatFrame, HelloFrame } from '../protocol.js';
import { DriftCloseCode, isSupportedProtocol } from '../protocol.js';
import type {
  DesiredState,
  FleetChange,
  FleetObservedChange,
  FleetStore,
  NodePin,
  Rollout,
} from '../store.js';
import type { DriftIdentity } from '../transport.js';
import { Announcer, factEventId } from './announce.js';
import { FlapDamper, LivenessList } from './liveness.js';
import { ObservedWriter } from './persistence.js';
import {
  countMove,
  copyObserved,
  iso,
  newClusterRecord,
  newNodeRecord,
  sameLive,
  sameLoadError,
  sameWorkers,
  type ClusterRecord,
  type NodeRecord,
} from './records.js';
import { checkRollout, clearRolloutTimer, startRollout, type RolloutContext } from './rollouts.js';
import { decideNodeState, NODE_STATES, type NodeState } from './state.js';
import { checkName, parseDeadline, positive } from './validate.js';

/**
 * The control plane's view of the fleet: desired state per cluster, per-node pins, the expected
 * inventory, and every node's state (docs/protocol.md "Fleet states"), with transitions emitted
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
  readonly #maxNodes: number;
  readonly #maxExpected: number;
  readonly #sinkFlushTimeoutMs: number;
  readonly #metrics: MonitorMetrics | null;
  readonly #announcer: Announcer;
  readonly #liveness: LivenessList;
  readonly #flaps: FlapDamper;
  readonly #writer: ObservedWriter;
  readonly #rollouts: RolloutContext;
  readonly #redactText: (text: string) => string;

  readonly #nodes = new Map<string, NodeRecord>();
  readonly #clusters = new Map<string, ClusterRecord>();
  readonly #pins = new Map<string, NodePin>();

  #unsubscribe: (() => void) | null = null;
  #closed = false;
  #recomputingCluster = false;
  /** Set while applying a change whose remote nodes' alerts this replica announces. */
  #announceRemote = false;

  #heartbeats = 0;
  #replayed = 0;
  #transitions = 0;
  readonly #rejected: Record<string, number> = {};

  private constructor(options: FleetMonitorOptions) {
    this.#ownsStore = options.store === undefined;
    this.#store = options.store ?? new MemoryFleetStore();
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#heartbeatIntervalMs = positive(
      options.heartbeatIntervalMs ?? 5000,
      'heartbeatIntervalMs',
    );
    const staleMs =
      this.#heartbeatIntervalMs * positive(options.staleAfterIntervals ?? 3, 'staleAfterIntervals');
    const flap = options.flapDamping === false ? null : (options.flapDamping ?? {});
    const flapThreshold =
      flap === null ? Infinity : positive(flap.threshold ?? 5, 'flapDamping.threshold');
    const flapHalfLife =
      flap === null ? 1 : positive(flap.halfLifeMs ?? 60_000, 'flapDamping.halfLifeMs');
    this.#maxNodes = positive(options.maxNodes ?? 250_000, 'maxNodes');
    this.#maxExpected = positive(options.maxExpectedPerCluster ?? 100_000, 'maxExpectedPerCluster');
    const persistIntervalMs = positive(options.persistIntervalMs ?? 1000, 'persistIntervalMs');
    this.#sinkFlushTimeoutMs = positive(options.sinkFlushTimeoutMs ?? 5000, 'sinkFlushTimeoutMs');
    // Free text from callers (a desired state's or a pin's reason) is redacted once, here, with the
    // audit trail's redactor, so the store, events, sinks, logs and every replica hold it redacted.
    const redact = createRedactor(options.redaction);
    this.#redactText = (text) => {
      const out = redact(text);
      return typeof out === 'string' ? out : REDACTED;
    };
    const announcer = new Announcer({
      clock,
      sinks: options.sinks ?? [],
      newEventId: options.newEventId ?? (() => crypto.randomUUID()),
      logger: options.logger,
      audit: options.audit,
      desiredFor: (node) => this.#desiredFor(node),
    });
    this.#announcer = announcer;
    this.#liveness = new LivenessList(clock, staleMs, (node, now) => this.#recompute(node, now));
    this.#flaps = new FlapDamper(clock, flapThreshold, flapHalfLife, {
      started: (node) =>
        announcer.emit({ ...announcer.nodeEvent(node, 'node.flapping'), score: node.flapScore }),
      ended: (node, now) => {
        announcer.emit(announcer.nodeEvent(node, 'node.flapping_ended'));
        announcer.announce(node, now);
      },
      closed: () => this.#closed,
    });
    this.#writer = new ObservedWriter({
      store: this.#store,
      clock,
      intervalMs: persistIntervalMs,
      current: (node) => this.#nodes.get(node.node_id) === node,
      warn: (message, error) => announcer.warn(message, error),
    });
    this.#rollouts = {
      clock,
      announcer,
      closed: () => this.#closed,
      recomputeCluster: (cluster) => this.#recomputeCluster(cluster),
      announceFact: (key, event) => this.#announceFact(key, event),
    };
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
            sinks: () => announcer.sinks,
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
    return this.#announcer.listen(type, listener as (event: FleetEvent) => void);
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
    return this.#announcer.listen('*', listener);
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
      copyObserved(node, observed);
      node.last_seen = lastSeen;
      // A store shared by replicas (one that can claim facts) says which nodes are attached to
      // another live replica; a single-process store's records are all from before this start.
      if (this.#store.claimFact !== undefined && observed.connected === true) {
        node.remote = true;
        node.remoteConnected = true;
        node.stale = observed.stale === true;
        node.awaiting = observed.awaiting_report === true;
      }
    }
    for (const expected of snapshot.expected)
      this.#applyExpected(expected.cluster, expected.nodes, false);
    for (const desired of snapshot.desired) this.#applyDesired(desired, false);
    for (const node of this.#nodes.values()) {
      if (node.remote) this.#recompute(node, now);
    }
    this.#unsubscribe = this.#store.subscribe((change) => this.#applyChange(change));
  }

  #applyChange(change: FleetChange): void {
    if (this.#closed) return;
    // Configuration changes are announced by the replica that made them (one alert per fact).
    const local = change.kind === 'observed' || change.local !== false;
    switch (change.kind) {
      case 'desired':
        this.#applyDesired(change.desired, local);
        break;
      case 'desired_cleared':
        this.#applyCleared(change.cluster, change.actor, local);
        break;
      case 'pin':
        this.#pins.set(change.pin.node_id, change.pin);
        this.#recomputeNode(change.pin.node_id);
        break;
      case 'pin_removed':
        if (this.#pins.delete(change.node_id)) this.#recomputeNode(change.node_id);
        break;
      case 'expected':
        this.#applyExpected(change.expected.cluster, change.expected.nodes, local);
        break;
      case 'observed':
        this.#applyObserved(change);
        break;
      default:
        break;
    }
  }

  /**
   * The observed state of a node attached to another replica: shown here as that replica sees it.
   * Its alerts are that replica's to announce, unless the store says this replica announces them
   * (the sweep leader, for a node whose replica died).
   */
  #applyObserved(change: FleetObservedChange): void {
    const observed = change.node;
    let node = this.#nodes.get(observed.node_id);
    // A session here is the freshest truth about the node.
    if (node !== undefined && node.session !== null) return;
    const now = this.#clock.now();
    const cluster = this.#cluster(observed.cluster);
    if (node === undefined) {
      if (this.#nodes.size >= this.#maxNodes) {
        this.#rejectedReason('fleet_full');
        return;
      }
      node = this.#newNode(observed.node_id, cluster, 'never_seen', now);
    } else if (node.cluster !== cluster) {
      this.#moveNode(node, cluster);
    }
    node.remote = true;
    this.#writer.forget(node);
    node.dirty = false;
    node.remoteConnected = observed.connected === true;
    node.stale = observed.stale === true;
    node.awaiting = observed.awaiting_report === true;
    copyObserved(node, observed);
    node.last_seen = observed.last_seen === null ? -1 : Date.parse(observed.last_seen);
    const outer = this.#announceRemote;
    this.#announceRemote = change.announce;
    try {
      this.#recompute(node, now);
    } finally {
      this.#announceRemote = outer;
    }
  }

  /**
   * Announces a fact every replica sharing the store sees the same way, once fleet-wide: under the
   * id of its key, by the replica that wins the store's claim (every fact is this process's own with
   * a store that cannot claim). When the claim cannot be made (the store is unreachable) the fact
   * is announced anyway, under the same id, so a receiver can deduplicate it.
   */
  #announceFact(key: string, event: FleetEvent): void {
    const store = this.#store;
    if (store.claimFact === undefined) {
      this.#announcer.emit(event);
      return;
    }
    const shared = { ...event, id: factEventId(key) };
    store.claimFact(key).then(
      (won) => {
        if (won && !this.#closed) this.#announcer.emit(shared);
      },
      (error: unknown) => {
        this.#announcer.warn('a fleet fact could not be claimed; announcing it here', error);
        if (!this.#closed) this.#announcer.emit(shared);
      },
    );
  }

  #applyDesired(desired: DesiredState, emit: boolean): void {
    const cluster = this.#cluster(desired.cluster);
    if (cluster.desired !== null && cluster.desired.version >= desired.version) return;
    const previous = cluster.desired?.artifact_hash ?? null;
    cluster.desired = desired;
    startRollout(this.#rollouts, cluster, desired);
    if (emit) {
      this.#announcer.emit({
        type: 'desired_state.changed',
        // One id for the fact on every path, whichever replica of a shared store announces it.
        id:
          this.#store.claimFact === undefined
            ? this.#announcer.newEventId()
            : factEventId(`desired_state.changed|${desired.cluster}|${desired.version}`),
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
    checkRollout(this.#rollouts, cluster);
  }

  #applyCleared(name: string, actor: string, emit: boolean): void {
    const cluster = this.#clusters.get(name);
    if (cluster === undefined || cluster.desired === null) return;
    const previous = cluster.desired.artifact_hash;
    cluster.desired = null;
    clearRolloutTimer(this.#rollouts, cluster);
    cluster.rollout = null;
    if (emit)
      this.#announcer.emit({
        type: 'desired_state.changed',
        id: this.#announcer.newEventId(),
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
        if (emit) this.#announcer.emit(this.#announcer.nodeEvent(node, 'node.never_seen'));
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
    const reason = this.#redactText(options.reason);
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
        reason,
        changed_at: iso(now),
        rollout,
        ...(options.expected_version === undefined
          ? {}
          : { expected_version: options.expected_version }),
      });
    } catch (error) {
      const code = PlumblineError.is(error) ? error.code : 'PLB_STORE_IO';
      this.#announcer.auditLater(auditInput('failure', `${reason} (${code})`));
      throw error;
    }
    await this.#announcer.audit?.emit(auditInput('success', reason));
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
    await this.#announcer.audit?.emit(
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
  async pin(input: Omit<NodePin, 'pinned_at'>): Promise<void> {
    this.#checkOpen();
    const pin = { ...input, reason: this.#redactText(input.reason) };
    if (!isDigestString(pin.artifact_hash)) {
      throw new PlumblineError('PLB_INVALID_DIGEST', 'artifact_hash is not a sha256 digest string');
    }
    checkName(pin.node_id, 'node_id');
    checkName(pin.cluster, 'cluster');
    const previous = this.#desiredFor(this.#nodes.get(pin.node_id) ?? null, pin.cluster);
    await this.#store.setPin({ ...pin, pinned_at: iso(this.#clock.now()) });
    await this.#announcer.audit?.emit(
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
    await this.#announcer.audit?.emit(
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
    await this.#announcer.audit?.emit(
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
   * With `options.awaitingReport` (a transport whose hello carries no artifact hash, such as
   * Barbacane's `register`), the node is `awaiting_report`: not judged, no alert, no flap, until
   * its first heartbeat with a hash.
   */
  connect(
    identity: DriftIdentity,
    hello: HelloFrame,
    session_id: string,
    options: ConnectOptions = {},
  ): ConnectResult {
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
    node.live = hello.live_config ?? null;
    node.last_seen = now;
    node.stale = false;
    node.awaiting = options.awaitingReport === true;
    node.remote = false;
    node.remoteConnected = false;
    this.#liveness.touch(node);
    this.#writer.mark(node);
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
    if (node.awaiting && frame.artifact_hash !== null) {
      node.awaiting = false;
      changed = true;
    }
    this.#liveness.touch(node);
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
    if (!sameLive(node.live, frame.live_config)) changed = true;
    node.live = frame.live_config ?? null;
    const loadedAt = frame.loaded_at ?? node.loaded_at;
    if (loadedAt !== node.loaded_at) {
      node.loaded_at = loadedAt;
      this.#writer.mark(node);
    }
    if (changed) {
      this.#writer.mark(node);
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
    this.#liveness.unlink(node);
    this.#writer.mark(node);
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
      this.#writer.storeErrors++;
      this.#announcer.warn('the fleet store could not delete a node', error);
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
      storeErrors: this.#writer.storeErrors,
      listenerErrors: this.#announcer.listenerErrors,
      auditErrors: this.#announcer.auditErrors,
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
      live_config: node.live,
      pinned: this.#pins.has(node.node_id),
      flapping: node.flapping,
      connected: node.session !== null,
    };
  }

  // ---------------------------------------------------------------- state machine

  #cluster(name: string): ClusterRecord {
    let cluster = this.#clusters.get(name);
    if (cluster === undefined) {
      cluster = newClusterRecord(name);
      this.#clusters.set(name, cluster);
    }
    return cluster;
  }

  #newNode(node_id: string, cluster: ClusterRecord, state: NodeState, since: number): NodeRecord {
    const node = newNodeRecord(node_id, cluster, state, since);
    this.#nodes.set(node_id, node);
    cluster.nodes.add(node);
    countMove(cluster, null, state);
    return node;
  }

  #removeNode(node: NodeRecord): void {
    this.#liveness.unlink(node);
    this.#flaps.clear(node);
    node.cluster.nodes.delete(node);
    countMove(node.cluster, node.state, null);
    this.#nodes.delete(node.node_id);
    this.#writer.forget(node);
  }

  #moveNode(node: NodeRecord, cluster: ClusterRecord): void {
    const old = node.cluster;
    old.nodes.delete(node);
    countMove(old, node.state, null);
    node.cluster = cluster;
    node.expected = cluster.expected.has(node.node_id);
    cluster.nodes.add(node);
    countMove(cluster, null, node.state);
    checkRollout(this.#rollouts, old);
  }

  #desiredFor(node: NodeRecord | null, clusterName?: string): DigestString | null {
    if (node !== null) {
      const pin = this.#pins.get(node.node_id);
      if (pin !== undefined) return pin.artifact_hash;
      return node.cluster.desired?.artifact_hash ?? null;
    }
    return this.#clusters.get(clusterName ?? '')?.desired?.artifact_hash ?? null;
  }

  /** The node's state under the one node-state rule ({@link decideNodeState}). */
  #compute(node: NodeRecord): NodeState {
    const pin = this.#pins.size === 0 ? undefined : this.#pins.get(node.node_id);
    const cluster = node.cluster;
    return decideNodeState(
      {
        connected: node.session !== null || (node.remote && node.remoteConnected),
        seen: node.last_seen >= 0,
        stale: node.stale,
        awaitingReport: node.awaiting,
        reported: node.reported,
        workers: node.workers,
        last_load_error: node.last_load_error,
        live: node.live,
      },
      {
        desired: pin !== undefined ? pin.artifact_hash : (cluster.desired?.artifact_hash ?? null),
        pinned: pin !== undefined,
        rollout: cluster.rollout,
      },
    );
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
    if (!outer) checkRollout(this.#rollouts, cluster);
  }

  #recompute(node: NodeRecord, now: number): void {
    const next = this.#compute(node);
    const from = node.state;
    if (next === from) return;
    countMove(node.cluster, from, next);
    node.state = next;
    node.since = now;
    this.#transitions++;
    this.#writer.mark(node);
    this.#metrics?.transition(from, next);
    this.#announcer.emit({ ...this.#announcer.nodeEvent(node, 'node.state_changed'), from });
    if (node.remote && !this.#announceRemote) {
      // Another replica holds the node's session and announces its alerts: show, don't alert.
      node.announced = next;
      if (next === 'drift') node.driftSince = now;
    } else {
      // A node waiting for its first report counts no flap: connecting is not a change of what it runs.
      if (this.#flaps.enabled && next !== 'awaiting_report' && from !== 'awaiting_report')
        this.#flaps.flap(node, now);
      if (!node.flapping) this.#announcer.announce(node, now);
    }
    if (!this.#recomputingCluster) checkRollout(this.#rollouts, node.cluster);
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
    return this.#writer.flush();
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
      if (node.session !== null) this.#writer.mark(node);
    }
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#liveness.close();
    this.#writer.close();
    for (const cluster of this.#clusters.values()) clearRolloutTimer(this.#rollouts, cluster);
    for (const node of this.#nodes.values()) this.#flaps.clear(node);
    await this.flush();
    this.#metrics?.close();
    const sinks = this.#announcer.sinks;
    if (sinks.length > 0) {
      // Bounded: a sink retrying against a dead receiver must not hold up a shutdown.
      let timer: TimerHandle | null = null;
      await Promise.race([
        Promise.all(sinks.map((sink) => sink.flush().catch(() => undefined))),
        new Promise<void>((resolve) => {
          timer = this.#clock.setTimeout(resolve, this.#sinkFlushTimeoutMs);
        }),
      ]);
      if (timer !== null) this.#clock.clearTimeout(timer);
    }
    if (this.#ownsStore) await this.#store.close();
  }
}
