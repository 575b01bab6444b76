/**
 * A row whose transaction took its revision before a higher one committed, and committed itself
 * only after another replica's feed had read past that revision, reaches that replica whenever
 * it commits. The feed reads such rows again by writing transaction; it used to look back only
 * two seconds of wall time at the moment of the read, so a row whose transaction had begun more
 * than two seconds before the read that followed its commit (a slow transaction, a replica whose
 * event loop stalled) was never delivered: in a 500,000-node simulation two replicas stayed
 * hundreds of nodes short for good.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FleetChange } from '@plumbline/core/drift';
import { PostgresFleetStore } from '../src/index.js';
import { Client } from '../src/pg.js';
import { PG_URL, dropSchema, freshSchemaName, observedNode, waitUntil } from './helpers.js';

describe('an observed row committed late', () => {
  const schema = freshSchemaName();
  const stores: PostgresFleetStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await dropSchema(schema);
  });

  it('reaches the other replica however long after its revision it commits', async () => {
    const open = async (replicaId: string): Promise<PostgresFleetStore> => {
      const store = await PostgresFleetStore.open({
        connectionString: PG_URL,
        schema,
        replicaId,
        sweep: false,
      });
      stores.push(store);
      return store;
    };
    const a = await open('a');
    const b = await open('b');
    await b.load();
    const seen = new Set<string>();
    b.subscribe((change: FleetChange) => {
      if (change.kind === 'observed') seen.add(change.node.node_id);
    });

    // A slow writer takes a revision and holds its transaction open.
    const slow = new Client({ connectionString: PG_URL });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(
        `INSERT INTO "${schema}".observed (node_id, cluster, data, owner, last_seen, updated_at, rev, xid, seq)
         VALUES ('late', 'prod', $1::json, 'a', now(), now(), nextval('"${schema}".observed_rev'),
                 pg_current_xact_id(), 1)`,
        [JSON.stringify(observedNode('late'))],
      );
      // A later revision commits and b's feed reads past the slow one's.
      await a.saveObserved([observedNode('quick')]);
      await waitUntil(() => seen.has('quick'), 'b to read the quick row');
      expect(seen.has('late')).toBe(false);
      // The slow transaction commits well after it began, and wakes the feeds.
      await new Promise((r) => setTimeout(r, 2500));
      await slow.query(`SELECT pg_notify('plumbline_${schema}', 'observed')`);
      await slow.query('COMMIT');
    } finally {
      await slow.end();
    }
    await waitUntil(() => seen.has('late'), 'b to read the late row', 10_000);
    expect(b.stats().observedDelivered).toBeGreaterThanOrEqual(2);
  });
});
