/**
 * The fleet as one monitor holds it: the node, cluster and pin records, the parts that act on them
 * (announcer, liveness, flap damping, persistence, rollouts) wired together, and the judging of a
 * node under the one node-state rule — every transition goes through {@link Fleet.recompute}.
 *
 * @internal
 * @packageDocumentation
 */
import { observedDropped } from '../../audit/catalogue.js';
import { createRedactor, REDACTED } from '../../audit/redact.js';
import type { DigestString } from '../../hash/digest.js';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { FleetEvent } from '../events.js';
import { MemoryFleetStore } from '../memory-store.js';
import { createMonitorMetrics, type MonitorMetrics } from '../metrics.js';
import type { FleetMonitorOptions, MonitorCounters } from '../monitor-types.js';
import type { FleetStore, NodePin, ObservedDrop } from '../store.js';
import { Announcer, factEventId } from './announce.js';
import { FlapDamper, LivenessList, flapAnnouncements } from './liveness.js';
import { ObservedWriter } from './persistence.js';
import {
  countMove,
  iso,
  newClusterRecord,
  newNodeRecord,
  type ClusterRecord,
  type NodeRecord,
} from './records.js';
import { checkRollout, type RolloutContext } from './rollouts.js';
import { decideNodeState, NODE_STATES, type NodeState } from './state.js';
import { positive } from './validate.js';

/** The monitor's limits and intervals, checked once. @internal */
export interface FleetLimits {
  readonly heartbeatIntervalMs: number;
  readonly maxNodes: number;
  readonly maxExpected: number;
  readonly sinkFlushTimeoutMs: number;
}

/**
 * One monitor's records and the parts acting on them.
 *
 * @internal
 */
export class Fleet {
  readonly store: FleetStore;
  readonly ownsStore: boolean;
  readonly clock: Clock;
  readonly limits: FleetLimits;
  readonly announcer: Announcer;
  readonly liveness: LivenessList;
  readonly flaps: FlapDamper;
  readonly writer: ObservedWriter;
  readonly rollouts: RolloutContext;
  readonly metrics: MonitorMetrics | null;
  /** Free text from callers, redacted with the audit trail's redactor. */
  readonly redactText: (text: string) => string;

  readonly nodes = new Map<string, NodeRecord>();
  readonly clusters = new Map<string, ClusterRecord>();
  readonly pins = new Map<string, NodePin>();

  closed = false;
  /** Set while applying a change whose remote nodes' alerts this replica announces. */
  announceRemote = false;
  #recomputingCluster = false;

  heartbeats = 0;
  replayed = 0;
  transitions = 0;
  droppedObserved = 0;
  readonly rejected: Record<string, number> = {};

