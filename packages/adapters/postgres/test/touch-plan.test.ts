/**
 * The heartbeat-time write of a steady node (`touchObserved`) costs what it touches, however
 * stale the table's statistics. Its earlier form joined the rows with `unnest(…)`; on a table
 * PostgreSQL had not analyzed yet (a new schema, a fleet growing fast) the planner guessed that
 * few rows belonged to the replica and ran a nested loop over all of them times every row of the
 * batch: 0.2 s for 160 of 8,000 rows, held in front of every other write of the replica, which
 * delayed the drifts other replicas see by the same amount.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedNode } from '@plumbline/core/drift';
import { PostgresFleetStore, migrate } from '../src/index.js';
import { Client } from '../src/pg.js';
import { seenSinceText, touchObservedText } from '../src/storage.js';
import { PG_URL, dropSchema, freshSchemaName, observedNode } from './helpers.js';

const ROWS = 8000;

interface PlanNode {
  readonly 'Node Type': string;
  readonly Plans?: readonly PlanNode[];
}

function nodeTypes(plan: PlanNode): string[] {
  return [plan['Node Type'], ...(plan.Plans ?? []).flatMap(nodeTypes)];
}

describe('the last-seen write on a table without statistics', () => {
  const schema = freshSchemaName();
  const q = `"${schema}"`;
  const client = new Client({ connectionString: PG_URL });

  beforeAll(async () => {
    await migrate({ connectionString: PG_URL, schema });
    await client.connect();
    // No statistics, as on a new schema before autovacuum's first ANALYZE.
    await client.query(`ALTER TABLE ${q}.observed SET (autovacuum_enabled = false)`);
    await client.query(
      `INSERT INTO ${q}.observed (node_id, cluster, data, owner, last_seen, rev)
       SELECT 'n' || g, 'prod', '{}'::json, CASE WHEN g % 3 = 0 THEN 'b' ELSE 'a' END, now(), g
       FROM generate_series(1, $1) AS g`,
      [ROWS],
    );
    const stats = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stats WHERE schemaname = $1 AND tablename = 'observed'`,
      [schema],
    );
    expect(stats.rows[0]!.n).toBe('0');
  });

  afterAll(async () => {
    await client.end();
    await dropSchema(schema);
  });

  for (const batch of [160, 2000]) {
    it(`is planned without a join for a batch of ${batch} (no cost of rows times batch)`, async () => {
      const ids = Array.from({ length: batch }, (_, i) => `n${i * 3 + 1}`);
      const values = Object.fromEntries(ids.map((id) => [id, [new Date().toISOString(), 7]]));
      await client.query('BEGIN');
      try {
        const explained = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
          `EXPLAIN (FORMAT JSON) ${touchObservedText(q)}`,
          [ids, JSON.stringify(values), 'a'],
        );
        const types = nodeTypes(explained.rows[0]!['QUERY PLAN'][0].Plan);
        expect(types).not.toContain('Nested Loop');
        expect(types).not.toContain('Hash Join');
        expect(types).not.toContain('Merge Join');
      } finally {
        await client.query('ROLLBACK');
      }
    });
  }

  it('is read back by other replicas with an index range scan on the time, not a scan of the observed rows', async () => {
    await client.query(
      `INSERT INTO ${q}.seen (node_id, owner, rev, last_seen, seq, seen_at)
       SELECT 'n' || g, 'a', g, now(), g, now() - (g || ' milliseconds')::interval
       FROM generate_series(1, $1) AS g`,
      [ROWS],
    );
    await client.query('BEGIN');
    try {
      // As the feed reads it (PgStorage.readByIndex).
      await client.query('SET LOCAL enable_seqscan = off');
      const explained = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) ${seenSinceText(q)}`,
        [new Date(Date.now() - 1000).toISOString(), 'b'],
      );
      const plan = explained.rows[0]!['QUERY PLAN'][0].Plan;
      const types = nodeTypes(plan);
      expect(types).not.toContain('Seq Scan');
      expect(JSON.stringify(plan)).toContain('"Index Name":"seen_by_time"');
      expect(JSON.stringify(plan)).not.toContain('"Relation Name":"observed"');
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('writes the time and sequence of each node it names, and only rows this replica holds open', async () => {
    const at = '2026-01-01T00:00:07.000Z';
    // n1 and n2 are a's, n3 is b's; "__proto__" is an id like any other.
    await client.query(
      `INSERT INTO ${q}.observed (node_id, cluster, data, owner, last_seen, rev)
       VALUES ('__proto__', 'prod', '{}'::json, 'a', now(), 0)`,
    );
    const store = await PostgresFleetStore.open({
      connectionString: PG_URL,
      schema,
      replicaId: 'a',
      sweep: false,
    });
    try {
      const node = (id: string, seq: number): ObservedNode =>
        observedNode(id, { instance_id: 'i', last_seen: at, last_seq: seq });
      // A first save writes whole rows; the second, the same but for the time, only the time.
      await store.saveObserved(['n1', 'n2', '__proto__'].map((id) => node(id, 1)));
      const later = (id: string, seq: number): ObservedNode => ({
        ...node(id, seq),
        last_seen: '2026-01-01T00:00:09.000Z',
      });
      await store.saveObserved([later('n1', 5), later('n2', 6), later('__proto__', 8)]);
      const rows = await client.query<{ node_id: string; t: string; seq: string }>(
        `SELECT node_id, to_json(last_seen)#>>'{}' AS t, seq::text AS seq FROM ${q}.observed
         WHERE node_id IN ('n1', 'n2', 'n3', '__proto__') ORDER BY node_id`,
      );
      expect(rows.rows.map((r) => [r.node_id, r.t.slice(0, 19), r.seq])).toEqual([
        ['__proto__', '2026-01-01T00:00:09', '8'],
        ['n1', '2026-01-01T00:00:09', '5'],
        ['n2', '2026-01-01T00:00:09', '6'],
        ['n3', expect.any(String), null],
      ]);
      expect(store.stats().seenRows).toBe(3);
      // The same write recorded the times where other replicas read them.
      const seen = await client.query<{ node_id: string; t: string; seq: string; rev: string }>(
        `SELECT s.node_id, to_json(s.last_seen)#>>'{}' AS t, s.seq::text AS seq,
           (s.rev = o.rev)::text AS rev
         FROM ${q}.seen AS s JOIN ${q}.observed AS o USING (node_id)
         WHERE s.node_id IN ('n1', 'n2', '__proto__') AND s.owner = 'a' ORDER BY s.node_id`,
      );
      expect(seen.rows.map((r) => [r.node_id, r.t.slice(0, 19), r.seq, r.rev])).toEqual([
        ['__proto__', '2026-01-01T00:00:09', '8', 'true'],
        ['n1', '2026-01-01T00:00:09', '5', 'true'],
        ['n2', '2026-01-01T00:00:09', '6', 'true'],
      ]);
    } finally {
      await store.close();
    }
  });
});
