/**
 * The alert sink interface: where the fleet monitor sends alert events (log lines, webhooks,
 * a pager). Implementations: {@link createLogSink}, {@link WebhookSink}.
 *
 * @packageDocumentation
 */
import type { FleetEvent } from './events.js';

/**
 * Counters every sink keeps (for metrics and health checks).
 *
 * @public
 */
export interface SinkStats {
  /** Events accepted into the sink. */
  readonly accepted: number;
  /** Events delivered. */
  readonly delivered: number;
  /** Events dropped because the queue was full or delivery gave up. */
  readonly dropped: number;
  /** Failed delivery attempts (each retry counts). */
  readonly failures: number;
  /** Events waiting for delivery. */
  readonly queued: number;
}

/**
 * A best-effort destination for fleet alerts. `send` never throws and never blocks: a sink
 * queues, retries and drops on its own, and counts what it drops.
 *
 * @example
 * ```ts
 * const sink: AlertSink = createLogSink({ writable: process.stdout });
 * const monitor = await FleetMonitor.create({ sinks: [sink] });
 * ```
 * @public
 */
export interface AlertSink {
  /** A short name for logs and metrics (`log`, `webhook`). */
  readonly name: string;
  /** Hands an event to the sink. Never throws. */
  send(event: FleetEvent): void;
  /** Resolves when every queued event is delivered or dropped. */
  flush(): Promise<void>;
  /** Flushes (bounded by the sink's own timeouts) and stops; later events are dropped. */
  close(): Promise<void>;
  /** The sink's counters. */
  stats(): SinkStats;
}
