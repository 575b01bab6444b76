/**
 * Versioned schema migrations of the PostgreSQL fleet store.
 */
import type pg from 'pg';
import { hold, type HeldConnection } from './connection.js';
import { createPool } from './pg.js';
import { PlumblineError } from '@plumbline/core';

/**
 * One schema migration: applied once, in `version` order, inside a transaction.
 *
 * @public
 */
export interface Migration {
  /** Starts at 1 and rises by one. */
  readonly version: number;
  /** A short description, recorded in `schema_migrations`. */
  readonly name: string;
  /** SQL statements; `{schema}` stands for the quoted schema name. */
  readonly statements: readonly string[];
}

/**
 * The migrations of this version of `@plumbline/postgres`.
 *
 * @public
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'fleet store tables',
    statements: [
      `CREATE TABLE {schema}.desired_state (
         cluster text PRIMARY KEY,
         artifact_hash text NOT NULL,
         version integer NOT NULL CHECK (version > 0),
         actor text NOT NULL,
         reason text NOT NULL,
         changed_at text NOT NULL,
         rollout json)`,
      `CREATE TABLE {schema}.desired_history (
         id bigserial PRIMARY KEY,
         cluster text NOT NULL,
         artifact_hash text,
         version integer NOT NULL,
         actor text NOT NULL,
         reason text NOT NULL,
         changed_at text NOT NULL,
         replica_id text NOT NULL,
         recorded_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE INDEX desired_history_cluster ON {schema}.desired_history (cluster, id)`,
      `CREATE TABLE {schema}.pins (
         node_id text PRIMARY KEY,
         cluster text NOT NULL,
         artifact_hash text NOT NULL,
         actor text NOT NULL,
         reason text NOT NULL,
         pinned_at text NOT NULL)`,
      `CREATE TABLE {schema}.expected_nodes (
         cluster text PRIMARY KEY,
         nodes json NOT NULL,
         actor text NOT NULL,
         changed_at text NOT NULL)`,
      `CREATE TABLE {schema}.observed (
         node_id text PRIMARY KEY,
         cluster text NOT NULL,
         data json NOT NULL,
         owner text,
         last_seen timestamptz,
         swept text,
         updated_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE INDEX observed_owner ON {schema}.observed (owner)`,
      `CREATE TABLE {schema}.changes (
         revision bigint PRIMARY KEY,
         change json NOT NULL,
         recorded_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE TABLE {schema}.replicas (
         replica_id text PRIMARY KEY,
         started_at timestamptz NOT NULL DEFAULT now(),
         heartbeat_at timestamptz NOT NULL DEFAULT now(),
         stopped boolean NOT NULL DEFAULT false)`,
    ],
  },
  {
    version: 2,
    name: 'observed-state feed and fleet facts',
    statements: [
      `CREATE SEQUENCE {schema}.observed_rev`,
      `ALTER TABLE {schema}.observed ADD COLUMN rev bigint NOT NULL DEFAULT 0`,
      `CREATE INDEX observed_by_rev ON {schema}.observed (rev)`,
      `CREATE TABLE {schema}.facts (
         fact text PRIMARY KEY,
         replica_id text NOT NULL,
         claimed_at timestamptz NOT NULL DEFAULT now())`,
    ],
  },
  {
    version: 3,
    name: 'live configuration and writing transaction of observed rows',
    statements: [
      // NULL for rows written before (no report known); JSON null when the node reported none.
      `ALTER TABLE {schema}.observed ADD COLUMN live json`,
      // The transaction that last wrote the row: the feed reads again only rows of transactions
      // that were in progress at its previous read (they may have committed out of order).
      `ALTER TABLE {schema}.observed ADD COLUMN xid xid8`,
      `CREATE INDEX observed_by_xid ON {schema}.observed (xid)`,
    ],
  },
  {
    version: 4,
    name: 'last-seen times and sequence numbers shared apart from observed changes',
    statements: [
      // When the row's `last_seen` alone was last written (the database's clock): other
      // replicas read the rows written since their previous read (a whole write reaches them
      // through the change feed). The node's `last_seq`, written with
      // `last_seen` (NULL in rows written before: `data` holds it). Neither is indexed, so a
      // `last_seen`-only update stays a heap-only (HOT) update.
      `ALTER TABLE {schema}.observed ADD COLUMN seen_at timestamptz`,
      `ALTER TABLE {schema}.observed ADD COLUMN seq bigint`,
    ],
  },
  {
    version: 5,
    name: 'last-seen writes indexed by time, apart from observed rows',
    statements: [
      // One row per node whose `last_seen` alone was written, with what was written (the
      // observed row gets the same time and sequence) and when, by the database's clock. Other
      // replicas read the rows written since their previous read by the index on `seen_at`:
      // found by scanning `observed` (which `seen_at` there cannot be indexed for: every
      // heartbeat's update would stop being heap-only), the read cost the whole table every
      // second. `observed.seen_at` (version 4) is no longer written.
      `CREATE TABLE {schema}.seen (
         node_id text PRIMARY KEY,
         owner text NOT NULL,
         rev bigint NOT NULL,
         last_seen timestamptz NOT NULL,
         seq bigint NOT NULL,
         seen_at timestamptz NOT NULL)`,
      `CREATE INDEX seen_by_time ON {schema}.seen (seen_at)`,
    ],
  },
];

/** The schema version this library needs. @public */
export const SCHEMA_VERSION = MIGRATIONS.length;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,39}$/;

