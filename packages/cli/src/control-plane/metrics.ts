import type { AlertSink, FleetMonitor } from '@plumbline/core/drift';
import type { WsTransportStats } from '@plumbline/ws';
import { renderPrometheus, type MetricFamily } from './prometheus.js';

/**
 * Sources of the control plane's `/metrics`.
 *
 * @internal
 */
export interface ControlPlaneMetricSources {
  readonly monitor: FleetMonitor;
  readonly transport: () => WsTransportStats;
  readonly sinks: readonly AlertSink[];
  readonly audit?: () => {
    emitted: Readonly<Record<string, number>>;
    suppressed: number;
    invalid: number;
  };
  readonly startedAt: number;
  /** The shared store's state, when the store reports it (`@plumbline/postgres`). */
  readonly store?: () => SharedStoreGauges | undefined;
}

/**
 * What a shared fleet store reports about itself: the PostgreSQL store's `stats()`.
 *
 * @internal
 */
export interface SharedStoreGauges {
  /** Whether this replica leads the sweep. */
  readonly leader: boolean;
  /** Whether the store's backend is reachable. */
  readonly connected: boolean;
  /** Observed-state updates waiting for the backend. */
  readonly buffered: number;
}

/**
 * The gauges of a store that reports them (`stats()` with `leader`, `connected`, `buffered`, as
 * `@plumbline/postgres`'s store has), else `undefined` (a state file has none).
 *
 * @internal
 */
export function sharedStoreGauges(store: unknown): SharedStoreGauges | undefined {
  if (typeof store !== 'object' || store === null) return undefined;
  const stats = (store as { stats?: unknown }).stats;
  if (typeof stats !== 'function') return undefined;
  const s = (stats as () => unknown).call(store) as Partial<
    Record<keyof SharedStoreGauges, unknown>
  >;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.leader !== 'boolean' ||
    typeof s.connected !== 'boolean' ||
    typeof s.buffered !== 'number'
  ) {
    return undefined;
  }
  return { leader: s.leader, connected: s.connected, buffered: s.buffered };
}

/**
 * Renders the control plane's metrics in the Prometheus text format. Labels are bounded sets
 * (cluster, state, reason, close code, sink name); never a node id, token or hash.
 *
 * @internal
 */
export function renderControlPlaneMetrics(sources: ControlPlaneMetricSources): string {
  return renderPrometheus([
    ...fleetFamilies(sources.monitor),
    ...storeFamilies(sources.store?.()),
    ...transportFamilies(sources.transport()),
    ...alertFamilies(sources.sinks),
    ...(sources.audit ? auditFamilies(sources.audit()) : []),
    ...processFamilies(sources.startedAt),
  ]);
}

type MetricType = MetricFamily['type'];

/** A family of one sample without labels. */
function single(name: string, help: string, type: MetricType, value: number): MetricFamily {
  return { name, help, type, samples: [{ value }] };
}

/** A family of one sample per key of `values`, labelled `label`. */
function byLabel(
  name: string,
  help: string,
  label: string,
  values: Readonly<Record<string, number>>,
): MetricFamily {
  const samples = Object.entries(values).map(([key, value]) => ({
    labels: { [label]: key },
    value,
  }));
  return { name, help, type: 'counter', samples };
}

/** Nodes per cluster and state, and the fleet monitor's counters. */
function fleetFamilies(monitor: FleetMonitor): MetricFamily[] {
  const counters = monitor.counters();
  const nodes: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const cluster of monitor.summary()) {
    for (const [state, value] of Object.entries(cluster.counts)) {
      nodes.push({ labels: { cluster: cluster.cluster, state }, value });
    }
  }
  return [
    {
      name: 'plumbline_fleet_nodes',
      help: 'Nodes per cluster and state.',
      type: 'gauge',
      samples: nodes,
    },
    single('plumbline_heartbeats_total', 'Heartbeats accepted.', 'counter', counters.heartbeats),
    single(
      'plumbline_heartbeats_replayed_total',
      'Heartbeats dropped because their seq did not rise.',
      'counter',
      counters.replayed,
    ),
    byLabel(
      'plumbline_messages_rejected_total',
      'Frames or sessions refused by the fleet monitor, by reason.',
      'reason',
      counters.rejected,
    ),
    single(
      'plumbline_state_transitions_total',
      'Node state transitions.',
      'counter',
      counters.transitions,
    ),
    single(
      'plumbline_store_errors_total',
      'Failed store writes (retried).',
      'counter',
      counters.storeErrors,
    ),
    single(
      'plumbline_fleet_observed_dropped_total',
      'Observed-state updates the store dropped while unreachable, beyond its buffer bound (counted when it is back).',
      'counter',
      counters.observedDropped,
    ),
  ];
}

