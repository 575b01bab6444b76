/**
 * The change feed: every replica `LISTEN`s on the schema's channel (and polls, as a safety net),
 * reads the configuration changes after its cursor in revision order, then the observed rows
 * other replicas wrote after its observed cursor, and delivers them to its subscribers as
 * {@link FleetChange}s (observed rows as {@link FleetObservedChange}s).
 */
import type pg from 'pg';
import { PlumblineError } from '@plumbline/core';
import type { FleetChange, FleetChangeListener, ObservedNode } from '@plumbline/core/drift';
import { Client } from './pg.js';
import { observedOfRow, type ObservedRowColumns } from './rows.js';
import type { StoreCounters } from './options.js';
import { seenSinceText, type FeedCursors, type PgStorage, type ReadHorizon } from './storage.js';

/** Observed rows read per statement. */
const PAGE = 2000;

/** @internal */
export interface FeedOptions {
  readonly storage: PgStorage;
  readonly client: pg.ClientConfig;
  readonly q: string;
  readonly channel: string;
  readonly replicaId: string;
  readonly counters: StoreCounters;
  readonly closed: () => boolean;
  readonly lost: () => void;
}

/** A row of `observed` as the feed reads it. @internal */
export interface ObservedRow extends ObservedRowColumns {
  readonly rev: string;
  readonly swept: string | null;
}

/** The columns of `observed` the feed and the sweep read. @internal */
export const OBSERVED_COLUMNS =
  'rev, swept, data::text AS data, live::text AS live, last_seen, seq::text AS seq';

/**
 * The feed of one replica.
 *
 * @internal
 */
export class ChangeFeed {
  readonly #o: FeedOptions;
  readonly #listeners = new Set<FleetChangeListener>();
  #listener: pg.Client | null = null;
  #cursor = 0;
  /** The highest observed-row revision delivered. */
  #observedCursor = 0;
  /** The transactions the previous read of observed rows may not have seen commit. */
  #horizon: ReadHorizon = { xip: [], xmax: '0' };
  #pulling: Promise<void> | null = null;
  #pullAgain = false;
  /** Set while the sweep marks and hands over rows: the feed waits, so it cannot show them first. */
  #held = false;
  /** The next pull reads other replicas' last-seen writes too. */
  #seenDue = false;
  /** Where the next last-seen read starts (the database's clock); `null` before the first. */
  #seenSince: string | null = null;
  /** What the previous last-seen read delivered or skipped, by node: its revision, time, sequence. */
  #seenKeys = new Map<string, string>();

  constructor(options: FeedOptions) {
    this.#o = options;
  }

  /** Starts after the given revisions (what `load()` returns is read after them). */
  start(cursors: FeedCursors): void {
    this.#cursor = cursors.changes;
    this.#observedCursor = cursors.observed;
    this.#horizon = cursors.horizon;
  }

  get listening(): boolean {
    return this.#listener !== null;
  }

