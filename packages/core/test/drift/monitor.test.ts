import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  FleetMonitor,
  ManualClock,
  MemoryFleetStore,
  createLogSink,
  type AlertSink,
  type FleetEvent,
} from '@plumbline/core/drift';
import { A, B, C, T0, identity } from './helpers.js';
import { harness } from './monitor-harness.js';

const ERR_B = {
  artifact_hash: B,
  code: 'PLB_VERIFY_SIGNATURE',
  message: 'bad signature',
  at: '2026-01-01T00:00:00Z',
};

describe('FleetMonitor states and transitions (fake clock)', () => {
  it('shows the hello provenance only while the node reports the hash it came with', async () => {
    const h = await harness();
    h.hello('n1', A);
    const announced = { commit: 'c'.repeat(40), builder: { id: 'test', version: '1' } };
    expect(h.monitor.node('n1')?.provenance).toEqual(announced);
    h.beat('n1', B);
    expect(h.monitor.node('n1')).toMatchObject({ reported_hash: B, provenance: null });
    h.beat('n1', null);
    expect(h.monitor.node('n1')).toMatchObject({ reported_hash: null, provenance: null });
    h.beat('n1', A);
    expect(h.monitor.node('n1')).toMatchObject({ reported_hash: A, provenance: announced });
  });

  it('computes in_sync, drift and unknown, and emits drift.detected once with the evidence', async () => {
    const h = await harness();
    h.hello('n1', A);
    expect(h.state('n1')).toBe('unknown');
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: A,
      actor: 'alice',
      reason: 'release 1',
    });
    expect(h.state('n1')).toBe('in_sync');
    h.clock.advance(100);
    h.beat('n1', B);
    h.beat('n1', B);
    h.beat('n1', B);
    expect(h.state('n1')).toBe('drift');
    const drift = h.of('drift.detected');
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({
      node_id: 'n1',
      cluster: 'prod',
      from: 'in_sync',
      state: 'drift',
      reported_hash: B,
      desired_hash: A,
      instance_id: 'inst-n1',
      at: new Date(T0 + 100).toISOString(),
      // The hello's provenance belongs to A; the provenance of B is unknown in this session.
      provenance: null,
    });
    expect(h.monitor.node('n1')?.provenance).toBeNull();
    expect(h.monitor.node('n1')).toMatchObject({
      since: new Date(T0 + 100).toISOString(),
      reported_hash: B,
      desired_hash: A,
    });
    h.beat('n1', A);
    expect(h.state('n1')).toBe('in_sync');
    expect(h.of('drift.resolved')).toMatchObject([
      { node_id: 'n1', state: 'in_sync', drift_since: new Date(T0 + 100).toISOString() },
    ]);
    expect(h.of('node.state_changed').map((e) => `${e.from}>${e.state}`)).toEqual([
      'never_seen>unknown',
      'unknown>in_sync',
      'in_sync>drift',
      'drift>in_sync',
    ]);
    expect(h.of('desired_state.changed')).toMatchObject([
      {
        cluster: 'prod',
        artifact_hash: A,
        previous_hash: null,
        version: 1,
        actor: 'alice',
        reason: 'release 1',
      },
    ]);
    await h.monitor.close();
  });

  it('runs a rollout that completes: pending until every node runs the new artifact', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'alice', reason: 'r1' });
    h.hello('n1', A);
    h.hello('n2', A);
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'alice',
      reason: 'r2',
      rollout: { graceMs: 60_000 },
    });
    expect([h.state('n1'), h.state('n2')]).toEqual(['pending', 'pending']);
    expect(h.monitor.cluster('prod')?.rollout).toMatchObject({
      previous_hash: A,
      status: 'in_progress',
      deadline: new Date(T0 + 60_000).toISOString(),
    });
    h.clock.advance(2000);
    h.beat('n1', B);
    expect(h.state('n1')).toBe('in_sync');
    expect(h.of('rollout.completed')).toHaveLength(0);
    h.clock.advance(2500);
    expect(h.state('n2')).toBe('stale');
    h.beat('n1', B);
    expect(h.of('rollout.completed')).toHaveLength(0);
    h.beat('n2', B);
    expect(h.of('rollout.completed')).toMatchObject([
      { cluster: 'prod', artifact_hash: B, version: 2, rollout: { previous_hash: A } },
    ]);
    expect(h.monitor.cluster('prod')?.rollout?.status).toBe('completed');
    h.clock.advance(60_000);
    expect(h.of('rollout.deadline_exceeded')).toHaveLength(0);
    // After completion the previous artifact is no longer allowed.
    h.beat('n2', B);
    h.beat('n1', A);
    expect(h.state('n1')).toBe('drift');
    expect(h.of('drift.detected')).toHaveLength(1);
    await h.monitor.close();
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('runs a rollout that misses its deadline: laggards drift and the deadline event names them', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'alice', reason: 'r1' });
    for (const n of ['n1', 'n2', 'n3']) h.hello(n, A);
    const deadline = new Date(T0 + 30_000);
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'alice',
      reason: 'r2',
      rollout: { deadline },
    });
    h.beat('n1', B);
    h.beat('n3', C); // neither old nor new: drift at once
    expect([h.state('n1'), h.state('n2'), h.state('n3')]).toEqual(['in_sync', 'pending', 'drift']);
    for (let t = 0; t < 30; t++) {
      h.clock.advance(1000);
      h.beat('n1', B);
      h.beat('n2', A);
      h.beat('n3', C);
    }
    expect(h.state('n2')).toBe('drift');
    expect(h.of('rollout.deadline_exceeded')).toMatchObject([
      { cluster: 'prod', lagging: 2, lagging_nodes: ['n2', 'n3'], at: deadline.toISOString() },
    ]);
    expect(h.of('drift.detected').map((e) => e.node_id)).toEqual(['n3', 'n2']);
    expect(h.monitor.cluster('prod')?.rollout?.status).toBe('deadline_exceeded');
    await h.monitor.close();
  });

  it('accepts rollout deadlines as text or epoch milliseconds and refuses bad ones', async () => {
    const h = await harness();
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: A,
      actor: 'a',
      reason: 'r',
      rollout: { deadline: new Date(T0 + 5000).toISOString() },
    });
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'r',
      rollout: { deadline: T0 + 5000 },
    });
    expect(h.monitor.cluster('prod')?.rollout?.previous_hash).toBe(A);
    for (const rollout of [{ deadline: 'yesterday' }, { deadline: T0 - 1 }, {}, { graceMs: -5 }]) {
      await expect(
        h.monitor.setDesired({
          cluster: 'prod',
          artifact_hash: C,
          actor: 'a',
          reason: 'r',
          rollout,
        }),
      ).rejects.toMatchObject({
        code: 'PLB_DRIFT_INVALID_ROLLOUT',
      });
    }
    await expect(
      h.monitor.setDesired({
        cluster: 'prod',
        artifact_hash: 'sha256:nope' as never,
        actor: 'a',
        reason: 'r',
      }),
    ).rejects.toMatchObject({
      code: 'PLB_INVALID_DIGEST',
    });
    await expect(
      h.monitor.setDesired({ cluster: 'bad cluster', artifact_hash: A, actor: 'a', reason: 'r' }),
    ).rejects.toMatchObject({
      code: 'PLB_DRIFT_INVALID_NAME',
    });
    await expect(
      h.monitor.setDesired({
        cluster: 'prod',
        artifact_hash: C,
        actor: 'a',
        reason: 'r',
        expected_version: 1,
      }),
    ).rejects.toMatchObject({
      code: 'PLB_STORE_CONFLICT',
    });
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: C,
      actor: 'a',
      reason: 'r',
      expected_version: 2,
    });
    expect(h.monitor.desired('prod')?.version).toBe(3);
    await h.monitor.close();
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('reports expected nodes that never connect, and forgets them when no longer expected', async () => {
    const h = await harness();
    await h.monitor.setExpectedNodes('prod', ['n1', 'n2', 'n2'], 'alice');
    expect(h.of('node.never_seen').map((e) => e.node_id)).toEqual(['n1', 'n2']);
    expect(h.monitor.cluster('prod')?.counts.never_seen).toBe(2);
    h.hello('n1', null);
    expect(h.state('n1')).toBe('unknown');
    await h.monitor.setExpectedNodes('prod', ['n1', 'n3'], 'alice');
    expect(h.monitor.node('n2')).toBeUndefined();
    expect(h.state('n3')).toBe('never_seen');
    expect(h.monitor.cluster('prod')).toMatchObject({
      total: 2,
      counts: { never_seen: 1, unknown: 1 },
    });
    await expect(h.monitor.setExpectedNodes('prod', ['ok', 'not ok'], 'a')).rejects.toMatchObject({
      code: 'PLB_DRIFT_INVALID_NAME',
    });
    await h.monitor.close();
  });

  it('limits the expected inventory per cluster', async () => {
    const h = await harness({ maxExpectedPerCluster: 2 });
    await expect(h.monitor.setExpectedNodes('prod', ['a', 'b', 'c'], 'x')).rejects.toMatchObject({
      code: 'PLB_LIMIT_EXPECTED_NODES',
    });
    await h.monitor.close();
  });

  it('marks a node that failed to load the desired artifact rejected, with the error', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A);
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'r',
      rollout: { graceMs: 60_000 },
    });
    h.beat('n1', A, { error: ERR_B });
    expect(h.state('n1')).toBe('rejected');
    expect(h.of('node.rejected')).toMatchObject([
      { node_id: 'n1', from: 'pending', last_load_error: ERR_B },
    ]);
    expect(h.monitor.node('n1')?.last_load_error).toEqual(ERR_B);
    h.beat('n1', B, { error: ERR_B });
    expect(h.state('n1')).toBe('in_sync');
    h.beat('n1', B, { error: null });
    expect(h.monitor.node('n1')?.last_load_error).toBeNull();
    await h.monitor.close();
  });

  it('marks a silent node stale after 3 intervals (configurable), and recovers on a heartbeat', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A);
    h.hello('n2', A);
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      h.beat('n2', A);
    }
    expect(h.state('n1')).toBe('stale');
    expect(h.state('n2')).toBe('in_sync');
    expect(h.of('node.stale')).toMatchObject([
      {
        node_id: 'n1',
        from: 'in_sync',
        last_seen: new Date(T0).toISOString(),
        at: new Date(T0 + 3000).toISOString(),
      },
    ]);
    h.beat('n1', A);
    expect(h.state('n1')).toBe('in_sync');
    await h.monitor.close();

    const quick = await harness({ staleAfterIntervals: 1.5 });
    quick.hello('n1', null);
    quick.clock.advance(1499);
    expect(quick.state('n1')).toBe('unknown');
    quick.clock.advance(1);
    expect(quick.state('n1')).toBe('stale');
    await quick.monitor.close();
    expect(quick.clock.pendingTimers).toBe(0);
  });

  it('marks a node disconnected when its session ends; a replaced session closing late is ignored', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A, { session: 'old' });
    h.hello('n1', A, { session: 'new' });
    h.drop('n1', 4409, 'old');
    expect(h.state('n1')).toBe('in_sync');
    expect(h.beat('n1', A, { session: 'old' })).toBe(false);
    expect(h.monitor.counters().rejected).toMatchObject({ out_of_order: 1 });
    h.clock.advance(500);
    h.drop('n1', 1006, 'new');
    expect(h.state('n1')).toBe('disconnected');
    expect(h.of('node.disconnected')).toMatchObject([
      { node_id: 'n1', close_code: 1006, last_seen: new Date(T0).toISOString() },
    ]);
    expect(h.monitor.node('n1')?.connected).toBe(false);
    h.drop('n1', 1006, 'new');
    expect(h.of('node.disconnected')).toHaveLength(1);
    h.hello('n1', A, { session: 'third' });
    expect(h.state('n1')).toBe('in_sync');
    await h.monitor.close();
  });

  it('drops and counts heartbeats whose seq does not rise; a new instance starts over', async () => {
    const h = await harness();
    h.hello('n1', A);
    expect(h.beat('n1', A, { seq: 5 })).toBe(true);
    expect(h.beat('n1', B, { seq: 5 })).toBe(false);
    expect(h.beat('n1', B, { seq: 3 })).toBe(false);
    expect(h.monitor.node('n1')?.reported_hash).toBe(A);
    // Reconnect of the same instance keeps the seq floor.
    h.hello('n1', A, { session: 's2' });
    expect(h.beat('n1', B, { seq: 4, session: 's2' })).toBe(false);
    h.hello('n1', A, { session: 's3', instance: 'restarted' });
    expect(h.beat('n1', B, { seq: 1, session: 's3' })).toBe(true);
    expect(h.monitor.counters()).toMatchObject({ replayed: 3, heartbeats: 2 });
    await h.monitor.close();
  });

  it('refuses a hello that names another node or cluster, another major protocol, or a full fleet', async () => {
    const h = await harness({ maxNodes: 1 });
    const hello = {
      type: 'hello' as const,
      protocol: 'plumbline.drift/v1',
      node_id: 'n1',
      cluster: 'prod',
      instance_id: 'i',
      artifact_hash: null,
    };
    expect(h.monitor.connect(identity('n2'), hello, 's')).toMatchObject({
      ok: false,
      code: 'PLB_DRIFT_IDENTITY_MISMATCH',
      close_code: 4403,
    });
    expect(h.monitor.connect(identity('n1', 'staging'), hello, 's')).toMatchObject({
      ok: false,
      close_code: 4403,
    });
    expect(
      h.monitor.connect(identity('n1'), { ...hello, protocol: 'plumbline.drift/v2' }, 's'),
    ).toMatchObject({
      ok: false,
      code: 'PLB_DRIFT_UNSUPPORTED_PROTOCOL',
      close_code: 4400,
    });
    expect(
      h.monitor.connect(identity('n1'), { ...hello, protocol: 'plumbline.drift/v1.3' }, 's'),
    ).toEqual({ ok: true });
    expect(h.monitor.connect(identity('n2'), { ...hello, node_id: 'n2' }, 's2')).toMatchObject({
      ok: false,
      code: 'PLB_DRIFT_FLEET_FULL',
      close_code: 4429,
    });
    await h.monitor.setExpectedNodes('prod', ['n1', 'n3'], 'a');
    expect(h.monitor.node('n3')).toBeUndefined();
    expect(h.monitor.counters().rejected).toEqual({
      identity_mismatch: 2,
      protocol: 1,
      fleet_full: 2,
    });
    await h.monitor.close();
    expect(h.monitor.connect(identity('n1'), hello, 's9')).toMatchObject({
      ok: false,
      code: 'PLB_DRIFT_SHUTDOWN',
    });
  });

  it('honours per-node pins over the cluster desired state', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', C);
    expect(h.state('n1')).toBe('drift');
    await h.monitor.pin({
      node_id: 'n1',
      cluster: 'prod',
      artifact_hash: C,
      actor: 'a',
      reason: 'canary',
    });
    expect(h.monitor.node('n1')).toMatchObject({ state: 'in_sync', pinned: true, desired_hash: C });
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'r',
      rollout: { graceMs: 1000 },
    });
    expect(h.state('n1')).toBe('in_sync');
    await h.monitor.unpin('n1', 'a');
    expect(h.monitor.node('n1')).toMatchObject({ state: 'drift', pinned: false, desired_hash: B });
    await expect(
      h.monitor.pin({
        node_id: 'n1',
        cluster: 'prod',
        artifact_hash: 'x' as never,
        actor: 'a',
        reason: 'r',
      }),
    ).rejects.toMatchObject({
      code: 'PLB_INVALID_DIGEST',
    });
    await h.monitor.close();
  });

  it('requires every worker to run the desired artifact; a rollout allows old and new per worker', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A, {
      workers: [
        { id: 'w1', artifact_hash: A },
        { id: 'w2', artifact_hash: B },
      ],
    });
    expect(h.state('n1')).toBe('drift');
    h.beat('n1', A, {
      workers: [
        { id: 'w1', artifact_hash: A },
        { id: 'w2', artifact_hash: A },
      ],
    });
    expect(h.state('n1')).toBe('in_sync');
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'r',
      rollout: { graceMs: 10_000 },
    });
    h.beat('n1', B, {
      workers: [
        { id: 'w1', artifact_hash: B },
        { id: 'w2', artifact_hash: A },
      ],
    });
    expect(h.state('n1')).toBe('pending');
    h.beat('n1', B, {
      workers: [
        { id: 'w1', artifact_hash: B },
        { id: 'w2', artifact_hash: null },
      ],
    });
    expect(h.state('n1')).toBe('drift');
    h.beat('n1', B, {
      workers: [
        { id: 'w1', artifact_hash: B },
        { id: 'w2', artifact_hash: B },
      ],
    });
    expect(h.monitor.node('n1')).toMatchObject({
      state: 'in_sync',
      workers: [{ id: 'w1' }, { id: 'w2' }],
    });
    await h.monitor.close();
  });

  it('reports a flapping node once and holds back its alerts until it settles', async () => {
    const h = await harness({ flapDamping: { threshold: 4, halfLifeMs: 10_000 } });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A);
    for (let i = 0; i < 10; i++) {
      h.clock.advance(500);
      h.beat('n1', i % 2 === 0 ? B : A);
    }
    expect(h.of('node.flapping')).toHaveLength(1);
    expect(h.monitor.node('n1')?.flapping).toBe(true);
    // Transitions 1-3 alert (detected, resolved, detected); the 4th crosses the threshold.
    const alerts = (): number => h.of('drift.detected').length + h.of('drift.resolved').length;
    expect(alerts()).toBe(3);
    expect(h.of('node.state_changed').filter((e) => e.node_id === 'n1')).toHaveLength(11);
    // Alerts last announced drift; it settles in sync: after the score decays, one
    // flapping_ended, then one drift.resolved.
    for (let i = 0; i < 60; i++) {
      h.clock.advance(1000);
      h.beat('n1', A);
    }
    expect(h.of('node.flapping_ended')).toMatchObject([{ node_id: 'n1', state: 'in_sync' }]);
    expect(h.monitor.node('n1')?.flapping).toBe(false);
    const lastAlert = h.events
      .filter((e) => e.type === 'drift.detected' || e.type === 'drift.resolved')
      .at(-1);
    expect(lastAlert?.type).toBe('drift.resolved');
    expect(alerts()).toBe(4);
    await h.monitor.close();
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('answers queries: summary by cluster, nodes by state, one node', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('p2', B);
    h.hello('p1', A);
    h.hello('p3', A);
    h.hello('e1', A, { cluster: 'edge' });
    await h.monitor.setExpectedNodes('edge', ['e1', 'e2'], 'a');
    const summary = h.monitor.summary();
    expect(summary.map((c) => c.cluster)).toEqual(['edge', 'prod']);
    expect(summary[1]).toEqual({
      cluster: 'prod',
      desired_hash: A,
      desired_version: 1,
      rollout: null,
      counts: {
        in_sync: 2,
        drift: 1,
        pending: 0,
        rejected: 0,
        unknown: 0,
        stale: 0,
        disconnected: 0,
        never_seen: 0,
        awaiting_report: 0,
        reload_pending: 0,
        probe_failing: 0,
      },
      total: 3,
    });
    expect(summary[0]?.counts).toMatchObject({ unknown: 1, never_seen: 1 });
    expect(h.monitor.nodes({ state: 'in_sync' }).map((n) => n.node_id)).toEqual(['p1', 'p3']);
    expect(h.monitor.nodes({ cluster: 'edge' }).map((n) => n.node_id)).toEqual(['e1', 'e2']);
    expect(h.monitor.nodes({ cluster: 'nope' })).toEqual([]);
    expect(h.monitor.nodes({ limit: 2 }).map((n) => n.node_id)).toEqual(['e1', 'e2']);
    expect(h.monitor.node('e2')).toMatchObject({
      state: 'never_seen',
      last_seen: null,
      connected: false,
      reported_hash: null,
    });
    expect(h.monitor.node('p2')).toEqual({
      node_id: 'p2',
      cluster: 'prod',
      state: 'drift',
      since: new Date(T0).toISOString(),
      reported_hash: B,
      desired_hash: A,
      last_seen: new Date(T0).toISOString(),
      instance_id: 'inst-p2',
      provenance: { commit: 'c'.repeat(40), builder: { id: 'test', version: '1' } },
      loaded_at: '2026-01-01T00:00:00Z',
      workers: null,
      last_load_error: null,
      live_config: null,
      verification_reasons: null,
      pinned: false,
      flapping: false,
      connected: true,
    });
    expect(h.monitor.node('ghost')).toBeUndefined();
    expect(h.monitor.cluster('ghost')).toBeUndefined();
    // Last-seen times alone, as every node's detail gives them (the never-seen node left out).
    h.clock.advance(1500);
    h.beat('p1', A);
    const times = h.monitor.lastSeen();
    expect([...times.keys()].sort()).toEqual(['e1', 'p1', 'p2', 'p3']);
    for (const node of h.monitor.nodes()) {
      if (node.last_seen !== null) expect(times.get(node.node_id)).toBe(Date.parse(node.last_seen));
    }
    expect(times.get('p1')).toBe(T0 + 1500);
    await h.monitor.close();
  });

  it('clears desired state (nodes become unknown) and moves a node that changes cluster', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A);
    await h.monitor.clearDesired('prod', 'bob');
    await h.monitor.clearDesired('prod', 'bob');
    expect(h.state('n1')).toBe('unknown');
    expect(h.of('desired_state.changed').at(-1)).toMatchObject({
      artifact_hash: null,
      previous_hash: A,
      actor: 'bob',
      version: 0,
    });
    expect(h.of('desired_state.changed')).toHaveLength(2);
    await h.monitor.setDesired({ cluster: 'edge', artifact_hash: B, actor: 'a', reason: 'r' });
    h.hello('n1', B, { cluster: 'edge', session: 's2' });
    expect(h.monitor.node('n1')).toMatchObject({ cluster: 'edge', state: 'in_sync' });
    expect(h.monitor.cluster('prod')?.total).toBe(0);
    expect(h.monitor.cluster('edge')?.counts.in_sync).toBe(1);
    await h.monitor.close();
  });

  it('forgets disconnected nodes on request, never connected or expected ones', async () => {
    const h = await harness();
    h.hello('n1', A);
    expect(await h.monitor.forget('n1')).toBe(false);
    h.drop('n1');
    expect(await h.monitor.forget('n1')).toBe(true);
    expect(h.monitor.node('n1')).toBeUndefined();
    expect(await h.monitor.forget('n1')).toBe(false);
    await h.monitor.close();
  });

  it('sends alert events (not node.state_changed) to sinks and survives throwing listeners and sinks', async () => {
    const lines: string[] = [];
    const throwing: AlertSink = {
      name: 'broken',
      send() {
        throw new Error('sink bug');
      },
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
      stats: () => ({ accepted: 0, delivered: 0, dropped: 0, failures: 0, queued: 0 }),
    };
    const warnings: string[] = [];
    const h = await harness({
      sinks: [createLogSink({ writable: { write: (l: string) => lines.push(l) } }), throwing],
      logger: { warn: (m) => warnings.push(m) },
    });
    h.monitor.on('drift.detected', () => {
      throw new Error('listener bug');
    });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', B);
    const logged = lines.map((l) => JSON.parse(l) as FleetEvent & { level: string });
    expect(logged.map((e) => e.type)).toEqual(['desired_state.changed', 'drift.detected']);
    expect(logged[1]?.level).toBe('warn');
    expect(h.monitor.counters().listenerErrors).toBe(3);
    expect(warnings).toContain('a fleet event listener threw');
    expect(h.state('n1')).toBe('drift');
    await h.monitor.close();
  });

  it('bounds how long close() waits for sinks to flush', async () => {
    const stuck: AlertSink = {
      name: 'stuck',
      send() {},
      flush: () => new Promise<void>(() => undefined),
      close: () => Promise.resolve(),
      stats: () => ({ accepted: 0, delivered: 0, dropped: 0, failures: 0, queued: 1 }),
    };
    const h = await harness({ sinks: [stuck], sinkFlushTimeoutMs: 2000 });
    let closed = false;
    const closing = h.monitor.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(closed).toBe(false);
    h.clock.advance(2000);
    await closing;
    expect(closed).toBe(true);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('unsubscribes listeners', async () => {
    const h = await harness();
    const seen: string[] = [];
    const off = h.monitor.on('node.state_changed', (e) => seen.push(e.state));
    h.hello('n1', null);
    off();
    h.drop('n1');
    expect(seen).toEqual(['unknown']);
    await h.monitor.close();
  });

  it('refuses configuration changes after close and leaves no timers behind', async () => {
    const h = await harness({ flapDamping: { threshold: 2 } });
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: A,
      actor: 'a',
      reason: 'r',
      rollout: { graceMs: 100_000 },
    });
    h.hello('n1', B);
    h.beat('n1', A);
    h.beat('n1', B);
    expect(h.clock.pendingTimers).toBeGreaterThan(0);
    await h.monitor.close();
    await h.monitor.close();
    expect(h.clock.pendingTimers).toBe(0);
    for (const call of [
      () => h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' }),
      () => h.monitor.clearDesired('prod', 'a'),
      () =>
        h.monitor.pin({
          node_id: 'n1',
          cluster: 'prod',
          artifact_hash: A,
          actor: 'a',
          reason: 'r',
        }),
      () => h.monitor.unpin('n1', 'a'),
      () => h.monitor.setExpectedNodes('prod', [], 'a'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'PLB_DRIFT_MONITOR_CLOSED' });
    }
  });

  it('validates options', async () => {
    for (const bad of [
      { heartbeatIntervalMs: 0 },
      { staleAfterIntervals: -1 },
      { maxNodes: Number.NaN },
      { flapDamping: { threshold: 0 } },
      { persistIntervalMs: Infinity },
    ]) {
      const error = await FleetMonitor.create(bad).catch((e: unknown) => e);
      expect(PlumblineError.is(error, 'PLB_DRIFT_INVALID_OPTION')).toBe(true);
    }
  });
});

