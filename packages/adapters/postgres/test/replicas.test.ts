import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DigestString } from '@plumbline/core/hash';
import { FleetMonitor, type FleetEvent } from '@plumbline/core/drift';
import { PostgresFleetStore, type PostgresFleetStoreOptions } from '../src/index.js';
import { Client } from '../src/pg.js';
import {
  PG_URL,
  dropSchema,
  freshSchemaName,
  startProxy,
  terminateApp,
  waitUntil,
  type Proxy,
} from './helpers.js';

import {
  A,
  B,
  CollectingSink,
  alerts,
  heartbeat,
  hello,
  ofType,
  openFleet,
  type Cleanups,
  type Replica,
} from './fleet-harness.js';

let cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

async function fleet(
  count: number,
  extra: Partial<PostgresFleetStoreOptions> = {},
  on?: { readonly schema: string; readonly app: string },
): Promise<{ schema: string; app: string; replicas: Replica[] }> {
  const { schema, replicas } = await openFleet(count, cleanups, {
    store: { ...extra, ...(on === undefined ? {} : { applicationName: on.app }) },
    ...(on === undefined ? {} : { schema: on.schema }),
  });
  return { schema, app: on?.app ?? `plb-test-${schema}`, replicas };
}

/** A heartbeat with a new load time: every one is an observed-state change the monitor persists. */
function beat(replica: Replica, node: string, hash: DigestString | null): number {
  const seq = (replica.seqs.get(node) ?? 0) + 1;
  return heartbeat(replica, node, hash, {
    loaded_at: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
  });
}

async function observedSeqs(schema: string): Promise<Map<string, number>> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const rows = await client.query<{ node_id: string; seq: number }>(
      `SELECT node_id, coalesce(seq, (data->>'last_seq')::bigint)::int AS seq FROM "${schema}".observed`,
    );
    return new Map(rows.rows.map((r) => [r.node_id, r.seq]));
  } finally {
    await client.end();
  }
}

async function ownersOf(schema: string): Promise<Map<string, string>> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const rows = await client.query<{ node_id: string; owner: string }>(
      `SELECT node_id, owner FROM "${schema}".observed`,
    );
    return new Map(rows.rows.map((r) => [r.node_id, r.owner]));
  } finally {
    await client.end();
  }
}

const REPLICA_PROCESS = fileURLToPath(new URL('./fixtures/replica-process.ts', import.meta.url));

