import { afterAll, describe, expect, it } from 'vitest';
import { FleetMonitor } from '@plumbline/core/drift';
import { MIGRATIONS, PostgresFleetStore, SCHEMA_VERSION, migrate } from '../src/index.js';
import { isConnectionError } from '../src/store.js';
import { Client } from '../src/pg.js';
import { PG_URL, dropSchema, freshSchemaName } from './helpers.js';

const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

function fresh(): string {
  const schema = freshSchemaName();
  schemas.push(schema);
  return schema;
}

async function sql(text: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe('migrate', () => {
  it('applies every migration once, also when several replicas migrate at the same time', async () => {
    const schema = fresh();
    const results = await Promise.all(
      [1, 2, 3].map(() => migrate({ connectionString: PG_URL, schema })),
    );
    expect(results.flatMap((r) => r.applied)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(results.every((r) => r.to === SCHEMA_VERSION)).toBe(true);
    const again = await migrate({ connectionString: PG_URL, schema });
    expect(again).toEqual({ schema, from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
  });

  it('refuses a schema migrated by a newer version', async () => {
    const schema = fresh();
    await migrate({ connectionString: PG_URL, schema });
    await sql(
      `INSERT INTO "${schema}".schema_migrations (version, name) VALUES (${SCHEMA_VERSION + 1}, 'future')`,
    );
    await expect(migrate({ connectionString: PG_URL, schema })).rejects.toMatchObject({
      code: 'PLB_PG_SCHEMA',
    });
  });

  it('migrates a version-2 schema to the live-configuration column: earlier rows load without a report', async () => {
    const schema = fresh();
    await sql(`CREATE SCHEMA "${schema}"`);
    await sql(
      `CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    for (const migration of MIGRATIONS.filter((m) => m.version <= 2)) {
      for (const statement of migration.statements)
        await sql(statement.replaceAll('{schema}', `"${schema}"`));
      await sql(
        `INSERT INTO "${schema}".schema_migrations (version, name) VALUES (${migration.version}, 'v')`,
      );
    }
    const old = {
      node_id: 'n1',
      cluster: 'prod',
      instance_id: 'i',
      reported_hash: null,
      workers: null,
      provenance: null,
      loaded_at: null,
      last_load_error: null,
      last_seen: '2026-01-01T00:00:00.000Z',
      last_seq: 3,
    };
    await sql(
      `INSERT INTO "${schema}".observed (node_id, cluster, data, owner, last_seen, rev)
       VALUES ('n1', 'prod', '${JSON.stringify(old)}', 'gone', '2026-01-01T00:00:00Z', 1)`,
    );
    const result = await migrate({ connectionString: PG_URL, schema });
    expect(result).toMatchObject({ from: 2, applied: [3, 4, 5] });
    const store = await PostgresFleetStore.open({ connectionString: PG_URL, schema, sweep: false });
    try {
      expect((await store.load()).observed).toEqual([old]);
      const monitor = await FleetMonitor.create({ store });
      expect(monitor.node('n1')).toMatchObject({ state: 'disconnected', live_config: null });
      await monitor.close();
      const live = {
        probe: 'nginx',
        status: 'reload_pending',
        digest: null,
        expected_digest: null,
        at: '2026-01-01T00:00:00.000Z',
      } as const;
      await store.saveObserved([
        { ...old, live },
        { ...old, node_id: 'n2', live: null },
      ]);
      expect((await store.load()).observed).toEqual([
        { ...old, live },
        { ...old, node_id: 'n2', live: null },
      ]);
    } finally {
      await store.close();
    }
  });

  it('refuses bad schema names and unreachable servers with coded errors', async () => {
    for (const name of ['', 'Upper', '1abc', 'a-b', 'x'.repeat(41), 'a"; DROP TABLE x; --']) {
      await expect(migrate({ connectionString: PG_URL, schema: name })).rejects.toMatchObject({
        code: 'PLB_PG_OPTIONS',
      });
    }
    await expect(
      migrate({ connectionString: 'postgres://postgres@127.0.0.1:1/test' }),
    ).rejects.toMatchObject({ code: 'PLB_PG_UNAVAILABLE' });
  });
});

describe('PostgresFleetStore.open', () => {
  it('without migrate: refuses a schema without tables', async () => {
    const schema = fresh();
    await expect(
      PostgresFleetStore.open({ connectionString: PG_URL, schema, migrate: false }),
    ).rejects.toMatchObject({ code: 'PLB_PG_SCHEMA' });
    await migrate({ connectionString: PG_URL, schema });
    const store = await PostgresFleetStore.open({
      connectionString: PG_URL,
      schema,
      migrate: false,
      sweep: false,
    });
    expect((await store.load()).revision).toBe(0);
    await store.close();
  });

  it('validates its options', async () => {
    for (const bad of [
      { maxBatchRows: 0 },
      { maxBufferedNodes: -1 },
      { poolSize: 1.5 },
      { replicaId: '' },
      { schema: 'Bad' },
    ]) {
      await expect(
        PostgresFleetStore.open({ connectionString: PG_URL, ...bad }),
      ).rejects.toMatchObject({ code: 'PLB_PG_OPTIONS' });
    }
  });

  it('reports an unreachable server as PLB_PG_UNAVAILABLE', async () => {
    await expect(
      PostgresFleetStore.open({ connectionString: 'postgres://postgres@127.0.0.1:1/test' }),
    ).rejects.toMatchObject({ code: 'PLB_PG_UNAVAILABLE' });
  });

  it('writes observed state in batches of maxBatchRows and records the batching ratio', async () => {
    const schema = fresh();
    const store = await PostgresFleetStore.open({
      connectionString: PG_URL,
      schema,
      sweep: false,
      maxBatchRows: 100,
    });
    const nodes = Array.from({ length: 250 }, (_, i) => ({
      node_id: `n${i}`,
      cluster: 'prod',
      instance_id: 'i',
      reported_hash: null,
      workers: null,
      provenance: null,
      loaded_at: null,
      last_load_error: null,
      last_seen: '2026-01-01T00:00:00.000Z',
      last_seq: i,
    }));
    await store.saveObserved([...nodes, { ...nodes[0]!, last_seq: 999 }]);
    const stats = store.stats();
    expect(stats.observedStatements).toBe(3);
    expect(stats.observedRows).toBe(250);
    expect(stats.observedUpdates).toBe(251);
    const snapshot = await store.load();
    expect(snapshot.observed).toHaveLength(250);
    expect(snapshot.observed.find((o) => o.node_id === 'n0')?.last_seq).toBe(999);
    await store.deleteObserved('n0');
    expect((await store.load()).observed).toHaveLength(249);
    await store.close();
    await expect(store.saveObserved(nodes)).rejects.toMatchObject({ code: 'PLB_STORE_CLOSED' });
    await expect(store.deleteObserved('n1')).rejects.toMatchObject({ code: 'PLB_STORE_CLOSED' });
  });
});

describe('isConnectionError', () => {
  it('tells connection failures from query errors', () => {
    expect(isConnectionError({ code: '08006' })).toBe(true);
    expect(isConnectionError({ code: '57P01' })).toBe(true);
    expect(isConnectionError({ code: 'ECONNREFUSED' })).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError({ code: '23505' })).toBe(false);
    expect(isConnectionError(new Error('syntax error'))).toBe(false);
    expect(isConnectionError(null)).toBe(false);
    expect(isConnectionError('text')).toBe(false);
  });
});
