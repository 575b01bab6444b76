import {
  createNoopMeter,
  type Attributes,
  type BatchObservableCallback,
  type Meter,
  type Observable,
} from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { DRIFT_METRICS, createLogSink, levelOf, type FleetEvent } from '@plumbline/core/drift';
import { A, B, C } from './helpers.js';
import { harness } from './monitor-harness.js';

/** A Meter that records what the monitor registers and observes (OpenTelemetry API only). */
function recordingMeter() {
  const noop = createNoopMeter();
  const names = new Map<Observable, string>();
  const callbacks = new Set<BatchObservableCallback>();
  const counted: { name: string; value: number; attributes: Attributes }[] = [];
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createObservableGauge(name: string) {
      const o: Observable = { addCallback() {}, removeCallback() {} };
      names.set(o, name);
      return o;
    },
    createObservableCounter(name: string) {
      const o: Observable = { addCallback() {}, removeCallback() {} };
      names.set(o, name);
      return o;
    },
    createCounter(name: string) {
      return {
        add: (value: number, attributes: Attributes = {}) =>
          counted.push({ name, value, attributes }),
      };
    },
    addBatchObservableCallback(cb: BatchObservableCallback) {
      callbacks.add(cb);
    },
    removeBatchObservableCallback(cb: BatchObservableCallback) {
      callbacks.delete(cb);
    },
  });
  const collect = () => {
    const observed: { name: string; value: number; attributes: Attributes }[] = [];
    for (const cb of callbacks) {
      void cb({
        observe: (o: Observable, value: number, attributes: Attributes = {}) =>
          observed.push({ name: names.get(o) as string, value, attributes }),
      });
    }
    return observed;
  };
  return { meter, collect, counted, callbacks };
}

describe('FleetMonitor metrics', () => {
  it('exports gauges and counters without node ids, tenants or hashes in labels', async () => {
    const rec = recordingMeter();
    const h = await harness({
      meter: rec.meter,
      sinks: [createLogSink({ writable: { write: () => true } })],
    });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A);
    h.hello('n2', B);
    h.beat('n1', A);
    h.beat('n1', A, { seq: 1 });
    h.monitor.countRejected('malformed');
    const observed = rec.collect();
    const value = (name: string, attributes: Attributes) =>
      observed.find(
        (o) => o.name === name && JSON.stringify(o.attributes) === JSON.stringify(attributes),
      )?.value;
    expect(value(DRIFT_METRICS.nodes, { cluster: 'prod', state: 'in_sync' })).toBe(1);
    expect(value(DRIFT_METRICS.nodes, { cluster: 'prod', state: 'drift' })).toBe(1);
    expect(value(DRIFT_METRICS.nodes, { cluster: 'prod', state: 'stale' })).toBe(0);
    expect(value(DRIFT_METRICS.heartbeats, {})).toBe(1);
    expect(value(DRIFT_METRICS.replayed, {})).toBe(1);
    expect(value(DRIFT_METRICS.rejected, { reason: 'malformed' })).toBe(1);
    expect(value(DRIFT_METRICS.alertsDelivered, { sink: 'log' })).toBe(2);
    expect(value(DRIFT_METRICS.alertsDropped, { sink: 'log' })).toBe(0);
    expect(
      rec.counted.filter((c) => c.name === DRIFT_METRICS.transitions).map((c) => c.attributes),
    ).toEqual([
      { from: 'never_seen', to: 'in_sync' },
      { from: 'never_seen', to: 'drift' },
    ]);
    const allowed = new Set(['cluster', 'state', 'from', 'to', 'reason', 'sink']);
    for (const o of [...observed, ...rec.counted]) {
      for (const [key, v] of Object.entries(o.attributes)) {
        expect(allowed.has(key), key).toBe(true);
        expect(String(v)).not.toMatch(/sha256:|^n[12]$/);
      }
    }
    await h.monitor.close();
    expect(rec.callbacks.size).toBe(0);
  });
});