  constructor(options: FleetMonitorOptions) {
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? new MemoryFleetStore();
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    const heartbeatIntervalMs = positive(options.heartbeatIntervalMs, 'heartbeatIntervalMs', 5000);
    const staleMs =
      heartbeatIntervalMs * positive(options.staleAfterIntervals, 'staleAfterIntervals', 3);
    const flap = options.flapDamping === false ? null : (options.flapDamping ?? {});
    const flapThreshold =
      flap === null ? Infinity : positive(flap.threshold, 'flapDamping.threshold', 5);
    const flapHalfLife =
      flap === null ? 1 : positive(flap.halfLifeMs, 'flapDamping.halfLifeMs', 60_000);
    this.limits = {
      heartbeatIntervalMs,
      maxNodes: positive(options.maxNodes, 'maxNodes', 250_000),
      maxExpected: positive(options.maxExpectedPerCluster, 'maxExpectedPerCluster', 100_000),
      sinkFlushTimeoutMs: positive(options.sinkFlushTimeoutMs, 'sinkFlushTimeoutMs', 5000),
    };
    const persistIntervalMs = positive(options.persistIntervalMs, 'persistIntervalMs', 1000);
    // Free text from callers (a desired state's or a pin's reason) is redacted once, here, with the
    // audit trail's redactor, so the store, events, sinks, logs and every replica hold it redacted.
    const redact = createRedactor(options.redaction);
    this.redactText = (text) => {
      const out = redact(text);
      return typeof out === 'string' ? out : REDACTED;
    };
    const announcer = new Announcer({
      clock,
      sinks: options.sinks ?? [],
      newEventId: options.newEventId ?? (() => crypto.randomUUID()),
      logger: options.logger,
      audit: options.audit,
      desiredFor: (node) => this.desiredFor(node),
    });
    this.announcer = announcer;
    this.liveness = new LivenessList(clock, staleMs, (node, now) => this.recompute(node, now));
    const flapHooks = flapAnnouncements({
      announcer,
      announceFact: (key, event) => this.announceFact(key, event),
      changed: (node) => this.writer.mark(node),
      closed: () => this.closed,
    });
    this.flaps = new FlapDamper(clock, flapThreshold, flapHalfLife, flapHooks);
    this.writer = new ObservedWriter({
      store: this.store,
      clock,
      intervalMs: persistIntervalMs,
      current: (node) => this.nodes.get(node.node_id) === node,
      warn: (message, error) => announcer.warn(message, error),
    });
    this.rollouts = {
      clock,
      announcer,
      closed: () => this.closed,
      recomputeCluster: (cluster) => this.recomputeCluster(cluster),
      announceFact: (key, event, also) => this.announceFact(key, event, also),
    };
    this.metrics =
      options.meter === undefined
        ? null
        : createMonitorMetrics(options.meter, {
            counts: (visit) => {
              for (const cluster of this.clusters.values()) {
                for (let i = 0; i < NODE_STATES.length; i++) {
                  visit(cluster.name, NODE_STATES[i] as NodeState, cluster.counts[i] as number);
                }
              }
            },
            counters: () => this.counters(),
            sinks: () => announcer.sinks,
          });
  }

  /** Whether the store is shared by replicas (it can claim a fact for one of them). */
  get shared(): boolean {
    return this.store.claimFact !== undefined;
  }

  counters(): MonitorCounters {
    return {
      heartbeats: this.heartbeats,
      replayed: this.replayed,
      rejected: { ...this.rejected },
      transitions: this.transitions,
      storeErrors: this.writer.storeErrors,
      listenerErrors: this.announcer.listenerErrors,
      auditErrors: this.announcer.auditErrors,
      observedDropped: this.droppedObserved,
    };
  }

  /**
   * What the store dropped during one outage (beyond its buffer bound): counted and audited once,
   * as a summary without node ids.
   */
  noteDropped(drop: ObservedDrop): void {
    if (this.closed || drop.dropped <= 0) return;
    this.droppedObserved += drop.dropped;
    this.announcer.auditLater(
      observedDropped({
        actor: { type: 'system', id: 'fleet-monitor' },
        time: iso(this.clock.now()),
        details: {
          store: drop.store,
          dropped_count: drop.dropped,
          buffer_limit: drop.limit,
          first_dropped_at: drop.first_dropped_at,
          last_dropped_at: drop.last_dropped_at,
        },
      }),
    );
  }

