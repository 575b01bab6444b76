import type { DriftSession } from '../drift/transport.js';
import { check, checkEqual, clauseTest, grace, rejectsWith, waitFor } from './api.js';
import { TRANSPORT_CLAUSES as C } from './transport-clauses.js';
import { registerServeDriftTest } from './transport-serve-test.js';
import { IDENTITIES, type Recorded, type TransportSuite } from './transport-harness.js';

/** Checks the handler calls of one session: open first, one close last, identity unchanged. */
function checkLifecycle(rec: Recorded, session: DriftSession, closes = 1): void {
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

function checkIdentityKept(rec: Recorded, session: DriftSession, token: string): void {
  const expected = JSON.stringify(IDENTITIES[token]);
  for (const event of rec.events.get(session.id) ?? []) {
    checkEqual(event.identity, expected, `session identity at ${event.kind}`);
  }
}

/** Identity, credentials, lifecycle, closes, reconnects, shutdown, and serveDrift. @internal */
export function registerSessionTests(suite: TransportSuite): void {
  const { api, timeout } = suite;

  clauseTest(
    api,
    C.identity,
    'binds each session to the identity of its credential, whatever its frames claim',
    () =>
      suite.withHarness(async (harness, rec) => {
        const b = await suite.open(harness, 'token-b');
        const a = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 2, 'two sessions', timeout);
        const claim = (node: string, cluster: string): string =>
          JSON.stringify({
            type: 'hello',
            protocol: 'plumbline.drift/v1',
            node_id: node,
            cluster,
            instance_id: 'i-1',
            artifact_hash: null,
          });
        // Each peer claims to be the other.
        b.connection.send(claim('node-a', 'conf'));
        a.connection.send(claim('node-b', 'conf-2'));
        await waitFor(
          () => rec.opened.every((s) => rec.messages(s.id).length === 1),
          'the claims',
          timeout,
        );
        b.connection.close(1000, 'done');
        harness.terminate(a.connection);
        await waitFor(
          () => rec.opened.every((s) => rec.closes(s.id).length >= 1),
          'both closes',
          timeout,
        );
        // The peer that claimed node-a authenticated as node-b, and the other way round.
        for (const session of rec.opened) {
          const claimed = (JSON.parse(rec.messages(session.id)[0] ?? '{}') as { node_id?: string })
            .node_id;
          checkIdentityKept(rec, session, claimed === 'node-a' ? 'token-b' : 'token-a');
        }
        check(new Set(rec.opened.map((s) => s.id)).size === 2, 'session ids are unique');
      }),
    timeout,
  );

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
        s1.send('{"type":"error","code":"LATE","message":"sent after close"}');
        s1.close(4409, 'again');
        first.connection.send('{"type":"heartbeat","seq":99}');
        await waitFor(
          () => first.client.closes.length >= 1,
          'the close at the data plane',
          timeout,
        );
        await waitFor(() => rec.closes(s1.id).length >= 1, 'onClose', timeout);
        // The data plane closes; what it sends afterwards must not arrive.
        const second = await suite.open(harness, 'token-b');
        await waitFor(() => rec.opened.length === 2, 'the second session', timeout);
        const s2 = rec.opened[1] as DriftSession;
        second.connection.close(1000, 'bye');
        second.connection.send('{"type":"heartbeat","seq":100}');
        second.connection.close(1000, 'again');
        await waitFor(() => rec.closes(s2.id).length >= 1, 'onClose of the second', timeout);
        s2.send('{"type":"welcome","late":true}');
        s2.close(1000, 'late close');
        // A frame sent just before a close arrives before onClose, or not at all.
        const third = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 3, 'the third session', timeout);
        const s3 = rec.opened[2] as DriftSession;
        third.connection.send('{"type":"heartbeat","seq":1}');
        third.connection.close(1000, 'bye');
        await waitFor(() => rec.closes(s3.id).length >= 1, 'onClose of the third', timeout);
        await grace(50);
        checkEqual(first.client.messages, [], 'frames at the data plane after the session closed');
        checkEqual(rec.messages(s1.id), [], 'frames at the control plane after the session closed');
        checkEqual(rec.messages(s2.id), [], 'frames at the control plane after the peer closed');
        checkEqual(second.client.messages, [], 'frames at the data plane after it closed');
        checkEqual(first.client.closes.length, 1, 'closes at the first data plane');
        checkEqual(second.client.closes.length, 1, 'closes at the second data plane');
        checkLifecycle(rec, s1);
        checkLifecycle(rec, s2);
        checkLifecycle(rec, s3);
        checkEqual(rec.strays, [], 'handler calls for sessions never opened');
      }),
    timeout,
  );

  clauseTest(
    api,
    C.abrupt,
    'reports an abrupt close (no close handshake) once, as 1006',
    () =>
      suite.withHarness(async (harness, rec) => {
        const { connection, client } = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 1, 'the session to open', timeout);
        const session = rec.opened[0] as DriftSession;
        harness.terminate(connection);
        await waitFor(() => rec.closes(session.id).length >= 1, 'onClose', timeout);
        await waitFor(() => client.closes.length >= 1, 'the close at the data plane', timeout);
        session.send('{"type":"welcome"}');
        connection.send('{"type":"heartbeat"}');
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

  clauseTest(
    api,
    C.closeCodes,
    'carries close codes and reasons both ways, each close reported once',
    () =>
      suite.withHarness(async (harness, rec) => {
        const first = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 1, 'the session to open', timeout);
        const s1 = rec.opened[0] as DriftSession;
        s1.send('{"type":"error","code":"PLB_DRIFT_REPLACED","message":"replaced"}');
        s1.close(4409, 'PLB_DRIFT_REPLACED');
        await waitFor(
          () => first.client.closes.length >= 1,
          'the close at the data plane',
          timeout,
        );
        checkEqual(
          first.client.closes[0],
          { code: 4409, reason: 'PLB_DRIFT_REPLACED' },
          'close at the data plane',
        );
        checkEqual(first.client.messages.length, 1, 'the frame sent before the close');
        await waitFor(() => rec.closes(s1.id).length >= 1, 'onClose', timeout);
        checkEqual(rec.closes(s1.id)[0]?.code, 4409, 'close code at the control plane');

        const second = await suite.open(harness, 'token-b');
        await waitFor(() => rec.opened.length === 2, 'the second session', timeout);
        const s2 = rec.opened[1] as DriftSession;
        second.connection.send('{"type":"heartbeat","seq":1}');
        second.connection.close(4000, 'going away for maintenance');
        await waitFor(() => rec.closes(s2.id).length >= 1, 'onClose of the second', timeout);
        checkEqual(
          rec.closes(s2.id)[0],
          { code: 4000, reason: 'going away for maintenance' },
          "the data plane's close at the control plane",
        );
        checkEqual(rec.messages(s2.id), ['{"type":"heartbeat","seq":1}'], 'frame before close');
        await grace();
        checkEqual(rec.closes(s1.id).length, 1, 'closes of the first session');
        checkEqual(rec.closes(s2.id).length, 1, 'closes of the second session');
        checkEqual(second.client.closes.length, 1, 'closes at the second data plane');
      }),
    timeout,
  );

  registerLifetimeTests(suite);
  registerServeDriftTest(suite);
}

