/**
 * PostgreSQL fleet store: observed-state write throughput through `PostgresFleetStore.saveObserved`
 * (batched upserts, as a control-plane replica flushes them) next to two same-run baselines: raw
 * `pg` single-row upserts of the same rows into the same table, and the in-memory store. Also the
 * change-feed latency between two replicas (setDesired on one → delivered on the other) next to a
 * bare `NOTIFY` → `LISTEN` round trip.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MemoryFleetStore, type ObservedNode } from '@plumbline/core/drift';
import { PostgresFleetStore } from '@plumbline/postgres';
import { median, quantile, report } from './lib/report.js';

const URL = process.env['PLUMBLINE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const NODES = 20_000;
const FLUSH = 1_000;
const ROUNDS = 3;
const SINGLE_ROWS = 2_000;
const FEED_CHANGES = 100;
const H = `sha256:${'a'.repeat(64)}` as const;

function node(i: number, seq: number): ObservedNode {
  return {
    node_id: `gw-${i}`,
    cluster: `cluster-${i % 10}`,
    instance_id: `6f1c2a9e-8f57-4d5e-9a64-${String(i).padStart(12, '0')}`,
    reported_hash: H,
    workers: null,
    provenance: { commit: 'c'.repeat(40), builder: { id: 'ci', version: '1' } },
    loaded_at: '2026-01-01T00:00:00.000Z',
    last_load_error: null,
    last_seen: new Date(Date.UTC(2026, 0, 1) + seq * 5000).toISOString(),
    last_seq: seq,
  };
}

async function storeRate(
  save: (batch: ObservedNode[]) => Promise<void>,
  count: number,
): Promise<number> {
  const rates: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < count; i += FLUSH) {
      const batch: ObservedNode[] = [];
      for (let j = i; j < Math.min(count, i + FLUSH); j++) batch.push(node(j, round));
      await save(batch);
    }
    rates.push(count / ((performance.now() - start) / 1000));
  }
  return median(rates);
}

export async function run(): Promise<void> {
  const schema = `plbbench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  const stores: PostgresFleetStore[] = [];
  try {
    const store = await PostgresFleetStore.open({ connectionString: URL, schema, sweep: false });
    stores.push(store);
    const ours = await storeRate((b) => store.saveObserved(b), NODES);
    const stats = store.stats();

    // Baseline: the same rows, one INSERT … ON CONFLICT per row, on one raw pg connection.
    const raw = new pg.Client({ connectionString: URL });
    await raw.connect();
    const single = await storeRate(async (batch) => {
      for (const n of batch) {
        await raw.query(
          `INSERT INTO "${schema}".observed (node_id, cluster, data, owner, last_seen)
           VALUES ($1, $2, $3, 'raw', $4)
           ON CONFLICT (node_id) DO UPDATE SET cluster = EXCLUDED.cluster, data = EXCLUDED.data,
             owner = EXCLUDED.owner, last_seen = EXCLUDED.last_seen, updated_at = now()`,
          [n.node_id, n.cluster, JSON.stringify(n), n.last_seen],
        );
      }
    }, SINGLE_ROWS);
    await raw.end();

    const memory = new MemoryFleetStore();
    const mem = await storeRate((b) => memory.saveObserved(b), NODES);
    await memory.close();

    report({
      name: `observed-state rows/s, ${NODES.toLocaleString('en')} nodes in flushes of ${FLUSH}`,
      value: ours,
      unit: 'rows/s',
      baseline: { name: 'raw pg single-row upserts', value: single },
      higherIsBetter: true,
      target: '>= 10x single-row upserts',
      met: ours >= 10 * single,
    });
    report({
      name: 'observed-state rows/s (same run)',
      value: ours,
      unit: 'rows/s',
      baseline: { name: 'MemoryFleetStore', value: mem },
      higherIsBetter: true,
    });
    report({
      name: 'batching ratio (updates per statement)',
      value: stats.observedUpdates / stats.observedStatements,
      unit: 'rows/stmt',
      baseline: { name: 'single-row upserts', value: 1 },
      higherIsBetter: true,
    });
    report({
      name: 'upsert statements/s for 30,000 nodes each changing every 5 s',
      value: 30_000 / 5 / (stats.observedUpdates / stats.observedStatements),
      unit: 'stmt/s',
      baseline: { name: 'single-row upserts', value: 30_000 / 5 },
      higherIsBetter: false,
    });

    // Change feed: setDesired on one replica until the other replica's listener sees it.
    const other = await PostgresFleetStore.open({ connectionString: URL, schema, sweep: false });
    stores.push(other);
    let resolveSeen: (() => void) | null = null;
    other.subscribe(() => resolveSeen?.());
    const feed: number[] = [];
    for (let i = 0; i < FEED_CHANGES; i++) {
      const seen = new Promise<void>((resolve) => (resolveSeen = resolve));
      const start = performance.now();
      await store.setDesired({
        cluster: 'prod',
        artifact_hash: H,
        actor: 'bench',
        reason: `change ${i}`,
        changed_at: new Date().toISOString(),
        rollout: null,
      });
      await seen;
      feed.push(performance.now() - start);
    }
    const listener = new pg.Client({ connectionString: URL });
    const sender = new pg.Client({ connectionString: URL });
    await listener.connect();
    await sender.connect();
    await listener.query('LISTEN plbbench');
    const bare: number[] = [];
    for (let i = 0; i < FEED_CHANGES; i++) {
      const seen = new Promise<void>((resolve) => listener.once('notification', () => resolve()));
      const start = performance.now();
      await sender.query(`NOTIFY plbbench, '${i}'`);
      await seen;
      bare.push(performance.now() - start);
    }
    await listener.end();
    await sender.end();
    report({
      name: 'desired-state change reaching another replica, p50',
      value: median(feed),
      unit: 'ms',
      baseline: { name: 'bare NOTIFY → LISTEN', value: median(bare) },
      higherIsBetter: false,
    });
    report({
      name: 'desired-state change reaching another replica, p99',
      value: quantile(feed, 0.99),
      unit: 'ms',
      baseline: { name: 'bare NOTIFY → LISTEN', value: quantile(bare, 0.99) },
      higherIsBetter: false,
    });
  } finally {
    for (const store of stores) await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}
