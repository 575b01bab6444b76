/**
 * PostgreSQL connections cut under three live replica processes: every replica's backends
 * terminated (`pg_terminate_backend`), and a TCP proxy between one replica and PostgreSQL killed
 * and restarted while that replica's nodes change. After each: no alert lost, none doubled, every
 * replica converges, and what the cut-off replica saw reaches the others.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type Delivery } from '../fleet/webhook-receiver.js';
import {
  H1,
  H2,
  H3,
  WEBHOOK_SECRET,
  allLogged,
  backendsOf,
  converged,
  createDatabase,
  loggedAlerts,
  migrate,
  nodeOf,
  psql,
  putAdmin,
  report,
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
  deliveriesOf,
} from './harness.js';

const NODES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];

describe('PostgreSQL connections cut under three control-plane replicas', () => {
  let dir: string;
  let db: ReturnType<typeof createDatabase>;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let proxy: Awaited<ReturnType<typeof startPgProxy>>;
  const replicas: Replica[] = [];
  const nodes = new Map<string, Node>();
  const balancers: Awaited<ReturnType<typeof startBalancer>>[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-pg-faults-'));
    db = createDatabase();
    await writeSecrets(dir, NODES);
    await migrate(db.url);
    hook = await startWebhookReceiver(WEBHOOK_SECRET);
    proxy = await startPgProxy(db.url);
    // Replica c reaches PostgreSQL through the proxy.
    for (const [name, store] of [
      ['a', db.url],
      ['b', db.url],
      ['c', proxy.url],
    ] as const) {
      // A node is stale only after 10 s of silence: a loaded machine delaying heartbeats must not
      // make nodes stale and then flapping, which holds back their alerts (this test is about
      // PostgreSQL faults, not nodes), as in postgres-restart.test.ts.
      replicas.push(
        await startReplica({ name, dir, store, webhook: hook.url, config: { 'stale-after': 20 } }),
      );
    }
    const [a] = replicas as [Replica];
    expect(
      (await putAdmin(a, '/v1/clusters/prod/desired', { artifact_hash: H1, reason: 'r1' })).status,
    ).toBe(200);
    for (const [i, id] of NODES.entries()) {
      const order = [0, 1, 2].map((k) => replicas[(i + k) % 3]!.ws);
      const balancer = await startBalancer(() => order);
      balancers.push(balancer);
      nodes.set(id, startNode(id, balancer.url, H1));
    }
    for (const id of NODES) await converged(replicas, id, 'in_sync');
  }, 90_000);

  afterAll(async () => {
    for (const n of nodes.values()) await n.client.close();
    for (const b of balancers) await b.close();
    for (const r of replicas) await stopReplica(r, 'SIGKILL');
    await proxy?.close();
    await hook?.close();
    db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const deliveries = (type?: string, node?: string): Delivery[] =>
    deliveriesOf(hook.deliveries, type, node);

  async function exactlyOnce(type: string, node?: string): Promise<void> {
    await until(() => deliveries(type, node).length > 0, `webhook ${type} ${node ?? ''}`);
    await new Promise((r) => setTimeout(r, 1500));
    expect(deliveries(type, node), `${type} ${node ?? ''}`).toHaveLength(1);
    expect(allLogged(replicas, type, node).map((l) => l.id)).toEqual([
      deliveries(type, node)[0]!.body['id'],
    ]);
  }

  it('every backend of every replica terminated: they reconnect, the feed and the sweep resume, alerts stay single', async () => {
    const [a, , c] = replicas as [Replica, Replica, Replica];
    const pids = replicas.flatMap((r) => backendsOf(db.name, r.name));
    expect(pids.length).toBeGreaterThanOrEqual(replicas.length);
    psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (${pids.join(',')})`);
    // A node of a drifts at once, while the replicas reconnect.
    const n0 = nodes.get('n0')!;
    n0.hash = H2;
    report(n0);
    await converged(replicas, 'n0', 'drift');
    await exactlyOnce('drift.detected', 'n0');
    for (const r of replicas) {
      await until(() => backendsOf(db.name, r.name).length > 0, `${r.name} reconnected`);
    }
    await until(() => sweepLeader(db.name), 'a sweep leader again', 30_000);

    // The change feed works again on every replica: a rollout set on c reaches every node.
    expect(
      (
        await putAdmin(c, '/v1/clusters/prod/desired', {
          artifact_hash: H2,
          reason: 'after the cut',
          deadline_seconds: 60,
        })
      ).status,
    ).toBe(200);
    await converged(replicas, 'n1', 'pending');
    for (const id of NODES) {
      const n = nodes.get(id)!;
      n.hash = H2;
      report(n);
    }
    for (const id of NODES) await converged(replicas, id, 'in_sync');
    await exactlyOnce('rollout.completed');
    await exactlyOnce('drift.resolved', 'n0');
    expect(deliveries('desired_state.changed')).toHaveLength(2);
    expect(loggedAlerts(a).some((l) => l.type === 'drift.detected' && l.node_id === 'n0')).toBe(
      true,
    );
  }, 90_000);

  it('the proxy in front of one replica killed and restarted: what it saw meanwhile reaches the others, alerted once', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    // c holds n2 and n5.
    await proxy.cut();
    await until(() => backendsOf(db.name, 'c').length === 0, 'c cut off');
    for (const id of ['n2', 'n5']) {
      const n = nodes.get(id)!;
      n.hash = H3;
      report(n);
    }
    // c sees and alerts the drifts from memory; its configuration writes are refused meanwhile.
    for (const id of ['n2', 'n5']) {
      await until(async () => (await nodeOf(c, id))?.state === 'drift', `${id} drift on c`);
    }
    const refused = await putAdmin(c, '/v1/clusters/prod/desired', {
      artifact_hash: H3,
      reason: 'during the outage',
    });
    // A store away for now: 503, and when to try again.
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      'PLB_PG_UNAVAILABLE',
    );
    // a and b cannot know yet.
    for (const r of [a, b]) expect((await nodeOf(r, 'n2'))?.state).toBe('in_sync');

    await proxy.restore();
    for (const id of ['n2', 'n5']) {
      const docs = await converged(replicas, id, 'drift');
      for (const d of docs) expect(d.reported_hash).toBe(H3);
    }
    await exactlyOnce('drift.detected', 'n2');
    await exactlyOnce('drift.detected', 'n5');
    expect(deliveries('node.disconnected')).toEqual([]);

    for (const id of ['n2', 'n5']) {
      const n = nodes.get(id)!;
      n.hash = H2;
      report(n);
    }
    for (const id of ['n2', 'n5']) await converged(replicas, id, 'in_sync');
    await exactlyOnce('drift.resolved', 'n2');
    await exactlyOnce('drift.resolved', 'n5');
  }, 90_000);

  it('every alert any replica sent reached the receiver once, under the id it logged', () => {
    const ids = hook.deliveries.map((d) => d.body['id'] as string);
    expect(new Set(ids).size).toBe(ids.length);
    const logged = replicas.flatMap(loggedAlerts).map((a) => a.id);
    expect(new Set(logged).size).toBe(logged.length);
    expect([...logged].sort()).toEqual([...ids].sort());
  });
});