  subscribe(listener: FleetChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Opens the `LISTEN` connection; its loss counts as a lost connection. */
  async listen(): Promise<void> {
    const client = new Client(this.#o.client);
    client.on('error', () => {
      if (this.#listener === client) this.#listener = null;
      this.#o.lost();
    });
    client.on('end', () => {
      if (this.#listener === client) {
        this.#listener = null;
        this.#o.lost();
      }
    });
    client.on('notification', () => this.pull());
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#o.channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw new PlumblineError('PLB_PG_UNAVAILABLE', 'cannot connect to PostgreSQL', {
        cause: error,
      });
    }
    if (this.#o.closed()) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#listener = client;
  }

  /** Reads changes after the cursor and delivers them in revision order (one pull at a time). */
  pull(): void {
    if (this.#o.closed()) return;
    if (this.#pulling !== null || this.#held) {
      this.#pullAgain = true;
      return;
    }
    const run = async (): Promise<void> => {
      do {
        this.#pullAgain = false;
        await this.#pullChanges();
        await this.#pullObserved();
        if (this.#seenDue) await this.#pullSeen();
      } while (this.#pullAgain && !this.#o.closed());
    };
    this.#pulling = run()
      // A lost connection was reported by the query; the reconnect catches up.
      .catch(() => undefined)
      .finally(() => {
        this.#pulling = null;
      });
  }

  async #pullChanges(): Promise<void> {
    for (;;) {
      const result = await this.#o.storage.query<{ revision: string; change: string }>(
        `SELECT revision, change::text AS change FROM ${this.#o.q}.changes
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
        this.deliver({ ...change, revision, local: origin === this.#o.replicaId } as FleetChange);
      }
      if (result.rows.length < 500) return;
    }
  }

  /**
   * Reads the observed rows other replicas wrote since the cursor and delivers them, 2,000 at a
   * time in revision order. The first page also reads again the rows written by transactions
   * that were in progress at the previous read or had no id yet (its {@link ReadHorizon}): a
   * row whose revision was taken before a higher one but committed after it is read however
   * late it commits and however late this read comes (delivering a row twice changes nothing).
   * Each part is its own index scan (by revision, by writing transaction), so a read costs what
   * it returns, not the table's size.
   */
  async #pullObserved(): Promise<void> {
    const horizon = await this.#o.storage.horizon();
    const q = this.#o.q;
    for (let first = true; ; first = false) {
      const result = await this.#o.storage.readByIndex<ObservedRow>(
        `SELECT * FROM (
           (SELECT ${OBSERVED_COLUMNS} FROM ${q}.observed
            WHERE rev > $1 AND owner IS DISTINCT FROM $2 ORDER BY rev LIMIT ${PAGE})
           UNION ALL
           (SELECT ${OBSERVED_COLUMNS} FROM ${q}.observed
            WHERE $4 AND (xid = ANY($3::xid8[]) OR xid >= $5::xid8)
              AND rev <= $1 AND owner IS DISTINCT FROM $2)
         ) AS page ORDER BY rev`,
        [this.#observedCursor, this.#o.replicaId, this.#horizon.xip, first, this.#horizon.xmax],
      );
      let fresh = 0;
      for (const row of result.rows) {
        const revision = Number(row.rev);
        if (revision > this.#observedCursor) {
          this.#observedCursor = revision;
          fresh++;
        }
        this.deliverObserved(row, false);
      }
      if (fresh < PAGE) break;
    }
    this.#horizon = horizon;
  }

  /** Asks for a read of the last-seen times other replicas wrote since the previous one. */
  pullSeen(): void {
    this.#seenDue = true;
    this.pull();
  }

  /**
   * Reads the heartbeat times other replicas wrote alone since the previous read (with a margin of
   * one second of the database's clock for writes that committed late: a time written by a
   * statement that took longer shows at the node's next heartbeat) and delivers each as a
   * `seen` change: ids, times and sequence numbers only, no record to parse or judge. A time the
   * margin brings back unchanged is not delivered again. The first read starts five seconds back:
   * what is older came with `load()`.
   */
  async #pullSeen(): Promise<void> {
    this.#seenDue = false;
    const result = await this.#o.storage.readByIndex<{
      node_id: string;
      rev: string;
      t: string;
      seq: string;
      at: string;
    }>(seenSinceText(this.#o.q), [this.#seenSince, this.#o.replicaId]);
    const keys = new Map<string, string>();
    for (const row of result.rows) {
      const key = `${row.t}/${row.seq}`;
      keys.set(row.node_id, key);
      if (this.#seenKeys.get(row.node_id) === key) continue;
      this.#o.counters.seenDelivered++;
      this.deliver({
        kind: 'seen',
        revision: Number(row.rev),
        node_id: row.node_id,
        last_seen: new Date(Number(row.t)).toISOString(),
        last_seq: Number(row.seq),
      });
    }
    // A time the next read returns that an earlier read delivered, this read returned too (its
    // window starts earlier), so this read's keys are all the next one needs.
    this.#seenKeys = keys;
    const at = result.rows[0]?.at;
    if (at !== undefined) this.#seenSince = at;
  }

  /** Delivers an observed row: connected only when its replica says so and no sweep closed it. */
  deliverObserved(row: ObservedRow, announce: boolean): void {
    const stored = observedOfRow(row);
    const node: ObservedNode = {
      ...stored,
      connected: row.swept === null && stored.connected === true,
    };
    this.#o.counters.observedDelivered++;
    this.deliver({ kind: 'observed', revision: Number(row.rev), node, announce });
  }

  /** Resolves when the feed has caught up with everything committed so far. */
  async caughtUp(): Promise<void> {
    this.pull();
    while (this.#pulling !== null) await this.#pulling;
  }

  /** Runs `body` with the feed held (no pull runs meanwhile), then catches up. */
  async holding(body: () => Promise<void>): Promise<void> {
    while (this.#pulling !== null) await this.#pulling;
    this.#held = true;
    try {
      await body();
    } finally {
      this.#held = false;
      if (this.#pullAgain) this.pull();
    }
  }

  deliver(change: FleetChange): void {
    if (this.#o.closed()) return;
    this.#o.counters.changesDelivered++;
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // Listeners never throw into the store.
      }
    }
  }

  /** Stops delivering and ends the `LISTEN` connection. */
  async close(): Promise<void> {
    this.#listeners.clear();
    while (this.#pulling !== null) await this.#pulling;
    const client = this.#listener;
    this.#listener = null;
    await client?.end().catch(() => undefined);
  }
}
