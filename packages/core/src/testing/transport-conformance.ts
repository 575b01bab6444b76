import type { DriftSession } from '../drift/transport.js';
import { resolveApi, type ConformanceOptions, type ConformanceTestApi } from './api.js';
import { registerDeliveryTests } from './transport-delivery-tests.js';
import {
  IDENTITIES,
  MAX_FRAME,
  type ClientRecord,
  type Recorded,
  type SessionEvent,
  type TransportFactory,
  type TransportSuite,
} from './transport-harness.js';
import { registerSessionTests } from './transport-session-tests.js';

export { TRANSPORT_CLAUSES } from './transport-clauses.js';
export type {
  TransportFactory,
  TransportHarness,
  TransportHarnessOptions,
} from './transport-harness.js';

const describeIdentity = (session: DriftSession): string => {
  try {
    return JSON.stringify(session.identity) ?? 'undefined';
  } catch {
    return 'unreadable';
  }
};

function record(): Recorded {
  const events = new Map<string, SessionEvent[]>();
  const of = (id: string): SessionEvent[] => events.get(id) ?? [];
  return {
    opened: [],
    events,
    authFailures: [],
    strays: [],
    messages: (id) => of(id).flatMap((e) => (e.kind === 'message' ? [e.text] : [])),
    closes: (id) =>
      of(id).flatMap((e) => (e.kind === 'close' ? [{ code: e.code, reason: e.reason }] : [])),
  };
}

function suiteOf(
  api: ConformanceTestApi,
  timeout: number,
  factory: TransportFactory,
): TransportSuite {
  const setup: TransportSuite['setup'] = async () => {
    const harness = await factory({ tokens: IDENTITIES, maxFrameBytes: MAX_FRAME });
    const rec = record();
    const log = (session: DriftSession, event: SessionEvent): void => {
      const list = rec.events.get(session.id);
      if (list === undefined) rec.strays.push(`${event.kind} for unknown session ${session.id}`);
      else list.push(event);
    };
    await harness.transport.start({
      onOpen(session) {
        if (rec.events.has(session.id)) rec.strays.push(`second onOpen of ${session.id}`);
        rec.opened.push(session);
        rec.events.set(session.id, [{ kind: 'open', identity: describeIdentity(session) }]);
      },
      onMessage(session, text) {
        log(session, { kind: 'message', text, identity: describeIdentity(session) });
      },
      onClose(session, code, reason) {
        log(session, { kind: 'close', code, reason, identity: describeIdentity(session) });
      },
      onAuthFailure(failure) {
        rec.authFailures.push(failure);
      },
    });
    let disposed = false;
    return {
      harness,
      rec,
      async done() {
        if (disposed) return;
        disposed = true;
        try {
          await harness.transport.close();
        } finally {
          await harness.dispose?.();
        }
      },
    };
  };
  const open: TransportSuite['open'] = async (harness, token) => {
    const client: ClientRecord = { messages: [], closes: [] };
    const connection = await harness.channel(token).connect({
      onMessage: (text) => client.messages.push(text),
      onClose: (code, reason) => client.closes.push({ code, reason }),
    });
    return { connection, client };
  };
  return {
    api,
    timeout,
    harness: () => factory({ tokens: IDENTITIES, maxFrameBytes: MAX_FRAME }),
    setup,
    open,
    connect: open,
    async withHarness(body) {
      const { harness, rec, done } = await setup();
      try {
        await body(harness, rec);
      } finally {
        await done();
      }
    },
  };
}

/**
 * Registers the drift transport conformance suite. Every test names the contract clause it
 * checks ({@link TRANSPORT_CLAUSES}), and a failure starts with that clause in words: the
 * identity bound to the credential (never the hello's claim, never changed before onClose),
 * exact credential matching, ordered delivery of bursts both ways, isolation of sessions, the
 * frame limit (1009), the session lifecycle (nothing after a close), abrupt closes (1006),
 * close codes and reasons both ways, reconnects, shutdown (1001), and the transport run by core's
 * `serveDrift` (welcome, 4403 for a false claim, disconnect). Run it from a test file of the
 * transport's package (top-level `await` works in Vitest):
 *
 * @example
 * ```ts
 * import { describeTransportConformance } from '@plumbline/core/testing';
 * await describeTransportConformance('my transport', async ({ tokens, maxFrameBytes }) => {
 *   const server = await startMyServer({ tokens, maxFrameBytes });
 *   return { transport: server.transport, channel: (t) => myChannel(server.url, t),
 *            terminate: (c) => (c as MyConnection).socket.destroy(), dispose: () => server.stop() };
 * });
 * ```
 * @public
 */
export async function describeTransportConformance(
  name: string,
  factory: TransportFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const api = await resolveApi(options.api);
  const suite = suiteOf(api, options.timeoutMs ?? 10_000, factory);
  api.describe(`drift transport conformance: ${name}`, () => {
    registerSessionTests(suite);
    registerDeliveryTests(suite);
  });
}
