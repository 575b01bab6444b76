/**
 * The PostgreSQL {@link FleetStore}: shared by several control-plane replicas. It composes the
 * parts a reader finds in their own files: storage (`storage.ts`, `rows.ts`), the change feed
 * (`feed.ts`), observed-state writes and their offline buffer (`observed-writes.ts`), leader
 * election (`leader.ts`) and the sweep (`sweep.ts`).
 */
import type pg from 'pg';
import { createPool } from './pg.js';
import { PlumblineError } from '@plumbline/core';
import type { DigestString } from '@plumbline/core/hash';
import type {
  DesiredState,
  ExpectedNodes,
  FleetChangeListener,
  FleetEvent,
  FleetSnapshot,
  FleetStore,
  NodePin,
  ObservedDrop,
  ObservedNode,
  SetDesiredInput,
} from '@plumbline/core/drift';
import { ChangeFeed } from './feed.js';
import { LeaderElection } from './leader.js';
import { migrate, quoteSchema } from './migrations.js';
import { ObservedWrites } from './observed-writes.js';
import {
  newCounters,
  pgLimit,
  resolveSettings,
  type PostgresFleetStoreOptions,
  type PostgresStoreStats,
  type StoreSettings,
} from './options.js';
import { byText } from './rows.js';
import { PgStorage } from './storage.js';
import { SessionFollower, sweepDeadReplicas } from './sweep.js';

export { isConnectionError } from './connection.js';
export type { PostgresFleetStoreOptions, PostgresStoreStats } from './options.js';

/**
 * A {@link FleetStore} in PostgreSQL, shared by several control-plane replicas.
 *
 * - Configuration writes (desired state, pins, expected nodes) run in transactions serialized by
 *   an advisory lock; each appends a change with the next revision and `NOTIFY`s the other
 *   replicas, which read the changes in revision order (so every replica converges).
 * - Desired state is compare-and-set on its `version` column; every change is recorded with
 *   actor and reason in `desired_history`.
 * - Observed state is upserted in batches (one statement per `maxBatchRows` nodes), owned by this
 *   replica. While PostgreSQL is unreachable, updates are kept in a bounded buffer (one entry per
 *   node; what does not fit is counted in `dropped`) and written on reconnect, when the feed
 *   also catches up.
 * - Every observed-state write takes the next value of a sequence (`rev`) and `NOTIFY`s the other
 *   replicas, which read the rows of other replicas after their cursor and deliver them as
 *   `observed` changes: every replica's monitor shows every node as the replica holding its session
 *   sees it. Forgetting a node (`deleteObserved`) is a change too (`observed_deleted`), so every
 *   replica drops it. Fleet facts every replica sees alike (a rollout completing, a node starting
 *   to flap) are claimed in the `facts` table by the one replica that announces them
 *   ({@link PostgresFleetStore.claimFact}).
 * - One replica at a time (the holder of a session advisory lock) sweeps nodes whose replica died
 *   or stopped (silent for `replicaTimeoutMs`) and that did not reconnect elsewhere: it marks them
 *   disconnected and hands them to its own monitor, which judges them by the one node-state rule
 *   and announces each once (`node.disconnected`) through the control plane's sinks; the lock
 *   passes to another replica when the leader's connection ends. The store itself sends no alert.
 *
 * @example
 * ```ts
 * const store = await PostgresFleetStore.open({ connectionString: 'postgres://postgres@127.0.0.1/test' });
 * const monitor = await FleetMonitor.create({ store, sinks });
 * ```
 * @public
 */
export class PostgresFleetStore implements FleetStore {
  /** This replica's id. */
  readonly replicaId: string;
  /** The schema name. */
  readonly schema: string;
  readonly #s: StoreSettings;
  readonly #pool: pg.Pool;
  readonly #stats = newCounters();
  readonly #storage: PgStorage;
  readonly #feed: ChangeFeed;
  readonly #sessions: SessionFollower;
  readonly #writes: ObservedWrites;
  readonly #leader: LeaderElection;
  #connected = true;
  #closed = false;
  #timers: NodeJS.Timeout[] = [];
  #reconnectTimer: NodeJS.Timeout | null = null;
  readonly #dropListeners = new Set<(drop: ObservedDrop) => void>();
  #configuring: Promise<unknown> = Promise.resolve();