describe('FleetMonitor persistence and replicas', () => {
  it('writes observed state in batches and keeps retrying a failing store', async () => {
    class FlakyStore extends MemoryFleetStore {
      fail = true;
      saves = 0;
      override async saveObserved(
        nodes: Parameters<MemoryFleetStore['saveObserved']>[0],
      ): Promise<void> {
        this.saves++;
        if (this.fail) throw new PlumblineError('PLB_STORE_IO', 'disk full');
        return super.saveObserved(nodes);
      }
    }
    const store = new FlakyStore();
    const clock = new ManualClock(T0);
    const monitor = await FleetMonitor.create({ store, clock, persistIntervalMs: 100 });
    monitor.connect(
      identity('n1'),
      {
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'n1',
        cluster: 'prod',
        instance_id: 'i',
        artifact_hash: A,
      },
      's',
    );
    await monitor.flush();
    expect(monitor.counters().storeErrors).toBe(1);
    store.fail = false;
    clock.advance(100); // the retry timer
    await monitor.flush();
    expect(store.saves).toBe(2);
    expect((await store.load()).observed.map((o) => o.node_id)).toEqual(['n1']);
    await monitor.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('converges two monitors sharing one store through its change feed', async () => {
    const store = new MemoryFleetStore();
    const clock = new ManualClock(T0);
    const one = await FleetMonitor.create({ store, clock });
    const two = await FleetMonitor.create({ store, clock });
    two.connect(
      identity('n1'),
      {
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'n1',
        cluster: 'prod',
        instance_id: 'i',
        artifact_hash: A,
      },
      's',
    );
    await one.setDesired({ cluster: 'prod', artifact_hash: B, actor: 'a', reason: 'r' });
    expect(two.node('n1')?.state).toBe('drift');
    await one.pin({ node_id: 'n1', cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'hold' });
    expect(two.node('n1')?.state).toBe('in_sync');
    await one.setExpectedNodes('prod', ['n1', 'n2'], 'a');
    expect(two.node('n2')?.state).toBe('never_seen');
    await one.close();
    await two.close();
    await store.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('restores rollouts from the store: a passed deadline is reported exceeded, a future one resumes', async () => {
    const store = new MemoryFleetStore();
    const clock = new ManualClock(T0);
    const first = await FleetMonitor.create({ store, clock });
    await first.setDesired({
      cluster: 'prod',
      artifact_hash: A,
      actor: 'a',
      reason: 'r',
      rollout: { graceMs: 10_000 },
    });
    await first.setDesired({
      cluster: 'edge',
      artifact_hash: A,
      actor: 'a',
      reason: 'r',
      rollout: { graceMs: 60_000 },
    });
    await first.close();
    clock.set(T0 + 20_000);
    const second = await FleetMonitor.create({ store, clock });
    expect(second.cluster('prod')?.rollout?.status).toBe('deadline_exceeded');
    expect(second.cluster('edge')?.rollout?.status).toBe('in_progress');
    const events: FleetEvent[] = [];
    second.onAny((e) => events.push(e));
    clock.advance(40_000);
    expect(events.map((e) => e.type)).toEqual(['rollout.deadline_exceeded']);
    await second.close();
  });
});
