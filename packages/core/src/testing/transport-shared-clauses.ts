import type { DriftSession, DriftTransport } from '../drift/transport.js';
import { check, checkEqual, clauseTest, grace, rejectsWith, waitFor } from './api.js';
import type { ConformanceTestApi } from './api.js';
import { TRANSPORT_CLAUSES as C } from './transport-clauses.js';
import type { Recorded } from './transport-harness.js';

/** @internal What both modes' test connections can do. */
export interface ModeConnection {
  close(code?: number, reason?: string): void;
}

/** @internal What both modes' test clients record. */
export interface ModeClient {
  readonly closes: { code: number; reason: string }[];
}

/**
 * @internal The client adapter of one mode of the transport suite: how its test data plane
 * connects, sends a frame and reads frames back, and how frames are compared (byte for byte,
 * or by meaning). Each clause written against it is written once for both modes.
 */
export interface ModeSuite<
  H extends { readonly transport: DriftTransport },
  Conn extends ModeConnection,
  Cl extends ModeClient,
> {
  readonly api: ConformanceTestApi;
  readonly timeout: number;
  /** Whether a waivable clause runs (the byte-for-byte mode runs them all). */
  applies(clause: 'isolation' | 'frameLimit' | 'abrupt' | 'reconnect' | 'shutdown'): boolean;
  /** What the frame-limit clause calls the frame it sizes (`frame`, `wire frame`). */
  readonly sizedFrame: string;
  setup(): Promise<{ harness: H; rec: Recorded; done: () => Promise<void> }>;
  withHarness(body: (harness: H, rec: Recorded) => Promise<void>): Promise<void>;
  open(harness: H, token: string): Promise<{ connection: Conn; client: Cl }>;
  /** Drops `connection` without a close handshake. */
  terminate(harness: H, connection: Conn): void;
  /** Sends a data-plane heartbeat reporting `hash`. */
  sendUp(connection: Conn, hash: string): void;
  /**
   * Sends a heartbeat reporting `hash` as one frame of exactly `bytes` UTF-8 bytes, and returns
   * the compared form the control plane must receive.
   */
  sendSized(connection: Conn, hash: string, bytes: number): unknown;
  /** The frames session `id` delivered to the control plane, in compared form. */
  upSeen(rec: Recorded, id: string): readonly unknown[];
  /** The compared form of the heartbeat `sendUp(…, hash)` sends. */
  upExpected(hash: string): unknown;
  /** The frames a client received, in compared form. */
  downSeen(client: Cl): readonly unknown[];
  /** The compared form of the control-plane frame `text`. */
  downExpected(text: string): unknown;
}

/** @internal Any mode (the adapter's methods take its own harness, connection and client). */
export type AnyModeSuite = ModeSuite<
  { readonly transport: DriftTransport },
  ModeConnection,
  ModeClient
>;

/** @internal A digest that tags a frame: `side` (one hex digit) and a number. */
export function tagHash(side: string, n: number): string {
  return `sha256:${side}${n.toString(16).padStart(63, '0')}`;
}

/** @internal An error frame from the control plane. */
export const errorFrame = (message: string, code = 'PLB_CONFORMANCE'): string =>
  JSON.stringify({ type: 'error', code, message });

/** @internal Checks the handler calls of one session: open first, one close last. */
export function checkLifecycle(rec: Recorded, session: DriftSession, closes = 1): void {
  const events = rec.events.get(session.id) ?? [];
  checkEqual(events[0]?.kind, 'open', `first handler call of session ${session.id}`);
  const closeAt = events.findIndex((e) => e.kind === 'close');
  checkEqual(
    events.filter((e) => e.kind === 'close').length,
    closes,
    `onClose calls of session ${session.id}`,
  );
  if (closes > 0) {
    checkEqual(closeAt, events.length - 1, `handler calls after onClose of ${session.id}`);
  }
}

/** @internal Credentials, lifecycle, abrupt closes, close codes, reconnects and shutdown. */
export function registerSharedClauses(suite: AnyModeSuite): void {
  registerAuthClause(suite);
  registerLifecycleClause(suite);
  if (suite.applies('abrupt')) registerAbruptClause(suite);
  registerCloseCodesClause(suite);
  if (suite.applies('reconnect')) registerReconnectClause(suite);
  if (suite.applies('shutdown')) registerShutdownClause(suite);
}

