import type { Clock, TimerHandle } from '../clock.js';
import type { FleetEvent, FleetEventOf, FleetEventType } from '../events.js';
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
import type { DesiredState, NodePin } from '../store.js';
import type { DriftIdentity } from '../transport.js';
import { clearDesired, pinNode, setDesired, setExpectedNodes, unpinNode } from './admin.js';
import { loadFleet } from './changes.js';
import { Fleet } from './fleet.js';
import { clusterSummary, fleetSummary, listNodes, nodeStatus } from './queries.js';
import { clearRolloutTimer } from './rollouts.js';
import { acceptHeartbeat, connectNode, endSession, forgetNode } from './sessions.js';

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
  readonly #fleet: Fleet;
  #unsubscribe: (() => void) | null = null;

  private constructor(options: FleetMonitorOptions) {
    this.#fleet = new Fleet(options);
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
    monitor.#unsubscribe = await loadFleet(monitor.#fleet);
    return monitor;
  }

  /** The heartbeat interval data planes are told to use (milliseconds). */
  get heartbeatIntervalMs(): number {
    return this.#fleet.limits.heartbeatIntervalMs;
  }

  /** The monitor's clock (serveDrift uses it for hello deadlines and `server_time`). */
  get clock(): Clock {
    return this.#fleet.clock;
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
    return this.#fleet.announcer.listen(type, listener as (event: FleetEvent) => void);
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
    return this.#fleet.announcer.listen('*', listener);
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
    return setDesired(this.#fleet, options);
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
    return clearDesired(this.#fleet, cluster, actor);
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
    return pinNode(this.#fleet, input);
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
    return unpinNode(this.#fleet, node_id, actor);
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
    return setExpectedNodes(this.#fleet, cluster, nodes, actor);
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
    return this.#fleet.clusters.get(cluster)?.desired ?? undefined;
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
    return connectNode(this.#fleet, identity, hello, session_id, options);
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
    return acceptHeartbeat(this.#fleet, node_id, session_id, frame);
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
    endSession(this.#fleet, node_id, session_id, close_code);
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
    this.#fleet.countRejected(reason);
  }

  /**
   * Removes a disconnected or never-seen node from the monitor and the store (decommissioned);
   * with a store shared by replicas, from every replica. Connected nodes (also to another
   * replica) and expected ones are kept.
   *
   * @example
   * ```ts
   * await monitor.forget('gw-old');
   * ```
   * @returns whether the node was removed.
   */
  async forget(node_id: string): Promise<boolean> {
    return forgetNode(this.#fleet, node_id);
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
    const node = this.#fleet.nodes.get(node_id);
    return node === undefined ? undefined : nodeStatus(this.#fleet, node);
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
    return listNodes(this.#fleet, query);
  }

  /**
   * When each node was last heard from (epoch ms), for every node seen; nodes never seen are left
   * out. A fleet-wide age refresh without building every node's detail as {@link FleetMonitor.nodes}
   * does.
   *
   * @example
   * ```ts
   * const ages = [...monitor.lastSeen()].map(([id, at]) => [id, Date.now() - at]);
   * ```
   */
  lastSeen(): Map<string, number> {
    const times = new Map<string, number>();
    for (const node of this.#fleet.nodes.values()) {
      if (node.last_seen >= 0) times.set(node.node_id, node.last_seen);
    }
    return times;
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
    return fleetSummary(this.#fleet);
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
    const cluster = this.#fleet.clusters.get(name);
    return cluster === undefined ? undefined : clusterSummary(cluster);
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
    return this.#fleet.counters();
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
    return this.#fleet.writer.flush();
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
    const fleet = this.#fleet;
    if (fleet.closed) return;
    for (const node of fleet.nodes.values()) {
      if (node.session !== null) fleet.writer.mark(node);
    }
    fleet.closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    fleet.liveness.close();
    fleet.writer.close();
    for (const cluster of fleet.clusters.values()) clearRolloutTimer(fleet.rollouts, cluster);
    for (const node of fleet.nodes.values()) fleet.flaps.clear(node);
    await this.flush();
    fleet.metrics?.close();
    await this.#flushSinks();
    if (fleet.ownsStore) await fleet.store.close();
  }

  /** Flushes the alert sinks, bounded: a sink retrying against a dead receiver must not hold up a shutdown. */
  async #flushSinks(): Promise<void> {
    const { announcer, clock, limits } = this.#fleet;
    const sinks = announcer.sinks;
    if (sinks.length === 0) return;
    let timer: TimerHandle | null = null;
    await Promise.race([
      Promise.all(
        sinks.map((sink) =>
          // Integrator code: a flush that throws or returns no promise must not stop the close.
          Promise.resolve()
            .then(() => sink.flush())
            .catch(() => undefined),
        ),
      ),
      new Promise<void>((resolve) => {
        timer = clock.setTimeout(resolve, limits.sinkFlushTimeoutMs);
      }),
    ]);
    if (timer !== null) clock.clearTimeout(timer);
  }
}
