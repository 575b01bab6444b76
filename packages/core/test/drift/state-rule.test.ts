import {
  decideNodeState,
  NODE_STATES,
  type DesiredFacts,
  type NodeFacts,
} from '@plumbline/core/drift';
import { describe, expect, it } from 'vitest';
import { A, B, C } from './helpers.js';
import { harness } from './monitor-harness.js';

const live: NodeFacts = {
  connected: true,
  seen: true,
  stale: false,
  awaitingReport: false,
  reported: A,
  workers: null,
  last_load_error: null,
};
const wantA: DesiredFacts = { desired: A, pinned: false, rollout: null };
const LIVE_REPORTS: Exclude<NodeFacts['live'], undefined>[] = [
  null,
  { status: 'ok', digest: C, expected_digest: C },
  { status: 'ok', digest: B, expected_digest: C },
  { status: 'reload_pending', digest: C, expected_digest: C },
  { status: 'failing', digest: null, expected_digest: C },
];
const rolloutBtoA: DesiredFacts = {
  desired: A,
  pinned: false,
  rollout: { previous_hash: B, status: 'in_progress' },
};

describe('decideNodeState (the one node-state rule)', () => {
  it('judges liveness before what a node runs', () => {
    expect(decideNodeState({ ...live, connected: false, seen: false }, wantA)).toBe('never_seen');
    expect(decideNodeState({ ...live, connected: false }, wantA)).toBe('disconnected');
    expect(decideNodeState({ ...live, stale: true, reported: C }, wantA)).toBe('stale');
    expect(decideNodeState({ ...live, awaitingReport: true, reported: C }, wantA)).toBe(
      'awaiting_report',
    );
    expect(decideNodeState({ ...live, stale: true, awaitingReport: true }, wantA)).toBe('stale');
  });

  it('compares what a node and every worker run with the desired hash', () => {
    expect(decideNodeState(live, { ...wantA, desired: null })).toBe('unknown');
    expect(decideNodeState(live, wantA)).toBe('in_sync');
    expect(decideNodeState({ ...live, reported: B }, wantA)).toBe('drift');
    expect(decideNodeState({ ...live, reported: null }, wantA)).toBe('drift');
    const workers = [
      { id: 'w1', artifact_hash: A },
      { id: 'w2', artifact_hash: B },
    ];
    expect(decideNodeState({ ...live, workers }, wantA)).toBe('drift');
    expect(decideNodeState({ ...live, workers: [{ id: 'w1', artifact_hash: A }] }, wantA)).toBe(
      'in_sync',
    );
  });

  it('is rejected only for a failed load of the desired artifact', () => {
    const error = { artifact_hash: A, code: 'PLB_X', message: 'bad', at: '2026-01-01T00:00:00Z' };
    expect(decideNodeState({ ...live, reported: B, last_load_error: error }, wantA)).toBe(
      'rejected',
    );
    const other = { ...error, artifact_hash: C };
    expect(decideNodeState({ ...live, reported: B, last_load_error: other }, wantA)).toBe('drift');
  });

  it('is pending during a rollout in progress, unless pinned or past its deadline', () => {
    expect(decideNodeState({ ...live, reported: B }, rolloutBtoA)).toBe('pending');
    expect(
      decideNodeState(
        { ...live, reported: B, workers: [{ id: 'w', artifact_hash: A }] },
        rolloutBtoA,
      ),
    ).toBe('pending');
    expect(decideNodeState({ ...live, reported: C }, rolloutBtoA)).toBe('drift');
    expect(decideNodeState({ ...live, reported: B }, { ...rolloutBtoA, pinned: true })).toBe(
      'drift',
    );
    expect(
      decideNodeState(
        { ...live, reported: B },
        { ...rolloutBtoA, rollout: { previous_hash: B, status: 'deadline_exceeded' } },
      ),
    ).toBe('drift');
  });

  it('only returns states of the one state list', () => {
    const states = new Set<string>();
    for (const [connected, seen] of [
      [true, true],
      [false, true],
      [false, false],
    ] as const)
      for (const stale of [true, false])
        for (const awaitingReport of [true, false])
          for (const reported of [A, B, null])
            for (const target of [wantA, rolloutBtoA, { ...wantA, desired: null }])
              for (const probe of LIVE_REPORTS)
                states.add(
                  decideNodeState(
                    { ...live, connected, seen, stale, awaitingReport, reported, live: probe },
                    target,
                  ),
                );
    for (const state of states) expect(NODE_STATES).toContain(state);
    expect(states.size).toBe(NODE_STATES.length - 1); // all but `rejected` (no load error above)
  });
});

