/**
 * Storage: the queries of the PostgreSQL fleet store. Configuration writes run in transactions
 * serialized by an advisory lock, each appending its changes to `changes` with the next revisions
 * and `NOTIFY`ing the other replicas; observed state is upserted in batches.
 */
import type pg from 'pg';
import { PlumblineError } from '@plumbline/core';
import type { DigestString } from '@plumbline/core/hash';
import type {
  DesiredState,
  ExpectedNodes,
  FleetChange,
  FleetSnapshot,
  NodePin,
  ObservedNode,
  SetDesiredInput,
} from '@plumbline/core/drift';
import { hold, isConnectionError, unavailable, type HeldConnection } from './connection.js';
import { LOCK_CLASS } from './migrations.js';
import {
  byText,
  desiredOf,
  liveText,
  observedOfRow,
  type ObservedRowColumns,
  observedText,
  pinOf,
  type DesiredRow,
} from './rows.js';

/** A change before the store numbers it. @internal */
export type ChangeInput = FleetChange extends infer C
  ? C extends FleetChange
    ? Omit<C, 'revision'>
    : never
  : never;

/** What a configuration transaction returns: its result and the changes it made. @internal */
export interface Configured<T> {
  readonly result: T;
  readonly changes: readonly ChangeInput[];
}

/** Where a replica's change feed starts. @internal */
export interface FeedCursors {
  readonly changes: number;
  readonly observed: number;
  /** The transactions whose rows the cursors may have passed unseen (taken before them). */
  readonly horizon: ReadHorizon;
}

/**
 * The transactions whose writes a read made after this moment may not see yet: those in
 * progress now (`xip`) and those not yet given an id (ids from `xmax` up). Every row a read
 * misses because its transaction commits later was written by one of them, whatever the time.
 *
 * @internal
 */
export interface ReadHorizon {
  /** `pg_snapshot_xip` of the current snapshot (`xid8`s, as text). */
  readonly xip: readonly string[];
  /** `pg_snapshot_xmax` of the current snapshot (`xid8`, as text). */
  readonly xmax: string;
}

/** One entry of {@link PgStorage.desiredHistory}. @internal */
export interface DesiredHistoryEntry {
  readonly artifact_hash: DigestString | null;
  readonly version: number;
  readonly actor: string;
  readonly reason: string;
  readonly changed_at: string;
  readonly replica_id: string;
}

/** @internal */
export interface StorageOptions {
  readonly pool: pg.Pool;
  readonly schema: string;
  /** The quoted schema. */
  readonly q: string;
  readonly replicaId: string;
  /** The `NOTIFY` channel of the schema. */
  readonly channel: string;
  readonly maxBatchRows: number;
  /** Called when a query finds PostgreSQL unreachable. */
  readonly lost: () => void;
}

/**
 * The statement of {@link PgStorage.touchObserved}: `$1` the node ids (`text[]`), `$2` a JSON
 * object of `[last_seen, last_seq]` by node id, `$3` this replica's id. It writes the time and
 * sequence into each observed row this replica holds open (a heap-only update: neither column is
 * indexed) and records the write in `seen`, where other replicas find it by time. It has no
 * join, so its cost is linear in the rows it touches whatever the tables' statistics say: a join
 * with `unnest(…)` was planned, on a table not analyzed yet, as a nested loop over every row the
 * replica owns times every row of the batch (0.2 s for 160 of 8,000 rows).
 *
 * @internal
 */
export function touchObservedText(q: string): string {
  return `WITH touched AS (
      UPDATE ${q}.observed AS o
      SET last_seen = ($2::jsonb -> o.node_id ->> 0)::timestamptz,
          seq = ($2::jsonb -> o.node_id ->> 1)::bigint
      WHERE o.node_id = ANY($1::text[]) AND o.owner = $3 AND o.swept IS NULL
      RETURNING o.node_id, o.rev, o.last_seen, o.seq
    ), marked AS (
      INSERT INTO ${q}.seen AS s (node_id, owner, rev, last_seen, seq, seen_at)
      SELECT node_id, $3, rev, last_seen, seq, now() FROM touched
      ON CONFLICT (node_id) DO UPDATE SET owner = EXCLUDED.owner, rev = EXCLUDED.rev,
        last_seen = EXCLUDED.last_seen, seq = EXCLUDED.seq, seen_at = EXCLUDED.seen_at
    )
    SELECT node_id FROM touched`;
}

