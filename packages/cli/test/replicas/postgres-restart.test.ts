/**
 * PostgreSQL itself stopped (`pg_ctl stop -m fast`) and started again under three live
 * `plumbline control-plane --store postgres://…` processes — on a private PostgreSQL 15 server,
 * never the shared one. While it is away, for longer than a replica's silence timeout, the nodes
 * keep heartbeating, one starts drifting and one disconnects. After it is back: every replica
 * shows every node alike, each fact from before, during and after the outage is alerted exactly
 * once, and nothing reported meanwhile is lost. `/healthz` stays 200 throughout (the replicas
 * serve their nodes from memory); configuration writes are refused with `PLB_PG_UNAVAILABLE`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivatePostgres, type PrivatePostgres } from '@plumbline/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type Delivery } from '../fleet/webhook-receiver.js';
import {
  H1,
  H2,
  H3,
  WEBHOOK_SECRET,
  adminGet,
  allLogged,
  auditLines,
  converged,
  fleetCheck,
  fleetOf,
  loggedAlerts,
  migrate,
  nodeOf,
  psql,
  putAdmin,
  report,
  startBalancer,
  startNode,
  startReplica,
  stateGauges,
  stopReplica,
  until,
  writeSecrets,
  type Node,
  type Replica,
  deliveriesOf,
} from './harness.js';

const NODES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];

describe('PostgreSQL restarted under three control-plane replicas (a private server)', () => {
  let dir: string;
  let pg: PrivatePostgres;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const replicas: Replica[] = [];
  const nodes = new Map<string, Node>();
  const held = new Set<string>();
  const balancers: Awaited<ReturnType<typeof startBalancer>>[] = [];
  const balancerOf = new Map<string, string>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-pg-restart-'));
    pg = await createPrivatePostgres();
    await writeSecrets(dir, NODES);
    await migrate(pg.url);
    hook = await startWebhookReceiver(WEBHOOK_SECRET);
    for (const name of ['a', 'b', 'c']) {
      // A node is stale only after 10 s of silence: a loaded machine delaying heartbeats must
      // not make nodes flap (this test is about PostgreSQL going away, not nodes).
      replicas.push(
        await startReplica({
          name,
          dir,
          store: pg.url,
          webhook: hook.url,
          config: { 'stale-after': 20 },
        }),
      );
    }
    const [a] = replicas as [Replica];
    expect(
      (await putAdmin(a, '/v1/clusters/prod/desired', { artifact_hash: H1, reason: 'r1' })).status,
    ).toBe(200);
    // Node n<i> is held by replica i % 3 (a: n0, n3; b: n1, n4; c: n2, n5).
    for (const [i, id] of NODES.entries()) {
      const order = [0, 1, 2].map((k) => replicas[(i + k) % 3]!.ws);
      const balancer = await startBalancer(() => (held.has(id) ? [] : order));
      balancers.push(balancer);
      balancerOf.set(id, balancer.url);
      nodes.set(id, startNode(id, balancer.url, H1));
    }
    for (const id of NODES) await converged(replicas, id, 'in_sync');
  }, 90_000);

  afterAll(async () => {
    for (const n of nodes.values()) await n.client.close();
    for (const b of balancers) await b.close();
    for (const r of replicas) await stopReplica(r, 'SIGKILL');
    await hook?.close();
    await pg?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const deliveries = (type?: string, node?: string): Delivery[] =>
    deliveriesOf(hook.deliveries, type, node);

  /** The fact reached the receiver once, under the one id the replicas logged for it. */
  async function exactlyOnce(type: string, node?: string): Promise<void> {
    await until(() => deliveries(type, node).length > 0, `webhook ${type} ${node ?? ''}`, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(deliveries(type, node), `${type} ${node ?? ''}`).toHaveLength(1);
    expect(allLogged(replicas, type, node).map((l) => l.id)).toEqual([
      deliveries(type, node)[0]!.body['id'],
    ]);
  }

  const setHash = (id: string, hash: Node['hash']): void => {
    const n = nodes.get(id)!;
    n.hash = hash;
    report(n);
  };

  /** Every replica's `GET /v1/fleet` gives the same state and reported hash for every node. */
  async function sameFleet(): Promise<Record<string, string>> {
    const view = async (r: Replica): Promise<Record<string, string>> =>
      Object.fromEntries(
        (await fleetOf(r)).nodes.map((n) => [n.node_id, `${n.state} ${n.reported_hash}`]),
      );
    return await until(
      async () => {
        const views = await Promise.all(replicas.map(view));
        const first = JSON.stringify(views[0]);
        return views.every((v) => JSON.stringify(v) === first) && views[0]!;
      },
      'every replica giving the same fleet',
      30_000,
    );
  }

  it('before the restart: a desired-state change and a drift, each alerted once', async () => {
    const [a, b] = replicas as [Replica, Replica];
    expect(
      (
        await putAdmin(b, '/v1/clusters/prod/desired', {
          artifact_hash: H2,
          reason: 'before the restart',
          deadline_seconds: 60,
        })
      ).status,
    ).toBe(200);
    await converged(replicas, 'n0', 'pending');
    for (const id of NODES) setHash(id, H2);
    for (const id of NODES) await converged(replicas, id, 'in_sync');
    await exactlyOnce('rollout.completed');
    setHash('n0', H3);
    await converged(replicas, 'n0', 'drift');
    await exactlyOnce('drift.detected', 'n0');
    expect(deliveries('desired_state.changed')).toHaveLength(2);
    expect(loggedAlerts(a).some((l) => l.type === 'drift.detected' && l.node_id === 'n0')).toBe(
      true,
    );
  }, 90_000);

  it('PostgreSQL stopped and started: what the replicas saw meanwhile reaches every replica, alerted once', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const before = hook.deliveries.length;
    await pg.stop();
    const stoppedAt = Date.now();

    // The replicas keep serving their nodes from memory; configuration writes are refused.
    for (const r of replicas) expect((await adminGet(r, '/healthz')).status).toBe(200);
    const refused = await putAdmin(a, '/v1/clusters/prod/desired', {
      artifact_hash: H3,
      reason: 'during the outage',
    });
    expect(refused.status).not.toBe(200);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      'PLB_PG_UNAVAILABLE',
    );

    // n1 (on b) drifts; n2 (on c) goes away and cannot come back while PostgreSQL is down.
    setHash('n1', H3);
    held.add('n2');
    await nodes.get('n2')!.client.close();
    await until(async () => (await nodeOf(b, 'n1'))?.state === 'drift', 'n1 drift on b');
    await until(
      async () => (await nodeOf(c, 'n2'))?.state === 'disconnected',
      'n2 disconnected on c',
    );
    // The replica holding each node alerts it at once, from memory.
    await until(() => deliveries('drift.detected', 'n1').length > 0, 'drift.detected n1');
    await until(() => deliveries('node.disconnected', 'n2').length > 0, 'node.disconnected n2');
    // The others cannot know yet.
    expect((await nodeOf(a, 'n1'))?.state).toBe('in_sync');
    expect((await nodeOf(a, 'n2'))?.state).toBe('in_sync');
    // A few heartbeat intervals of live nodes heartbeating while PostgreSQL is away.
    const seenBefore = (await nodeOf(a, 'n3'))!.last_seen!;
    await new Promise((r) => setTimeout(r, 2000));
    // Their replica still takes their heartbeats.
    expect(Date.parse((await nodeOf(a, 'n3'))!.last_seen!)).toBeGreaterThan(Date.parse(seenBefore));
    for (const r of replicas) expect((await adminGet(r, '/healthz')).status).toBe(200);
    expect(
      hook.deliveries
        .slice(before)
        .map((d) => `${d.type} ${d.body['node_id']}`)
        .sort(),
    ).toEqual(['drift.detected n1', 'node.disconnected n2']);

    // Away longer than a replica's silence timeout (the store's `replicaTimeoutMs`, 15 s): the
    // first sweep after the restart must not take the live replicas for dead.
    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + 16_000 - Date.now())));
    await pg.start();
    await until(
      () =>
        Number(
          psql(
            `SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('plb-a', 'plb-b', 'plb-c')`,
            pg.url,
          ),
        ) >= 3,
      'the replicas reconnected',
      30_000,
    );
    for (const id of ['n1', 'n0']) {
      const docs = await converged(replicas, id, 'drift');
      for (const d of docs) expect(d.reported_hash).toBe(H3);
    }
    await converged(replicas, 'n2', 'disconnected');
    for (const id of ['n3', 'n4', 'n5']) await converged(replicas, id, 'in_sync');
    expect(await sameFleet()).toEqual({
      n0: `drift ${H3}`,
      n1: `drift ${H3}`,
      n2: `disconnected ${H2}`,
      n3: `in_sync ${H2}`,
      n4: `in_sync ${H2}`,
      n5: `in_sync ${H2}`,
    });
    // Configuration writes work again, and reach every replica.
    expect(
      (await putAdmin(c, '/v1/clusters/prod/desired', { artifact_hash: H2, reason: 'after' }))
        .status,
    ).toBe(200);
    await exactlyOnce('drift.detected', 'n1');
    await exactlyOnce('node.disconnected', 'n2');
    await exactlyOnce('drift.detected', 'n0');
    expect(deliveries('desired_state.changed')).toHaveLength(3);
    expect(deliveries('rollout.completed')).toHaveLength(1);
    expect(deliveries('node.never_seen')).toEqual([]);

    // Every replica and `plumbline fleet --check` against each give the same answer.
    const gauges = await Promise.all(replicas.map(stateGauges));
    for (const g of gauges) expect(g).toEqual({ drift: 2, disconnected: 1, in_sync: 3 });
    const checks = await Promise.all(replicas.map((r) => fleetCheck(r, dir)));
    for (const check of checks) {
      expect(check.code).toBe(1);
      expect(check.nodes.map((n) => `${n.node_id} ${n.state}`).sort()).toEqual([
        'n0 drift',
        'n1 drift',
        'n2 disconnected',
        'n3 in_sync',
        'n4 in_sync',
        'n5 in_sync',
      ]);
    }
  }, 90_000);

  it('after the restart: the drift resolves and the node comes back, each alerted once', async () => {
    setHash('n1', H2);
    setHash('n0', H2);
    // n2's gateway starts again: a new process, so a new instance id (its `seq` starts over).
    held.delete('n2');
    nodes.set('n2', startNode('n2', balancerOf.get('n2')!, H2, 'inst-n2-restarted'));
    for (const id of NODES) await converged(replicas, id, 'in_sync');
    await exactlyOnce('drift.resolved', 'n1');
    await exactlyOnce('drift.resolved', 'n0');
    for (const r of replicas)
      expect((await nodeOf(r, 'n2'))?.instance_id).toBe('inst-n2-restarted');
    expect(await sameFleet()).toEqual(Object.fromEntries(NODES.map((id) => [id, `in_sync ${H2}`])));
    // Nothing else was ever alerted: no live node taken for disconnected, never seen or stale.
    expect(
      hook.deliveries.map((d) => `${d.type} ${(d.body['node_id'] as string) ?? ''}`).sort(),
    ).toEqual([
      'desired_state.changed ',
      'desired_state.changed ',
      'desired_state.changed ',
      'drift.detected n0',
      'drift.detected n1',
      'drift.resolved n0',
      'drift.resolved n1',
      'node.disconnected n2',
      'rollout.completed ',
    ]);
  }, 90_000);

  it('every alert any replica sent reached the receiver once, under the id it logged; nothing was dropped', async () => {
    const ids = hook.deliveries.map((d) => d.body['id'] as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(hook.deliveries.every((d) => d.verified)).toBe(true);
    const logged = replicas.flatMap(loggedAlerts).map((l) => l.id);
    expect([...logged].sort()).toEqual([...ids].sort());
    for (const r of replicas) {
      const audit = await auditLines(r);
      expect(audit.length).toBeGreaterThan(0);
      expect(audit.filter((e) => e.type === 'fleet.observed_dropped')).toEqual([]);
    }
  });
});
