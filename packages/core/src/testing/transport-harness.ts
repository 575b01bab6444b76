import type {
  DriftAuthFailure,
  DriftChannel,
  DriftConnection,
  DriftIdentity,
  DriftSession,
  DriftTransport,
  DriftTransportHandler,
} from '../drift/transport.js';
import type { ConformanceTestApi } from './api.js';

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

/** @internal */
export const describeIdentity = (session: DriftSession): string => {
  try {
    return JSON.stringify(session.identity) ?? 'undefined';
  } catch {
    return 'unreadable';
  }
};

/** @internal A fresh record of handler calls. */
export function record(): Recorded {
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

/**
 * @internal The control-plane handler that records every call in `rec`; `onText` sees each
 * frame after it was recorded (the translating mode answers hellos with it).
 */
export function recordingHandler(
  rec: Recorded,
  onText?: (session: DriftSession, text: string) => void,
): DriftTransportHandler {
  const log = (session: DriftSession, event: SessionEvent): void => {
    const list = rec.events.get(session.id);
    if (list === undefined) rec.strays.push(`${event.kind} for unknown session ${session.id}`);
    else list.push(event);
  };
  return {
    onOpen(session) {
      if (rec.events.has(session.id)) rec.strays.push(`second onOpen of ${session.id}`);
      rec.opened.push(session);
      rec.events.set(session.id, [{ kind: 'open', identity: describeIdentity(session) }]);
    },
    onMessage(session, text) {
      log(session, { kind: 'message', text, identity: describeIdentity(session) });
      onText?.(session, text);
    },
    onClose(session, code, reason) {
      log(session, { kind: 'close', code, reason, identity: describeIdentity(session) });
    },
    onAuthFailure(failure) {
      rec.authFailures.push(failure);
    },
  };
}

/** @internal A harness whose transport was started with a recording handler. */
export interface Started<H> {
  readonly harness: H;
  readonly rec: Recorded;
  /** Closes the transport, then disposes the harness (even when the close throws); once. */
  done(): Promise<void>;
}

/**
 * @internal Builds a harness and starts its transport with a recording handler (`onText` as in
 * {@link recordingHandler}).
 */
export async function startRecorded<
  H extends { readonly transport: DriftTransport; dispose?(): Promise<void> },
>(
  build: () => Promise<H>,
  onText?: (session: DriftSession, text: string) => void,
): Promise<Started<H>> {
  const harness = await build();
  const rec = record();
  await harness.transport.start(recordingHandler(rec, onText));
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
}

/** @internal Runs `body` with a harness from `setup`, done afterwards. */
export async function withStarted<H>(
  setup: () => Promise<Started<H>>,
  body: (harness: H, rec: Recorded) => Promise<void>,
): Promise<void> {
  const { harness, rec, done } = await setup();
  try {
    await body(harness, rec);
  } finally {
    await done();
  }
}
