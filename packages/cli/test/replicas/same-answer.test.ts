/**
 * Three `plumbline control-plane --store postgres://…` processes on one database, nodes spread
 * over them through per-node balancers, every replica with `--webhook` to one real receiver and an
 * audit trail of its own: every replica gives the same answer, and each fact is alerted once
 * fleet-wide with one event id on every path.
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
  auditLines,
  converged,
  createDatabase,
  fleetCheck,
  fleetOf,
  loggedAlerts,
  migrate,
  nodeOf,
  putAdmin,
  readEvents,
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
  type SseReader,
  deliveriesOf,
} from './harness.js';

const NODES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];

describe('three control-plane replicas on one PostgreSQL: one answer, one alert per fact', () => {
  let dir: string;
  let db: ReturnType<typeof createDatabase>;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const replicas: Replica[] = [];
  const nodes = new Map<string, Node>();
  const balancers: Awaited<ReturnType<typeof startBalancer>>[] = [];
  const streams: SseReader[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-replicas-'));
    db = createDatabase();
    await writeSecrets(dir, NODES);
    await migrate(db.url);
    hook = await startWebhookReceiver(WEBHOOK_SECRET);
    for (const name of ['a', 'b', 'c']) {
      replicas.push(await startReplica({ name, dir, store: db.url, webhook: hook.url }));
    }
    for (const r of replicas) streams.push(await readEvents(r));
  }, 90_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    for (const n of nodes.values()) await n.client.close();
    for (const b of balancers) await b.close();
    for (const r of replicas) await stopReplica(r, 'SIGKILL');
    await hook?.close();
    db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Node `n<i>` connects through a balancer preferring replica `i % 3`, then the next ones. */
  async function connectNodes(hash: Node['hash']): Promise<void> {
    for (const [i, id] of NODES.entries()) {
      const order = [0, 1, 2].map((k) => replicas[(i + k) % 3]!.ws);
      const balancer = await startBalancer(() => order);
      balancers.push(balancer);
      nodes.set(id, startNode(id, balancer.url, hash));
    }
  }

  const deliveries = (type?: string, node?: string): Delivery[] =>
    deliveriesOf(hook.deliveries, type, node);

  /** Waits for the one delivery of a fact, then lets late duplicates surface and checks none came. */
  async function oneDelivery(type: string, node?: string): Promise<Delivery> {
    await until(() => deliveries(type, node).length > 0, `webhook ${type} ${node ?? ''}`);
    await new Promise((r) => setTimeout(r, 1500));
    const got = deliveries(type, node);
    expect(got, `${type} ${node ?? ''} deliveries`).toHaveLength(1);
    expect(got[0]!.verified).toBe(true);
    // One process sent it, once; its log line carries the same id.
    const logged = allLogged(replicas, type, node);
    const id = got[0]!.body['id'] as string;
    expect(logged.map((l) => l.id)).toEqual([id]);
    // The announcing replica's event stream carries it under the same id.
    const home = announcer(id);
    await sseHas(home, type, id);
    // The audit event of the fact, on the announcing replica's trail, carries the same id: a node's
    // alert on the transition that raised it (and drift.* of their own), a desired-state change and
    // a rollout outcome on their own events. Flapping has no audit event.
    const audited =
      type === 'desired_state.changed' || type.startsWith('drift.')
        ? type
        : type.startsWith('rollout.')
          ? `fleet.${type.replace('.', '_')}`
          : node !== undefined && type !== 'node.flapping'
            ? 'fleet.node_state_changed'
            : undefined;
    if (audited !== undefined) await auditHas(home, audited, id);
    return got[0]!;
  }

  /** The replica whose log sink announced the event with this id. */
  const announcer = (id: string): Replica =>
    replicas.find((r) => loggedAlerts(r).some((a) => a.id === id))!;

  /** The SSE event of the announcing replica with this id (same id on the stream as on the webhook). */
  async function sseHas(replica: Replica, type: string, id: string): Promise<void> {
    const stream = streams[replicas.indexOf(replica)]!;
    await until(
      () => stream.events.some((e) => e.event === type && e.data['id'] === id),
      `${type} ${id} on the event stream of ${replica.name}`,
    );
  }

  /** The audit event of the fact on the announcing replica's trail, carrying the same id. */
  async function auditHas(replica: Replica, type: string, id: string): Promise<void> {
    await until(
      async () =>
        (await auditLines(replica)).some((e) => e.type === type && e.details?.['event_id'] === id),
      `${type} with event_id ${id} in the audit trail of ${replica.name}`,
    );
    // No other replica audits the same fact.
    for (const other of replicas) {
      if (other === replica) continue;
      const lines = await auditLines(other);
      expect(lines.filter((e) => e.details?.['event_id'] === id)).toEqual([]);
    }
  }

  it('desired state and the expected inventory: one desired_state.changed and one never_seen fleet-wide', async () => {
    const [a, b] = replicas as [Replica, Replica, Replica];
    expect(
      (await putAdmin(a, '/v1/clusters/prod/desired', { artifact_hash: H1, reason: 'r1' })).status,
    ).toBe(200);
    await connectNodes(H1);
    for (const id of NODES) {
      // The provenance of the node's hello shows on every replica, whichever holds its session.
      const docs = await converged(replicas, id, 'in_sync');
      for (const d of docs) {
        expect(d.reported_hash).toBe(H1);
        expect(JSON.stringify(d.provenance)).toContain('c'.repeat(40));
        expect(d.provenance).toEqual(docs[0]!.provenance);
      }
    }
    const desired = await oneDelivery('desired_state.changed');
    expect(desired.body['artifact_hash']).toBe(H1);
    await sseHas(
      announcer(desired.body['id'] as string),
      'desired_state.changed',
      desired.body['id'] as string,
    );

    // The inventory names every connected node and one that never connected, on replica b.
    const expected = await putAdmin(b, '/v1/clusters/prod/expected-nodes', {
      nodes: [...NODES, 'ghost'],
    });
    expect(expected.status).toBe(200);
    await converged(replicas, 'ghost', 'never_seen');
    const never = await oneDelivery('node.never_seen', 'ghost');
    await sseHas(
      announcer(never.body['id'] as string),
      'node.never_seen',
      never.body['id'] as string,
    );
    // Nodes connected to other replicas are never reported never_seen.
    expect(deliveries('node.never_seen')).toHaveLength(1);
    for (const id of NODES) expect((await nodeOf(b, id))?.state).toBe('in_sync');
  }, 90_000);

  it('a drift on a node attached to one replica shows on every replica, on every surface, alerted once', async () => {
    const n1 = nodes.get('n1')!;
    n1.hash = H2;
    report(n1);
    const docs = await converged(replicas, 'n1', 'drift');
    // Same reported hash, provenance and instance on every replica; last-seen agrees (it may be coarse).
    for (const d of docs) {
      expect(d.reported_hash).toBe(H2);
      expect(d.desired_hash).toBe(H1);
      expect(d.provenance).toEqual(docs[0]!.provenance);
      expect(d.instance_id).toBe('inst-n1');
    }
    const seen = docs.map((d) => Date.parse(d.last_seen!));
    expect(Math.max(...seen) - Math.min(...seen)).toBeLessThanOrEqual(5000);

    // GET /v1/fleet and /metrics agree on every replica.
    await until(async () => {
      const fleets = await Promise.all(replicas.map((r) => fleetOf(r)));
      const views = fleets.map((f) =>
        JSON.stringify(f.nodes.map((n) => [n.node_id, n.state, n.reported_hash]).sort()),
      );
      return views.every((v) => v === views[0]) && views[0]!.includes('"n1","drift"');
    }, 'the same fleet on every replica');
    await until(async () => {
      const gauges = await Promise.all(replicas.map((r) => stateGauges(r)));
      return gauges.every((g) => g['drift'] === 1 && g['in_sync'] === 5 && g['never_seen'] === 1);
    }, 'the same state gauges on every replica');

    // The event stream of every replica shows the change.
    for (const s of streams) {
      await until(
        () =>
          s.events.some(
            (e) =>
              e.event === 'node.state_changed' &&
              e.data['node_id'] === 'n1' &&
              e.data['state'] === 'drift',
          ),
        'n1 drift on every event stream',
      );
    }

    // An operator's check fails whichever replica it reaches.
    for (const r of replicas) {
      const check = await fleetCheck(r, dir);
      expect(check.code, `fleet --check against ${r.name}`).toBe(1);
      expect(check.nodes.find((n) => n.node_id === 'n1')?.state).toBe('drift');
    }

    const drift = await oneDelivery('drift.detected', 'n1');
    const id = drift.body['id'] as string;
    const home = announcer(id);
    await sseHas(home, 'drift.detected', id);
    await auditHas(home, 'drift.detected', id);

    n1.hash = H1;
    report(n1);
    await converged(replicas, 'n1', 'in_sync');
    const resolved = await oneDelivery('drift.resolved', 'n1');
    const rid = resolved.body['id'] as string;
    await sseHas(announcer(rid), 'drift.resolved', rid);
    await auditHas(announcer(rid), 'drift.resolved', rid);
    for (const r of replicas) expect((await fleetCheck(r, dir)).code).toBe(0);
  }, 90_000);

  it('a closed session and a silent one: disconnected and stale, once each', async () => {
    const n4 = nodes.get('n4')!;
    await n4.client.close();
    await converged(replicas, 'n4', 'disconnected');
    await oneDelivery('node.disconnected', 'n4');
    // It comes back (through its balancer): no alert for a reconnect to the same artifact.
    nodes.set('n4', startNode('n4', balancers[4]!.url, H1));
    await converged(replicas, 'n4', 'in_sync');

    // n5's network goes silent, its connection open: stale after three missed heartbeats.
    balancers[5]!.freeze();
    await converged(replicas, 'n5', 'stale');
    await oneDelivery('node.stale', 'n5');
    balancers[5]!.thaw();
    await converged(replicas, 'n5', 'in_sync');
    expect(deliveries('node.disconnected', 'n5')).toEqual([]);
  }, 90_000);

  it('rejected, flapping, rollout completed and deadline exceeded: each once fleet-wide', async () => {
    const [, b, c] = replicas as [Replica, Replica, Replica];
    // n2 fails to load the desired artifact and keeps running another one.
    const n2 = nodes.get('n2')!;
    n2.hash = H3;
    n2.loadError = {
      artifact_hash: H1,
      code: 'PLB_LOAD_FAILED',
      message: 'bad route',
      at: '2026-01-01T00:00:01Z',
    };
    report(n2);
    await converged(replicas, 'n2', 'rejected');
    const rejected = await oneDelivery('node.rejected', 'n2');
    await sseHas(
      announcer(rejected.body['id'] as string),
      'node.rejected',
      rejected.body['id'] as string,
    );
    n2.loadError = null;
    n2.hash = H1;
    report(n2);
    await converged(replicas, 'n2', 'in_sync');

    // n3 changes what it runs again and again: flapping, announced once.
    const n3 = nodes.get('n3')!;
    for (let i = 0; i < 6; i++) {
      n3.hash = i % 2 === 0 ? H2 : H1;
      report(n3);
      await converged(replicas, 'n3', i % 2 === 0 ? 'drift' : 'in_sync');
    }
    const flapping = await oneDelivery('node.flapping', 'n3');
    await sseHas(
      announcer(flapping.body['id'] as string),
      'node.flapping',
      flapping.body['id'] as string,
    );

    // A rollout every node completes, set on b.
    expect(
      (
        await putAdmin(b, '/v1/clusters/prod/desired', {
          artifact_hash: H3,
          reason: 'r2',
          deadline_seconds: 60,
        })
      ).status,
    ).toBe(200);
    await converged(replicas, 'n0', 'pending');
    for (const id of NODES) {
      const n = nodes.get(id)!;
      n.hash = H3;
      report(n);
    }
    const completed = await oneDelivery('rollout.completed');
    expect(completed.body['artifact_hash']).toBe(H3);
    // A rollout n5 does not follow, set on c, with a short deadline.
    expect(
      (
        await putAdmin(c, '/v1/clusters/prod/desired', {
          artifact_hash: H2,
          reason: 'r3',
          deadline_seconds: 2,
        })
      ).status,
    ).toBe(200);
    for (const id of NODES.slice(0, 5)) {
      const n = nodes.get(id)!;
      n.hash = H2;
      report(n);
    }
    const exceeded = await oneDelivery('rollout.deadline_exceeded');
    expect(exceeded.body['lagging_nodes']).toEqual(['n5']);
    // Two more desired-state changes: one delivery each (three in all).
    expect(deliveries('desired_state.changed')).toHaveLength(3);
  }, 90_000);

  it('every alert any replica sent reached the receiver once, under the id it logged', () => {
    const ids = hook.deliveries.map((d) => d.body['id'] as string);
    expect(new Set(ids).size).toBe(ids.length);
    const logged = replicas.flatMap(loggedAlerts).map((a) => a.id);
    expect(new Set(logged).size).toBe(logged.length);
    expect([...logged].sort()).toEqual([...ids].sort());
  });
});
