/**
 * The sweep, run by the leader: nodes whose replica died or stopped while they were connected to
 * it, and that did not reconnect elsewhere, are marked disconnected once and handed to this
 * replica's monitor, which judges them by core's one node-state rule (`decideNodeState`: workers,
 * `rejected`, pins and rollouts included) and announces each once. The sweep sends no alert and
 * decides no state itself.
 */
import type pg from 'pg';
import type { FleetEvent } from '@plumbline/core/drift';
import { OBSERVED_COLUMNS, type ChangeFeed, type ObservedRow } from './feed.js';
import type { StoreCounters } from './options.js';
import type { PgStorage } from './storage.js';

/** @internal */
export interface SweepOptions {
  readonly q: string;
  readonly channel: string;
  readonly replicaId: string;
  readonly replicaTimeoutMs: number;
  readonly feed: ChangeFeed;
  readonly counters: StoreCounters;
}

/**
 * Marks each node whose owning replica has been silent for `replicaTimeoutMs` while the node was
 * connected to it as disconnected, once (the row is marked `swept` in the same statement), and
 * delivers the rows to this replica's subscribers with `announce: true`. A node that reconnected
 * to another replica within that time belongs to it and is left alone (a control plane's shutdown
 * is not a node's disconnect). The feed is held meanwhile, so the swept rows reach this replica's
 * monitor through the sweep (which announces them), never first through the feed.
 *
 * @internal
 */
export async function sweepDeadReplicas(client: pg.Client, o: SweepOptions): Promise<void> {
  await o.feed.holding(async () => {
    const result = await client.query<ObservedRow>(
      `UPDATE ${o.q}.observed o SET swept = 'disconnected',
         rev = nextval('${o.q}.observed_rev'), updated_at = now(), xid = pg_current_xact_id()
       FROM ${o.q}.replicas r
       WHERE o.swept IS NULL AND o.owner = r.replica_id AND o.owner <> $2
         AND o.last_seen IS NOT NULL
         AND r.heartbeat_at < now() - make_interval(secs => $1::double precision / 1000)
       RETURNING ${OBSERVED_COLUMNS}`,
      [o.replicaTimeoutMs, o.replicaId],
    );
    if (result.rows.length === 0) return;
    await client.query('SELECT pg_notify($1, $2)', [o.channel, 'observed']);
    for (const row of result.rows.sort((a, b) => Number(a.rev) - Number(b.rev))) {
      o.counters.swept++;
      o.feed.deliverObserved(row, true);
    }
  });
}

/** @internal */
export interface SessionFollowerOptions {
  readonly storage: PgStorage;
  readonly maxTracked: number;
  readonly closed: () => boolean;
  readonly connected: () => boolean;
  /** Runs a write after the store's earlier writes. */
  readonly serial: (body: () => Promise<void>) => Promise<void>;
}

/**
 * Which of this replica's nodes ended their session here: their rows are written `closed`, so the
 * sweep does not report them again when this replica stops or dies.
 *
 * @internal
 */
export class SessionFollower {
  readonly #o: SessionFollowerOptions;
  readonly #gone = new Set<string>();

  constructor(options: SessionFollowerOptions) {
    this.#o = options;
  }

  /** Whether the node's session with this replica ended. */
  has(node_id: string): boolean {
    return this.#gone.has(node_id);
  }

  /** The node's row is gone (forgotten): nothing to remember. */
  forget(node_id: string): void {
    this.#gone.delete(node_id);
  }

  /** Follows one monitor event. */
  onEvent(event: FleetEvent): void {
    if (event.type !== 'node.state_changed') return;
    if (event.state !== 'disconnected') {
      this.#gone.delete(event.node_id);
      return;
    }
    if (this.#gone.size >= this.#o.maxTracked && !this.#gone.has(event.node_id)) return;
    this.#gone.add(event.node_id);
    if (this.#o.closed()) return;
    void this.#o
      .serial(async () => {
        if (!this.#o.connected() || !this.#gone.has(event.node_id)) return;
        await this.#o.storage.closeSession(event.node_id);
      })
      .catch(() => undefined);
  }
}
