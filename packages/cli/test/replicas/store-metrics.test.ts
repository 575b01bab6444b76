/**
 * A shared store's state in each replica's `/metrics`: which replica leads the sweep (one, and it
 * moves when the leader is SIGKILLed), whether PostgreSQL is reachable, the observed state
 * buffered while it is not, and what was dropped. Real `plumbline control-plane` processes on the
 * real PostgreSQL, one of them reaching it through a TCP proxy that can be cut.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  H1,
  adminGet,
  backendsOf,
  converged,
  createDatabase,
  migrate,
  putAdmin,
  startBalancer,
  startNode,
  startPgProxy,
  startReplica,
  stopReplica,
  sweepLeader,
  until,
  writeSecrets,
  type Node,
  type Replica,
} from './harness.js';

const NODES = ['m0', 'm1'];
/** Fast store timings (flags in the config file) so the leadership moves within seconds. */
const TIMINGS = { 'replica-timeout': '3s', 'sweep-interval': '300ms' };

/** The unlabelled samples of a replica's `/metrics`, by name. */
async function samples(replica: Replica): Promise<Record<string, number>> {
  const res = await adminGet(replica, '/metrics');
  expect(res.status).toBe(200);
  const out: Record<string, number> = {};
  for (const m of (await res.text()).matchAll(/^([a-z_]+) (\S+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('the shared store in /metrics', () => {
  let dir: string;
  let db: ReturnType<typeof createDatabase>;
  let proxy: Awaited<ReturnType<typeof startPgProxy>>;
  const replicas: Replica[] = [];
  const nodes: Node[] = [];
  const balancers: Awaited<ReturnType<typeof startBalancer>>[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-store-metrics-'));
    db = createDatabase();
    await writeSecrets(dir, NODES);
    await migrate(db.url);
    proxy = await startPgProxy(db.url);
    // Replica b reaches PostgreSQL through the proxy; each node is held by one replica.
    for (const [name, store] of [
      ['a', db.url],
      ['b', proxy.url],
    ] as const) {
      replicas.push(await startReplica({ name, dir, store, config: TIMINGS }));
    }
    expect(
      (
        await putAdmin(replicas[0]!, '/v1/clusters/prod/desired', {
          artifact_hash: H1,
          reason: 'm',
        })
      ).status,
    ).toBe(200);
    for (const [i, id] of NODES.entries()) {
      const balancer = await startBalancer(() => [replicas[i]!.ws]);
      balancers.push(balancer);
      nodes.push(startNode(id, balancer.url, H1));
    }
    for (const id of NODES) await converged(replicas, id, 'in_sync');
  }, 90_000);

  afterAll(async () => {
    for (const n of nodes) await n.client.close();
    for (const b of balancers) await b.close();
    for (const r of replicas) await stopReplica(r, 'SIGKILL');
    await proxy?.close();
    db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('while PostgreSQL is cut off, the replica shows it unreachable and its observed state buffered; nothing dropped', async () => {
    const b = replicas[1]!;
    const before = await samples(b);
    expect(before['plumbline_store_connected']).toBe(1);
    expect(before['plumbline_store_observed_buffered']).toBe(0);
    expect(before['plumbline_fleet_observed_dropped_total']).toBe(0);
    await proxy.cut();
    await until(() => backendsOf(db.name, 'b').length === 0, 'b cut off');
    // b's node keeps heartbeating; its observed state waits for PostgreSQL.
    const away = await until(async () => {
      const s = await samples(b);
      return s['plumbline_store_connected'] === 0 && s['plumbline_store_observed_buffered']! > 0
        ? s
        : undefined;
    }, 'b unreachable with observed state buffered');
    expect(away['plumbline_store_sweep_leader']).toBe(0);
    expect((await samples(replicas[0]!))['plumbline_store_connected']).toBe(1);

    await proxy.restore();
    const back = await until(async () => {
      const s = await samples(b);
      return s['plumbline_store_connected'] === 1 && s['plumbline_store_observed_buffered'] === 0
        ? s
        : undefined;
    }, 'b reconnected, its buffer written');
    expect(back['plumbline_fleet_observed_dropped_total']).toBe(0);
  }, 60_000);

  it('exactly one replica is the sweep leader, the one holding the lock; SIGKILL moves it', async () => {
    const leaders = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const r of replicas) {
        if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
        if ((await samples(r))['plumbline_store_sweep_leader'] === 1) out.push(r.name);
      }
      return out;
    };
    const first = await until(async () => {
      const names = await leaders();
      const locked = sweepLeader(db.name);
      return names.length === 1 && names[0] === locked ? locked : undefined;
    }, 'one leader in /metrics, the lock holder');
    for (const r of replicas) {
      expect(Object.keys(await samples(r))).toEqual(
        expect.arrayContaining(['plumbline_store_sweep_leader', 'plumbline_store_connected']),
      );
    }
    const victim = replicas.find((r) => r.name === first)!;
    const survivor = replicas.find((r) => r.name !== first)!;
    await stopReplica(victim, 'SIGKILL');
    await until(async () => {
      const names = await leaders();
      return names.length === 1 && names[0] === survivor.name && sweepLeader(db.name) === names[0];
    }, 'the survivor leads');
  }, 60_000);
});
