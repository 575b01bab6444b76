import type { FleetEvent } from '../drift/events.js';
import type { AlertSink } from '../drift/sink.js';
import {
  check,
  checkEqual,
  clauseRunnerWith,
  grace,
  suiteContext,
  withFreshHarness,
  waitFor,
  type ConformanceOptions,
  type ConformanceTestApi,
} from './api.js';
import { ALERT_SINK_CLAUSES as C } from './alert-sink-clauses.js';

export { ALERT_SINK_CLAUSES } from './alert-sink-clauses.js';

/**
 * An alert sink under test and its destination, built by the factory passed to
 * {@link describeAlertSinkConformance}.
 *
 * @public
 */
export interface AlertSinkHarness {
  /** A fresh sink, delivering to a fresh, healthy destination. */
  readonly sink: AlertSink;
  /**
   * The text of every delivery the destination received, in arrival order: a JSON object with the
   * event's fields at its top level (a webhook body, a log line; extra fields are fine).
   */
  received(): readonly string[];
  /**
   * Makes the destination fail (`true`: refuse or error every delivery) or recover (`false`).
   * Without it, the checks that need a failing destination are skipped.
   */
  fail?(failing: boolean): void;
  /**
   * The most events the sink holds for delivery (its queue bound); bursts of the suite stay within
   * it. Default 0: the sink holds none (it delivers within `send`).
   */
  readonly queueSize?: number;
  /** Whether the sink promises delivery in send order (checked when it does). Default `true`. */
  readonly ordered?: boolean;
  /** The sink's own credentials (a webhook secret, a token): none may appear in a delivery. */
  readonly secrets?: readonly string[];
  /** Stops the destination. */
  dispose?(): Promise<void>;
}

/**
 * Builds a fresh sink and destination for one test.
 *
 * @public
 */
export type AlertSinkFactory = () => Promise<AlertSinkHarness>;

let serial = 0;

/** A distinct alert event, as the fleet monitor sends them (id, type, node fields, free text). */
function sampleEvent(i: number): FleetEvent {
  serial += 1;
  return {
    type: 'node.disconnected',
    id: `evt-${serial}-${i}-${Math.random().toString(36).slice(2, 10)}`,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString().replace('.000', ''),
    node_id: `gw-ü-${i}`,
    cluster: 'prod-✓',
    state: 'disconnected',
    from: 'in_sync',
    reported_hash: `sha256:${(i % 16).toString(16).repeat(64)}`,
    desired_hash: null,
    instance_id: null,
    last_seen: null,
    close_code: 1006,
  };
}

function samples(n: number): FleetEvent[] {
  return Array.from({ length: n }, (_, i) => sampleEvent(i));
}

/** `n` events, or as many as the sink's queue holds in one burst. */
function burst(harness: AlertSinkHarness, n: number): FleetEvent[] {
  const bound = harness.queueSize ?? 0;
  return samples(bound > 0 ? Math.min(n, bound) : n);
}

function deliveredIds(harness: AlertSinkHarness): string[] {
  return harness.received().map((text) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`a delivery is not JSON: ${text.slice(0, 80)}`);
    }
    const id = (parsed as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : `<no id: ${text.slice(0, 60)}>`;
  });
}

function sendAll(sink: AlertSink, events: readonly FleetEvent[]): void {
  for (const event of events) {
    const returned = sink.send(event) as unknown;
    // A sink that returns a promise must not leave its rejection unhandled in the host.
    if (typeof (returned as { catch?: unknown } | null)?.catch === 'function') {
      (returned as Promise<unknown>).catch(() => undefined);
    }
    check(returned === undefined, 'send returned a value (it must return nothing and never wait)');
  }
}

function checkBalanced(sink: AlertSink, what: string): void {
  const s = sink.stats();
  check(
    s.accepted === s.delivered + s.dropped + s.queued,
    `${what}: accepted ${s.accepted} ≠ delivered ${s.delivered} + dropped ${s.dropped} + queued ${s.queued}`,
  );
}

/**
 * Registers the alert sink conformance suite: delivery of every event exactly once by `flush`,
 * events and their ids delivered as sent, send order kept, `send` never throwing or waiting
 * (also against a failing destination and after `close`), truthful stats, a bounded queue while
 * the destination fails, `close` flushing and dropping later events, and no credentials in what
 * is delivered.
 *
 * @example
 * ```ts
 * import { describeAlertSinkConformance } from '@plumbline/core/testing';
 * await describeAlertSinkConformance('pager sink', async () => {
 *   const pager = await startFakePager();
 *   return { sink: createPagerSink({ url: pager.url }), received: () => pager.bodies, dispose: () => pager.stop() };
 * });
 * ```
 * @public
 */
export async function describeAlertSinkConformance(
  name: string,
  factory: AlertSinkFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const { api, timeout } = await suiteContext(options);

  const withSink = (body: (harness: AlertSinkHarness) => Promise<void>): Promise<void> =>
    withFreshHarness(
      factory,
      (h) => {
        h.fail?.(false);
        return h.sink.close();
      },
      body,
    );

  api.describe(`alert sink conformance: ${name}`, () => {
    deliveryTests(api, withSink, timeout);
    failureTests(api, withSink, timeout);
    lifecycleTests(api, withSink, timeout);
  });
}

