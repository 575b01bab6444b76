/**
 * A node's drift episode across replicas sharing one PostgreSQL store: opened once, kept through
 * a disconnect and a move to another replica, resolved once by whichever replica holds the node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from './helpers.js';
import {
  A,
  B,
  alerts,
  bye,
  heartbeat,
  hello,
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

/** The node drifts on `a`, then leaves it; every replica shows it disconnected. */
async function driftThenLeave(replicas: Replica[], a: Replica, node: string): Promise<void> {
  await a.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 't', reason: 'r' });
  hello(a, node, A);
  heartbeat(a, node, B);
  await waitUntil(
    () => replicas.every((r) => r.monitor.node(node)?.state === 'drift'),
    'drift everywhere',
  );
  bye(a, node);
  await waitUntil(
    () => replicas.every((r) => r.monitor.node(node)?.state === 'disconnected'),
    'disconnected everywhere',
  );
}

describe('a drift episode across replicas', () => {
  it('a node that drifted on A and comes back in sync on B is resolved once, by B', async () => {
    const { replicas } = await openFleet(2, cleanups, { store: { sweep: false } });
    const [a, b] = replicas as [Replica, Replica];
    await driftThenLeave(replicas, a, 'n1');
    hello(b, 'n1', A);
    await waitUntil(
      () => replicas.every((r) => r.monitor.node('n1')?.state === 'in_sync'),
      'in sync everywhere',
    );
    await waitUntil(() => alerts(replicas, 'drift.resolved').length > 0, 'drift.resolved');
    await sleep(300);
    const detected = alerts(replicas, 'drift.detected');
    const resolved = alerts(replicas, 'drift.resolved');
    expect(detected).toHaveLength(1);
    expect(resolved).toHaveLength(1);
    expect(b.sink.events).toContain(resolved[0]);
    expect(resolved[0]).toMatchObject({ node_id: 'n1', drift_since: detected[0]!.at });
  });

  it('a node that drifted on A and comes back still drifting on B raises nothing new', async () => {
    const { replicas } = await openFleet(2, cleanups, { store: { sweep: false } });
    const [a, b] = replicas as [Replica, Replica];
    await driftThenLeave(replicas, a, 'n1');
    // The data plane restarted (a new instance) and came back on B.
    hello(b, 'n1', B, { instance_id: 'inst-n1-again' });
    await waitUntil(
      () => replicas.every((r) => r.monitor.node('n1')?.state === 'drift'),
      'drift everywhere again',
    );
    await sleep(300);
    expect(alerts(replicas, 'drift.detected')).toHaveLength(1);
    heartbeat(b, 'n1', A);
    await waitUntil(() => alerts(replicas, 'drift.resolved').length > 0, 'drift.resolved');
    await sleep(300);
    expect(alerts(replicas, 'drift.resolved')).toHaveLength(1);
    expect(alerts(replicas, 'drift.detected')).toHaveLength(1);
  });

  it('a drifting node of a dead replica, swept disconnected, comes back to the sweep leader: nothing new, resolved once', async () => {
    const { replicas } = await openFleet(2, cleanups);
    await waitUntil(() => replicas.filter((r) => r.store.isLeader).length === 1, 'one leader');
    const leader = replicas.find((r) => r.store.isLeader) as Replica;
    const doomed = replicas.find((r) => r !== leader) as Replica;
    await doomed.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 't', reason: 'r' });
    hello(doomed, 'n1', B);
    await doomed.monitor.flush();
    await waitUntil(() => leader.monitor.node('n1')?.state === 'drift', 'drift on the leader');
    // The replica dies without ending the session; the leader's sweep reports the node.
    await doomed.monitor.close();
    await doomed.store.close();
    await waitUntil(
      () => alerts([leader], 'node.disconnected').length === 1,
      'the node swept disconnected',
    );
    hello(leader, 'n1', B, { instance_id: 'inst-n1-again' });
    expect(leader.monitor.node('n1')?.state).toBe('drift');
    await sleep(300);
    expect(alerts(replicas, 'drift.detected')).toHaveLength(1);
    heartbeat(leader, 'n1', A);
    expect(leader.monitor.node('n1')?.state).toBe('in_sync');
    expect(alerts(replicas, 'drift.resolved')).toHaveLength(1);
    expect(alerts(replicas, 'drift.detected')).toHaveLength(1);
  });

  it('a replica started afterwards knows the open episode and resolves it', async () => {
    const { schema, replicas } = await openFleet(1, cleanups, { store: { sweep: false } });
    const [a] = replicas as [Replica];
    await driftThenLeave(replicas, a, 'n1');
    await a.monitor.flush();
    const { replicas: late } = await openFleet(1, cleanups, {
      schema,
      first: 1,
      store: { sweep: false },
    });
    const c = late[0]!;
    expect(c.monitor.node('n1')?.state).toBe('disconnected');
    hello(c, 'n1', A);
    await waitUntil(() => c.sink.events.length > 0, 'an alert on the new replica');
    await sleep(300);
    expect(alerts([a, c], 'drift.resolved')).toHaveLength(1);
    expect(alerts([a, c], 'drift.detected')).toHaveLength(1);
  });
});