  private constructor(options: PostgresFleetStoreOptions) {
    const s = resolveSettings(options);
    this.#s = s;
    this.schema = s.schema;
    this.replicaId = s.replicaId;
    const q = quoteSchema(s.schema);
    const channel = `plumbline_${s.schema}`;
    this.#pool = createPool({ ...s.client, max: s.poolSize });
    // Idle clients whose backend ends emit errors here; the next query reconnects.
    this.#pool.on('error', () => undefined);
    const closed = (): boolean => this.#closed;
    const connected = (): boolean => this.#connected;
    const lost = (): void => this.#lost();
    this.#storage = new PgStorage({
      pool: this.#pool,
      schema: s.schema,
      q,
      replicaId: s.replicaId,
      channel,
      maxBatchRows: s.maxBatchRows,
      lost,
    });
    const storage = this.#storage;
    const counters = this.#stats;
    this.#feed = new ChangeFeed({
      storage,
      client: s.client,
      q,
      channel,
      replicaId: s.replicaId,
      counters,
      closed,
      lost,
    });
    this.#sessions = new SessionFollower({
      storage,
      maxTracked: s.maxBuffered,
      closed,
      connected,
      serial: (body) => this.#writes.serial(body),
    });
    this.#writes = new ObservedWrites({
      storage,
      sessions: this.#sessions,
      counters,
      maxBatchRows: s.maxBatchRows,
      maxBuffered: s.maxBuffered,
      connected,
    });
    const feed = this.#feed;
    const sweep = { q, channel, replicaId: s.replicaId, feed, counters };
    this.#leader = new LeaderElection({
      client: s.client,
      schema: s.schema,
      closed,
      connected,
      lead: (client) =>
        sweepDeadReplicas(client, { ...sweep, replicaTimeoutMs: s.replicaTimeoutMs }),
    });
  }

  /**
   * Connects, migrates (unless `migrate: false`), starts the change feed, the replica heartbeat
   * and leader election.
   *
   * @example
   * ```ts
   * const store = await PostgresFleetStore.open({ connectionString: process.env.DATABASE_URL, schema: 'fleet' });
   * ```
   * @throws `PLB_PG_UNAVAILABLE` when PostgreSQL cannot be reached; `PLB_PG_SCHEMA` when the
   *   schema is missing or newer than this library; `PLB_PG_OPTIONS` for invalid options.
   */
  static async open(options: PostgresFleetStoreOptions = {}): Promise<PostgresFleetStore> {
    quoteSchema(options.schema ?? 'plumbline');
    const store = new PostgresFleetStore(options);
    try {
      await store.#start(options.migrate ?? true);
    } catch (error) {
      await store.#shutdown();
      throw error;
    }
    return store;
  }

  async #start(runMigrations: boolean): Promise<void> {
    if (runMigrations) await migrate({ pool: this.#pool, schema: this.schema });
    await this.#storage.checkSchema();
    // What load() returns is read after this, so the feed starts at the rows written from now on.
    this.#feed.start(await this.#storage.cursors());
    await this.#feed.listen();
    await this.#storage.beat();
    const s = this.#s;
    this.#timers.push(
      setInterval(() => this.#feed.pull(), s.pollMs),
      setInterval(() => this.#feed.pullSeen(), s.seenMs),
      setInterval(() => void this.#storage.beat().catch(() => undefined), s.replicaHeartbeatMs),
    );
    if (s.sweep) {
      this.#timers.push(
        setInterval(() => {
          if (!this.#leader.busy) void this.#leader.round();
        }, s.sweepMs),
      );
      void this.#leader.round();
    }
    for (const timer of this.#timers) timer.unref();
  }

  // ---------------------------------------------------------------- connection loss

  #lost(): void {
    if (this.#closed) return;
    if (this.#connected) {
      this.#connected = false;
      this.#stats.reconnects++;
    }
    void this.#leader.resign();
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer !== null) return;
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), this.#s.reconnectMs);
    this.#reconnectTimer.unref();
  }

  async #reconnect(): Promise<void> {
    this.#reconnectTimer = null;
    if (this.#closed) return;
    try {
      await this.#pool.query('SELECT 1');
      if (!this.#feed.listening) await this.#feed.listen();
      this.#connected = true;
      await this.#writes.drain();
      this.#reportDrops();
      await this.#storage.beat();
      await this.#feed.caughtUp();
    } catch {
      this.#connected = false;
      this.#scheduleReconnect();
    }
  }

  /** Reports what the outage that just ended dropped, once (the monitor counts and audits it). */
  #reportDrops(): void {
    const drop = this.#writes.takeDrops();
    if (drop === null) return;
    for (const listener of this.#dropListeners) {
      try {
        listener(drop);
      } catch {
        // A listener never breaks the reconnect.
      }
    }
  }

  // ---------------------------------------------------------------- FleetStore

  #checkOpen(): void {
    if (this.#closed) throw new PlumblineError('PLB_STORE_CLOSED', 'the fleet store is closed');
  }

  /**
   * A configuration write, then the feed caught up (so this replica has applied it). Writes run
   * one after another, in call order: overlapping calls would otherwise take the write lock in
   * whatever order their connections reach PostgreSQL.
   */
  #configure<T>(write: () => Promise<T>): Promise<T> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const run = async (): Promise<T> => {
      const result = await write();
      await this.#feed.caughtUp().catch(() => undefined);
      return result;
    };
    const next = this.#configuring.then(run, run);
    this.#configuring = next.catch(() => undefined);
    return next;
  }

  /** Everything the store holds (used once at start-up). */
  async load(): Promise<FleetSnapshot> {
    this.#checkOpen();
    const snapshot = await this.#storage.load();
    const observed = new Map<string, ObservedNode>();
    for (const node of snapshot.observed) observed.set(node.node_id, node);
    // What this replica could not write yet is newer than the table.
    for (const [id, node] of this.#writes.pending) {
      if (node === null) observed.delete(id);
      else observed.set(id, node);
    }
    return {
      ...snapshot,
      observed: [...observed.values()].sort((a, b) => byText(a.node_id, b.node_id)),
    };
  }

  /**
   * Sets a cluster's desired state, assigning `version = previous version + 1`.
   *
   * @throws `PLB_STORE_CONFLICT` when `expected_version` is given and differs from the stored one.
   */
  setDesired(input: SetDesiredInput): Promise<DesiredState> {
    return this.#configure(() => this.#storage.setDesired(input));
  }

  /** Removes a cluster's desired state (its nodes become `unknown`). No-op when absent. */
  clearDesired(cluster: string, actor: string): Promise<void> {
    return this.#configure(() => this.#storage.clearDesired(cluster, actor));
  }

  /** Pins one node to a hash (replacing an earlier pin). */
  setPin(pin: NodePin): Promise<void> {
    return this.#configure(() => this.#storage.setPin(pin));
  }

  /** Removes a node's pin. No-op when absent. */
  removePin(node_id: string, actor: string): Promise<void> {
    return this.#configure(() => this.#storage.removePin(node_id, actor));
  }

  /** Replaces a cluster's expected inventory. */
  setExpected(expected: ExpectedNodes): Promise<void> {
    return this.#configure(() => this.#storage.setExpected(expected));
  }

  /**
   * Upserts observed state for a batch of nodes (last write per node wins).
   *
   * While PostgreSQL is unreachable, the updates are buffered (bounded by `maxBufferedNodes`)
   * and the promise resolves; they are written on reconnect.
   */
  saveObserved(nodes: readonly ObservedNode[]): Promise<void> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writes.save(nodes);
  }

  /**
   * Forgets a node's observed state. No-op when absent.
   *
   * Every replica sharing the store drops the node (an `observed_deleted` change on the feed).
   * While PostgreSQL is unreachable the deletion is buffered and made on reconnect.
   */
  deleteObserved(node_id: string): Promise<void> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writes.delete(node_id);
  }

  /**
   * Claims a fact fleet-wide (a shared store): resolves `true` for exactly one caller per `key`
   * across every replica sharing the store, `false` for the others. The monitor announces facts
   * that every replica sees the same way (a rollout completing or missing its deadline, a node
   * starting to flap) only when it wins the claim.
   *
   * The claim is a row keyed by the fact in the `facts` table: the one insert that creates it wins.
   *
   * @throws `PLB_PG_UNAVAILABLE` when PostgreSQL is unreachable (the monitor then announces the
   *   fact under its fleet-wide id, which receivers deduplicate).
   */
  async claimFact(key: string): Promise<boolean> {
    this.#checkOpen();
    const won = await this.#storage.claimFact(key);
    if (won) this.#stats.factsClaimed++;
    return won;
  }

  /**
   * Subscribes to reports of observed-state updates the store dropped (a store that buffers them
   * while its backend is unreachable, up to a bound): one report per outage, once the backend is
   * back; returns the unsubscribe function. The monitor counts and audits them.
   */
  onObservedDropped(listener: (drop: ObservedDrop) => void): () => void {
    this.#dropListeners.add(listener);
    return () => {
      this.#dropListeners.delete(listener);
    };
  }

  /**
   * Subscribes to the change feed; returns the unsubscribe function. Changes made through
   * any replica sharing the store are delivered, including this replica's own.
   */
  subscribe(listener: FleetChangeListener): () => void {
    return this.#feed.subscribe(listener);
  }

  /**
   * Follows the sessions of the monitor running on this store, so the sweep knows which of this
   * replica's nodes are still connected: a node whose session ended was alerted by this replica
   * (`node.disconnected`), and is not reported again when this replica stops or dies. Without
   * it, every node this replica wrote last is taken as connected. Call it right after creating
   * the monitor; returns a function that stops following.
   *
   * @example
   * ```ts
   * const monitor = await FleetMonitor.create({ store, sinks });
   * store.followSessions(monitor);
   * ```
   */
  followSessions(monitor: {
    onAny(listener: (event: FleetEvent) => void): () => void;
  }): () => void {
    this.#checkOpen();
    return monitor.onAny((event) => this.#sessions.onEvent(event));
  }

  /** Whether this replica currently holds the sweep leadership. */
  get isLeader(): boolean {
    return this.#leader.isLeader;
  }

  /**
   * Runs one leader-election round and, when leader, one sweep now (they also run every
   * `sweepIntervalMs`).
   *
   * @example
   * ```ts
   * await store.sweepNow();
   * ```
   */
  async sweepNow(): Promise<void> {
    this.#checkOpen();
    await this.#leader.roundNow();
  }

  /**
   * The store's counters.
   *
   * @example
   * ```ts
   * const { dropped, buffered } = store.stats();
   * ```
   */
  stats(): PostgresStoreStats {
    return {
      ...this.#stats,
      connected: this.#connected,
      leader: this.#leader.isLeader,
      buffered: this.#writes.buffered,
    };
  }

  /**
   * The recorded history of a cluster's desired state (every change with actor and reason),
   * oldest first.
   *
   * @example
   * ```ts
   * for (const entry of await store.desiredHistory('prod')) console.log(entry.version, entry.actor, entry.reason);
   * ```
   * @throws `PLB_PG_UNAVAILABLE` when PostgreSQL is unreachable; `PLB_STORE_CLOSED`.
   */
  async desiredHistory(
    cluster: string,
    options: { readonly limit?: number } = {},
  ): Promise<
    readonly {
      readonly artifact_hash: DigestString | null;
      readonly version: number;
      readonly actor: string;
      readonly reason: string;
      readonly changed_at: string;
      readonly replica_id: string;
    }[]
  > {
    this.#checkOpen();
    return this.#storage.desiredHistory(cluster, pgLimit('limit', options.limit, 1000));
  }

  /**
   * Writes buffered observed state (when PostgreSQL is reachable), marks this replica stopped,
   * releases the leadership and the connections. The nodes still connected to it are reported
   * by the sweep leader when they have not reconnected to another replica within
   * `replicaTimeoutMs`.
   * Idempotent.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#writes.settled();
    if (this.#connected && this.#writes.buffered > 0)
      await this.#writes.drain().catch(() => undefined);
    await this.#storage.markStopped().catch(() => undefined);
    await this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    await this.#feed.close();
    await this.#leader.close();
    await this.#pool.end().catch(() => undefined);
  }
}

/**
 * Opens a {@link PostgresFleetStore} (the entry point `plumbline control-plane --store postgres://…`
 * uses).
 *
 * @example
 * ```ts
 * const store = await createPostgresFleetStore({ connectionString: 'postgres://postgres@127.0.0.1/test' });
 * ```
 * @throws See {@link PostgresFleetStore.open}.
 * @public
 */
export function createPostgresFleetStore(
  options: PostgresFleetStoreOptions = {},
): Promise<PostgresFleetStore> {
  return PostgresFleetStore.open(options);
}
