/**
 * Leader election: one replica at a time holds a session-level advisory lock on a connection of
 * its own and runs the sweep; the lock passes to another replica when the leader's connection
 * ends (it died, stopped, or lost PostgreSQL).
 */
import type pg from 'pg';
import { LOCK_CLASS } from './migrations.js';
import { Client } from './pg.js';

/** @internal */
export interface LeaderOptions {
  readonly client: pg.ClientConfig;
  readonly schema: string;
  readonly closed: () => boolean;
  readonly connected: () => boolean;
  /** What the leader does each round, on its lock connection. */
  readonly lead: (client: pg.Client) => Promise<void>;
}

/**
 * The leadership of one replica.
 *
 * @internal
 */
export class LeaderElection {
  readonly #o: LeaderOptions;
  #client: pg.Client | null = null;
  #leader = false;
  #tick: Promise<void> | null = null;

  constructor(options: LeaderOptions) {
    this.#o = options;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Whether a round is running. */
  get busy(): boolean {
    return this.#tick !== null;
  }

  /** One round at a time (a second one would open a second lock connection). */
  round(): Promise<void> {
    if (this.#tick !== null) return this.#tick;
    const run: Promise<void> = this.#round().finally(() => {
      if (this.#tick === run) this.#tick = null;
    });
    this.#tick = run;
    return run;
  }

  /** Waits for the running round, then runs one more. */
  async roundNow(): Promise<void> {
    while (this.#tick !== null) await this.#tick;
    await this.round();
  }

  async #round(): Promise<void> {
    if (this.#o.closed() || !this.#o.connected()) return;
    try {
      const client = await this.#connection();
      if (client === null) return;
      if (!this.#leader) {
        const got = await client.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok',
          [LOCK_CLASS.leader, this.#o.schema],
        );
        this.#leader = got.rows[0]?.ok === true;
      }
      if (this.#leader) await this.#o.lead(client);
    } catch {
      await this.resign();
    }
  }

  async #connection(): Promise<pg.Client | null> {
    if (this.#client !== null) return this.#client;
    const client = new Client(this.#o.client);
    client.on('error', () => {
      if (this.#client === client) {
        this.#client = null;
        this.#leader = false;
      }
    });
    await client.connect();
    if (this.#o.closed()) {
      await client.end();
      return null;
    }
    this.#client = client;
    return client;
  }

  /** Gives up the leadership (ends the lock connection). */
  async resign(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    this.#leader = false;
    await client?.end().catch(() => undefined);
  }

  /** Waits for the running round and resigns. */
  async close(): Promise<void> {
    while (this.#tick !== null) await this.#tick;
    await this.resign();
  }
}
