/**
 * A pooled connection cut while the store holds it (a transaction, a migration). `pg-pool` takes
 * its own `'error'` listener off a connection it hands out, and `pg` emits `'error'` on a
 * connection that ends unexpectedly or is reset even when it also fails the running query: with
 * no listener of the store's own, a backend terminated in the middle of a transaction was an
 * uncaught exception that ended the whole control-plane process.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_CLASS, migrate } from '../src/migrations.js';
import { Client, createPool } from '../src/pg.js';
import { PgStorage } from '../src/storage.js';
import {
  PG_URL,
  freshSchemaName,
  startProxy,
  terminateApp,
  waitUntil,
  type Proxy,
} from './helpers.js';

const APP = 'plumbline-checked-out-test';

describe('a connection cut while the store holds it', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): void => {
    uncaught.push(error);
  };
  let proxy: Proxy;
  beforeAll(async () => {
    proxy = await startProxy();
  });
  afterAll(async () => {
    await proxy.close();
  });
  beforeEach(() => {
    uncaught.length = 0;
    process.prependListener('uncaughtException', onUncaught);
  });
  afterEach(() => {
    process.removeListener('uncaughtException', onUncaught);
  });

  /** The URL through the proxy, naming the test's connections. */
  function url(): string {
    const u = new URL(proxy.url);
    u.searchParams.set('application_name', APP);
    return u.toString();
  }

  async function waitFor(condition: string): Promise<void> {
    const probe = new Client({ connectionString: PG_URL });
    await probe.connect();
    try {
      await waitUntil(async () => {
        const r = await probe.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND ${condition}`,
          [APP],
        );
        return Number(r.rows[0]!.n) > 0;
      }, condition);
    } finally {
      await probe.end();
    }
  }

  const cuts = {
    'its backend terminated': async (): Promise<void> => {
      expect(await terminateApp(APP)).toBeGreaterThan(0);
    },
    'its connection reset (ECONNRESET)': (): Promise<void> => {
      proxy.reset();
      return Promise.resolve();
    },
  };

  for (const [name, cut] of Object.entries(cuts)) {
    it(`${name} under a transaction: the read fails with PLB_PG_UNAVAILABLE, nothing is thrown uncaught, the pool serves the next`, async () => {
      const pool = createPool({ connectionString: url(), max: 2 });
      pool.on('error', () => undefined);
      let lost = 0;
      const storage = new PgStorage({
        pool,
        schema: 'public',
        q: '"public"',
        replicaId: 'r',
        channel: 'plumbline_test',
        maxBatchRows: 100,
        lost: () => {
          lost++;
        },
      });
      try {
        const settled = storage.readByIndex('SELECT pg_sleep(30)').then(
          () => null,
          (error: unknown) => error,
        );
        await waitFor("query LIKE '%pg_sleep%' AND state = 'active'");
        await cut();
        expect(await settled).toMatchObject({ code: 'PLB_PG_UNAVAILABLE' });
        // The connection's own 'error' and 'end' may come after the query fails.
        await new Promise((r) => setTimeout(r, 200));
        expect(uncaught).toEqual([]);
        expect(lost).toBeGreaterThan(0);
        const next = await storage.readByIndex<{ one: number }>('SELECT 1 AS one');
        expect(next.rows).toEqual([{ one: 1 }]);
      } finally {
        await pool.end();
      }
    });

    it(`${name} under a migration waiting for its lock: a coded error, nothing thrown uncaught`, async () => {
      const schema = freshSchemaName();
      const holder = new Client({ connectionString: PG_URL });
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [
          LOCK_CLASS.migrate,
          schema,
        ]);
        const settled = migrate({ connectionString: url(), schema }).then(
          () => null,
          (error: unknown) => error,
        );
        await waitFor("wait_event_type = 'Lock'");
        await cut();
        expect(await settled).toMatchObject({ code: 'PLB_PG_MIGRATE' });
        await new Promise((r) => setTimeout(r, 200));
        expect(uncaught).toEqual([]);
      } finally {
        await holder.end();
      }
    });
  }
});
