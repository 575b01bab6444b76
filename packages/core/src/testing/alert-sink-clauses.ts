import type { ContractClause } from './api.js';

/**
 * The rules of the alert sink contract that `describeAlertSinkConformance` checks, each named in
 * the failures it causes.
 *
 * @public
 */
export const ALERT_SINK_CLAUSES = {
  delivery: {
    id: 'alert-sink.delivery',
    text:
      'while the destination is healthy, every event sent is delivered exactly once by the time ' +
      'flush resolves: none lost, none duplicated',
  },
  eventId: {
    id: 'alert-sink.event-id',
    text:
      'each delivery carries the event as sent, its id unchanged, so that receivers can ' +
      'deduplicate retries',
  },
  order: {
    id: 'alert-sink.order',
    text: 'a sink that promises order delivers events in the order they were sent',
  },
  neverThrows: {
    id: 'alert-sink.never-throws',
    text:
      'send never throws and never returns a promise, whatever the destination does; flush, ' +
      'close and stats never throw or reject',
  },
  stats: {
    id: 'alert-sink.stats',
    text:
      'stats tell the truth: once flushed, accepted = delivered + dropped + queued, delivered ' +
      'is what the destination received, and failed attempts are counted',
  },
  bounded: {
    id: 'alert-sink.bounded',
    text:
      'while the destination fails, the queue stays within its bound: what does not fit is ' +
      'dropped and counted, never held without limit',
  },
  lifecycle: {
    id: 'alert-sink.lifecycle',
    text:
      'close flushes what was accepted, is idempotent, and after it events are dropped and ' +
      'counted, never delivered',
  },
  noSecrets: {
    id: 'alert-sink.no-secrets',
    text: "the sink's own credentials never appear in what it delivers",
  },
} as const satisfies Record<string, ContractClause>;