/**
 * The statement of the change feed's read of other replicas' last-seen writes since `$1` (or
 * the last five seconds): `$2` this replica's id. An index range scan on `seen.seen_at`.
 *
 * @internal
 */
export function seenSinceText(q: string): string {
  return `SELECT node_id, rev::text AS rev, (extract(epoch FROM last_seen) * 1000)::bigint::text AS t,
      seq::text AS seq, (now() - interval '1 second')::text AS at
    FROM ${q}.seen
    WHERE seen_at > coalesce($1::timestamptz, now() - interval '5 seconds')
      AND owner IS DISTINCT FROM $2`;
}

/**
 * The store's tables, as queries.
 *
 * @internal
 */
export class PgStorage {
  readonly #o: StorageOptions;
  readonly #q: string;

  constructor(options: StorageOptions) {
    this.#o = options;
    this.#q = options.q;
  }

  /** Runs one statement on the pool; a lost connection becomes `PLB_PG_UNAVAILABLE`. */
  async query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#o.pool.query<R>(text, values);
    } catch (error) {
      if (isConnectionError(error)) {
        this.#o.lost();
        throw unavailable(error);
      }
      throw error;
    }
  }

  /**
   * Runs one read by index scans only (`enable_seqscan` off for its transaction): the feed's
   * reads select a few recent rows by revision or writing transaction, and while a table grows
   * fast its statistics lag and the planner would scan the whole table instead.
   */
  readByIndex<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#transaction('BEGIN READ ONLY', async (client) => {
      await client.query('SET LOCAL enable_seqscan = off');
      return client.query<R>(text, values);
    });
  }

  /** Runs `body` on one connection inside `begin … COMMIT` (rolled back when it throws). */
  async #transaction<T>(begin: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let held: HeldConnection;
    try {
      held = hold(await this.#o.pool.connect());
    } catch (error) {
      if (isConnectionError(error)) this.#o.lost();
      throw unavailable(error);
    }
    const { client } = held;
    let broken = false;
    try {
      await client.query(begin);
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = isConnectionError(error);
      await client.query('ROLLBACK').catch(() => undefined);
      if (broken) {
        this.#o.lost();
        throw unavailable(error);
      }
      throw error;
    } finally {
      held.release(broken);
    }
  }

  /** Checks that the schema holds this store's tables. */
  async checkSchema(): Promise<void> {
    const version = await this.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${this.#q}.schema_migrations`,
    ).catch((error: unknown) => {
      if ((error as { code?: string }).code === '42P01') {
        throw new PlumblineError(
          'PLB_PG_SCHEMA',
          `schema "${this.#o.schema}" has no fleet store tables; run "plumbline control-plane migrate"`,
          { details: { schema: this.#o.schema } },
        );
      }
      throw error;
    });
    if ((version.rows[0]?.v ?? 0) < 1) {
      throw new PlumblineError('PLB_PG_SCHEMA', `schema "${this.#o.schema}" is not migrated`, {
        details: { schema: this.#o.schema },
      });
    }
  }

  /**
   * The last revision of the changes table and of the observed rows, and the {@link ReadHorizon}
   * taken before they were read.
   */
  async cursors(): Promise<FeedCursors> {
    const horizon = await this.horizon();
    const rev = await this.query<{ c: string | null; o: string | null }>(
      `SELECT (SELECT max(revision) FROM ${this.#q}.changes) AS c,
              (SELECT max(rev) FROM ${this.#q}.observed) AS o`,
    );
    return {
      changes: Number(rev.rows[0]?.c ?? 0),
      observed: Number(rev.rows[0]?.o ?? 0),
      horizon,
    };
  }

  /** The {@link ReadHorizon} now: take it before the read it guards. */
  async horizon(): Promise<ReadHorizon> {
    const result = await this.query<{ xip: string[]; xmax: string }>(
      `SELECT array(SELECT pg_snapshot_xip(s))::text[] AS xip, pg_snapshot_xmax(s)::text AS xmax
       FROM (SELECT pg_current_snapshot() AS s) AS now`,
    );
    const row = result.rows[0];
    return { xip: row?.xip ?? [], xmax: row?.xmax ?? '0' };
  }

  /**
   * Runs a configuration write in a transaction under the write lock, records its changes with
   * the next revisions and wakes every replica's feed.
   */
  configure<T>(body: (client: pg.PoolClient) => Promise<Configured<T>>): Promise<T> {
    return this.#transaction('BEGIN', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        LOCK_CLASS.write,
        this.#o.schema,
      ]);
      const rev = await client.query<{ r: string | null }>(
        `SELECT max(revision) AS r FROM ${this.#q}.changes`,
      );
      let revision = Number(rev.rows[0]?.r ?? 0);
      const out = await body(client);
      for (const change of out.changes) {
        revision++;
        await client.query(`INSERT INTO ${this.#q}.changes (revision, change) VALUES ($1, $2)`, [
          revision,
          JSON.stringify({ ...change, revision, origin: this.#o.replicaId }),
        ]);
      }
      if (out.changes.length > 0) {
        await client.query('SELECT pg_notify($1, $2)', [this.#o.channel, String(revision)]);
      }
      return out.result;
    });
  }

  /**
   * Everything the store holds, read in one snapshot. A node is shown connected (to another
   * replica) until its session there ends or the sweep decides that replica is dead; this
   * replica's own rows are from before it started.
   */
  load(): Promise<FleetSnapshot> {
    return this.#transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
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
      const observed = await client.query<ObservedRowColumns & { on: boolean }>(
        `SELECT data::text AS data, live::text AS live, last_seen, seq::text AS seq,
           (swept IS NULL AND owner IS DISTINCT FROM $1) AS on
         FROM ${this.#q}.observed`,
        [this.#o.replicaId],
      );
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
        observed: observed.rows.map((row) => {
          const stored = observedOfRow(row);
          return stored.connected === undefined
            ? stored
            : { ...stored, connected: row.on && stored.connected };
        }),
      };
    });
  }

  /** Sets a cluster's desired state (compare-and-set on `version`) and records it in the history. */
  setDesired(input: SetDesiredInput): Promise<DesiredState> {
    return this.configure(async (client) => {
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
      const row: DesiredRow = {
        cluster: input.cluster,
        artifact_hash: input.artifact_hash,
        version: version + 1,
        actor: input.actor,
        reason: input.reason,
        changed_at: input.changed_at,
        rollout: input.rollout === null ? null : JSON.stringify(input.rollout),
      };
      const values = [row.cluster, row.artifact_hash, row.version, row.actor, row.reason];
      const written = await client.query(
        `INSERT INTO ${this.#q}.desired_state
           (cluster, artifact_hash, version, actor, reason, changed_at, rollout)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (cluster) DO UPDATE SET artifact_hash = EXCLUDED.artifact_hash,
           version = EXCLUDED.version, actor = EXCLUDED.actor, reason = EXCLUDED.reason,
           changed_at = EXCLUDED.changed_at, rollout = EXCLUDED.rollout
         WHERE ${this.#q}.desired_state.version = $8
         RETURNING version`,
        [...values, row.changed_at, row.rollout, version],
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
        [...values, row.changed_at, this.#o.replicaId],
      );
      const desired = desiredOf(row);
      return { result: desired, changes: [{ kind: 'desired', desired }] };
    });
  }

  /** Removes a cluster's desired state (recorded in the history as `cleared`). */
  clearDesired(cluster: string, actor: string): Promise<void> {
    return this.configure(async (client) => {
      const gone = await client.query(
        `DELETE FROM ${this.#q}.desired_state WHERE cluster = $1 RETURNING version`,
        [cluster],
      );
      if (gone.rowCount !== 1) return { result: undefined, changes: [] };
      await client.query(
        `INSERT INTO ${this.#q}.desired_history
           (cluster, artifact_hash, version, actor, reason, changed_at, replica_id)
         VALUES ($1, NULL, 0, $2, 'cleared', $3, $4)`,
        [cluster, actor, new Date().toISOString(), this.#o.replicaId],
      );
      return { result: undefined, changes: [{ kind: 'desired_cleared', cluster, actor }] };
    });
  }

  /** Pins a node (replacing an earlier pin). */
  setPin(pin: NodePin): Promise<void> {
    return this.configure(async (client) => {
      await client.query(
        `INSERT INTO ${this.#q}.pins (node_id, cluster, artifact_hash, actor, reason, pinned_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (node_id) DO UPDATE SET cluster = EXCLUDED.cluster,
           artifact_hash = EXCLUDED.artifact_hash, actor = EXCLUDED.actor,
           reason = EXCLUDED.reason, pinned_at = EXCLUDED.pinned_at`,
        [pin.node_id, pin.cluster, pin.artifact_hash, pin.actor, pin.reason, pin.pinned_at],
      );
      return { result: undefined, changes: [{ kind: 'pin', pin: pinOf({ ...pin }) }] };
    });
  }

  /** Removes a node's pin. */
  removePin(node_id: string, actor: string): Promise<void> {
    return this.configure(async (client) => {
      const gone = await client.query(`DELETE FROM ${this.#q}.pins WHERE node_id = $1`, [node_id]);
      if (gone.rowCount !== 1) return { result: undefined, changes: [] };
      return { result: undefined, changes: [{ kind: 'pin_removed', node_id, actor }] };
    });
  }

  /** Replaces a cluster's expected inventory (sorted, without duplicates). */
  setExpected(expected: ExpectedNodes): Promise<void> {
    return this.configure(async (client) => {
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
      return { result: undefined, changes: [{ kind: 'expected', expected: record }] };
    });
  }

  /**
   * Upserts observed rows owned by this replica, `maxBatchRows` per statement; each statement
   * takes the next revisions of the `observed_rev` sequence and wakes every replica's feed.
   * `closed(id)` says whether the node's session with this replica ended (this replica alerted it),
   * so the sweep leaves the row alone; such a row does not take over a row another replica owns
   * (the node reconnected there). Returns the number of statements run.
   */
  async upsertObserved(
    nodes: readonly ObservedNode[],
    closed: (node_id: string) => boolean,
  ): Promise<number> {
    let statements = 0;
    for (let i = 0; i < nodes.length; i += this.#o.maxBatchRows) {
      const chunk = nodes.slice(i, i + this.#o.maxBatchRows);
      // `l` (the live column) is left out for a record without `live`: the column is then NULL.
      const rows = chunk.map((n) => {
        const live = liveText(n);
        const s = closed(n.node_id) ? '"closed"' : 'null';
        return `{"s":${s},${live === null ? '' : `"l":${live},`}"n":${observedText(n)}}`;
      });
      await this.query(
        `WITH up AS (
           INSERT INTO ${this.#q}.observed AS o
             (node_id, cluster, data, live, owner, last_seen, swept, updated_at, rev, xid, seq)
           SELECT x->'n'->>'node_id', x->'n'->>'cluster', x->'n',
             x->'l', $2,
             (x->'n'->>'last_seen')::timestamptz, x->>'s', now(), nextval('${this.#q}.observed_rev'),
             pg_current_xact_id(), (x->'n'->>'last_seq')::bigint
           FROM json_array_elements($1::json) AS x
           ON CONFLICT (node_id) DO UPDATE SET cluster = EXCLUDED.cluster, data = EXCLUDED.data,
             live = EXCLUDED.live, owner = EXCLUDED.owner, last_seen = EXCLUDED.last_seen,
             swept = EXCLUDED.swept, updated_at = now(), rev = EXCLUDED.rev, xid = EXCLUDED.xid,
             seq = EXCLUDED.seq
           WHERE EXCLUDED.swept IS NULL OR o.owner = EXCLUDED.owner
           RETURNING 1)
         SELECT pg_notify($3, 'observed') FROM (SELECT count(*) FROM up) AS c`,
        [`[${rows.join(',')}]`, this.#o.replicaId, this.#o.channel],
      );
      statements++;
    }
    return statements;
  }

  /**
   * Writes only the `last_seen` and `last_seq` of rows this replica owns and has not closed, `maxBatchRows` per
   * statement: no revision, no notification; other replicas read these rows at their next
   * last-seen read. Returns the ids of the rows written (a row another replica took over, the
   * sweep marked or nobody wrote yet is not) and the number of statements run.
   */
  async touchObserved(
    seen: readonly {
      readonly node_id: string;
      readonly last_seen: string;
      readonly last_seq: number;
    }[],
  ): Promise<{ written: Set<string>; statements: number }> {
    const written = new Set<string>();
    let statements = 0;
    for (let i = 0; i < seen.length; i += this.#o.maxBatchRows) {
      const chunk = seen.slice(i, i + this.#o.maxBatchRows);
      // Each row's values looked up by node id in one JSON object (see touchObservedText); no
      // prototype, so a node id such as `__proto__` is an own key like any other.
      const values = Object.create(null) as Record<string, [string, number]>;
      for (const n of chunk) values[n.node_id] = [n.last_seen, n.last_seq];
      const result = await this.query<{ node_id: string }>(touchObservedText(this.#q), [
        chunk.map((n) => n.node_id),
        JSON.stringify(values),
        this.#o.replicaId,
      ]);
      for (const row of result.rows) written.add(row.node_id);
      statements++;
    }
    return { written, statements };
  }

  /**
   * Deletes the observed rows of forgotten nodes and records one `observed_deleted` change per
   * node that had a row, so every replica drops it from its view.
   */
  deleteObserved(node_ids: readonly string[]): Promise<void> {
    return this.configure(async (client) => {
      const gone = await client.query<{ node_id: string }>(
        `DELETE FROM ${this.#q}.observed WHERE node_id = ANY($1::text[]) RETURNING node_id`,
        [node_ids],
      );
      await client.query(`DELETE FROM ${this.#q}.seen WHERE node_id = ANY($1::text[])`, [node_ids]);
      const changes = gone.rows
        .map((r) => r.node_id)
        .sort(byText)
        .map((node_id): ChangeInput => ({ kind: 'observed_deleted', node_id }));
      return { result: undefined, changes };
    });
  }

  /** Marks a node's row closed: its session with this replica ended (the sweep leaves it alone). */
  async closeSession(node_id: string): Promise<void> {
    await this.query(
      `UPDATE ${this.#q}.observed SET swept = 'closed'
       WHERE node_id = $1 AND owner = $2 AND swept IS NULL`,
      [node_id, this.#o.replicaId],
    );
  }

  /** Inserts the claim of a fact; `true` when this call created it. */
  async claimFact(key: string): Promise<boolean> {
    const result = await this.query(
      `INSERT INTO ${this.#q}.facts (fact, replica_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [key.slice(0, 1024), this.#o.replicaId],
    );
    return result.rowCount === 1;
  }

  /** Records that this replica is alive. */
  async beat(): Promise<void> {
    await this.query(
      `INSERT INTO ${this.#q}.replicas (replica_id) VALUES ($1)
       ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = now(), stopped = false`,
      [this.#o.replicaId],
    );
  }

  /** Records that this replica stopped. */
  async markStopped(): Promise<void> {
    await this.query(`UPDATE ${this.#q}.replicas SET stopped = true WHERE replica_id = $1`, [
      this.#o.replicaId,
    ]);
  }

  /** The last `limit` entries of a cluster's desired-state history, oldest first. */
  async desiredHistory(cluster: string, limit: number): Promise<DesiredHistoryEntry[]> {
    const result = await this.query<DesiredHistoryEntry>(
      `SELECT artifact_hash, version, actor, reason, changed_at, replica_id FROM (
         SELECT * FROM ${this.#q}.desired_history WHERE cluster = $1 ORDER BY id DESC LIMIT $2
       ) h ORDER BY id`,
      [cluster, limit],
    );
    return result.rows.map((r) => ({ ...r }));
  }
}
