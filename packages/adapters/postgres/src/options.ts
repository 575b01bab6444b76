/**
 * The options and counters of the PostgreSQL fleet store, and their checks.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { PlumblineError, limitOption } from '@plumbline/core';

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
  /**
   * How often other replicas' `last_seen` writes are read (a node that reports nothing new has only
   * its `last_seen` written, with no feed notification). Default 1,000 ms.
   */
  readonly seenIntervalMs?: number;
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
  /** Rows of which only `last_seen` was written (the node reported nothing new). */
  readonly seenRows: number;
  /** Statements that wrote only `last_seen`. */
  readonly seenStatements: number;
  /** Rows of other replicas' nodes read for a newer `last_seen`. */
  readonly seenDelivered: number;
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

/** The counters the parts of the store add to (`connected`, `leader`, `buffered` are read live). @internal */
export type StoreCounters = {
  -readonly [K in Exclude<keyof PostgresStoreStats, 'connected' | 'leader' | 'buffered'>]: number;
};

/** @internal */
export function newCounters(): StoreCounters {
  return {
    observedUpdates: 0,
    observedRows: 0,
    observedStatements: 0,
    seenRows: 0,
    seenStatements: 0,
    seenDelivered: 0,
    dropped: 0,
    reconnects: 0,
    changesDelivered: 0,
    swept: 0,
    observedDelivered: 0,
    factsClaimed: 0,
  };
}

/** The checked options. @internal */
export interface StoreSettings {
  readonly schema: string;
  readonly replicaId: string;
  readonly maxBatchRows: number;
  readonly maxBuffered: number;
  readonly reconnectMs: number;
  readonly pollMs: number;
  readonly seenMs: number;
  readonly replicaHeartbeatMs: number;
  readonly replicaTimeoutMs: number;
  readonly sweepMs: number;
  readonly sweep: boolean;
  readonly poolSize: number;
  /** What every connection is opened with. */
  readonly client: pg.ClientConfig;
}

/** A positive integer option of this store (the core rule, with this package's error code). @internal */
export function pgLimit(name: string, value: number | undefined, fallback: number): number {
  return limitOption(value, { name, code: 'PLB_PG_OPTIONS', fallback });
}

/**
 * Checks the options and fills in the defaults.
 *
 * @throws `PLB_PG_OPTIONS` for a limit that is not a positive integer or a bad replica id.
 * @internal
 */
export function resolveSettings(options: PostgresFleetStoreOptions): StoreSettings {
  const replicaId = options.replicaId ?? randomUUID();
  if (replicaId.length === 0 || replicaId.length > 200) {
    throw new PlumblineError('PLB_PG_OPTIONS', 'replicaId must be 1-200 characters');
  }
  const statementTimeout = pgLimit('statementTimeoutMs', options.statementTimeoutMs, 10_000);
  return {
    schema: options.schema ?? 'plumbline',
    replicaId,
    maxBatchRows: pgLimit('maxBatchRows', options.maxBatchRows, 1000),
    maxBuffered: pgLimit('maxBufferedNodes', options.maxBufferedNodes, 100_000),
    reconnectMs: pgLimit('reconnectIntervalMs', options.reconnectIntervalMs, 1000),
    pollMs: pgLimit('pollIntervalMs', options.pollIntervalMs, 5000),
    seenMs: pgLimit('seenIntervalMs', options.seenIntervalMs, 1000),
    replicaHeartbeatMs: pgLimit('replicaHeartbeatMs', options.replicaHeartbeatMs, 5000),
    replicaTimeoutMs: pgLimit('replicaTimeoutMs', options.replicaTimeoutMs, 15_000),
    sweepMs: pgLimit('sweepIntervalMs', options.sweepIntervalMs, 5000),
    sweep: options.sweep ?? true,
    poolSize: pgLimit('poolSize', options.poolSize, 4),
    client: {
      ...(options.connectionString !== undefined
        ? { connectionString: options.connectionString }
        : {}),
      statement_timeout: statementTimeout,
      connectionTimeoutMillis: statementTimeout,
      application_name: options.applicationName ?? 'plumbline-control-plane',
    },
  };
}