function registerAuthClause(suite: AnyModeSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.auth,
    'refuses every credential that is not exactly a configured one, without opening a session',
    () =>
      suite.withHarness(async (harness, rec) => {
        const wrong = ['wrong-token', 'token-a-2', 'token-', 'token', 'TOKEN-A', 'xtoken-a', ''];
        for (const token of wrong) {
          await rejectsWith(
            () => suite.open(harness, token),
            'PLB_DRIFT_UNAUTHENTICATED',
            `connect with ${JSON.stringify(token)}`,
          );
        }
        await waitFor(
          () => rec.authFailures.length >= wrong.length,
          'one onAuthFailure per refused credential',
          timeout,
        );
        await grace();
        checkEqual(rec.opened.length, 0, 'sessions opened for wrong credentials');
        for (const failure of rec.authFailures) {
          check(
            !failure.reason.includes('wrong-token') && !failure.reason.includes('token-a'),
            'an onAuthFailure reason contains the credential',
          );
        }
      }),
    timeout,
  );
}

function registerLifecycleClause(suite: AnyModeSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.lifecycle,
    'delivers nothing once a side closed, reports one onClose last, and never throws',
    () =>
      suite.withHarness(async (harness, rec) => {
        const first = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 1, 'the session to open', timeout);
        const s1 = rec.opened[0] as DriftSession;
        s1.close(4409, 'PLB_DRIFT_REPLACED');
        s1.send(errorFrame('sent after close', 'LATE'));
        s1.close(4409, 'again');
        suite.sendUp(first.connection, tagHash('9', 99));
        await waitFor(() => first.client.closes.length >= 1, 'the close at the client', timeout);
        await waitFor(() => rec.closes(s1.id).length >= 1, 'onClose', timeout);
        // The data plane closes; what it sends afterwards must not arrive.
        const second = await suite.open(harness, 'token-b');
        await waitFor(() => rec.opened.length === 2, 'the second session', timeout);
        const s2 = rec.opened[1] as DriftSession;
        second.connection.close(1000, 'bye');
        suite.sendUp(second.connection, tagHash('9', 100));
        second.connection.close(1000, 'again');
        await waitFor(() => rec.closes(s2.id).length >= 1, 'onClose of the second', timeout);
        s2.send(errorFrame('late'));
        s2.close(1000, 'late close');
        // A frame sent just before a close arrives before onClose, or not at all.
        const third = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 3, 'the third session', timeout);
        const s3 = rec.opened[2] as DriftSession;
        suite.sendUp(third.connection, tagHash('9', 1));
        third.connection.close(1000, 'bye');
        await waitFor(() => rec.closes(s3.id).length >= 1, 'onClose of the third', timeout);
        await grace(50);
        const downFirst = suite.downSeen(first.client);
        checkEqual(downFirst, [], 'frames at the data plane after the session closed');
        const upFirst = suite.upSeen(rec, s1.id);
        checkEqual(upFirst, [], 'frames at the control plane after the session closed');
        checkEqual(
          suite.upSeen(rec, s2.id),
          [],
          'frames at the control plane after the peer closed',
        );
        checkEqual(suite.downSeen(second.client), [], 'frames at the data plane after it closed');
        checkEqual(first.client.closes.length, 1, 'closes at the first data plane');
        checkEqual(second.client.closes.length, 1, 'closes at the second data plane');
        checkLifecycle(rec, s1);
        checkLifecycle(rec, s2);
        checkLifecycle(rec, s3);
        checkEqual(rec.strays, [], 'handler calls for sessions never opened');
      }),
    timeout,
  );
}

function registerAbruptClause(suite: AnyModeSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.abrupt,
    'reports an abrupt close (no close handshake) once, as 1006',
    () =>
      suite.withHarness(async (harness, rec) => {
        const { connection, client } = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 1, 'the session to open', timeout);
        const session = rec.opened[0] as DriftSession;
        suite.terminate(harness, connection);
        await waitFor(() => rec.closes(session.id).length >= 1, 'onClose', timeout);
        await waitFor(() => client.closes.length >= 1, 'the close at the data plane', timeout);
        session.send(errorFrame('after the drop'));
        suite.sendUp(connection, tagHash('9', 2));
        await grace();
        checkEqual(
          rec.closes(session.id).map((c) => c.code),
          [1006],
          'close codes at the control plane',
        );
        checkEqual(client.closes.length, 1, 'closes at the data plane');
        checkLifecycle(rec, session);
      }),
    timeout,
  );
}

