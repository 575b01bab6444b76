import type { FleetEvent, FleetEventType } from './events.js';
import type { AlertSink, SinkStats } from './sink.js';
import { createRedactor, type Redactor } from '../audit/redact.js';

/**
 * Anything with a `write(text)` method: a Node `Writable` (`process.stdout`, a file stream),
 * or a function wrapper.
 *
 * @public
 */
export interface TextWritable {
  /**
   * Writes one line (a JSON object and `\n`). The return value is ignored; a throw is caught and
   * counted as a failure.
   */
  write(chunk: string): unknown;
}

/**
 * Options of {@link createLogSink}.
 *
 * @public
 */
export interface LogSinkOptions {
  /** Where JSON lines go. */
  readonly writable: TextWritable;
  /** Only these event types (default: every event the monitor sends to sinks). */
  readonly types?: readonly FleetEventType[];
  /**
   * The redaction every line goes through (default `createRedactor()`, the audit trail's
   * default): free text such as a desired-state `reason` may quote a credential.
   */
  readonly redact?: Redactor;
}

/**
 * A structured log sink: one JSON object per line, `{"level":"warn"|"info","msg":"fleet event",...event}`
 * (`warn` for drift, rejections, staleness, disconnects, flapping and missed deadlines). Every
 * event is redacted like the audit trail before it is written.
 * A writable that throws is caught and counted.
 *
 * @example
 * ```ts
 * const monitor = await FleetMonitor.create({ sinks: [createLogSink({ writable: process.stdout })] });
 * ```
 * @public
 */
export function createLogSink(options: LogSinkOptions): AlertSink {
  const types = options.types === undefined ? null : new Set(options.types);
  const redact = options.redact ?? createRedactor();
  let accepted = 0;
  let delivered = 0;
  let dropped = 0;
  let failures = 0;
  let closed = false;
  const stats = (): SinkStats => ({ accepted, delivered, dropped, failures, queued: 0 });
  return {
    name: 'log',
    send(event: FleetEvent) {
      if (types !== null && !types.has(event.type)) return;
      if (closed) {
        dropped++;
        return;
      }
      accepted++;
      try {
        options.writable.write(
          `${JSON.stringify({ level: levelOf(event), msg: 'fleet event', ...(redact(event) as object) })}\n`,
        );
        delivered++;
      } catch {
        failures++;
        dropped++;
      }
    },
    async flush() {},
    async close() {
      closed = true;
    },
    stats,
  };
}

/**
 * The log level of a fleet event: `warn` for events that need attention, `info` otherwise.
 *
 * @example
 * ```ts
 * levelOf(event) === 'warn';
 * ```
 * @public
 */
export function levelOf(event: FleetEvent): 'warn' | 'info' {
  switch (event.type) {
    case 'drift.detected':
    case 'node.rejected':
    case 'node.probe_failing':
    case 'node.stale':
    case 'node.disconnected':
    case 'node.never_seen':
    case 'node.flapping':
    case 'rollout.deadline_exceeded':
      return 'warn';
    default:
      return 'info';
  }
}
