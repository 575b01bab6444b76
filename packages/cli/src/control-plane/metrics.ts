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
}

/**
 * Renders the control plane's metrics in the Prometheus text format. Labels are bounded sets
 * (cluster, state, reason, close code, sink name); never a node id, token or hash.
 *
 * @internal
 */
export function renderControlPlaneMetrics(sources: ControlPlaneMetricSources): string {
  const t = sources.transport();
  const counters = sources.monitor.counters();
  const families: MetricFamily[] = [];
  const nodes: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const cluster of sources.monitor.summary()) {
    for (const [state, value] of Object.entries(cluster.counts)) {
      nodes.push({ labels: { cluster: cluster.cluster, state }, value });
    }
  }
  families.push(
    {
      name: 'plumbline_fleet_nodes',
      help: 'Nodes per cluster and state.',
      type: 'gauge',
      samples: nodes,
    },
    {
      name: 'plumbline_heartbeats_total',
      help: 'Heartbeats accepted.',
      type: 'counter',
      samples: [{ value: counters.heartbeats }],
    },
    {
      name: 'plumbline_heartbeats_replayed_total',
      help: 'Heartbeats dropped because their seq did not rise.',
      type: 'counter',
      samples: [{ value: counters.replayed }],
    },
    {
      name: 'plumbline_messages_rejected_total',
      help: 'Frames or sessions refused by the fleet monitor, by reason.',
      type: 'counter',
      samples: Object.entries(counters.rejected).map(([reason, value]) => ({
        labels: { reason },
        value,
      })),
    },
    {
      name: 'plumbline_state_transitions_total',
      help: 'Node state transitions.',
      type: 'counter',
      samples: [{ value: counters.transitions }],
    },
    {
      name: 'plumbline_store_errors_total',
      help: 'Failed store writes (retried).',
      type: 'counter',
      samples: [{ value: counters.storeErrors }],
    },
    {
      name: 'plumbline_ws_sessions',
      help: 'Open data-plane WebSocket sessions.',
      type: 'gauge',
      samples: [{ value: t.sessionsOpen }],
    },
    {
      name: 'plumbline_ws_upgrades_pending',
      help: 'WebSocket upgrades being authenticated.',
      type: 'gauge',
      samples: [{ value: t.upgradesPending }],
    },
    {
      name: 'plumbline_ws_sessions_opened_total',
      help: 'Data-plane sessions opened.',
      type: 'counter',
      samples: [{ value: t.sessionsOpened }],
    },
    {
      name: 'plumbline_ws_frames_received_total',
      help: 'Frames received from data planes.',
      type: 'counter',
      samples: [{ value: t.framesReceived }],
    },
    {
      name: 'plumbline_ws_upgrades_rejected_total',
      help: 'WebSocket upgrades refused, by reason.',
      type: 'counter',
      samples: Object.entries(t.upgradesRejected).map(([reason, value]) => ({
        labels: { reason },
        value,
      })),
    },
    {
      name: 'plumbline_ws_closes_total',
      help: 'Data-plane sessions closed, by close code.',
      type: 'counter',
      samples: Object.entries(t.closes).map(([code, value]) => ({ labels: { code }, value })),
    },
    {
      name: 'plumbline_ws_limit_violations_total',
      help: 'Connections that broke a limit, by kind.',
      type: 'counter',
      samples: Object.entries(t.violations).map(([kind, value]) => ({ labels: { kind }, value })),
    },
    {
      name: 'plumbline_alerts_total',
      help: 'Alert sink deliveries, by sink and outcome.',
      type: 'counter',
      samples: sources.sinks.flatMap((sink) => {
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
      samples: sources.sinks.map((sink) => ({
        labels: { sink: sink.name },
        value: sink.stats().queued,
      })),
    },
  );
  if (sources.audit) {
    const a = sources.audit();
    families.push(
      {
        name: 'plumbline_audit_events_total',
        help: 'Audit events written, by type.',
        type: 'counter',
        samples: Object.entries(a.emitted).map(([type, value]) => ({ labels: { type }, value })),
      },
      {
        name: 'plumbline_audit_events_suppressed_total',
        help: 'Audit events suppressed by deny-storm limiting (summarised).',
        type: 'counter',
        samples: [{ value: a.suppressed }],
      },
    );
  }
  const mem = process.memoryUsage();
  families.push(
    {
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      type: 'gauge',
      samples: [{ value: mem.rss }],
    },
    {
      name: 'process_start_time_seconds',
      help: 'Start time of the process since the epoch in seconds.',
      type: 'gauge',
      samples: [{ value: Math.floor(sources.startedAt / 1000) }],
    },
  );
  return renderPrometheus(families);
}