type WithSink = (body: (harness: AlertSinkHarness) => Promise<void>) => Promise<void>;

function deliveryTests(api: ConformanceTestApi, withSink: WithSink, timeout: number): void {
  const clause = clauseRunnerWith(api, withSink, timeout);
  clause(
    C.delivery,
    'delivers every event exactly once by the time flush resolves',
    async (harness) => {
      const events = burst(harness, 40);
      sendAll(harness.sink, events);
      await harness.sink.flush();
      checkEqual(
        deliveredIds(harness).sort(),
        events.map((e) => e.id).sort(),
        'delivered event ids',
      );
      await grace();
      check(harness.received().length === events.length, 'an event was delivered again');
    },
  );

  clause(C.eventId, 'delivers each event as sent, with its id', async (harness) => {
    const events = samples(6);
    sendAll(harness.sink, events);
    await harness.sink.flush();
    const byId = new Map(
      harness.received().map((text) => {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        return [parsed.id, parsed] as const;
      }),
    );
    for (const event of events) {
      const got = byId.get(event.id);
      check(got !== undefined, `no delivery carries the id ${event.id}`);
      for (const [key, value] of Object.entries(event)) {
        checkEqual(got[key], value, `field ${key} of event ${event.id}`);
      }
    }
  });

  clause(C.order, 'delivers events in the order they were sent', async (harness) => {
    if (harness.ordered === false) return;
    const events = burst(harness, 30);
    sendAll(harness.sink, events);
    await harness.sink.flush();
    checkEqual(
      deliveredIds(harness),
      events.map((e) => e.id),
      'delivery order',
    );
  });

  clause(C.noSecrets, 'never delivers its own credentials', async (harness) => {
    sendAll(harness.sink, samples(5));
    await harness.sink.flush();
    for (const secret of harness.secrets ?? []) {
      for (const text of harness.received()) {
        check(!text.includes(secret), 'a credential of the sink appears in a delivery');
      }
    }
  });
}

function failureTests(api: ConformanceTestApi, withSink: WithSink, timeout: number): void {
  const clause = clauseRunnerWith(api, withSink, timeout);
  clause(
    C.neverThrows,
    'never throws from send, flush, close or stats, even while the destination fails',
    async (harness) => {
      const { sink } = harness;
      harness.fail?.(true);
      sendAll(sink, samples(5));
      sink.stats();
      await grace();
      harness.fail?.(false);
      await sink.flush();
      await sink.close();
      sendAll(sink, samples(3));
      sink.stats();
      await sink.flush();
      await sink.close();
    },
  );

  clause(C.stats, 'keeps truthful stats, failed attempts included', async (harness) => {
    const { sink } = harness;
    if (harness.fail) {
      harness.fail(true);
      sendAll(sink, samples(5));
      await waitFor(() => sink.stats().failures > 0, 'a failed attempt to be counted', timeout);
      checkBalanced(sink, 'while the destination fails');
      check(sink.stats().accepted === 5, `accepted ${sink.stats().accepted} of 5 sent`);
      harness.fail(false);
    }
    sendAll(sink, burst(harness, 10));
    await sink.flush();
    checkBalanced(sink, 'after flush');
    const s = sink.stats();
    check(s.queued === 0, `${s.queued} events still queued after flush`);
    check(
      s.delivered === harness.received().length,
      `stats say ${s.delivered} delivered, the destination received ${harness.received().length}`,
    );
  });

  clause(
    C.bounded,
    'holds no more than its queue bound while the destination fails, counting what it drops',
    async (harness) => {
      if (!harness.fail) return;
      const { sink } = harness;
      const bound = harness.queueSize ?? 0;
      harness.fail(true);
      const events = samples(bound + 25);
      for (const event of events) {
        sendAll(sink, [event]);
        const queued = sink.stats().queued;
        check(queued <= bound, `${queued} events queued, over the bound of ${bound}`);
      }
      checkBalanced(sink, 'after overflowing the queue');
      check(sink.stats().dropped >= 25, `only ${sink.stats().dropped} drops counted`);
      harness.fail(false);
      await sink.flush();
      checkBalanced(sink, 'after recovery');
    },
  );
}

function lifecycleTests(api: ConformanceTestApi, withSink: WithSink, timeout: number): void {
  const clause = clauseRunnerWith(api, withSink, timeout);
  clause(
    C.lifecycle,
    'close delivers what was accepted, is idempotent, then drops and counts later events',
    async (harness) => {
      const { sink } = harness;
      const events = samples(5);
      sendAll(sink, events);
      await sink.close();
      checkEqual(
        deliveredIds(harness),
        events.map((e) => e.id),
        'delivered before close resolved',
      );
      await sink.close();
      const before = sink.stats();
      sendAll(sink, samples(3));
      await sink.flush();
      await grace();
      const after = sink.stats();
      check(harness.received().length === 5, 'an event sent after close was delivered');
      check(
        after.dropped === before.dropped + 3,
        `3 events sent after close, ${after.dropped - before.dropped} counted as dropped`,
      );
      check(after.delivered === before.delivered, 'stats count a delivery after close');
    },
  );
}
