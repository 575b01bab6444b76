import type {
  DriftAuthFailure,
  DriftChannel,
  DriftConnection,
  DriftIdentity,
  DriftSession,
  DriftTransport,
} from '../drift/transport.js';
import { resolveApi, type ConformanceOptions, type ConformanceTestApi } from './api.js';
import { registerDeliveryTests } from './transport-delivery-tests.js';
import { registerSessionTests } from './transport-session-tests.js';

export { TRANSPORT_CLAUSES } from './transport-clauses.js';

/**
 * What a transport factory receives: the credentials to accept and the frame limit to enforce.
 *
 * @public
 */
export interface TransportHarnessOptions {
  /** Plain tokens and the identity each authenticates; anything else must be refused (4401). */
  readonly tokens: Readonly<Record<string, DriftIdentity>>;
  /** Frames larger than this many UTF-8 bytes must close the session with 1009. */
  readonly maxFrameBytes: number;
}

/**
 * A transport under test, built by the factory passed to {@link describeTransportConformance}.
 *
 * @public
 */
export interface TransportHarness {
  /** The control-plane side (not yet started). */
  readonly transport: DriftTransport;
  /** A data-plane channel presenting `token`. */
  channel(token: string): DriftChannel;
  /** Drops a data-plane connection without a close handshake (kill the socket). */
  terminate(connection: DriftConnection): void;
  /** Releases anything else the harness holds (servers, ports). Optional. */
  dispose?(): Promise<void>;
}

/**
 * Builds a fresh transport for one test.
 *
 * @public
 */
export type TransportFactory = (options: TransportHarnessOptions) => Promise<TransportHarness>;

/** @internal One event of a session, as the control plane's handler saw it. */
export type SessionEvent =
  | { readonly kind: 'open'; readonly identity: string }
  | { readonly kind: 'message'; readonly text: string; readonly identity: string }
  | {
      readonly kind: 'close';
      readonly code: number;
      readonly reason: string;
      readonly identity: string;
    };

/** @internal What the control-plane handler saw. */
export interface Recorded {
  readonly opened: DriftSession[];
  /** Per session id, every handler call in order (with the identity at the time of the call). */
  readonly events: Map<string, SessionEvent[]>;
  readonly authFailures: DriftAuthFailure[];
  /** Handler calls for sessions never opened. */
  readonly strays: string[];
  messages(id: string): string[];
  closes(id: string): { code: number; reason: string }[];
}

/** @internal What a data-plane connection saw. */
export interface ClientRecord {
  readonly messages: string[];
  readonly closes: { code: number; reason: string }[];
}

/** @internal The context shared by the suite's tests. */
export interface TransportSuite {
  readonly api: ConformanceTestApi;
  readonly timeout: number;
  /** A fresh harness, not started. */
  harness(): Promise<TransportHarness>;
  setup(): Promise<{ harness: TransportHarness; rec: Recorded; done: () => Promise<void> }>;
  withHarness(body: (harness: TransportHarness, rec: Recorded) => Promise<void>): Promise<void>;
  open(
    harness: TransportHarness,
    token: string,
  ): Promise<{ connection: DriftConnection; client: ClientRecord }>;
  /** Same as `open`. */
  connect(
    harness: TransportHarness,
    token: string,
  ): Promise<{ connection: DriftConnection; client: ClientRecord }>;
}

/** @internal The suite's credentials. */
export const IDENTITIES: Readonly<Record<string, DriftIdentity>> = {
  'token-a': { node_id: 'node-a', cluster: 'conf', principal: 'node:node-a' },
  'token-b': { node_id: 'node-b', cluster: 'conf-2', principal: 'node:node-b' },
};
/** @internal */
export const MAX_FRAME = 4096;

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