describe('several control-plane replicas on one PostgreSQL store', () => {
  it('three replicas: a desired-state change on one reaches nodes on all, and each drift is alerted once', async () => {
    const { replicas } = await fleet(3);
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
    const home = (i: number): Replica => replicas[i % 3] as Replica;
    await home(0).monitor.setDesired({
      cluster: 'prod',
      artifact_hash: A,
      actor: 'alice',
      reason: 'release 1',
    });
    nodes.forEach((n, i) => hello(home(i), n, A));
    for (const r of replicas) {
      await waitUntil(() => r.monitor.desired('prod')?.artifact_hash === A, 'first desired state');
    }
    nodes.forEach((n, i) => expect(home(i).monitor.node(n)?.state).toBe('in_sync'));

    const changed = await home(1).monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'bob',
      reason: 'release 2',
      expected_version: 1,
    });
    expect(changed.version).toBe(2);
    for (const r of replicas) {
      await waitUntil(() => r.monitor.desired('prod')?.artifact_hash === B, 'second desired state');
    }
    nodes.forEach((n, i) => expect(home(i).monitor.node(n)?.state).toBe('drift'));
    // Let any late duplicate surface before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const drifts = replicas.flatMap((r) => ofType(r.events, 'drift.detected'));
    expect(drifts.map((e) => (e as { node_id: string }).node_id).sort()).toEqual(nodes);
    replicas.forEach((r, i) => {
      const own = ofType(r.events, 'drift.detected').map((e) => (e as { node_id: string }).node_id);
      expect(own.sort()).toEqual(nodes.filter((_, j) => j % 3 === i));
    });
    // Actor and reason are recorded with every change.
    const history = await replicas[2]!.store.desiredHistory('prod');
    expect(history.map((h) => [h.version, h.actor, h.reason, h.replica_id])).toEqual([
      [1, 'alice', 'release 1', 'replica-0'],
      [2, 'bob', 'release 2', 'replica-1'],
    ]);
  });

  it('two concurrent desired-state writes on two replicas: one wins, the other gets PLB_STORE_CONFLICT', async () => {
    const { replicas } = await fleet(2, { sweep: false });
    const [r0, r1] = replicas as [Replica, Replica];
    for (let round = 0; round < 5; round++) {
      const version = r0.monitor.desired('prod')?.version ?? 0;
      await waitUntil(() => (r1.monitor.desired('prod')?.version ?? 0) === version, 'convergence');
      const results = await Promise.allSettled([
        r0.monitor.setDesired({
          cluster: 'prod',
          artifact_hash: round % 2 ? A : B,
          actor: 'a',
          reason: 'r',
          expected_version: version,
        }),
        r1.monitor.setDesired({
          cluster: 'prod',
          artifact_hash: round % 2 ? B : A,
          actor: 'b',
          reason: 'r',
          expected_version: version,
        }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0]!.reason as { code: string }).code).toBe('PLB_STORE_CONFLICT');
      await waitUntil(() => r0.monitor.desired('prod')?.version === version + 1, 'winner applied');
    }
    expect((await r0.store.desiredHistory('prod')).map((h) => h.version)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a replica closed without ending its sessions: the sweep leader reports its nodes once, and the leadership passes on', async () => {
    const { replicas } = await fleet(3);
    await waitUntil(() => replicas.filter((r) => r.store.isLeader).length === 1, 'one leader');
    const leader = replicas.find((r) => r.store.isLeader) as Replica;
    const others = replicas.filter((r) => r !== leader);
    await leader.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    for (const n of ['l1', 'l2', 'l3']) {
      hello(leader, n, A);
      beat(leader, n, A);
    }
    hello(others[0]!, 'o1', B);
    await leader.monitor.flush();
    await others[0]!.monitor.flush();
    // The leader dies: its monitor stops and its store releases the lock.
    await leader.monitor.close();
    await leader.store.close();
    await waitUntil(() => others.some((r) => r.store.isLeader), 'a new leader');
    const swept = (): FleetEvent[] =>
      others.flatMap((r) => ofType(r.sink.events, 'node.disconnected'));
    await waitUntil(() => swept().length >= 3, 'the dead replica nodes swept');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const events = swept() as (FleetEvent & {
      node_id: string;
      from: string;
      desired_hash: string;
    })[];
    expect(events.map((e) => e.node_id).sort()).toEqual(['l1', 'l2', 'l3']);
    expect(
      events.every(
        (e) => e.type === 'node.disconnected' && e.from === 'in_sync' && e.desired_hash === A,
      ),
    ).toBe(true);
    expect(others.filter((r) => r.store.isLeader)).toHaveLength(1);
    // A node of a live replica is not swept.
    expect(events.some((e) => e.node_id === 'o1')).toBe(false);
  });

  it('killing the leader (SIGKILL) hands the sweep over: its connected nodes, idle ones too, are reported once', async () => {
    const schema = freshSchemaName();
    const app = `plb-test-${schema}`;
    cleanups.push(() => dropSchema(schema));
    await PostgresFleetStore.open({ connectionString: PG_URL, schema, sweep: false }).then((s) =>
      s.close(),
    );
    const child = spawn(
      process.execPath,
      ['--conditions=@plumbline/source', '--import', 'tsx', REPLICA_PROCESS, PG_URL, schema, app],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitUntil(() => out.includes('\n'), 'the replica process', 30_000);
    const started = JSON.parse(out) as { leader: boolean; disconnected: string[] };
    // The doomed replica alerted k4's end of session itself.
    expect(started).toEqual({ ready: true, leader: true, disconnected: ['k4'] });
    const { replicas } = await fleet(2, {}, { schema, app });
    await Promise.all(replicas.map((r) => r.store.sweepNow()));
    expect(replicas.filter((r) => r.store.isLeader)).toHaveLength(0);

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await waitUntil(() => replicas.some((r) => r.store.isLeader), 'a new leader');
    const swept = (): FleetEvent[] =>
      replicas.flatMap((r) => ofType(r.sink.events, 'node.disconnected'));
    await waitUntil(() => swept().length >= 3, 'the nodes of the killed replica swept');
    // More sweeps run; none reports anything again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const events = swept() as (FleetEvent & { node_id: string; from: string })[];
    expect(events.map((e) => e.node_id).sort()).toEqual(['k1', 'k2', 'k3']);
    expect(events.every((e) => e.type === 'node.disconnected' && e.from === 'in_sync')).toBe(true);
    expect(replicas.filter((r) => r.store.isLeader)).toHaveLength(1);
  });

  it('a replica that shuts down: its nodes that do not reconnect elsewhere are reported once, the others not', async () => {
    const { replicas } = await fleet(2);
    const [r0, r1] = replicas as [Replica, Replica];
    await r0.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    for (const n of ['g1', 'g2', 'g3']) hello(r0, n, A);
    await r0.monitor.flush();
    // g3 leaves early and r0 alerts it; then r0 shuts down the way a control plane does:
    // a shutdown does not disconnect nodes, the monitor writes their last state, the store closes.
    r0.monitor.disconnect('g3', 's-g3', 1000);
    await r0.monitor.flush();
    await r0.monitor.close();
    await r0.store.close();
    expect(
      ofType(r0.events, 'node.disconnected').map((e) => (e as { node_id: string }).node_id),
    ).toEqual(['g3']);
    // g1 reconnects to r1 at once; g2 never comes back.
    hello(r1, 'g1', A);
    await r1.monitor.flush();
    // r0 alerted g3 itself; the sweep's alerts are r1's.
    const swept = (): FleetEvent[] => ofType(r1.sink.events, 'node.disconnected');
    await waitUntil(() => swept().length >= 1, 'g2 swept');
    for (let i = 0; i < 3; i++) await r1.store.sweepNow();
    expect(swept().map((e) => (e as { node_id: string }).node_id)).toEqual(['g2']);
    const owners = await ownersOf(r1.store.schema);
    expect(owners.get('g1')).toBe('replica-1');
    expect(owners.get('g2')).toBe('replica-0');
  });

  it('the leadership moves when the leader loses its connection', async () => {
    const { replicas, app } = await fleet(2);
    await waitUntil(() => replicas.filter((r) => r.store.isLeader).length === 1, 'one leader');
    const before = replicas.findIndex((r) => r.store.isLeader);
    await terminateApp(app);
    await waitUntil(
      () =>
        replicas.filter((r) => r.store.isLeader).length === 1 &&
        replicas.every((r) => r.store.stats().connected),
      'a leader after the backends were terminated',
    );
    expect(before).toBeGreaterThanOrEqual(0);
    expect(replicas.filter((r) => r.store.isLeader)).toHaveLength(1);
  });

  it('terminated backends mid-run: observed state and the change feed lose nothing', async () => {
    const { schema, app, replicas } = await fleet(2);
    const [r0, r1] = replicas as [Replica, Replica];
    const nodes = Array.from({ length: 20 }, (_, i) => `t${i}`);
    nodes.forEach((n, i) => hello(i % 2 ? r1 : r0, n, A));
    const last = new Map<string, number>();
    for (let round = 0; round < 6; round++) {
      nodes.forEach((n, i) => last.set(n, beat(i % 2 ? r1 : r0, n, A)));
      if (round === 2) expect(await terminateApp(app)).toBeGreaterThan(0);
      await r0.monitor.flush();
      await r1.monitor.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waitUntil(
      () =>
        r0.store.stats().connected &&
        r1.store.stats().connected &&
        r0.store.stats().buffered + r1.store.stats().buffered === 0,
      'reconnected and drained',
    );
    await r0.monitor.flush();
    await r1.monitor.flush();
    await waitUntil(async () => {
      const seqs = await observedSeqs(schema);
      return nodes.every((n) => seqs.get(n) === last.get(n));
    }, 'every last heartbeat stored');
    expect(r0.store.stats().dropped + r1.store.stats().dropped).toBe(0);
    await r1.monitor.setDesired({ cluster: 'prod', artifact_hash: B, actor: 'a', reason: 'after' });
    await waitUntil(
      () => r0.monitor.desired('prod')?.artifact_hash === B,
      'the feed after reconnect',
    );
  });

  describe('a PostgreSQL outage', () => {
    let proxy: Proxy;
    it('keeps serving, buffers up to the bound, counts drops and reconciles on reconnect', async () => {
      proxy = await startProxy();
      cleanups.push(() => proxy.close());
      const schema = freshSchemaName();
      cleanups.push(() => dropSchema(schema));
      const direct = await PostgresFleetStore.open({
        connectionString: PG_URL,
        schema,
        sweep: false,
        replicaId: 'direct',
      });
      cleanups.push(() => direct.close());
      const store = await PostgresFleetStore.open({
        connectionString: proxy.url,
        schema,
        replicaId: 'behind-proxy',
        sweep: false,
        maxBufferedNodes: 5,
        reconnectIntervalMs: 50,
        pollIntervalMs: 100,
      });
      const monitor = await FleetMonitor.create({
        store,
        heartbeatIntervalMs: 60_000,
        persistIntervalMs: 10_000,
        flapDamping: false,
      });
      cleanups.push(async () => {
        await monitor.close();
        await store.close();
      });
      const replica: Replica = {
        store,
        monitor,
        events: [],
        sink: new CollectingSink(),
        seqs: new Map(),
      };
      monitor.onAny((e) => replica.events.push(e));
      await direct.setDesired({
        cluster: 'prod',
        artifact_hash: A,
        actor: 'a',
        reason: 'r',
        changed_at: new Date().toISOString(),
        rollout: null,
      });
      await waitUntil(
        () => monitor.desired('prod')?.artifact_hash === A,
        'desired state through the proxy',
      );
      const nodes = Array.from({ length: 8 }, (_, i) => `p${i}`);
      for (const n of nodes) hello(replica, n, A);
      await monitor.flush();

      await proxy.cut();
      const last = new Map<string, number>();
      for (const n of nodes) last.set(n, beat(replica, n, n === 'p0' ? B : A));
      await monitor.flush();
      // The replica keeps serving its nodes from memory.
      expect(monitor.node('p0')?.state).toBe('drift');
      expect(monitor.node('p1')?.state).toBe('in_sync');
      const stats = store.stats();
      expect(stats.connected).toBe(false);
      expect(stats.buffered).toBe(5);
      expect(stats.dropped).toBe(3);
      await expect(
        store.setDesired({
          cluster: 'prod',
          artifact_hash: B,
          actor: 'a',
          reason: 'r',
          changed_at: new Date().toISOString(),
          rollout: null,
        }),
      ).rejects.toMatchObject({ code: 'PLB_PG_UNAVAILABLE' });
      // A change made elsewhere during the outage arrives after it. (Another cluster: a change
      // of prod's would change its nodes' states, and the monitor would then write every node's
      // latest record, the dropped ones too, racing the count below.)
      await direct.setDesired({
        cluster: 'other',
        artifact_hash: B,
        actor: 'b',
        reason: 'during outage',
        changed_at: new Date().toISOString(),
        rollout: null,
      });

      await proxy.restore();
      await waitUntil(
        () => store.stats().connected && store.stats().buffered === 0,
        'reconnected and drained',
      );
      await waitUntil(
        () => monitor.desired('other')?.artifact_hash === B,
        'the change made during the outage',
      );
      const seqs = await observedSeqs(schema);
      const kept = nodes.filter((n) => seqs.get(n) === last.get(n));
      expect(kept).toHaveLength(5);
      expect(store.stats().reconnects).toBeGreaterThanOrEqual(1);
    });
  });
});

describe('one fleet truth across replicas', () => {
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 400));

  it('every replica shows every node as its own replica sees it, and alerts each fact once', async () => {
    const { replicas } = await fleet(3, { sweep: false });
    const [r0, r1, r2] = replicas as [Replica, Replica, Replica];
    await r0.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    hello(r0, 'n0', A);
    hello(r1, 'n1', A);
    hello(r2, 'n2', A);
    const everywhere = (node: string, state: string): Promise<void> =>
      waitUntil(
        () => replicas.every((r) => r.monitor.node(node)?.state === state),
        `${node} ${state} on every replica`,
      );
    for (const n of ['n0', 'n1', 'n2']) await everywhere(n, 'in_sync');
    beat(r1, 'n1', B);
    await everywhere('n1', 'drift');
    for (const r of replicas) {
      expect(r.monitor.node('n1')).toMatchObject({
        reported_hash: B,
        desired_hash: A,
        instance_id: 'inst-n1',
        // The hello's provenance was for another hash.
        provenance: null,
      });
      expect(r.monitor.node('n0')?.provenance).toMatchObject({ commit: 'c'.repeat(40) });
      expect(r.monitor.cluster('prod')?.counts).toMatchObject({ in_sync: 2, drift: 1 });
    }
    await settle();
    expect(
      alerts(replicas, 'drift.detected').map((e) => (e as { node_id: string }).node_id),
    ).toEqual(['n1']);
    expect(ofType(r1.sink.events, 'drift.detected')).toHaveLength(1);
    // One desired-state change: one alert fleet-wide.
    expect(alerts(replicas, 'desired_state.changed')).toHaveLength(1);
  });

  it('an expected-nodes change raises never_seen once, and none for nodes attached to another replica', async () => {
    const { replicas } = await fleet(3, { sweep: false });
    const [r0, r1] = replicas as [Replica, Replica, Replica];
    hello(r1, 'up', A);
    await waitUntil(
      () => replicas.every((r) => r.monitor.node('up') !== undefined),
      'the node everywhere',
    );
    await r0.monitor.setExpectedNodes('prod', ['up', 'ghost'], 'a');
    await waitUntil(
      () => replicas.every((r) => r.monitor.node('ghost')?.state === 'never_seen'),
      'ghost never_seen everywhere',
    );
    await settle();
    const neverSeen = alerts(replicas, 'node.never_seen').map(
      (e) => (e as { node_id: string }).node_id,
    );
    expect(neverSeen).toEqual(['ghost']);
  });

  it('the nodes of a dead replica show disconnected on the survivors, alerted once; a failover of a drifting node raises nothing new', async () => {
    const { replicas } = await fleet(3);
    await waitUntil(() => replicas.filter((r) => r.store.isLeader).length === 1, 'one leader');
    const doomed = replicas.find((r) => !r.store.isLeader) as Replica;
    const survivors = replicas.filter((r) => r !== doomed);
    await doomed.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    hello(doomed, 'd1', A);
    hello(doomed, 'd2', B);
    await doomed.monitor.flush();
    await waitUntil(
      () => survivors.every((r) => r.monitor.node('d2')?.state === 'drift'),
      'd2 drifting on the survivors',
    );
    // The replica dies without ending its sessions.
    await doomed.monitor.close();
    await doomed.store.close();
    // d2, still drifting, fails over to a survivor at once.
    hello(survivors[0]!, 'd2', B);
    await survivors[0]!.monitor.flush();
    await waitUntil(
      () => survivors.every((r) => r.monitor.node('d1')?.state === 'disconnected'),
      'd1 disconnected on every survivor',
    );
    await settle();
    for (const r of survivors) expect(r.monitor.node('d2')?.state).toBe('drift');
    const gone = alerts(survivors, 'node.disconnected') as (FleetEvent & {
      node_id: string;
      from: string;
    })[];
    expect(gone.map((e) => [e.node_id, e.from])).toEqual([['d1', 'in_sync']]);
    expect(
      alerts(replicas, 'drift.detected').map((e) => (e as { node_id: string }).node_id),
    ).toEqual(['d2']);
  });

  it('a rollout completes once fleet-wide, under one event id', async () => {
    const { replicas } = await fleet(3, { sweep: false });
    const [r0, r1, r2] = replicas as [Replica, Replica, Replica];
    await r0.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    hello(r0, 'm0', A);
    hello(r1, 'm1', A);
    hello(r2, 'm2', A);
    await waitUntil(
      () => replicas.every((r) => r.monitor.cluster('prod')?.counts.in_sync === 3),
      'all in sync everywhere',
    );
    await r1.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'release 2',
      rollout: { graceMs: 600_000 },
    });
    await waitUntil(
      () => replicas.every((r) => r.monitor.cluster('prod')?.counts.pending === 3),
      'pending everywhere',
    );
    beat(r0, 'm0', B);
    beat(r1, 'm1', B);
    beat(r2, 'm2', B);
    await waitUntil(
      () => replicas.every((r) => r.monitor.cluster('prod')?.rollout?.status === 'completed'),
      'the rollout completed everywhere',
    );
    await settle();
    expect(alerts(replicas, 'rollout.completed')).toHaveLength(1);
    expect(alerts(replicas, 'desired_state.changed')).toHaveLength(2);
  });
});