describe('awaiting_report (a hello without a report)', () => {
  it('is not judged and raises nothing until the first heartbeat with a hash', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.events.length = 0;
    h.hello('bc-1', null, { awaitingReport: true });
    expect(h.state('bc-1')).toBe('awaiting_report');
    expect(h.monitor.cluster('prod')?.counts.awaiting_report).toBe(1);
    h.beat('bc-1', null);
    expect(h.state('bc-1')).toBe('awaiting_report');
    expect(h.of('drift.detected')).toEqual([]);
    h.beat('bc-1', B);
    expect(h.state('bc-1')).toBe('drift');
    expect(h.of('drift.detected')).toMatchObject([
      { node_id: 'bc-1', from: 'awaiting_report', reported_hash: B },
    ]);
    h.beat('bc-1', A);
    expect(h.state('bc-1')).toBe('in_sync');
    await h.monitor.close();
  });

  it('a healthy node connecting this way raises no alert at all', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.events.length = 0;
    h.hello('bc-1', null, { awaitingReport: true });
    h.beat('bc-1', A);
    expect(h.state('bc-1')).toBe('in_sync');
    expect(h.events.map((e) => e.type)).toEqual(['node.state_changed', 'node.state_changed']);
    await h.monitor.close();
  });

  it('does not count the wait as a flap', async () => {
    const h = await harness({ flapDamping: { threshold: 3, halfLifeMs: 3_600_000 } });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    for (let i = 0; i < 2; i++) {
      h.hello('bc-1', null, { awaitingReport: true, instance: `i${i}` });
      h.beat('bc-1', A, { seq: 1 });
      h.drop('bc-1');
    }
    expect(h.of('node.flapping')).toEqual([]);
    expect(h.monitor.node('bc-1')?.flapping).toBe(false);
    await h.monitor.close();
  });

  it('a heartbeat of a session that said hello with a hash is judged at once', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', B);
    expect(h.state('n1')).toBe('drift');
    await h.monitor.close();
  });
});

describe('live configuration (protocol v1.1 live_config)', () => {
  const withLive = (report: Exclude<NodeFacts['live'], undefined>): NodeFacts => ({
    ...live,
    live: report,
  });

  it('is in sync only when the live digest matches what the artifact says', () => {
    expect(decideNodeState(withLive(null), wantA)).toBe('in_sync');
    expect(decideNodeState(withLive({ status: 'ok', digest: C, expected_digest: C }), wantA)).toBe(
      'in_sync',
    );
    // The artifact's payload is unknown: nothing to compare the live digest with.
    expect(
      decideNodeState(withLive({ status: 'ok', digest: C, expected_digest: null }), wantA),
    ).toBe('in_sync');
  });

  it('is drift when the running configuration changed out of band, pending during a rollout', () => {
    const changed = withLive({ status: 'ok', digest: B, expected_digest: C });
    expect(decideNodeState(changed, wantA)).toBe('drift');
    expect(decideNodeState(changed, rolloutBtoA)).toBe('pending');
    expect(decideNodeState(changed, { ...rolloutBtoA, pinned: true })).toBe('drift');
  });

  it('is reload_pending when files changed without a reload and the running config still matches', () => {
    expect(
      decideNodeState(withLive({ status: 'reload_pending', digest: C, expected_digest: C }), wantA),
    ).toBe('reload_pending');
    // A reload pending does not hide a running configuration that already differs.
    expect(
      decideNodeState(withLive({ status: 'reload_pending', digest: B, expected_digest: C }), wantA),
    ).toBe('drift');
  });

  it('is probe_failing (never in_sync) when the probe fails, but artifact drift still wins', () => {
    const failing = withLive({ status: 'failing', digest: null, expected_digest: C });
    expect(decideNodeState(failing, wantA)).toBe('probe_failing');
    expect(decideNodeState({ ...failing, reported: B }, wantA)).toBe('drift');
    expect(decideNodeState({ ...failing, connected: false }, wantA)).toBe('disconnected');
  });
});
