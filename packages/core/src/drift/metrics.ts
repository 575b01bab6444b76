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
  /** Counter: observed-state updates the store dropped while unreachable (no labels). */
  observedDropped: 'plumbline.fleet.observed.dropped',
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
  const counter = (key: keyof typeof DRIFT_METRICS, description: string, unit: string) =>
    meter.createObservableCounter(DRIFT_METRICS[key], { description, unit });
  const heartbeats = counter('heartbeats', 'Heartbeats accepted', '{heartbeat}');
  const replayed = counter(
    'replayed',
    'Heartbeats dropped because seq did not rise',
    '{heartbeat}',
  );
  const rejected = counter('rejected', 'Messages and connections refused, by reason', '{message}');
  const delivered = counter('alertsDelivered', 'Alerts delivered, by sink', '{alert}');
  const dropped = counter(
    'alertsDropped',
    'Alerts dropped (queue full or retries exhausted), by sink',
    '{alert}',
  );
  const failed = counter('alertsFailed', 'Failed alert delivery attempts, by sink', '{attempt}');
  const observedDropped = counter(
    'observedDropped',
    'Observed-state updates dropped while the store was unreachable',
    '{update}',
  );
  const observables: Observable[] = [
    observedDropped,
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
    result.observe(observedDropped, counters.observedDropped);
    for (const [reason, value] of Object.entries(counters.rejected)) {
      result.observe(rejected, value, { reason });
    }
    for (const sink of sources.sinks()) {
      let stats;
      try {
        stats = sink.stats();
      } catch {
        continue; // A sink's own bug must not cost the other instruments their observations.
      }
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