  countRejected(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  /** Whether one more node fits; counts a `fleet_full` refusal when it does not. */
  hasRoom(): boolean {
    if (this.nodes.size < this.limits.maxNodes) return true;
    this.countRejected('fleet_full');
    return false;
  }

  // ---------------------------------------------------------------- records

  cluster(name: string): ClusterRecord {
    let cluster = this.clusters.get(name);
    if (cluster === undefined) {
      cluster = newClusterRecord(name);
      this.clusters.set(name, cluster);
    }
    return cluster;
  }

  newNode(node_id: string, cluster: ClusterRecord, state: NodeState, since: number): NodeRecord {
    const node = newNodeRecord(node_id, cluster, state, since);
    this.nodes.set(node_id, node);
    cluster.nodes.add(node);
    countMove(cluster, null, state);
    return node;
  }

  removeNode(node: NodeRecord): void {
    this.liveness.unlink(node);
    this.flaps.clear(node);
    node.cluster.nodes.delete(node);
    countMove(node.cluster, node.state, null);
    this.nodes.delete(node.node_id);
    this.writer.forget(node);
  }

  moveNode(node: NodeRecord, cluster: ClusterRecord): void {
    const old = node.cluster;
    old.nodes.delete(node);
    countMove(old, node.state, null);
    node.cluster = cluster;
    node.expected = cluster.expected.has(node.node_id);
    cluster.nodes.add(node);
    countMove(cluster, null, node.state);
    checkRollout(this.rollouts, old);
  }

  /** A node's desired hash (its pin's, else its cluster's), or a cluster's when `node` is null. */
  desiredFor(node: NodeRecord | null, clusterName?: string): DigestString | null {
    if (node !== null) {
      const pin = this.pins.get(node.node_id);
      if (pin !== undefined) return pin.artifact_hash;
      return node.cluster.desired?.artifact_hash ?? null;
    }
    return this.clusters.get(clusterName ?? '')?.desired?.artifact_hash ?? null;
  }

  // ---------------------------------------------------------------- judging

  /** The node's state under the one node-state rule ({@link decideNodeState}). */
  #compute(node: NodeRecord): NodeState {
    const pin = this.pins.size === 0 ? undefined : this.pins.get(node.node_id);
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

  recomputeNode(node_id: string): void {
    const node = this.nodes.get(node_id);
    if (node !== undefined) this.recompute(node, this.clock.now());
  }

  recomputeCluster(cluster: ClusterRecord): void {
    const now = this.clock.now();
    // A rollout is judged on the whole cluster's new states, not half-way through the loop (a node
    // not yet recomputed still holds its state under the previous desired hash).
    const outer = this.#recomputingCluster;
    this.#recomputingCluster = true;
    try {
      for (const node of cluster.nodes) this.recompute(node, now);
    } finally {
      this.#recomputingCluster = outer;
    }
    if (!outer) checkRollout(this.rollouts, cluster);
  }

  /** Judges one node; a new state is counted, written, emitted and (when it is ours) alerted. */
  recompute(node: NodeRecord, now: number): void {
    const next = this.#compute(node);
    const from = node.state;
    if (next === from) return;
    countMove(node.cluster, from, next);
    node.state = next;
    node.since = now;
    this.transitions++;
    this.writer.mark(node);
    this.metrics?.transition(from, next);
    this.announcer.emit({ ...this.announcer.nodeEvent(node, 'node.state_changed'), from });
    if (node.remote && !this.announceRemote) {
      // Another replica holds the node's session and announces its alerts: show, don't alert.
      // Its drift episode comes with its observed record (see copyObserved).
      node.announced = next;
    } else {
      // A node waiting for its first report counts no flap: connecting is not a change of what it runs.
      if (this.flaps.enabled && next !== 'awaiting_report' && from !== 'awaiting_report')
        this.flaps.flap(node, now);
      if (!node.flapping) this.announcer.announce(node, now);
    }
    if (!this.#recomputingCluster) checkRollout(this.rollouts, node.cluster);
  }

  /**
   * Announces a fact every replica sharing the store sees the same way, once fleet-wide: under the
   * id of its key, by the replica that wins the store's claim (every fact is this process's own with
   * a store that cannot claim). When the claim cannot be made (the store is unreachable) the fact
   * is announced anyway, under the same id, so a receiver can deduplicate it. `also` runs with the
   * event wherever it is announced (the audit record of the same fact).
   */
  announceFact(key: string, event: FleetEvent, also?: (event: FleetEvent) => void): void {
    const store = this.store;
    const announce = (shared: FleetEvent): void => {
      this.announcer.emit(shared);
      also?.(shared);
    };
    if (store.claimFact === undefined) {
      announce(event);
      return;
    }
    const shared = { ...event, id: factEventId(key) };
    store.claimFact(key).then(
      (won) => {
        if (won && !this.closed) announce(shared);
      },
      (error: unknown) => {
        this.announcer.warn('a fleet fact could not be claimed; announcing it here', error);
        if (!this.closed) announce(shared);
      },
    );
  }
}
