import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@plumbline/core/audit';
import type { FleetEvent } from '@plumbline/core/drift';
import { A, B, heartbeat, hello, openFleet, type Cleanups, type Replica } from './fleet-harness.js';
import { startProxy, waitUntil } from './helpers.js';

let cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

/** Three replicas, each auditing, on a fresh schema; the sweep off. */
async function replicas(count: number): Promise<Replica[]> {
  const { replicas: all } = await openFleet(count, cleanups, {
    store: { sweep: false },
    audit: true,
  });
  return all;
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 400));

async function audited(all: readonly Replica[], type: string): Promise<AuditEvent[]> {
  for (const r of all) await r.audit!.flush();
  return all.flatMap((r) => r.audit!.events().filter((e) => e.type === type));
}

const alerts = (all: readonly Replica[], type: FleetEvent['type']): FleetEvent[] => {
  const byId = new Map<string, FleetEvent>();
  for (const r of all) for (const e of r.events) if (e.type === type) byId.set(e.id, e);
  return [...byId.values()];
};

describe('fleet audit on PostgreSQL with several replicas', () => {
  it('writes a rollout start and completion once fleet-wide, under the alerts’ event ids', async () => {
    const all = await replicas(3);
    const [r0, r1, r2] = all as [Replica, Replica, Replica];
    await r0.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    hello(r0, 'm0', A);
    hello(r1, 'm1', A);
    hello(r2, 'm2', A);
    await waitUntil(
      () => all.every((r) => r.monitor.cluster('prod')?.counts.in_sync === 3),
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
      () => all.every((r) => r.monitor.cluster('prod')?.counts.pending === 3),
      'pending everywhere',
    );
    heartbeat(r0, 'm0', B);
    heartbeat(r1, 'm1', B);
    heartbeat(r2, 'm2', B);
    await waitUntil(
      () => all.every((r) => r.monitor.cluster('prod')?.rollout?.status === 'completed'),
      'the rollout completed everywhere',
    );
    await settle();
    const started = await audited(all, 'fleet.rollout_started');
    expect(started).toHaveLength(1);
    expect(r1.audit!.events().filter((e) => e.type === 'fleet.rollout_started')).toHaveLength(1);
    const changed = alerts(all, 'desired_state.changed').filter(
      (e) => e.type === 'desired_state.changed' && e.version === 2,
    );
    expect(changed).toHaveLength(1);
    expect(started[0]?.details).toMatchObject({ version: 2, event_id: changed[0]?.id });

    const completedAlerts = alerts(all, 'rollout.completed');
    expect(completedAlerts).toHaveLength(1);
    const completed = await audited(all, 'fleet.rollout_completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]?.details).toMatchObject({
      cluster: 'prod',
      artifact_hash: B,
      previous_hash: A,
      version: 2,
      event_id: completedAlerts[0]?.id,
    });
  });

  it('writes a missed rollout deadline once fleet-wide', async () => {
    const all = await replicas(3);
    const [r0, r1, r2] = all as [Replica, Replica, Replica];
    await r0.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    hello(r0, 'd0', A);
    hello(r1, 'd1', A);
    hello(r2, 'd2', A);
    await waitUntil(
      () => all.every((r) => r.monitor.cluster('prod')?.counts.in_sync === 3),
      'all in sync everywhere',
    );
    await r2.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'release 2',
      rollout: { graceMs: 1500 },
    });
    heartbeat(r0, 'd0', B);
    await waitUntil(
      () => all.every((r) => r.monitor.cluster('prod')?.rollout?.status === 'deadline_exceeded'),
      'the deadline passed everywhere',
    );
    await settle();
    const exceededAlerts = alerts(all, 'rollout.deadline_exceeded');
    expect(exceededAlerts).toHaveLength(1);
    const exceeded = await audited(all, 'fleet.rollout_deadline_exceeded');
    expect(exceeded).toHaveLength(1);
    expect(exceeded[0]).toMatchObject({
      outcome: 'failure',
      details: {
        lagging: 2,
        lagging_nodes: ['d1', 'd2'],
        event_id: exceededAlerts[0]?.id,
      },
    });
    expect(await audited(all, 'fleet.rollout_completed')).toHaveLength(0);
  });

  it('counts and audits observed updates dropped beyond the buffer bound, once per outage', async () => {
    const proxy = await startProxy();
    cleanups.push(() => proxy.close());
    const { replicas: opened } = await openFleet(1, cleanups, {
      store: {
        connectionString: proxy.url,
        sweep: false,
        pollIntervalMs: 100,
        maxBufferedNodes: 2,
      },
      monitor: { persistIntervalMs: 20 },
      audit: true,
    });
    const replica = opened[0]!;
    const { store, monitor } = replica;
    const audit = replica.audit!;
    await proxy.cut();
    // Five nodes report while PostgreSQL is away: two fit the buffer, three are dropped.
    for (const node of ['o1', 'o2', 'o3', 'o4', 'o5']) hello(replica, node, A);
    await monitor.flush();
    await waitUntil(() => store.stats().dropped === 3, 'three updates dropped');
    await audit.flush();
    expect(audit.events().filter((e) => e.type === 'fleet.observed_dropped')).toHaveLength(0);
    await proxy.restore();
    await waitUntil(() => monitor.counters().observedDropped === 3, 'the drops reported');
    const dropped = await audited([replica], 'fleet.observed_dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({
      outcome: 'failure',
      severity: 'medium',
      subject: { type: 'store', id: 'postgres' },
      details: { store: 'postgres', dropped_count: 3, buffer_limit: 2 },
    });
    // A summary, never node ids.
    expect(JSON.stringify(dropped[0])).not.toMatch(/o[1-5]/);
    // A second outage is a second summary; nothing dropped, nothing audited.
    await proxy.cut();
    hello(replica, 'o6', A);
    await monitor.flush();
    await proxy.restore();
    await waitUntil(async () => (await store.load()).observed.length === 3, 'the buffer written');
    await settle();
    expect(await audited([replica], 'fleet.observed_dropped')).toHaveLength(1);
    expect(monitor.counters().observedDropped).toBe(3);
  });
});
