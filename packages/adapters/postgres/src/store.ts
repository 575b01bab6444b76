/**
 * The PostgreSQL {@link FleetStore}: shared by several control-plane replicas.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { Client, createPool } from './pg.js';
import { PlumblineError } from '@plumbline/core';
import type { DigestString } from '@plumbline/core/hash';
import {
  type DesiredState,
  type FleetEvent,
  type ExpectedNodes,
  type FleetChange,
  type FleetChangeListener,
  type FleetSnapshot,
  type FleetStore,
  type NodePin,
  type ObservedNode,
  type Rollout,
  type SetDesiredInput,
} from '@plumbline/core/drift';
import { LOCK_CLASS, migrate, quoteSchema } from './migrations.js';

/**
 * Options of {@link PostgresFleetStore.open}.
 *
 * @public
 */
export interface PostgresFleetStoreOptions {
  /** A PostgreSQL URL (`postgres://user@host:5432/db`). Default: the `PG*` environment variables. */
  readonly connectionString?: string;
  /** The schema holding the tables. Default `plumbline`. */
  readonly schema?: string;
  /** Run pending migrations on open. Default `true`. */
  readonly migrate?: boolean;
  /** This replica's id (owner of the nodes it observes). Default: a random UUID. */
  readonly replicaId?: string;
  /** Connections of the write pool. Default 4. */
  readonly poolSize?: number;
  /** Most observed rows in one statement. Default 1,000. */
  readonly maxBatchRows?: number;
  /** Most observed-state updates kept while PostgreSQL is unreachable (one per node). Default 100,000. */
  readonly maxBufferedNodes?: number;
  /** Retry interval while PostgreSQL is unreachable. Default 1,000 ms. */
  readonly reconnectIntervalMs?: number;
  /** How often the change feed is polled besides `NOTIFY` (a safety net). Default 5,000 ms. */
  readonly pollIntervalMs?: number;
  /** How often this replica records that it is alive. Default 5,000 ms. */
  readonly replicaHeartbeatMs?: number;
  /** A replica silent for this long is dead; its nodes are swept by the leader. Default 15,000 ms. */
  readonly replicaTimeoutMs?: number;
  /** How often the leader sweeps (and others try to become leader). Default 5,000 ms. */
  readonly sweepIntervalMs?: number;
  /** Run leader election and the sweep. Default `true`. */
  readonly sweep?: boolean;
  /** `application_name` of the connections (visible in `pg_stat_activity`). Default `plumbline-control-plane`. */
  readonly applicationName?: string;
  /** Statement timeout of every query. Default 10,000 ms. */
  readonly statementTimeoutMs?: number;
}

/**
 * Counters of a {@link PostgresFleetStore}.
 *
 * @public
 */
export interface PostgresStoreStats {
  /** Whether PostgreSQL is reachable (as far as the store knows). */
  readonly connected: boolean;
  /** Whether this replica holds the sweep leadership. */
  readonly leader: boolean;
  /** Observed-state updates handed to `saveObserved`. */
  readonly observedUpdates: number;
  /** Rows written by observed-state upserts. */
  readonly observedRows: number;
  /** Upsert statements run (`observedUpdates / observedStatements` is the batching ratio). */
  readonly observedStatements: number;
  /** Updates waiting for PostgreSQL. */
  readonly buffered: number;
  /** Updates dropped because the buffer was full while PostgreSQL was unreachable. */
  readonly dropped: number;
  /** Times the store lost and regained PostgreSQL. */
  readonly reconnects: number;
  /** Changes delivered on the feed. */
  readonly changesDelivered: number;
  /** Nodes of dead replicas reported by this replica's sweeps. */
  readonly swept: number;
  /** Observed states of other replicas' nodes delivered on the feed. */
  readonly observedDelivered: number;
  /** Fleet facts this replica won the claim of (it announced them). */
  readonly factsClaimed: number;
}

const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const NODE_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/** Whether an error means PostgreSQL is unreachable (rather than a bad query). @internal */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || CONNECTION_CODES.has(code) || NODE_CONNECTION_CODES.has(code))
      return true;
  }
  const message = (error as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Connection terminated|connection error|not queryable|Client was closed|timeout exceeded when trying to connect/i.test(
      message,
    )
  );
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new PlumblineError('PLB_PG_OPTIONS', `${name} must be a positive integer`, {
      details: { option: name },
    });
  }
  return v;
}

interface DesiredRow {
  cluster: string;
  artifact_hash: string;
  version: number;
  actor: string;
  reason: string;
  changed_at: string;
  rollout: string | null;
}

