import type { BatchObservableCallback, Counter, Meter, Observable } from '@opentelemetry/api';
import type { NodeState } from './events.js';
import type { MonitorCounters } from './monitor-types.js';
import type { AlertSink } from './sink.js';

/**
 * Metric names the fleet monitor registers (documented in docs/protocol.md "Metrics"). Labels
 * never carry a node id, tenant or hash: only `cluster`, `state`, `from`, `to`, `reason`, `sink`.
 *
 * @public
 */
export const DRIFT_METRICS = {
  /** Gauge: nodes per state per cluster (`cluster`, `state`). */
  nodes: 'plumbline.fleet.nodes',
  /** Counter: state transitions (`from`, `to`). */
  transitions: 'plumbline.fleet.transitions',
  /** Counter: heartbeats accepted. */
  heartbeats: 'plumbline.drift.heartbeats',
  /** Counter: heartbeats dropped as replays (`seq` not rising). */
  replayed: 'plumbline.drift.heartbeats.replayed',
  /** Counter: messages and connections refused (`reason`). */
  rejected: 'plumbline.drift.messages.rejected',
  /** Counter: alerts delivered by a sink (`sink`). */
  alertsDelivered: 'plumbline.alerts.delivered',
  /** Counter: alerts a sink dropped (`sink`). */
  alertsDropped: 'plumbline.alerts.dropped',
  /** Counter: failed alert delivery attempts (`sink`). */
  alertsFailed: 'plumbline.alerts.failures',
} as const;

/** @internal */
export interface MonitorMetricSources {
  counts(visit: (cluster: string, state: NodeState, value: number) => void): void;
  counters(): MonitorCounters;
  sinks(): readonly AlertSink[];
}

/** @internal */
export interface MonitorMetrics {
  transition(from: NodeState, to: NodeState): void;
  close(): void;
}

/**
 * Registers the monitor's instruments on `meter`. Gauges and totals are observed on collection
 * (nothing is recorded on the heartbeat path); transitions are counted as they happen.
 *
 * @internal
 */
export function createMonitorMetrics(meter: Meter, sources: MonitorMetricSources): MonitorMetrics {
  const nodes = meter.createObservableGauge(DRIFT_METRICS.nodes, {
    description: 'Nodes per state per cluster',
    unit: '{node}',
  });
  const transitions: Counter = meter.createCounter(DRIFT_METRICS.transitions, {
    description: 'Node state transitions',
    unit: '{transition}',
  });
  const heartbeats = meter.createObservableCounter(DRIFT_METRICS.heartbeats, {
    description: 'Heartbeats accepted',
    unit: '{heartbeat}',
  });
  const replayed = meter.createObservableCounter(DRIFT_METRICS.replayed, {
    description: 'Heartbeats dropped because seq did not rise',
    unit: '{heartbeat}',
  });
  const rejected = meter.createObservableCounter(DRIFT_METRICS.rejected, {
    description: 'Messages and connections refused, by reason',
    unit: '{message}',
  });
  const delivered = meter.createObservableCounter(DRIFT_METRICS.alertsDelivered, {
    description: 'Alerts delivered, by sink',
    unit: '{alert}',
  });
  const dropped = meter.createObservableCounter(DRIFT_METRICS.alertsDropped, {
    description: 'Alerts dropped (queue full or retries exhausted), by sink',
    unit: '{alert}',
  });
  const failed = meter.createObservableCounter(DRIFT_METRICS.alertsFailed, {
    description: 'Failed alert delivery attempts, by sink',
    unit: '{attempt}',
  });
  const observables: Observable[] = [
    nodes,
    heartbeats,
    replayed,
    rejected,
    delivered,
    dropped,
    failed,
  ];
  const callback: BatchObservableCallback = (result) => {
    sources.counts((cluster, state, value) => {
      result.observe(nodes, value, { cluster, state });
    });
    const counters = sources.counters();
    result.observe(heartbeats, counters.heartbeats);
    result.observe(replayed, counters.replayed);
    for (const [reason, value] of Object.entries(counters.rejected)) {
      result.observe(rejected, value, { reason });
    }
    for (const sink of sources.sinks()) {
      const stats = sink.stats();
      result.observe(delivered, stats.delivered, { sink: sink.name });
      result.observe(dropped, stats.dropped, { sink: sink.name });
      result.observe(failed, stats.failures, { sink: sink.name });
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return {
    transition(from, to) {
      transitions.add(1, { from, to });
    },
    close() {
      meter.removeBatchObservableCallback(callback, observables);
    },
  };
}