describe('FleetMonitor audit trail', () => {
  it('audits configuration changes with their actor and reason, and announced transitions', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const h = await harness({ audit: logger });
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: A,
      actor: 'alice',
      reason: 'release 1',
    });
    await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'ci',
      actor_type: 'service',
      reason: 'release 2',
      rollout: { graceMs: 90_500 },
    });
    await h.monitor.setExpectedNodes('prod', ['n1', 'n2'], 'alice');
    await h.monitor.setExpectedNodes('prod', ['n2', 'n3'], 'alice');
    h.hello('n2', C);
    h.beat('n2', B);
    await h.monitor.pin({
      node_id: 'n2',
      cluster: 'prod',
      artifact_hash: C,
      actor: 'bob',
      reason: 'hold',
    });
    await h.monitor.unpin('n2', 'bob');
    await h.monitor.unpin('n2', 'bob');
    await h.monitor.clearDesired('prod', 'carol');
    await h.monitor.clearDesired('prod', 'carol');
    await expect(
      h.monitor.setDesired({
        cluster: 'prod',
        artifact_hash: A,
        actor: 'mallory',
        reason: 'race',
        expected_version: 7,
      }),
    ).rejects.toMatchObject({
      code: 'PLB_STORE_CONFLICT',
    });
    await logger.flush();
    const brief = sink.events.map((e) => [
      e.type,
      e.outcome,
      e.actor.id,
      e.reason ?? null,
      e.details,
    ]);
    expect(brief).toEqual([
      [
        'desired_state.changed',
        'success',
        'alice',
        'release 1',
        { cluster: 'prod', previous_hash: null, artifact_hash: A },
      ],
      [
        'desired_state.changed',
        'success',
        'ci',
        'release 2',
        { cluster: 'prod', previous_hash: A, artifact_hash: B, deadline_seconds: 91 },
      ],
      [
        'fleet.expected_nodes_changed',
        'success',
        'alice',
        null,
        { cluster: 'prod', added: ['n1', 'n2'], removed: [] },
      ],
      [
        'fleet.expected_nodes_changed',
        'success',
        'alice',
        null,
        { cluster: 'prod', added: ['n3'], removed: ['n1'] },
      ],
      [
        'fleet.node_state_changed',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: C,
          desired_hash: B,
          instance_id: 'inst-n2',
          from: 'never_seen',
          to: 'drift',
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'drift.detected',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: C,
          desired_hash: B,
          instance_id: 'inst-n2',
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'fleet.node_state_changed',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: B,
          desired_hash: B,
          instance_id: 'inst-n2',
          from: 'drift',
          to: 'in_sync',
          drift_duration_ms: 0,
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'drift.resolved',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: B,
          desired_hash: B,
          instance_id: 'inst-n2',
          drift_duration_ms: 0,
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'fleet.node_state_changed',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: B,
          desired_hash: C,
          instance_id: 'inst-n2',
          from: 'in_sync',
          to: 'drift',
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'drift.detected',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: B,
          desired_hash: C,
          instance_id: 'inst-n2',
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'desired_state.changed',
        'success',
        'bob',
        'hold',
        { cluster: 'prod', previous_hash: B, artifact_hash: C },
      ],
      [
        'fleet.node_state_changed',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: B,
          desired_hash: B,
          instance_id: 'inst-n2',
          from: 'drift',
          to: 'in_sync',
          drift_duration_ms: 0,
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'drift.resolved',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: B,
          desired_hash: B,
          instance_id: 'inst-n2',
          drift_duration_ms: 0,
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'desired_state.changed',
        'success',
        'bob',
        'pin removed',
        { cluster: 'prod', previous_hash: C, artifact_hash: B },
      ],
      [
        'fleet.node_state_changed',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n2',
          cluster: 'prod',
          reported_hash: B,
          desired_hash: null,
          instance_id: 'inst-n2',
          from: 'in_sync',
          to: 'unknown',
        },
      ],
      [
        'desired_state.changed',
        'success',
        'carol',
        'desired state cleared',
        { cluster: 'prod', previous_hash: B, artifact_hash: null },
      ],
      [
        'desired_state.changed',
        'failure',
        'mallory',
        'race (PLB_STORE_CONFLICT)',
        { cluster: 'prod', previous_hash: null, artifact_hash: A },
      ],
    ]);
    expect(sink.events[1]?.actor.type).toBe('service');
    await h.monitor.close();
    await logger.close();
  });

  it('fails a configuration change when a must-write audit sink fails, and counts failed transition events', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const h = await harness({ audit: logger });
    sink.failWith(new Error('disk full'));
    await expect(
      h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' }),
    ).rejects.toMatchObject({
      code: 'PLB_AUDIT_WRITE_FAILED',
    });
    h.hello('n1', B);
    await logger.flush().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(h.monitor.counters().auditErrors).toBeGreaterThanOrEqual(2);
    await h.monitor.close();
    sink.failWith(undefined);
    await logger.close();
  });
});

