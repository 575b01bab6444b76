import { describe, expect, it } from 'vitest';
import {
  DataPlaneReporter,
  FleetMonitor,
  ManualClock,
  createMemoryTransport,
  serveDrift,
  type FleetEvent,
} from '@plumbline/core/drift';
import { A, B, T0, identity, settle } from './helpers.js';

describe('monitor + serveDrift + memory transport + reporter', () => {
  it('reports in_sync, then drift on a reload, then disconnected', async () => {
    const clock = new ManualClock(T0);
    const monitor = await FleetMonitor.create({
      clock,
      heartbeatIntervalMs: 1000,
      flapDamping: false,
    });
    const events: FleetEvent[] = [];
    monitor.onAny((e) => events.push(e));
    const memory = createMemoryTransport({ tokens: { t1: identity('gw-1') } });
    const server = serveDrift({ transport: memory.transport, monitor });
    await server.start();
    await monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'alice', reason: 'r1' });
    const reporter = new DataPlaneReporter({
      channel: memory.channel('t1'),
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      initialState: { artifact_hash: A, loaded_at: '2026-01-01T00:00:00Z' },
    });
    reporter.start();
    await settle();
    expect(reporter.status).toBe('connected');
    expect(monitor.node('gw-1')?.state).toBe('in_sync');
    reporter.report({ artifact_hash: B, loaded_at: '2026-01-01T00:00:01Z' });
    await settle();
    expect(monitor.node('gw-1')?.state).toBe('drift');
    expect(events.some((e) => e.type === 'drift.detected')).toBe(true);
    clock.advance(1000);
    await settle();
    expect(monitor.counters().heartbeats).toBe(2);
    await reporter.close();
    await settle();
    expect(monitor.node('gw-1')?.state).toBe('disconnected');
    await server.close();
    await monitor.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
