/**
 * A node that heartbeats and reports nothing new has only its `last_seen` and `last_seq` written:
 * no revision, no feed notification. What every reader gets stays exact: `load()`, another
 * replica's feed, and the whole-row fallback when the row is no longer this replica's to touch.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FleetChange, ObservedNode } from '@plumbline/core/drift';
import { PostgresFleetStore } from '../src/index.js';
import { Client } from '../src/pg.js';
import { PG_URL, dropSchema, freshSchemaName, observedNode, waitUntil } from './helpers.js';

const schemas: string[] = [];
let stores: PostgresFleetStore[] = [];
afterEach(async () => {
  for (const store of stores) await store.close().catch(() => undefined);
  stores = [];
});
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

async function open(schema: string, replicaId: string): Promise<PostgresFleetStore> {
  const store = await PostgresFleetStore.open({
    connectionString: PG_URL,
    schema,
    replicaId,
    sweep: false,
    seenIntervalMs: 100,
  });
  stores.push(store);
  return store;
}

const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

function node(id: string, seq: number, extra: Partial<ObservedNode> = {}): ObservedNode {
  return observedNode(id, { last_seen: at(seq), last_seq: seq, ...extra });
}

async function rev(schema: string, id: string): Promise<number> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const result = await client.query<{ rev: string }>(
      `SELECT rev FROM "${schema}".observed WHERE node_id = $1`,
      [id],
    );
    return Number(result.rows[0]?.rev ?? -1);
  } finally {
    await client.end();
  }
}

describe('last_seen-only writes', () => {
  it('write only the time and sequence of a steady node, and every reader sees them exactly', async () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    const a = await open(schema, 'a');
    const b = await open(schema, 'b');
    const seenOnB: { last_seen: string | null; last_seq: number; stale?: boolean }[] = [];
    b.subscribe((change: FleetChange) => {
      if (change.kind === 'observed' && change.node.node_id === 'n1') seenOnB.push(change.node);
      if (change.kind === 'seen' && change.node_id === 'n1') seenOnB.push(change);
    });

    await a.saveObserved([node('n1', 1), node('n2', 1)]);
    const first = await rev(schema, 'n1');
    const full = a.stats().observedStatements;
    for (let seq = 2; seq <= 4; seq++) await a.saveObserved([node('n1', seq), node('n2', seq)]);

    const stats = a.stats();
    expect(stats.observedStatements).toBe(full);
    expect(stats.seenStatements).toBe(3);
    expect(stats.seenRows).toBe(6);
    // No new revision: the change feed has nothing to wake the other replicas for.
    expect(await rev(schema, 'n1')).toBe(first);
    // load() returns the record as last saved, last_seq included (replay protection after a
    // failover or restart depends on it).
    const loaded = (await b.load()).observed.find((o) => o.node_id === 'n1');
    expect(loaded).toMatchObject({ last_seen: at(4), last_seq: 4 });
    // Another replica reads the new time at its next last-seen read, as a `seen` change (the
    // time and sequence only).
    await waitUntil(() => seenOnB.at(-1)?.last_seq === 4, 'B reads the last time');
    expect(seenOnB.at(-1)).toEqual({
      kind: 'seen',
      revision: first,
      node_id: 'n1',
      last_seen: at(4),
      last_seq: 4,
    });
    // Reads every 100 ms look 1 s back; a time read again unchanged is not delivered again: two
    // nodes, three time-only writes each, at most six deliveries however many reads.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(b.stats().seenDelivered).toBeGreaterThan(0);
    expect(b.stats().seenDelivered).toBeLessThanOrEqual(6);

    // Anything else changing is a whole row again, with a new revision.
    await a.saveObserved([node('n1', 5, { reported_hash: null, stale: true })]);
    expect(a.stats().observedStatements).toBe(full + 1);
    expect(await rev(schema, 'n1')).toBeGreaterThan(first);
    await waitUntil(() => seenOnB.at(-1)?.stale === true, 'B reads the change');
  });

  it('write the whole row when the row is no longer this replica’s to touch', async () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    const a = await open(schema, 'a');
    const b = await open(schema, 'b');
    await a.saveObserved([node('n1', 1)]);
    // The node moved to B, which wrote it; then A (still holding an old session) saves it steady.
    await b.saveObserved([node('n1', 2, { instance_id: 'i-1' })]);
    const before = a.stats();
    await a.saveObserved([node('n1', 3)]);
    const after = a.stats();
    expect(after.seenRows).toBe(before.seenRows);
    expect(after.observedStatements).toBe(before.observedStatements + 1);
    expect((await a.load()).observed[0]).toMatchObject({ last_seq: 3, last_seen: at(3) });

    // A row deleted meanwhile (forgotten elsewhere) is written again whole, not lost.
    await b.deleteObserved('n1');
    await a.saveObserved([node('n1', 4)]);
    expect((await a.load()).observed[0]).toMatchObject({ last_seq: 4 });
  });
});
