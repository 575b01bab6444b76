import { describe, expect, it } from 'vitest';
import { createMemoryAuditLogger, type AuditEvent } from '@plumbline/core/audit';
import { A, B } from './helpers.js';
import { harness } from './monitor-harness.js';

const of = (events: readonly AuditEvent[], type: string) => events.filter((e) => e.type === type);

describe('FleetMonitor rollout audit', () => {
  it('audits a rollout started and completed under the ids of the alerts for the same facts', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const h = await harness({ audit: logger });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r1' });
    h.hello('n1', A);
    h.hello('n2', A);
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'r2',
      rollout: { graceMs: 60_000 },
    });
    h.beat('n1', B);
    await logger.flush();
    // Started, not yet completed (n2 still runs the previous artifact).
    expect(of(sink.events, 'fleet.rollout_completed')).toHaveLength(0);
    h.beat('n2', B);
    await logger.flush();

    const changed = h.of('desired_state.changed');
    const started = of(sink.events, 'fleet.rollout_started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      outcome: 'success',
      severity: 'info',
      actor: { type: 'system', id: 'fleet-monitor' },
      subject: { type: 'cluster', id: 'prod' },
      details: {
        cluster: 'prod',
        artifact_hash: B,
        previous_hash: A,
        version: 2,
        started_at: '2026-01-01T00:00:00.000Z',
        deadline: '2026-01-01T00:01:00.000Z',
        event_id: changed[1]?.id,
      },
    });

    const completedAlerts = h.of('rollout.completed');
    expect(completedAlerts).toHaveLength(1);
    const completed = of(sink.events, 'fleet.rollout_completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]?.details).toEqual({
      ...started[0]?.details,
      event_id: completedAlerts[0]?.id,
    });
    // The deadline passing after completion audits nothing more.
    h.clock.advance(120_000);
    await logger.flush();
    expect(of(sink.events, 'fleet.rollout_deadline_exceeded')).toHaveLength(0);
    // An immediate change (no window) starts no rollout.
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r3' });
    await logger.flush();
    expect(of(sink.events, 'fleet.rollout_started')).toHaveLength(1);
    await h.monitor.close();
    await logger.close();
  });

  it('audits a missed deadline once, with the lagging nodes and the alert id', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const h = await harness({ audit: logger });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r1' });
    for (const node of ['n1', 'n2', 'n3']) h.hello(node, A);
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'r2',
      rollout: { graceMs: 10_000 },
    });
    h.clock.advance(9_000);
    h.beat('n1', A);
    h.beat('n2', B);
    h.beat('n3', A);
    h.clock.advance(1_000);
    await logger.flush();
    const alerts = h.of('rollout.deadline_exceeded');
    expect(alerts).toHaveLength(1);
    const exceeded = of(sink.events, 'fleet.rollout_deadline_exceeded');
    expect(exceeded).toHaveLength(1);
    expect(exceeded[0]).toMatchObject({
      outcome: 'failure',
      severity: 'medium',
      details: {
        cluster: 'prod',
        artifact_hash: B,
        previous_hash: A,
        version: 2,
        lagging: 2,
        lagging_nodes: ['n1', 'n3'],
        event_id: alerts[0]?.id,
      },
    });
    // The lagging nodes catching up later completes nothing: the rollout is over.
    h.beat('n1', B);
    h.beat('n3', B);
    await logger.flush();
    expect(of(sink.events, 'fleet.rollout_completed')).toHaveLength(0);
    await h.monitor.close();
    await logger.close();
  });
});
