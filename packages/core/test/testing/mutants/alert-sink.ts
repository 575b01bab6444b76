/**
 * Broken alert sinks: a small correct queued sink delivering to an in-memory destination, with
 * one flaw each. The alert sink conformance suite must fail every one (mutation.test.ts).
 */
import type { AlertSink, FleetEvent, SinkStats } from '@plumbline/core/drift';
import type { AlertSinkFactory } from '@plumbline/core/testing';

/** Each flaw and the contract clause the suite must name when it catches it. */
export const ALERT_SINK_FLAWS = {
  'drops every seventh event silently': 'alert-sink.delivery',
  'delivers an event twice': 'alert-sink.delivery',
  'flush resolves before delivery': 'alert-sink.delivery',
  'a fresh id on every delivery': 'alert-sink.event-id',
  'swaps neighbouring events': 'alert-sink.order',
  'send throws while the destination fails': 'alert-sink.never-throws',
  'send returns a rejecting promise after close': 'alert-sink.never-throws',
  'failed attempts not counted': 'alert-sink.stats',
  'queued reported as 0': 'alert-sink.stats',
  'unbounded queue': 'alert-sink.bounded',
  'overflow dropped without counting': 'alert-sink.bounded',
  'delivers after close': 'alert-sink.lifecycle',
  'close drops the queue': 'alert-sink.lifecycle',
  'puts its token in the delivery': 'alert-sink.no-secrets',
} as const;

export type AlertSinkFlaw = keyof typeof ALERT_SINK_FLAWS;

const TOKEN = 'sk-live-7f3a9c1e5d';
const BOUND = 32;
const MAX_ATTEMPTS = 200;

/** A sink factory with `flaw` built in (a correct sink for `undefined`). */
export function flawedAlertSink(flaw: AlertSinkFlaw | undefined): AlertSinkFactory {
  return async () => {
    const received: string[] = [];
    let failing = false;
    const sink = queuedSink(flaw, {
      deliver(text) {
        if (failing) return false;
        received.push(text);
        return true;
      },
      failing: () => failing,
    });
    return {
      sink,
      received: () => received,
      fail: (on: boolean) => {
        failing = on;
      },
      queueSize: BOUND,
      secrets: [TOKEN],
    };
  };
}

interface Destination {
  deliver(text: string): boolean;
  failing(): boolean;
}

function queuedSink(flaw: AlertSinkFlaw | undefined, destination: Destination): AlertSink {
  const deliver = (text: string): boolean => destination.deliver(text);
  const queue: FleetEvent[] = [];
  const idle: (() => void)[] = [];
  let running = false;
  let closed = false;
  let sent = 0;
  let attempts = 0;
  const counts = { accepted: 0, delivered: 0, dropped: 0, failures: 0 };
  const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const body = (event: FleetEvent): string => {
    let value: Record<string, unknown> = { ...event };
    if (flaw === 'a fresh id on every delivery') value.id = `${event.id}-${Math.random()}`;
    if (flaw === 'puts its token in the delivery') value = { ...value, auth: TOKEN };
    return JSON.stringify(value);
  };
  const pump = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) {
      await tick(1);
      if (flaw === 'swaps neighbouring events' && queue.length > 1) {
        [queue[0], queue[1]] = [queue[1]!, queue[0]!];
      }
      const event = queue[0]!;
      if (!deliver(body(event))) {
        if (flaw !== 'failed attempts not counted') counts.failures++;
        if (++attempts >= MAX_ATTEMPTS) {
          queue.shift();
          counts.dropped++;
          attempts = 0;
        }
        await tick(2);
        continue;
      }
      attempts = 0;
      if (flaw === 'delivers an event twice' && counts.delivered === 3) deliver(body(event));
      queue.shift();
      counts.delivered++;
    }
    running = false;
    for (const resolve of idle.splice(0)) resolve();
  };
  return {
    name: 'mutant',
    send(event: FleetEvent) {
      if (closed && flaw !== 'delivers after close') {
        counts.dropped++;
        if (flaw === 'send returns a rejecting promise after close') {
          return Promise.reject(new Error('closed')) as unknown as void;
        }
        return;
      }
      sent++;
      if (flaw === 'drops every seventh event silently' && sent % 7 === 0) return;
      counts.accepted++;
      if (flaw === 'send throws while the destination fails' && destination.failing()) {
        throw new Error('destination down');
      }
      if (queue.length >= BOUND && flaw !== 'unbounded queue') {
        queue.shift();
        if (flaw !== 'overflow dropped without counting') counts.dropped++;
      }
      queue.push(event);
      if (!running) void pump();
    },
    flush() {
      if (flaw === 'flush resolves before delivery') return Promise.resolve();
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
    async close() {
      if (closed) return;
      closed = true;
      if (flaw === 'close drops the queue') {
        counts.dropped += queue.length;
        queue.length = 0;
      }
      await this.flush();
    },
    stats(): SinkStats {
      return { ...counts, queued: flaw === 'queued reported as 0' ? 0 : queue.length };
    },
  };
}