/**
 * Checks a schema name (lower-case letters, digits and `_`, at most 40 characters) and returns
 * it quoted.
 *
 * @throws `PLB_PG_OPTIONS` for any other name.
 * @internal
 */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new PlumblineError(
      'PLB_PG_OPTIONS',
      'the schema name must be 1-40 lower-case letters, digits or "_", not starting with a digit',
      { details: { schema: schema.slice(0, 64) } },
    );
  }
  return `"${schema}"`;
}

/** Advisory-lock class ids (first key of the two-key form). @internal */
export const LOCK_CLASS = { migrate: 0x504c01, write: 0x504c02, leader: 0x504c03 } as const;

/**
 * Options of {@link migrate}.
 *
 * @public
 */
export interface MigrateOptions {
  /** A PostgreSQL URL (`postgres://…`); or pass `pool`. */
  readonly connectionString?: string;
  /** An existing pool to run on (not closed). */
  readonly pool?: pg.Pool;
  /** The schema holding the tables. Default `plumbline`. */
  readonly schema?: string;
}

/**
 * Result of {@link migrate}.
 *
 * @public
 */
export interface MigrateResult {
  /** The schema migrated. */
  readonly schema: string;
  /** The schema version before. */
  readonly from: number;
  /** The schema version after. */
  readonly to: number;
  /** The versions applied now. */
  readonly applied: readonly number[];
}

/**
 * Creates the schema and applies pending migrations, under an advisory lock so several
 * replicas starting at once migrate once. Idempotent.
 *
 * @example
 * ```ts
 * const result = await migrate({ connectionString: 'postgres://postgres@127.0.0.1/test' });
 * console.log(result.applied);
 * ```
 * @throws `PLB_PG_SCHEMA` when the database is at a newer schema version than this library;
 *   `PLB_PG_UNAVAILABLE` when PostgreSQL cannot be reached; `PLB_PG_OPTIONS` for a bad schema name.
 * @public
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const schema = options.schema ?? 'plumbline';
  const quoted = quoteSchema(schema);
  const pool = options.pool ?? createPool({ connectionString: options.connectionString, max: 1 });
  if (options.pool === undefined) pool.on('error', () => undefined);
  let held: HeldConnection;
  try {
    held = hold(await pool.connect());
  } catch (error) {
    if (options.pool === undefined) await pool.end().catch(() => undefined);
    throw new PlumblineError('PLB_PG_UNAVAILABLE', 'cannot connect to PostgreSQL', {
      cause: error,
    });
  }
  const { client } = held;
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS.migrate, schema]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const rows = await client.query<{ v: number | null }>(
        `SELECT max(version) AS v FROM ${quoted}.schema_migrations`,
      );
      const from = rows.rows[0]?.v ?? 0;
      if (from > SCHEMA_VERSION) {
        throw new PlumblineError(
          'PLB_PG_SCHEMA',
          `schema "${schema}" is at version ${from}, newer than this @plumbline/postgres (${SCHEMA_VERSION})`,
          { details: { schema, version: from, supported: SCHEMA_VERSION } },
        );
      }
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (migration.version <= from) continue;
        await client.query('BEGIN');
        try {
          for (const statement of migration.statements) {
            await client.query(statement.replaceAll('{schema}', quoted));
          }
          await client.query(
            `INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`,
            [migration.version, migration.name],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        applied.push(migration.version);
      }
      return { schema, from, to: Math.max(from, SCHEMA_VERSION), applied };
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS.migrate, schema])
        .catch(() => undefined);
    }
  } catch (error) {
    if (PlumblineError.is(error)) throw error;
    throw new PlumblineError('PLB_PG_MIGRATE', 'the schema migration failed', { cause: error });
  } finally {
    held.release();
    if (options.pool === undefined) await pool.end().catch(() => undefined);
  }
}
