/**
 * Replica processes die and restart under live nodes: SIGKILL of a replica that does not lead the
 * sweep, SIGKILL of the sweep leader (found from PostgreSQL's advisory locks), and a rolling
 * restart of all three. After each: no alert lost, none doubled, every replica converges.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type Delivery } from '../fleet/webhook-receiver.js';
import {
  H1,
  H2,
  WEBHOOK_SECRET,
  allLogged,
  converged,
  createDatabase,
  fleetOf,
  loggedAlerts,
  migrate,
  nodeOf,
  putAdmin,
  report,
  startBalancer,
  startNode,
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
/**
 * The store's timings (`--replica-timeout`, `--sweep-interval` as config-file keys): a dead
 * replica is swept within about 3.5 s instead of 20 s.
 */
const TIMINGS = { 'replica-timeout': '3s', 'sweep-interval': '500ms' };

describe('replica processes killed and restarted under live nodes', () => {
  let dir: string;
  let db: ReturnType<typeof createDatabase>;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  /** Every replica process ever started (their logs count). */
  const started: Replica[] = [];
  /** The three slots behind the balancers: the live replica of each. */
  const slots: Replica[] = [];
  const nodes = new Map<string, Node>();
  const held = new Set<string>();
  const balancers: Awaited<ReturnType<typeof startBalancer>>[] = [];
  let generation = 0;

  const live = (): Replica[] =>
    slots.filter((r) => r.child.exitCode === null && r.child.signalCode === null);

  async function start(slot: number): Promise<Replica> {
    const replica = await startReplica({
      name: `r${slot}-${generation++}`,
      dir,
      store: db.url,
      webhook: hook.url,
      config: TIMINGS,
    });
    started.push(replica);
    slots[slot] = replica;
    return replica;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-failover-'));
    db = createDatabase();
    await writeSecrets(dir, NODES);
    await migrate(db.url);
    hook = await startWebhookReceiver(WEBHOOK_SECRET);
    for (const slot of [0, 1, 2]) await start(slot);
    expect(
      (await putAdmin(slots[0]!, '/v1/clusters/prod/desired', { artifact_hash: H1, reason: 'r1' }))
        .status,
    ).toBe(200);
    // Node n<i> goes to slot i % 3 first, then the next slots (a load balancer skipping dead backends).
    for (const [i, id] of NODES.entries()) {
      const balancer = await startBalancer(() =>
        held.has(id) ? [] : [0, 1, 2].map((k) => slots[(i + k) % 3]!.ws),
      );
      balancers.push(balancer);
      nodes.set(id, startNode(id, balancer.url, H1));
    }
    for (const id of NODES) await converged(slots, id, 'in_sync');
  }, 90_000);

  afterAll(async () => {
    for (const n of nodes.values()) await n.client.close();
    for (const b of balancers) await b.close();
    for (const r of started) await stopReplica(r, 'SIGKILL');
    await hook?.close();
    db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const deliveries = (type?: string, node?: string): Delivery[] =>
    deliveriesOf(hook.deliveries, type, node);

  /** Polls every live replica until `node` shows `state`, failing if any shows `never_seen` meanwhile. */
  async function survivorsShow(node: string, state: string): Promise<void> {
    await until(
      async () => {
        const docs = await Promise.all(live().map((r) => nodeOf(r, node)));
        for (const d of docs) expect(d?.state, `${node} on a survivor`).not.toBe('never_seen');
        return docs.every((d) => d?.state === state);
      },
      `${node} ${state} on the survivors`,
      45_000,
    );
  }

  it('SIGKILL of a replica that does not lead the sweep: its nodes show disconnected, alerted once, then reconnect elsewhere silently', async () => {
    const leader = await until(() => sweepLeader(db.name), 'a sweep leader', 30_000);
    const victimSlot = slots.findIndex((r) => r.name !== leader);
    const victim = slots[victimSlot]!;
    // The victim's nodes: those it holds first (n<slot> and n<slot + 3>); they cannot reach another
    // replica until released, so the survivors must decide about them.
    const orphans = NODES.filter((_, i) => i % 3 === victimSlot);
    for (const id of orphans) held.add(id);
    const before = hook.deliveries.length;
    await stopReplica(victim, 'SIGKILL');
    for (const id of orphans) await survivorsShow(id, 'disconnected');
    for (const id of orphans) {
      await until(() => deliveries('node.disconnected', id).length > 0, `node.disconnected ${id}`);
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of orphans) expect(deliveries('node.disconnected', id)).toHaveLength(1);
    expect(deliveries('node.never_seen')).toEqual([]);

    // Released, they reconnect to a survivor: back in sync everywhere, no new alert.
    for (const id of orphans) held.delete(id);
    for (const id of orphans) await survivorsShow(id, 'in_sync');
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      hook.deliveries
        .slice(before)
        .map((d) => `${d.type} ${String(d.body['node_id'])}`)
        .sort(),
    ).toEqual(orphans.map((id) => `node.disconnected ${id}`).sort());
    // The slot gets a new replica, which shows the same fleet.
    const fresh = await start(victimSlot);
    for (const id of NODES) await converged(live(), id, 'in_sync');
    expect((await fleetOf(fresh)).nodes.length).toBe(NODES.length);
  }, 90_000);

  it('SIGKILL of the sweep leader: a drifting node fails over without a new alert; another replica takes the sweep', async () => {
    const leaderName = await until(() => sweepLeader(db.name), 'a sweep leader', 30_000);
    const leaderSlot = slots.findIndex((r) => r.name === leaderName);
    expect(leaderSlot).toBeGreaterThanOrEqual(0);
    const leader = slots[leaderSlot]!;
    const [drifting, orphan] = NODES.filter((_, i) => i % 3 === leaderSlot) as [string, string];
    const d = nodes.get(drifting)!;
    d.hash = H2;
    report(d);
    await converged(live(), drifting, 'drift');
    await until(
      () => deliveries('drift.detected', drifting).length === 1,
      `drift.detected ${drifting}`,
    );
    // Announced by the leader, which holds the node's session.
    expect(
      loggedAlerts(leader).filter((l) => l.type === 'drift.detected' && l.node_id === drifting),
    ).toHaveLength(1);
    expect(allLogged(started, 'drift.detected', drifting)).toHaveLength(1);

    held.add(orphan);
    const before = hook.deliveries.length;
    await stopReplica(leader, 'SIGKILL');
    // Another replica takes the advisory lock and sweeps the orphan; the drifting node reconnected.
    await until(
      () => {
        const next = sweepLeader(db.name);
        return next !== undefined && next !== leaderName && next;
      },
      'a new sweep leader',
      45_000,
    );
    await survivorsShow(drifting, 'drift');
    await survivorsShow(orphan, 'disconnected');
    await until(
      () => deliveries('node.disconnected', orphan).length > 0,
      `node.disconnected ${orphan}`,
    );
    held.delete(orphan);
    await survivorsShow(orphan, 'in_sync');
    await new Promise((r) => setTimeout(r, 1500));
    // One alert for the orphan's disconnect; the still-drifting node raised nothing new.
    expect(
      hook.deliveries.slice(before).map((x) => `${x.type} ${String(x.body['node_id'])}`),
    ).toEqual([`node.disconnected ${orphan}`]);
    expect(deliveries('drift.detected', drifting)).toHaveLength(1);

    // It resolves on the replica now holding it: one drift.resolved.
    d.hash = H1;
    report(d);
    await survivorsShow(drifting, 'in_sync');
    await until(
      () => deliveries('drift.resolved', drifting).length > 0,
      `drift.resolved ${drifting}`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(deliveries('drift.resolved', drifting)).toHaveLength(1);
    await start(leaderSlot);
    for (const id of NODES) await converged(live(), id, 'in_sync');
  }, 90_000);

  it('a rolling restart of all three replicas raises no alert', async () => {
    const before = hook.deliveries.length;
    for (const slot of [0, 1, 2]) {
      await stopReplica(slots[slot]!, 'SIGTERM');
      for (const id of NODES) await survivorsShow(id, 'in_sync');
      await start(slot);
      for (const id of NODES) await converged(live(), id, 'in_sync');
    }
    await new Promise((r) => setTimeout(r, 2000));
    expect(hook.deliveries.slice(before).map((d) => d.type)).toEqual([]);
  }, 90_000);

  it('every alert any process sent reached the receiver once, under the id it logged', () => {
    const ids = hook.deliveries.map((d) => d.body['id'] as string);
    expect(new Set(ids).size).toBe(ids.length);
    const logged = started.flatMap(loggedAlerts).map((a) => a.id);
    expect([...new Set(logged)].sort()).toEqual([...ids].sort());
  });
});
