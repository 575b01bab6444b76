/**
 * What every replica sharing one PostgreSQL store shows of nodes attached to another: last-seen
 * ages, live configuration, flap damping, forgotten nodes, and the sweep's handover judged by
 * core's node-state rule.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DRIFT_PROTOCOL_V1_1,
  FleetMonitor,
  decideNodeState,
  type FleetEvent,
  type LiveConfigReport,
} from '@plumbline/core/drift';
import { PostgresFleetStore } from '../src/index.js';
import { PG_URL, waitUntil } from './helpers.js';
import {
  A,
  B,
  C,
  alerts,
  bye,
  heartbeat,
  hello,
  ofType,
  openFleet,
  sleep,
  type Cleanups,
  type Replica,
} from './fleet-harness.js';

let cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

const seenMs = (r: Replica, node: string): number => {
  const at = r.monitor.node(node)?.last_seen;
  return at === null || at === undefined ? -1 : Date.parse(at);
};

describe('last_seen of steady nodes on other replicas', () => {
  it("replica B's last-seen age of a steady node on A agrees within 1 s, at one batched write per flush", async () => {
    const { replicas } = await openFleet(2, cleanups, {
      store: { sweep: false, seenIntervalMs: 250 },
      monitor: { persistIntervalMs: 250 },
    });
    const [a, b] = replicas as [Replica, Replica];
    await a.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 't', reason: 'r' });
    const nodes = ['s1', 's2', 's3', 's4', 's5'];
    for (const n of nodes) hello(a, n, A);
    await waitUntil(
      () => nodes.every((n) => b.monitor.node(n)?.state === 'in_sync'),
      'the nodes in sync on B',
    );
    const before = a.store.stats();
    let worst = 0;
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      await sleep(200);
      // Steady heartbeats: nothing but last_seen changes.
      for (const n of nodes) heartbeat(a, n, A);
      for (const n of nodes) worst = Math.max(worst, seenMs(a, n) - seenMs(b, n));
    }
    await waitUntil(
      () => nodes.every((n) => seenMs(b, n) === seenMs(a, n)),
      "B's last_seen equal to A's once written",
      2000,
    );
    // Over the 2.4 s of heartbeats, B's view never lagged by a second (without the batched
    // last_seen writes it would lag by all of it).
    expect(worst).toBeGreaterThanOrEqual(0);
    expect(worst).toBeLessThan(1000);
    expect(a.monitor.counters().heartbeats).toBe(nodes.length * rounds);
    // One statement per flush for every node that heartbeated, never one per heartbeat; and
    // only last_seen written (no full row, no revision for every replica's feed to read).
    const stats = a.store.stats();
    expect(stats.observedStatements).toBe(before.observedStatements);
    const statements = stats.seenStatements - before.seenStatements;
    expect(statements).toBeGreaterThan(0);
    expect(statements).toBeLessThanOrEqual(rounds + 2);
    expect(stats.seenRows - before.seenRows).toBe(nodes.length * statements);
    expect(b.store.stats().seenDelivered).toBeGreaterThan(0);
    for (const n of nodes) expect(b.monitor.node(n)?.state).toBe('in_sync');
    expect(alerts(replicas, 'node.stale')).toEqual([]);
  });
});

describe('forgetting a node across replicas', () => {
  it('a node forgotten on one replica disappears from every replica, and raises no alert', async () => {
    const { schema, replicas } = await openFleet(3, cleanups, { store: { sweep: false } });
    const [r0, r1, r2] = replicas as [Replica, Replica, Replica];
    hello(r0, 'old', A);
    hello(r0, 'kept', A);
    await waitUntil(
      () => replicas.every((r) => r.monitor.node('old')?.state === 'unknown'),
      'old known everywhere',
    );
    // Connected to another replica: not forgotten anywhere.
    expect(await r1.monitor.forget('old')).toBe(false);
    bye(r0, 'old');
    await waitUntil(
      () => replicas.every((r) => r.monitor.node('old')?.state === 'disconnected'),
      'old disconnected everywhere',
    );
    await sleep(300);
    const before = replicas.map((r) => r.sink.events.length);
    // Forgotten through a replica it was never attached to.
    expect(await r1.monitor.forget('old')).toBe(true);
    await waitUntil(
      () => replicas.every((r) => r.monitor.node('old') === undefined),
      'old gone from every replica',
    );
    await sleep(300);
    expect(replicas.map((r) => r.sink.events.length)).toEqual(before);
    for (const r of replicas) expect(r.monitor.node('kept')?.state).toBe('unknown');
    // A replica started afterwards does not bring it back.
    const { replicas: late } = await openFleet(1, cleanups, {
      schema,
      first: 3,
      store: { sweep: false },
    });
    expect(late[0]!.monitor.node('old')).toBeUndefined();
    expect(late[0]!.monitor.node('kept')).toBeDefined();
    expect(r2.monitor.node('old')).toBeUndefined();
  });
});

describe('flap damping shared across replicas', () => {
  it('a node flapping by reconnecting to different replicas is alerted flapping once, under one id', async () => {
    const { replicas } = await openFleet(2, cleanups, {
      store: { sweep: false },
      monitor: { flapDamping: { threshold: 4, halfLifeMs: 600_000 } },
    });
    const [r0, r1] = replicas as [Replica, Replica];
    await r0.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 't', reason: 'r' });
    const other = (r: Replica): Replica => (r === r0 ? r1 : r0);
    const shownOn = (r: Replica, state: string): Promise<void> =>
      waitUntil(() => r.monitor.node('f')?.state === state, `f ${state} on the other replica`);
    // Sixteen state changes, alternating between the replicas: each replica alone counts eight.
    for (let i = 0; i < 8; i++) {
      const home = i % 2 === 0 ? r0 : r1;
      hello(home, 'f', A);
      await home.monitor.flush();
      await shownOn(other(home), 'in_sync');
      bye(home, 'f');
      await home.monitor.flush();
      await shownOn(other(home), 'disconnected');
    }
    await sleep(400);
    const flapping = alerts(replicas, 'node.flapping');
    expect(flapping).toHaveLength(1);
    const seen = replicas.flatMap((r) => ofType(r.events, 'node.flapping'));
    expect(new Set(seen.map((e) => e.id))).toEqual(new Set([flapping[0]!.id]));
    // The id is derived from the node and its first flapping episode, whichever replica sends it.
    const h = createHash('sha256').update('node.flapping|f|1').digest('hex');
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    expect(flapping[0]!.id).toBe(id);
    for (const r of replicas) expect(r.monitor.node('f')?.flapping).toBe(true);
  });
});

describe('live configuration across replicas', () => {
  const LIVE: LiveConfigReport = {
    probe: 'caddy',
    status: 'ok',
    digest: C,
    expected_digest: A,
    differences: ['/apps/http/servers/srv0/listen'],
    at: '2026-01-01T00:00:01.000Z',
  };

  it("another replica shows a node's live-configuration report, and a restarted replica restores it", async () => {
    const { schema, replicas } = await openFleet(2, cleanups, { store: { sweep: false } });
    const [r0, r1] = replicas as [Replica, Replica];
    await r0.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 't', reason: 'r' });
    hello(r0, 'lv', A, { protocol: DRIFT_PROTOCOL_V1_1, live_config: LIVE });
    await waitUntil(() => r1.monitor.node('lv')?.state === 'drift', 'lv drifting on r1');
    expect(r1.monitor.node('lv')?.live_config).toEqual(LIVE);
    expect(alerts(replicas, 'drift.detected')).toHaveLength(1);
    await r0.monitor.close();
    await r0.store.close();
    await r1.monitor.close();
    await r1.store.close();
    const store = await PostgresFleetStore.open({ connectionString: PG_URL, schema, sweep: false });
    const monitor = await FleetMonitor.create({ store });
    cleanups.push(async () => {
      await monitor.close();
      await store.close();
    });
    expect(monitor.node('lv')?.live_config).toEqual(LIVE);
  });
});

describe('the sweep hands over nodes judged by the one node-state rule', () => {
  it('workers, rejected loads and rollouts: the disconnect alerts of a dead replica carry the states decideNodeState gives', async () => {
    const { replicas } = await openFleet(3, cleanups);
    await waitUntil(() => replicas.filter((r) => r.store.isLeader).length === 1, 'one leader');
    const doomed = replicas.find((r) => !r.store.isLeader) as Replica;
    const survivors = replicas.filter((r) => r !== doomed);
    await doomed.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 't', reason: 'r' });
    await doomed.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 't',
      reason: 'release 2',
      rollout: { graceMs: 600_000 },
    });
    const nodes = {
      // A worker on an artifact that is neither the previous nor the new one.
      wk: {
        reported: B,
        workers: [
          { id: 'w1', artifact_hash: B },
          { id: 'w2', artifact_hash: C },
        ],
      },
      // The desired artifact failed to load.
      rj: {
        reported: A,
        workers: null,
        last_load_error: {
          artifact_hash: B,
          code: 'PLB_X',
          message: 'bad',
          at: '2026-01-01T00:00:00Z',
        },
      },
      // Still on the previous artifact during the rollout.
      pd: { reported: A, workers: null },
      ok: { reported: B, workers: [{ id: 'w1', artifact_hash: B }] },
    } as const;
    for (const [id, n] of Object.entries(nodes)) {
      hello(doomed, id, n.reported, n.workers === null ? {} : { workers: [...n.workers] });
      if ('last_load_error' in n)
        heartbeat(doomed, id, n.reported, { last_load_error: n.last_load_error });
    }
    await doomed.monitor.flush();
    const rule = (id: keyof typeof nodes): string => {
      const n = nodes[id];
      return decideNodeState(
        {
          connected: true,
          seen: true,
          stale: false,
          awaitingReport: false,
          reported: n.reported,
          workers: n.workers,
          last_load_error: 'last_load_error' in n ? n.last_load_error : null,
        },
        { desired: B, pinned: false, rollout: { previous_hash: A, status: 'in_progress' } },
      );
    };
    const ids = Object.keys(nodes) as (keyof typeof nodes)[];
    expect(ids.map(rule)).toEqual(['drift', 'rejected', 'pending', 'in_sync']);
    await waitUntil(
      () => survivors.every((r) => ids.every((id) => r.monitor.node(id)?.state === rule(id))),
      'the survivors judging each node by the rule',
    );
    // The replica dies without ending its sessions.
    await doomed.monitor.close();
    await doomed.store.close();
    await waitUntil(
      () => survivors.every((r) => ids.every((id) => r.monitor.node(id)?.state === 'disconnected')),
      'every node disconnected on the survivors',
    );
    await sleep(300);
    const gone = alerts(survivors, 'node.disconnected') as (FleetEvent & {
      node_id: string;
      from: string;
    })[];
    expect(Object.fromEntries(gone.map((e) => [e.node_id, e.from]))).toEqual(
      Object.fromEntries(ids.map((id) => [id, rule(id)])),
    );
    expect(gone).toHaveLength(ids.length);
  });
});
