import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { MemoryFleetStore, type FleetEvent } from '@plumbline/core/drift';
import { FileFleetStore } from '@plumbline/core/node';
import { A, B, T0 } from './helpers.js';
import { harness } from './monitor-harness.js';

const alerts = (events: readonly FleetEvent[]) =>
  events
    .filter((e) => e.type === 'drift.detected' || e.type === 'drift.resolved')
    .map((e) => e.type);

describe('a drift episode', () => {
  it('is resolved once when a node that drifted, disconnected and came back in sync', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const h = await harness({ audit: logger });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A);
    h.clock.advance(100);
    h.beat('n1', B);
    expect(h.state('n1')).toBe('drift');
    h.clock.advance(1000);
    h.drop('n1');
    expect(h.state('n1')).toBe('disconnected');
    h.clock.advance(2000);
    h.hello('n1', A, { session: 's2' });
    expect(h.state('n1')).toBe('in_sync');
    expect(alerts(h.events)).toEqual(['drift.detected', 'drift.resolved']);
    const resolved = h.of('drift.resolved')[0]!;
    expect(resolved).toMatchObject({
      node_id: 'n1',
      drift_since: new Date(T0 + 100).toISOString(),
    });
    await logger.flush();
    const audited = sink.events.filter((e) => e.type === 'drift.resolved');
    expect(audited).toHaveLength(1);
    expect(audited[0]?.details).toMatchObject({ event_id: resolved.id, drift_duration_ms: 3000 });
    await h.monitor.close();
  });

  it('raises nothing new when a node comes back still drifting, and resolves once after', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', B);
    expect(h.state('n1')).toBe('drift');
    h.drop('n1');
    h.hello('n1', B, { session: 's2' });
    h.clock.advance(5000);
    // A failed-over session and a waiting reconnect do not end the episode either.
    h.drop('n1', 1006, 's2');
    h.hello('n1', null, { session: 's3', awaitingReport: true });
    expect(h.state('n1')).toBe('awaiting_report');
    h.beat('n1', B, { session: 's3' });
    expect(h.state('n1')).toBe('drift');
    expect(alerts(h.events)).toEqual(['drift.detected']);
    h.beat('n1', A, { session: 's3' });
    expect(alerts(h.events)).toEqual(['drift.detected', 'drift.resolved']);
    // A new drift after the resolution is a new episode.
    h.beat('n1', B, { session: 's3' });
    expect(alerts(h.events)).toEqual(['drift.detected', 'drift.resolved', 'drift.detected']);
    await h.monitor.close();
  });

  it('stays open through stale and rejected, and is resolved once', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', B);
    h.clock.advance(5000);
    expect(h.state('n1')).toBe('stale');
    h.beat('n1', B);
    expect(h.state('n1')).toBe('drift');
    h.beat('n1', B, {
      error: {
        artifact_hash: A,
        code: 'PLB_VERIFY_SIGNATURE',
        message: 'bad',
        at: '2026-01-01T00:00:00Z',
      },
    });
    expect(h.state('n1')).toBe('rejected');
    h.beat('n1', B, { error: null });
    expect(h.state('n1')).toBe('drift');
    expect(alerts(h.events)).toEqual(['drift.detected']);
    h.clock.advance(250);
    h.beat('n1', A);
    expect(alerts(h.events)).toEqual(['drift.detected', 'drift.resolved']);
    expect(h.of('drift.resolved')[0]?.drift_since).toBe(new Date(T0).toISOString());
    await h.monitor.close();
  });

  it('survives a restart of the control plane (memory and file stores)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plb-episode-'));
    try {
      for (const open of [
        async () => new MemoryFleetStore(),
        async () => FileFleetStore.open({ path: join(dir, 'fleet.json'), fsync: false }),
      ]) {
        const store = await open();
        const first = await harness({ store });
        await first.monitor.setDesired({
          cluster: 'prod',
          artifact_hash: A,
          actor: 'a',
          reason: 'r',
        });
        first.hello('n1', B);
        await first.monitor.close();
        // The same store (the file reopened) after a restart.
        const again = store instanceof MemoryFleetStore ? store : await open();
        const second = await harness({ store: again });
        expect(second.state('n1')).toBe('disconnected');
        second.hello('n1', B);
        expect(alerts(second.events)).toEqual([]);
        second.beat('n1', A);
        expect(alerts(second.events)).toEqual(['drift.resolved']);
        await second.monitor.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is closed silently when its node is forgotten', async () => {
    const h = await harness();
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', B);
    h.drop('n1');
    expect(await h.monitor.forget('n1')).toBe(true);
    expect(alerts(h.events)).toEqual(['drift.detected']);
    // Back after being forgotten: a new node, a new episode.
    h.hello('n1', B, { session: 's2' });
    expect(alerts(h.events)).toEqual(['drift.detected', 'drift.detected']);
    await h.monitor.close();
  });
});

describe('a desired-state change', () => {
  it('carries the id of its alert in its audit event, with a single-process store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plb-desired-id-'));
    try {
      for (const store of [
        new MemoryFleetStore(),
        await FileFleetStore.open({ path: join(dir, 'fleet.json'), fsync: false }),
      ]) {
        const { logger, sink } = createMemoryAuditLogger();
        const h = await harness({ store, audit: logger });
        await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
        await h.monitor.clearDesired('prod', 'a');
        h.clock.advance(1);
        await h.monitor.setDesired({ cluster: 'prod', artifact_hash: B, actor: 'a', reason: 'r' });
        await logger.flush();
        const ids = h.of('desired_state.changed').map((e) => e.id);
        const audited = sink.events
          .filter((e) => e.type === 'desired_state.changed')
          .map((e) => e.details['event_id']);
        // Set, cleared, set again: each audit event carries its alert's id.
        expect(audited).toEqual(ids);
        // Three facts, three ids (the cluster's versions start again after it is cleared).
        expect(new Set(ids).size).toBe(3);
        await h.monitor.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
