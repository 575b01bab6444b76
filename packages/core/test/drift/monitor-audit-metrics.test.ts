import {
  createNoopMeter,
  type Attributes,
  type BatchObservableCallback,
  type Meter,
  type Observable,
} from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import {
  DRIFT_METRICS,
  MemoryFleetStore,
  createLogSink,
  levelOf,
  type FleetEvent,
  type ObservedDrop,
  type ObservedNode,
} from '@plumbline/core/drift';
import { A, B, C } from './helpers.js';
import { harness } from './monitor-harness.js';

const UUID = expect.stringMatching(
  /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
);

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

/**
 * A store whose backend can go away: while it is away, observed writes go to a buffer of at most
 * `limit` nodes and what does not fit is dropped, reported once the backend is back.
 */
class UnreliableStore extends MemoryFleetStore {
  down = false;
  readonly #buffer = new Map<string, ObservedNode>();
  #drops: { dropped: number; first: string; last: string } | null = null;
  readonly #listeners = new Set<(drop: ObservedDrop) => void>();
  constructor(readonly limit: number) {
    super();
  }
  override saveObserved(nodes: readonly ObservedNode[]): Promise<void> {
    if (!this.down) return super.saveObserved(nodes);
    for (const node of nodes) {
      if (!this.#buffer.has(node.node_id) && this.#buffer.size >= this.limit) {
        const at = new Date().toISOString();
        this.#drops ??= { dropped: 0, first: at, last: at };
        this.#drops.dropped++;
        this.#drops.last = at;
      } else this.#buffer.set(node.node_id, node);
    }
    return Promise.resolve();
  }
  async up(): Promise<void> {
    this.down = false;
    await super.saveObserved([...this.#buffer.values()]);
    this.#buffer.clear();
    const drops = this.#drops;
    this.#drops = null;
    if (drops === null) return;
    for (const listener of this.#listeners) {
      listener({
        store: 'unreliable',
        dropped: drops.dropped,
        limit: this.limit,
        first_dropped_at: drops.first,
        last_dropped_at: drops.last,
      });
    }
  }
  onObservedDropped(listener: (drop: ObservedDrop) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

describe('FleetMonitor with a store that drops observed state', () => {
  it('counts what an outage dropped (metric without labels) and audits it once, without node ids', async () => {
    const store = new UnreliableStore(2);
    const rec = recordingMeter();
    const { logger, sink } = createMemoryAuditLogger();
    const h = await harness({ store, audit: logger, meter: rec.meter });
    store.down = true;
    for (const node of ['n1', 'n2', 'n3', 'n4', 'n5']) h.hello(node, A);
    await h.monitor.flush();
    for (const node of ['n1', 'n2', 'n3', 'n4', 'n5']) h.beat(node, B);
    await h.monitor.flush();
    await logger.flush();
    // Nothing is reported while the store is away.
    expect(h.monitor.counters().observedDropped).toBe(0);
    await store.up();
    await logger.flush();
    const dropped = sink.events.filter((e) => e.type === 'fleet.observed_dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({
      outcome: 'failure',
      severity: 'medium',
      actor: { type: 'system', id: 'fleet-monitor' },
      details: { store: 'unreliable', dropped_count: 6, buffer_limit: 2 },
    });
    expect(JSON.stringify(dropped[0])).not.toMatch(/n[1-5]/);
    expect(h.monitor.counters().observedDropped).toBe(6);
    const metric = rec.collect().filter((o) => o.name === DRIFT_METRICS.observedDropped);
    expect(metric).toEqual([{ name: DRIFT_METRICS.observedDropped, value: 6, attributes: {} }]);
    // An outage that drops nothing writes nothing; the next one that does is its own summary.
    store.down = true;
    h.beat('n1', A);
    await h.monitor.flush();
    await store.up();
    store.down = true;
    for (const node of ['n1', 'n2', 'n3']) h.beat(node, node === 'n1' ? B : A);
    await h.monitor.flush();
    await store.up();
    await logger.flush();
    expect(
      sink.events
        .filter((e) => e.type === 'fleet.observed_dropped')
        .map((e) => (e.details as { dropped_count: number }).dropped_count),
    ).toEqual([6, 1]);
    expect(h.monitor.counters().observedDropped).toBe(7);
    // After close, a late report is not counted.
    await h.monitor.close();
    store.down = true;
    await store.saveObserved([]);
    await logger.close();
  });
});

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
        // The id of the desired-state alert, with a single-process store too.
        { cluster: 'prod', previous_hash: null, artifact_hash: A, event_id: UUID },
      ],
      // The rollout's start, with the id of the desired-state alert announcing it.
      [
        'fleet.rollout_started',
        'success',
        'fleet-monitor',
        null,
        {
          cluster: 'prod',
          artifact_hash: B,
          previous_hash: A,
          version: 2,
          started_at: '2026-01-01T00:00:00.000Z',
          deadline: '2026-01-01T00:01:30.500Z',
          event_id: UUID,
        },
      ],
      [
        'desired_state.changed',
        'success',
        'ci',
        'release 2',
        {
          cluster: 'prod',
          previous_hash: A,
          artifact_hash: B,
          deadline_seconds: 91,
          event_id: UUID,
        },
      ],
      // Each expected node no replica has seen enters as never_seen (the alert's id recorded).
      [
        'fleet.node_state_changed',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n1',
          cluster: 'prod',
          from: null,
          to: 'never_seen',
          reported_hash: null,
          desired_hash: B,
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
          from: null,
          to: 'never_seen',
          reported_hash: null,
          desired_hash: B,
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
      ],
      [
        'fleet.expected_nodes_changed',
        'success',
        'alice',
        null,
        { cluster: 'prod', added: ['n1', 'n2'], removed: [] },
      ],
      [
        'fleet.node_state_changed',
        'success',
        'fleet-monitor',
        null,
        {
          node_id: 'n3',
          cluster: 'prod',
          from: null,
          to: 'never_seen',
          reported_hash: null,
          desired_hash: B,
          event_id: expect.stringMatching(/^ev-\d+$/),
        },
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
      // n2 on the new artifact completes the rollout (the only judged node).
      [
        'fleet.rollout_completed',
        'success',
        'fleet-monitor',
        null,
        {
          cluster: 'prod',
          artifact_hash: B,
          previous_hash: A,
          version: 2,
          started_at: '2026-01-01T00:00:00.000Z',
          deadline: '2026-01-01T00:01:30.500Z',
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
        { cluster: 'prod', previous_hash: B, artifact_hash: null, event_id: UUID },
      ],
      [
        'desired_state.changed',
        'failure',
        'mallory',
        'race (PLB_STORE_CONFLICT)',
        { cluster: 'prod', previous_hash: null, artifact_hash: A },
      ],
    ]);
    expect(sink.events[2]?.actor.type).toBe('service');
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