describe('createLogSink', () => {
  it('writes one JSON line per alert with a level, filters by type, and counts write failures', async () => {
    const lines: string[] = [];
    const event: FleetEvent = {
      type: 'node.stale',
      id: 'e1',
      at: '2026-01-01T00:00:00.000Z',
      node_id: 'n1',
      cluster: 'prod',
      state: 'stale',
      from: 'in_sync',
      reported_hash: A,
      desired_hash: A,
      instance_id: null,
      last_seen: null,
    };
    const sink = createLogSink({
      writable: { write: (l: string) => lines.push(l) },
      types: ['node.stale'],
    });
    sink.send(event);
    sink.send({ ...event, type: 'node.never_seen' } as FleetEvent);
    await sink.flush();
    expect(lines).toEqual([`${JSON.stringify({ level: 'warn', msg: 'fleet event', ...event })}\n`]);
    await sink.close();
    sink.send(event);
    expect(sink.stats()).toEqual({ accepted: 1, delivered: 1, dropped: 1, failures: 0, queued: 0 });
    const failing = createLogSink({
      writable: {
        write: () => {
          throw new Error('EPIPE');
        },
      },
    });
    failing.send(event);
    expect(failing.stats()).toMatchObject({ failures: 1, dropped: 1, delivered: 0 });
    expect(levelOf({ ...event, type: 'rollout.completed' } as unknown as FleetEvent)).toBe('info');
    for (const type of [
      'drift.detected',
      'node.rejected',
      'node.disconnected',
      'node.never_seen',
      'node.flapping',
      'rollout.deadline_exceeded',
    ] as const) {
      expect(levelOf({ ...event, type } as unknown as FleetEvent)).toBe('warn');
    }
  });
});

describe('fleet audit events and alerts', () => {
  it('record the id of the alert they go with, and how long a drift lasted', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const h = await harness({ audit: logger });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', B);
    h.clock.advance(2500);
    h.beat('n1', A);
    await logger.flush();
    const detected = h.of('drift.detected')[0];
    const resolved = h.of('drift.resolved')[0];
    const audited = (type: string) => sink.events.filter((e) => e.type === type);
    expect(audited('drift.detected').map((e) => e.details['event_id'])).toEqual([detected?.id]);
    expect(audited('drift.resolved').map((e) => e.details)).toEqual([
      expect.objectContaining({ event_id: resolved?.id, drift_duration_ms: 2500 }),
    ]);
    expect(audited('fleet.node_state_changed').map((e) => e.details)).toEqual([
      expect.objectContaining({ from: 'never_seen', to: 'drift', event_id: detected?.id }),
      expect.objectContaining({
        from: 'drift',
        to: 'in_sync',
        drift_duration_ms: 2500,
        event_id: resolved?.id,
      }),
    ]);
    await h.monitor.close();
  });
});