function registerLifetimeTests(suite: TransportSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.reconnect,
    'reconnects: each new connection of one credential is a new session',
    () =>
      suite.withHarness(async (harness, rec) => {
        const channel = harness.channel('token-a');
        for (let round = 0; round < 3; round++) {
          const received: string[] = [];
          let closed = false;
          const connection = await channel.connect({
            onMessage: (text) => received.push(text),
            onClose: () => {
              closed = true;
            },
          });
          await waitFor(() => rec.opened.length === round + 1, `session ${round + 1}`, timeout);
          const session = rec.opened[round] as DriftSession;
          connection.send(`{"round":${round}}`);
          await waitFor(() => rec.messages(session.id).length === 1, 'a frame', timeout);
          session.send(`{"ack":${round}}`);
          await waitFor(() => received.length === 1, 'the reply', timeout);
          if (round % 2 === 0) harness.terminate(connection);
          else connection.close(1000, 'done');
          await waitFor(() => closed && rec.closes(session.id).length === 1, 'close', timeout);
        }
        checkEqual(new Set(rec.opened.map((s) => s.id)).size, 3, 'distinct session ids');
      }),
    timeout,
  );

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
          checkEqual(
            rec.closes(session.id).length,
            1,
            `onClose of ${session.id} when close() resolved`,
          );
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