/** A shared store's sweep leadership, reachability and buffered observed state. */
function storeFamilies(store: SharedStoreGauges | undefined): MetricFamily[] {
  if (store === undefined) return [];
  return [
    single(
      'plumbline_store_sweep_leader',
      "Whether this replica leads the shared store's sweep (1) or not (0).",
      'gauge',
      store.leader ? 1 : 0,
    ),
    single(
      'plumbline_store_connected',
      'Whether the shared store is reachable (1) or not (0).',
      'gauge',
      store.connected ? 1 : 0,
    ),
    single(
      'plumbline_store_observed_buffered',
      'Observed-state updates buffered while the shared store is unreachable.',
      'gauge',
      store.buffered,
    ),
  ];
}

/** The data-plane WebSocket transport's sessions, frames, refusals and closes. */
function transportFamilies(t: WsTransportStats): MetricFamily[] {
  return [
    single('plumbline_ws_sessions', 'Open data-plane WebSocket sessions.', 'gauge', t.sessionsOpen),
    single(
      'plumbline_ws_upgrades_pending',
      'WebSocket upgrades being authenticated.',
      'gauge',
      t.upgradesPending,
    ),
    single(
      'plumbline_ws_sessions_opened_total',
      'Data-plane sessions opened.',
      'counter',
      t.sessionsOpened,
    ),
    single(
      'plumbline_ws_frames_received_total',
      'Frames received from data planes.',
      'counter',
      t.framesReceived,
    ),
    byLabel(
      'plumbline_ws_upgrades_rejected_total',
      'WebSocket upgrades refused, by reason.',
      'reason',
      t.upgradesRejected,
    ),
    byLabel(
      'plumbline_ws_closes_total',
      'Data-plane sessions closed, by close code.',
      'code',
      t.closes,
    ),
    byLabel(
      'plumbline_ws_limit_violations_total',
      'Connections that broke a limit, by kind.',
      'kind',
      t.violations,
    ),
  ];
}

/** Deliveries and queues of each alert sink. */
function alertFamilies(sinks: readonly AlertSink[]): MetricFamily[] {
  return [
    {
      name: 'plumbline_alerts_total',
      help: 'Alert sink deliveries, by sink and outcome.',
      type: 'counter',
      samples: sinks.flatMap((sink) => {
        const s = sink.stats();
        return [
          { labels: { sink: sink.name, outcome: 'delivered' }, value: s.delivered },
          { labels: { sink: sink.name, outcome: 'dropped' }, value: s.dropped },
          { labels: { sink: sink.name, outcome: 'failed_attempt' }, value: s.failures },
        ];
      }),
    },
    {
      name: 'plumbline_alerts_queued',
      help: 'Alerts waiting for delivery, by sink.',
      type: 'gauge',
      samples: sinks.map((sink) => ({
        labels: { sink: sink.name },
        value: sink.stats().queued,
      })),
    },
  ];
}

/** Audit events written by type, and the ones deny-storm limiting summarised. */
function auditFamilies(
  a: ReturnType<NonNullable<ControlPlaneMetricSources['audit']>>,
): MetricFamily[] {
  return [
    byLabel('plumbline_audit_events_total', 'Audit events written, by type.', 'type', a.emitted),
    single(
      'plumbline_audit_events_suppressed_total',
      'Audit events suppressed by deny-storm limiting (summarised).',
      'counter',
      a.suppressed,
    ),
  ];
}

/** The standard process metrics. */
function processFamilies(startedAt: number): MetricFamily[] {
  return [
    single(
      'process_resident_memory_bytes',
      'Resident memory size in bytes.',
      'gauge',
      process.memoryUsage().rss,
    ),
    single(
      'process_start_time_seconds',
      'Start time of the process since the epoch in seconds.',
      'gauge',
      Math.floor(startedAt / 1000),
    ),
  ];
}