function registerCloseCodesClause(suite: AnyModeSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.closeCodes,
    'carries close codes and reasons both ways, each close reported once',
    () =>
      suite.withHarness(async (harness, rec) => {
        const first = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 1, 'the session to open', timeout);
        const s1 = rec.opened[0] as DriftSession;
        const replaced = errorFrame('replaced', 'PLB_DRIFT_REPLACED');
        s1.send(replaced);
        s1.close(4409, 'PLB_DRIFT_REPLACED');
        await waitFor(() => first.client.closes.length >= 1, 'the close at the client', timeout);
        checkEqual(
          first.client.closes[0],
          { code: 4409, reason: 'PLB_DRIFT_REPLACED' },
          'close at the data plane',
        );
        checkEqual(
          suite.downSeen(first.client),
          [suite.downExpected(replaced)],
          'the frame sent before the close',
        );
        await waitFor(() => rec.closes(s1.id).length >= 1, 'onClose', timeout);
        checkEqual(rec.closes(s1.id)[0]?.code, 4409, 'close code at the control plane');

        const second = await suite.open(harness, 'token-b');
        await waitFor(() => rec.opened.length === 2, 'the second session', timeout);
        const s2 = rec.opened[1] as DriftSession;
        suite.sendUp(second.connection, tagHash('1', 1));
        second.connection.close(4000, 'going away for maintenance');
        await waitFor(() => rec.closes(s2.id).length >= 1, 'onClose of the second', timeout);
        checkEqual(
          rec.closes(s2.id)[0],
          { code: 4000, reason: 'going away for maintenance' },
          "the data plane's close at the control plane",
        );
        checkEqual(
          suite.upSeen(rec, s2.id),
          [suite.upExpected(tagHash('1', 1))],
          'frame before close',
        );
        await grace();
        checkEqual(rec.closes(s1.id).length, 1, 'closes of the first session');
        checkEqual(rec.closes(s2.id).length, 1, 'closes of the second session');
        checkEqual(second.client.closes.length, 1, 'closes at the second data plane');
      }),
    timeout,
  );
}

function registerReconnectClause(suite: AnyModeSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.reconnect,
    'reconnects: each new connection of one credential is a new session',
    () =>
      suite.withHarness(async (harness, rec) => {
        for (let round = 0; round < 3; round++) {
          const { connection, client } = await suite.open(harness, 'token-a');
          await waitFor(() => rec.opened.length === round + 1, `session ${round + 1}`, timeout);
          const session = rec.opened[round] as DriftSession;
          suite.sendUp(connection, tagHash('c', round));
          await waitFor(() => suite.upSeen(rec, session.id).length === 1, 'a frame', timeout);
          session.send(errorFrame(`ack ${round}`));
          await waitFor(() => suite.downSeen(client).length === 1, 'the reply', timeout);
          if (round % 2 === 0) suite.terminate(harness, connection);
          else connection.close(1000, 'done');
          await waitFor(
            () => client.closes.length === 1 && rec.closes(session.id).length === 1,
            'close',
            timeout,
          );
        }
        checkEqual(new Set(rec.opened.map((s) => s.id)).size, 3, 'distinct session ids');
      }),
    timeout,
  );
}

function registerShutdownClause(suite: AnyModeSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.shutdown,
    'closes every session with 1001 on close() and refuses new connections',
    async () => {
      const { harness, rec, done } = await suite.setup();
      try {
        const a = await suite.open(harness, 'token-a');
        const b = await suite.open(harness, 'token-b');
        await waitFor(() => rec.opened.length === 2, 'two sessions', timeout);
        await harness.transport.close();
        for (const session of rec.opened) {
          checkEqual(rec.closes(session.id).length, 1, `onClose of ${session.id} on close()`);
          checkEqual(rec.closes(session.id)[0]?.code, 1001, `close code of ${session.id}`);
        }
        await waitFor(
          () => a.client.closes.length === 1 && b.client.closes.length === 1,
          'the closes at the data planes',
          timeout,
        );
        checkEqual(a.client.closes[0]?.code, 1001, 'close code at data plane a');
        checkEqual(b.client.closes[0]?.code, 1001, 'close code at data plane b');
        try {
          const late = await suite.open(harness, 'token-a');
          await waitFor(() => late.client.closes.length === 1, 'a late connection closed', timeout);
        } catch {
          // refused: as it should be
        }
        await grace();
        checkEqual(rec.opened.length, 2, 'sessions opened after close()');
      } finally {
        await done();
      }
    },
    timeout,
  );
}