function desiredOf(row: DesiredRow): DesiredState {
  return {
    cluster: row.cluster,
    artifact_hash: row.artifact_hash as DigestString,
    version: row.version,
    actor: row.actor,
    reason: row.reason,
    changed_at: row.changed_at,
    rollout: row.rollout === null ? null : (JSON.parse(row.rollout) as Rollout),
  };
}

function pinOf(row: Record<string, string>): NodePin {
  return {
    node_id: row['node_id'] as string,
    cluster: row['cluster'] as string,
    artifact_hash: row['artifact_hash'] as DigestString,
    actor: row['actor'] as string,
    reason: row['reason'] as string,
    pinned_at: row['pinned_at'] as string,
  };
}

function observedText(node: ObservedNode): string {
  return JSON.stringify({
    node_id: node.node_id,
    cluster: node.cluster,
    instance_id: node.instance_id,
    reported_hash: node.reported_hash,
    workers: node.workers,
    provenance: node.provenance,
    loaded_at: node.loaded_at,
    last_load_error: node.last_load_error,
    last_seen: node.last_seen,
    last_seq: node.last_seq,
    // What other replicas show of the node's session (absent when the writer did not say).
    connected: node.connected,
    stale: node.stale,
    awaiting_report: node.awaiting_report,
  });
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

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
 *   sees it. Fleet facts every replica sees alike (a rollout completing) are claimed in the `facts`
 *   table by the one replica that announces them ({@link PostgresFleetStore.claimFact}).
 * - One replica at a time (the holder of a session advisory lock) sweeps nodes whose replica died
 *   or stopped (silent for `replicaTimeoutMs`) and that did not reconnect elsewhere: it marks them
 *   disconnected and hands them to its own monitor, which announces each once
 *   (`node.disconnected`) through the control plane's sinks; the lock passes to another replica
 *   when the leader's connection ends. The store itself sends no alert.
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
  readonly #q: string;
  readonly #pool: pg.Pool;
  readonly #clientConfig: pg.ClientConfig;
  readonly #maxBatchRows: number;
  readonly #maxBuffered: number;
  readonly #reconnectMs: number;
  readonly #pollMs: number;
  readonly #replicaHeartbeatMs: number;
  readonly #replicaTimeoutMs: number;
  readonly #sweepMs: number;
  readonly #sweepEnabled: boolean;
  readonly #listeners = new Set<FleetChangeListener>();
  readonly #buffer = new Map<string, ObservedNode | null>();
  /** Nodes whose session with this replica ended (see {@link PostgresFleetStore.followSessions}). */
  readonly #gone = new Set<string>();
  #listener: pg.Client | null = null;
  #leaderClient: pg.Client | null = null;
  #leader = false;
  #tick: Promise<void> | null = null;
  #cursor = 0;
  /** The highest observed-row revision delivered. */
  #observedCursor = 0;
  #pulling: Promise<void> | null = null;
  #pullAgain = false;
  /** Set while the sweep marks and hands over rows: the feed waits, so it cannot show them first. */
  #sweeping = false;
  #connected = true;
  #closed = false;
  #timers: NodeJS.Timeout[] = [];
  #reconnectTimer: NodeJS.Timeout | null = null;
  #writes: Promise<unknown> = Promise.resolve();
  #stats = {
    observedUpdates: 0,
    observedRows: 0,
    observedStatements: 0,
    dropped: 0,
    reconnects: 0,
    changesDelivered: 0,
    swept: 0,
    observedDelivered: 0,
    factsClaimed: 0,
  };

  private constructor(options: PostgresFleetStoreOptions) {
    this.schema = options.schema ?? 'plumbline';
    this.#q = quoteSchema(this.schema);
    this.replicaId = options.replicaId ?? randomUUID();
    if (this.replicaId.length === 0 || this.replicaId.length > 200) {
      throw new PlumblineError('PLB_PG_OPTIONS', 'replicaId must be 1-200 characters');
    }
    this.#maxBatchRows = positive('maxBatchRows', options.maxBatchRows, 1000);
    this.#maxBuffered = positive('maxBufferedNodes', options.maxBufferedNodes, 100_000);
    this.#reconnectMs = positive('reconnectIntervalMs', options.reconnectIntervalMs, 1000);
    this.#pollMs = positive('pollIntervalMs', options.pollIntervalMs, 5000);
    this.#replicaHeartbeatMs = positive('replicaHeartbeatMs', options.replicaHeartbeatMs, 5000);
    this.#replicaTimeoutMs = positive('replicaTimeoutMs', options.replicaTimeoutMs, 15_000);
    this.#sweepMs = positive('sweepIntervalMs', options.sweepIntervalMs, 5000);
    const statementTimeout = positive('statementTimeoutMs', options.statementTimeoutMs, 10_000);
    this.#sweepEnabled = options.sweep ?? true;
    this.#clientConfig = {
      ...(options.connectionString !== undefined
        ? { connectionString: options.connectionString }
        : {}),
      statement_timeout: statementTimeout,
      connectionTimeoutMillis: statementTimeout,
      application_name: options.applicationName ?? 'plumbline-control-plane',
    };
    this.#pool = createPool({
      ...this.#clientConfig,
      max: positive('poolSize', options.poolSize, 4),
    });
    // Idle clients whose backend ends emit errors here; the next query reconnects.
    this.#pool.on('error', () => undefined);
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
    const version = await this.#query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${this.#q}.schema_migrations`,
    ).catch((error: unknown) => {
      if ((error as { code?: string }).code === '42P01') {
        throw new PlumblineError(
          'PLB_PG_SCHEMA',
          `schema "${this.schema}" has no fleet store tables; run "plumbline control-plane migrate"`,
          { details: { schema: this.schema } },
        );
      }
      throw error;
    });
    if ((version.rows[0]?.v ?? 0) < 1) {
      throw new PlumblineError('PLB_PG_SCHEMA', `schema "${this.schema}" is not migrated`, {
        details: { schema: this.schema },
      });
    }
    const rev = await this.#query<{ r: string | null }>(
      `SELECT max(revision) AS r FROM ${this.#q}.changes`,
    );
    this.#cursor = Number(rev.rows[0]?.r ?? 0);
    // What load() returns is read after this, so the feed starts at the rows written from now on.
    const obs = await this.#query<{ r: string | null }>(
      `SELECT max(rev) AS r FROM ${this.#q}.observed`,
    );
    this.#observedCursor = Number(obs.rows[0]?.r ?? 0);
    await this.#listen();
    await this.#beat();
    this.#timers.push(
      setInterval(() => this.#pull(), this.#pollMs),
      setInterval(() => void this.#beat().catch(() => undefined), this.#replicaHeartbeatMs),
    );
    if (this.#sweepEnabled) {
      this.#timers.push(
        setInterval(() => {
          if (this.#tick === null) void this.#runLeaderTick();
        }, this.#sweepMs),
      );
      void this.#runLeaderTick();
    }
    for (const timer of this.#timers) timer.unref();
  }

  async #query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      if (isConnectionError(error)) {
        this.#lost();
        throw new PlumblineError('PLB_PG_UNAVAILABLE', 'PostgreSQL is unreachable', {
          cause: error,
        });
      }
      throw error;
    }
  }

  // ---------------------------------------------------------------- change feed

  get #channel(): string {
    return `plumbline_${this.schema}`;
  }

  async #listen(): Promise<void> {
    const client = new Client(this.#clientConfig);
    client.on('error', () => {
      if (this.#listener === client) this.#listener = null;
      this.#lost();
    });
    client.on('end', () => {
      if (this.#listener === client) {
        this.#listener = null;
        this.#lost();
      }
    });
    client.on('notification', () => this.#pull());
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw new PlumblineError('PLB_PG_UNAVAILABLE', 'cannot connect to PostgreSQL', {
        cause: error,
      });
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#listener = client;
  }

  /** Reads changes after the cursor and delivers them in revision order. */
  #pull(): void {
    if (this.#closed) return;
    if (this.#pulling !== null || this.#sweeping) {
      this.#pullAgain = true;
      return;
    }
    const run = async (): Promise<void> => {
      do {
        this.#pullAgain = false;
        for (;;) {
          const result = await this.#pool.query<{ revision: string; change: string }>(
            `SELECT revision, change::text AS change FROM ${this.#q}.changes
             WHERE revision > $1 ORDER BY revision LIMIT 500`,
            [this.#cursor],
          );
          for (const row of result.rows) {
            const revision = Number(row.revision);
            if (revision <= this.#cursor) continue;
            this.#cursor = revision;
            const { origin, ...change } = JSON.parse(row.change) as FleetChange & {
              origin?: string;
            };
            this.#deliver({ ...change, local: origin === this.replicaId } as FleetChange);
          }
          if (result.rows.length < 500) break;
        }
        await this.#pullObserved();
      } while (this.#pullAgain && !this.#closed);
    };
    this.#pulling = run()
      .catch((error: unknown) => {
        if (isConnectionError(error)) this.#lost();
      })
      .finally(() => {
        this.#pulling = null;
      });
  }

  /**
   * Reads the observed rows other replicas wrote since the cursor and delivers them. Rows of the
   * last two seconds are read again: a row whose revision was taken before a higher one but
   * committed after it is not missed (delivering a row twice changes nothing).
   */
  async #pullObserved(): Promise<void> {
    for (;;) {
      const result = await this.#pool.query<{ rev: string; swept: string | null; data: string }>(
        `SELECT rev, swept, data::text AS data FROM ${this.#q}.observed
         WHERE (rev > $1 OR updated_at > now() - interval '2 seconds')
           AND owner IS DISTINCT FROM $2
         ORDER BY rev LIMIT 2000`,
        [this.#observedCursor, this.replicaId],
      );
      let fresh = 0;
      for (const row of result.rows) {
        const revision = Number(row.rev);
        if (revision > this.#observedCursor) {
          this.#observedCursor = revision;
          fresh++;
        }
        this.#deliverObserved(row.data, row.swept, revision, false);
      }
      if (result.rows.length < 2000 || fresh === 0) break;
    }
  }

  #deliverObserved(data: string, swept: string | null, revision: number, announce: boolean): void {
    const stored = JSON.parse(data) as ObservedNode;
    const node: ObservedNode = {
      ...stored,
      connected: swept === null && stored.connected === true,
    };
    this.#stats.observedDelivered++;
    this.#deliver({ kind: 'observed', revision, node, announce });
  }

  /** Resolves when the feed has caught up with everything committed so far. */
  async #caughtUp(): Promise<void> {
    this.#pull();
    while (this.#pulling !== null) await this.#pulling;
  }

  #deliver(change: FleetChange): void {
    if (this.#closed) return;
    this.#stats.changesDelivered++;
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // Listeners never throw into the store.
      }
    }
  }

  // ---------------------------------------------------------------- connection loss

  #lost(): void {
    if (this.#closed) return;
    if (this.#connected) {
      this.#connected = false;
      this.#stats.reconnects++;
    }
    if (this.#leaderClient !== null) {
      const client = this.#leaderClient;
      this.#leaderClient = null;
      this.#leader = false;
      void client.end().catch(() => undefined);
    }
    if (this.#reconnectTimer === null) {
      this.#reconnectTimer = setTimeout(() => void this.#reconnect(), this.#reconnectMs);
      this.#reconnectTimer.unref();
    }
  }

  async #reconnect(): Promise<void> {
    this.#reconnectTimer = null;
    if (this.#closed) return;
    try {
      await this.#pool.query('SELECT 1');
      if (this.#listener === null) await this.#listen();
      this.#connected = true;
      await this.#drainBuffer();
      await this.#beat();
      await this.#caughtUp();
    } catch {
      this.#connected = false;
      if (!this.#closed && this.#reconnectTimer === null) {
        this.#reconnectTimer = setTimeout(() => void this.#reconnect(), this.#reconnectMs);
        this.#reconnectTimer.unref();
      }
    }
  }

  async #drainBuffer(): Promise<void> {
    await this.#serial(async () => {
      while (this.#buffer.size > 0) {
        const entries = [...this.#buffer].slice(0, this.#maxBatchRows);
        const saves = entries.filter((e) => e[1] !== null).map((e) => e[1] as ObservedNode);
        const deletes = entries.filter((e) => e[1] === null).map((e) => e[0]);
        if (saves.length > 0) await this.#upsert(saves);
        if (deletes.length > 0) {
          await this.#query(`DELETE FROM ${this.#q}.observed WHERE node_id = ANY($1::text[])`, [
            deletes,
          ]);
        }
        for (const [id, value] of entries) {
          if (this.#buffer.get(id) === value) this.#buffer.delete(id);
        }
      }
    });
  }

  #bufferUpdate(node_id: string, value: ObservedNode | null): void {
    if (!this.#buffer.has(node_id) && this.#buffer.size >= this.#maxBuffered) {
      this.#stats.dropped++;
      return;
    }
    this.#buffer.set(node_id, value);
  }

  // ---------------------------------------------------------------- replicas and the sweep

  async #beat(): Promise<void> {
    await this.#query(
      `INSERT INTO ${this.#q}.replicas (replica_id) VALUES ($1)
       ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = now(), stopped = false`,
      [this.replicaId],
    );
  }

  /** One leader-election round at a time (a second one would open a second lock connection). */
  #runLeaderTick(): Promise<void> {
    const run: Promise<void> = this.#leaderTick().finally(() => {
      if (this.#tick === run) this.#tick = null;
    });
    this.#tick = run;
    return run;
  }

  async #leaderTick(): Promise<void> {
    if (this.#closed || !this.#connected) return;
    try {
      if (this.#leaderClient === null) {
        const client = new Client(this.#clientConfig);
        client.on('error', () => {
          if (this.#leaderClient === client) {
            this.#leaderClient = null;
            this.#leader = false;
          }
        });
        await client.connect();
        if (this.#closed) {
          await client.end();
          return;
        }
        this.#leaderClient = client;
      }
      const client = this.#leaderClient;
      if (!this.#leader) {
        const got = await client.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok',
          [LOCK_CLASS.leader, this.schema],
        );
        this.#leader = got.rows[0]?.ok === true;
      }
      if (this.#leader) await this.#sweep(client);
    } catch {
      const client = this.#leaderClient;
      this.#leaderClient = null;
      this.#leader = false;
      await client?.end().catch(() => undefined);
    }
  }

  /**
   * Marks each node whose owning replica has been silent for `replicaTimeoutMs` (it died or
   * stopped) while the node was connected to it as disconnected, once: the row is marked `swept`
   * in the same statement. A node that reconnected to another replica within that time belongs to
   * it and is left alone (a control plane's shutdown is not a node's disconnect). The sweep sends
   * no alert itself: it hands each swept node to this replica's monitor, which announces it
   * (`node.disconnected`, with the state the node had by the one node-state rule) through its own
   * sinks, while every other replica sees it disconnected on the feed without announcing it.
   */
  async #sweep(client: pg.Client): Promise<void> {
    // The swept rows reach this replica's monitor through the sweep (which announces them), never
    // first through the feed (which would show them silently and leave nothing to announce).
    while (this.#pulling !== null) await this.#pulling;
    this.#sweeping = true;
    try {
      await this.#sweepRows(client);
    } finally {
      this.#sweeping = false;
      if (this.#pullAgain) this.#pull();
    }
  }

  async #sweepRows(client: pg.Client): Promise<void> {
    const result = await client.query<{ rev: string; data: string }>(
      `UPDATE ${this.#q}.observed o SET swept = 'disconnected',
         rev = nextval('${this.#q}.observed_rev'), updated_at = now()
       FROM ${this.#q}.replicas r
       WHERE o.swept IS NULL AND o.owner = r.replica_id AND o.owner <> $2
         AND o.last_seen IS NOT NULL
         AND r.heartbeat_at < now() - make_interval(secs => $1::double precision / 1000)
       RETURNING o.rev, o.data::text AS data`,
      [this.#replicaTimeoutMs, this.replicaId],
    );
    if (result.rows.length === 0) return;
    await client.query('SELECT pg_notify($1, $2)', [this.#channel, 'observed']);
    for (const row of result.rows.sort((a, b) => Number(a.rev) - Number(b.rev))) {
      this.#stats.swept++;
      this.#deliverObserved(row.data, 'disconnected', Number(row.rev), true);
    }
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
    return monitor.onAny((event) => {
      if (event.type !== 'node.state_changed') return;
      if (event.state !== 'disconnected') {
        this.#gone.delete(event.node_id);
        return;
      }
      if (this.#gone.size >= this.#maxBuffered && !this.#gone.has(event.node_id)) return;
      this.#gone.add(event.node_id);
      if (this.#closed) return;
      void this.#serial(async () => {
        if (!this.#connected || !this.#gone.has(event.node_id)) return;
        await this.#query(
          `UPDATE ${this.#q}.observed SET swept = 'closed'
           WHERE node_id = $1 AND owner = $2 AND swept IS NULL`,
          [event.node_id, this.replicaId],
        );
      }).catch(() => undefined);
    });
  }

  /** Whether this replica currently holds the sweep leadership. */
  get isLeader(): boolean {
    return this.#leader;
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
    while (this.#tick !== null) await this.#tick;
    await this.#runLeaderTick();
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
      leader: this.#leader,
      buffered: this.#buffer.size,
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
    const limit = positive('limit', options.limit, 1000);
    const result = await this.#query<{
      artifact_hash: DigestString | null;
      version: number;
      actor: string;
      reason: string;
      changed_at: string;
      replica_id: string;
    }>(
      `SELECT artifact_hash, version, actor, reason, changed_at, replica_id FROM (
         SELECT * FROM ${this.#q}.desired_history WHERE cluster = $1 ORDER BY id DESC LIMIT $2
       ) h ORDER BY id`,
      [cluster, limit],
    );
    return result.rows.map((r) => ({ ...r }));
  }

  // ---------------------------------------------------------------- FleetStore

  #checkOpen(): void {
    if (this.#closed) throw new PlumblineError('PLB_STORE_CLOSED', 'the fleet store is closed');
  }

  #serial<T>(body: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(body, body);
    this.#writes = next.catch(() => undefined);
    return next;
  }

  /** Runs a configuration write in a transaction under the write lock and publishes its change. */
  async #configure<T>(
    body: (
      client: pg.PoolClient,
      revision: number,
    ) => Promise<{ result: T; change: FleetChange | null }>,
  ): Promise<T> {
    this.#checkOpen();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      if (isConnectionError(error)) this.#lost();
      throw new PlumblineError('PLB_PG_UNAVAILABLE', 'PostgreSQL is unreachable', {
        cause: error,
      });
    }
    let result: T;
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        LOCK_CLASS.write,
        this.schema,
      ]);
      const rev = await client.query<{ r: string | null }>(
        `SELECT max(revision) AS r FROM ${this.#q}.changes`,
      );
      const revision = Number(rev.rows[0]?.r ?? 0) + 1;
      const out = await body(client, revision);
      if (out.change !== null) {
        await client.query(`INSERT INTO ${this.#q}.changes (revision, change) VALUES ($1, $2)`, [
          revision,
          JSON.stringify({ ...out.change, origin: this.replicaId }),
        ]);
        await client.query('SELECT pg_notify($1, $2)', [this.#channel, String(revision)]);
      }
      await client.query('COMMIT');
      result = out.result;
    } catch (error) {
      broken = isConnectionError(error);
      await client.query('ROLLBACK').catch(() => undefined);
      if (broken) {
        this.#lost();
        throw new PlumblineError('PLB_PG_UNAVAILABLE', 'PostgreSQL is unreachable', {
          cause: error,
        });
      }
      throw error;
    } finally {
      client.release(broken);
    }
    await this.#caughtUp().catch(() => undefined);
    return result;
  }

  /** {@inheritDoc @plumbline/core#FleetStore.load} */
  async load(): Promise<FleetSnapshot> {
    this.#checkOpen();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      this.#lost();
      throw new PlumblineError('PLB_PG_UNAVAILABLE', 'PostgreSQL is unreachable', {
        cause: error,
      });
    }
    let broken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const rev = await client.query<{ r: string | null }>(
        `SELECT max(revision) AS r FROM ${this.#q}.changes`,
      );
      const desired = await client.query<DesiredRow>(
        `SELECT cluster, artifact_hash, version, actor, reason, changed_at, rollout::text AS rollout
         FROM ${this.#q}.desired_state`,
      );
      const pins = await client.query<Record<string, string>>(
        `SELECT node_id, cluster, artifact_hash, actor, reason, pinned_at FROM ${this.#q}.pins`,
      );
      const expected = await client.query<{
        cluster: string;
        nodes: string;
        actor: string;
        changed_at: string;
      }>(`SELECT cluster, nodes::text AS nodes, actor, changed_at FROM ${this.#q}.expected_nodes`);
      // A node is connected (to another replica) until its session there ends or the sweep decides
      // that replica is dead (then the sweep leader announces it); this replica's own rows are from
      // before it started.
      const observed = await client.query<{ data: string; live: boolean }>(
        `SELECT data::text AS data, (swept IS NULL AND owner IS DISTINCT FROM $1) AS live
         FROM ${this.#q}.observed`,
        [this.replicaId],
      );
      await client.query('COMMIT');
      const observedNodes = new Map<string, ObservedNode>();
      for (const row of observed.rows) {
        const stored = JSON.parse(row.data) as ObservedNode;
        const node =
          stored.connected === undefined
            ? stored
            : { ...stored, connected: row.live && stored.connected };
        observedNodes.set(node.node_id, node);
      }
      // What this replica could not write yet is newer than the table.
      for (const [id, node] of this.#buffer) {
        if (node === null) observedNodes.delete(id);
        else observedNodes.set(id, node);
      }
      return {
        revision: Number(rev.rows[0]?.r ?? 0),
        desired: desired.rows.map(desiredOf).sort((a, b) => byText(a.cluster, b.cluster)),
        pins: pins.rows.map(pinOf).sort((a, b) => byText(a.node_id, b.node_id)),
        expected: expected.rows
          .map((r): ExpectedNodes => ({
            cluster: r.cluster,
            nodes: JSON.parse(r.nodes) as string[],
            actor: r.actor,
            changed_at: r.changed_at,
          }))
          .sort((a, b) => byText(a.cluster, b.cluster)),
        observed: [...observedNodes.values()].sort((a, b) => byText(a.node_id, b.node_id)),
      };
    } catch (error) {
      broken = isConnectionError(error);
      await client.query('ROLLBACK').catch(() => undefined);
      if (broken) {
        this.#lost();
        throw new PlumblineError('PLB_PG_UNAVAILABLE', 'PostgreSQL is unreachable', {
          cause: error,
        });
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** {@inheritDoc @plumbline/core#FleetStore.setDesired} */
  setDesired(input: SetDesiredInput): Promise<DesiredState> {
    return this.#configure(async (client, revision) => {
      const current = await client.query<{ version: number }>(
        `SELECT version FROM ${this.#q}.desired_state WHERE cluster = $1`,
        [input.cluster],
      );
      const version = current.rows[0]?.version ?? 0;
      if (input.expected_version !== undefined && input.expected_version !== version) {
        throw new PlumblineError(
          'PLB_STORE_CONFLICT',
          `the desired state of cluster "${input.cluster}" is at version ${version}, not ${input.expected_version}`,
          {
            details: { cluster: input.cluster, version, expected_version: input.expected_version },
          },
        );
      }
      const rollout = input.rollout === null ? null : JSON.stringify(input.rollout);
      const written = await client.query<{ version: number }>(
        `INSERT INTO ${this.#q}.desired_state
           (cluster, artifact_hash, version, actor, reason, changed_at, rollout)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (cluster) DO UPDATE SET artifact_hash = EXCLUDED.artifact_hash,
           version = EXCLUDED.version, actor = EXCLUDED.actor, reason = EXCLUDED.reason,
           changed_at = EXCLUDED.changed_at, rollout = EXCLUDED.rollout
         WHERE ${this.#q}.desired_state.version = $8
         RETURNING version`,
        [
          input.cluster,
          input.artifact_hash,
          version + 1,
          input.actor,
          input.reason,
          input.changed_at,
          rollout,
          version,
        ],
      );
      if (written.rowCount !== 1) {
        throw new PlumblineError(
          'PLB_STORE_CONFLICT',
          `the desired state of cluster "${input.cluster}" changed concurrently`,
          { details: { cluster: input.cluster } },
        );
      }
      await client.query(
        `INSERT INTO ${this.#q}.desired_history
           (cluster, artifact_hash, version, actor, reason, changed_at, replica_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          input.cluster,
          input.artifact_hash,
          version + 1,
          input.actor,
          input.reason,
          input.changed_at,
          this.replicaId,
        ],
      );
      const desired = desiredOf({
        cluster: input.cluster,
        artifact_hash: input.artifact_hash,
        version: version + 1,
        actor: input.actor,
        reason: input.reason,
        changed_at: input.changed_at,
        rollout,
      });
      return { result: desired, change: { kind: 'desired', revision, desired } };
    });
  }

  /** {@inheritDoc @plumbline/core#FleetStore.clearDesired} */
  clearDesired(cluster: string, actor: string): Promise<void> {
    return this.#configure(async (client, revision) => {
      const gone = await client.query<{ version: number }>(
        `DELETE FROM ${this.#q}.desired_state WHERE cluster = $1 RETURNING version`,
        [cluster],
      );
      if (gone.rowCount !== 1) return { result: undefined, change: null };
      await client.query(
        `INSERT INTO ${this.#q}.desired_history
           (cluster, artifact_hash, version, actor, reason, changed_at, replica_id)
         VALUES ($1, NULL, 0, $2, 'cleared', $3, $4)`,
        [cluster, actor, new Date().toISOString(), this.replicaId],
      );
      return { result: undefined, change: { kind: 'desired_cleared', revision, cluster, actor } };
    });
  }

  /** {@inheritDoc @plumbline/core#FleetStore.setPin} */
  setPin(pin: NodePin): Promise<void> {
    return this.#configure(async (client, revision) => {
      await client.query(
        `INSERT INTO ${this.#q}.pins (node_id, cluster, artifact_hash, actor, reason, pinned_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (node_id) DO UPDATE SET cluster = EXCLUDED.cluster,
           artifact_hash = EXCLUDED.artifact_hash, actor = EXCLUDED.actor,
           reason = EXCLUDED.reason, pinned_at = EXCLUDED.pinned_at`,
        [pin.node_id, pin.cluster, pin.artifact_hash, pin.actor, pin.reason, pin.pinned_at],
      );
      const record = pinOf({ ...pin });
      return { result: undefined, change: { kind: 'pin', revision, pin: record } };
    });
  }

  /** {@inheritDoc @plumbline/core#FleetStore.removePin} */
  removePin(node_id: string, actor: string): Promise<void> {
    return this.#configure(async (client, revision) => {
      const gone = await client.query(`DELETE FROM ${this.#q}.pins WHERE node_id = $1`, [node_id]);
      if (gone.rowCount !== 1) return { result: undefined, change: null };
      return { result: undefined, change: { kind: 'pin_removed', revision, node_id, actor } };
    });
  }

  /** {@inheritDoc @plumbline/core#FleetStore.setExpected} */
  setExpected(expected: ExpectedNodes): Promise<void> {
    return this.#configure(async (client, revision) => {
      const record: ExpectedNodes = {
        cluster: expected.cluster,
        nodes: [...new Set(expected.nodes)].sort(byText),
        actor: expected.actor,
        changed_at: expected.changed_at,
      };
      await client.query(
        `INSERT INTO ${this.#q}.expected_nodes (cluster, nodes, actor, changed_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (cluster) DO UPDATE SET nodes = EXCLUDED.nodes, actor = EXCLUDED.actor,
           changed_at = EXCLUDED.changed_at`,
        [record.cluster, JSON.stringify(record.nodes), record.actor, record.changed_at],
      );
      return { result: undefined, change: { kind: 'expected', revision, expected: record } };
    });
  }

  async #upsert(nodes: readonly ObservedNode[]): Promise<void> {
    for (let i = 0; i < nodes.length; i += this.#maxBatchRows) {
      const chunk = nodes.slice(i, i + this.#maxBatchRows);
      // `s` is 'closed' for a node whose session with this replica ended (this replica alerted
      // it), so the sweep leaves it alone. Such a row does not take over a row another replica
      // owns (the node reconnected there).
      const rows = chunk.map(
        (n) => `{"s":${this.#gone.has(n.node_id) ? '"closed"' : 'null'},"n":${observedText(n)}}`,
      );
      // One statement writes the batch and wakes every replica's feed.
      await this.#query(
        `WITH up AS (
           INSERT INTO ${this.#q}.observed AS o
             (node_id, cluster, data, owner, last_seen, swept, updated_at, rev)
           SELECT x->'n'->>'node_id', x->'n'->>'cluster', x->'n', $2,
             (x->'n'->>'last_seen')::timestamptz, x->>'s', now(), nextval('${this.#q}.observed_rev')
           FROM json_array_elements($1::json) AS x
           ON CONFLICT (node_id) DO UPDATE SET cluster = EXCLUDED.cluster, data = EXCLUDED.data,
             owner = EXCLUDED.owner, last_seen = EXCLUDED.last_seen, swept = EXCLUDED.swept,
             updated_at = now(), rev = EXCLUDED.rev
           WHERE EXCLUDED.swept IS NULL OR o.owner = EXCLUDED.owner
           RETURNING 1)
         SELECT pg_notify($3, 'observed') FROM (SELECT count(*) FROM up) AS c`,
        [`[${rows.join(',')}]`, this.replicaId, this.#channel],
      );
      this.#stats.observedStatements++;
      this.#stats.observedRows += chunk.length;
    }
  }

  /**
   * {@inheritDoc @plumbline/core#FleetStore.saveObserved}
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
    this.#stats.observedUpdates += nodes.length;
    if (nodes.length === 0) return Promise.resolve();
    return this.#serial(async () => {
      const latest = new Map<string, ObservedNode>();
      for (const node of nodes) latest.set(node.node_id, node);
      if (!this.#connected) {
        for (const [id, node] of latest) this.#bufferUpdate(id, node);
        return;
      }
      try {
        await this.#upsert([...latest.values()]);
      } catch (error) {
        if (!PlumblineError.is(error) || error.code !== 'PLB_PG_UNAVAILABLE') throw error;
        for (const [id, node] of latest) this.#bufferUpdate(id, node);
      }
    });
  }

  /** {@inheritDoc @plumbline/core#FleetStore.deleteObserved} */
  deleteObserved(node_id: string): Promise<void> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#gone.delete(node_id);
    return this.#serial(async () => {
      if (!this.#connected) {
        this.#bufferUpdate(node_id, null);
        return;
      }
      try {
        await this.#query(`DELETE FROM ${this.#q}.observed WHERE node_id = $1`, [node_id]);
        this.#buffer.delete(node_id);
      } catch (error) {
        if (!PlumblineError.is(error) || error.code !== 'PLB_PG_UNAVAILABLE') throw error;
        this.#bufferUpdate(node_id, null);
      }
    });
  }

  /**
   * {@inheritDoc @plumbline/core#FleetStore.claimFact}
   *
   * The claim is a row keyed by the fact in the `facts` table: the one insert that creates it wins.
   *
   * @throws `PLB_PG_UNAVAILABLE` when PostgreSQL is unreachable (the monitor then announces the
   *   fact under its fleet-wide id, which receivers deduplicate).
   */
  async claimFact(key: string): Promise<boolean> {
    this.#checkOpen();
    const result = await this.#query(
      `INSERT INTO ${this.#q}.facts (fact, replica_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [key.slice(0, 1024), this.replicaId],
    );
    const won = result.rowCount === 1;
    if (won) this.#stats.factsClaimed++;
    return won;
  }

  /** {@inheritDoc @plumbline/core#FleetStore.subscribe} */
  subscribe(listener: FleetChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
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
    await this.#writes;
    if (this.#connected && this.#buffer.size > 0) await this.#drainBuffer().catch(() => undefined);
    await this.#query(`UPDATE ${this.#q}.replicas SET stopped = true WHERE replica_id = $1`, [
      this.replicaId,
    ]).catch(() => undefined);
    await this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    while (this.#pulling !== null) await this.#pulling;
    while (this.#tick !== null) await this.#tick;
    const clients = [this.#listener, this.#leaderClient];
    this.#listener = null;
    this.#leaderClient = null;
    this.#leader = false;
    for (const client of clients) await client?.end().catch(() => undefined);
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
