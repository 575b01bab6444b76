import type { DriftSession } from '../drift/transport.js';
import { check, checkEqual, clauseTest, grace, waitFor } from './api.js';
import { TRANSPORT_CLAUSES as C } from './transport-clauses.js';
import { MAX_FRAME, type TransportSuite } from './transport-harness.js';

/** More frames than any reasonable send buffer or backlog holds at once. */
const BURST = 1000;

/** Ordered delivery of bursts, isolation of sessions, and the frame limit. @internal */
export function registerDeliveryTests(suite: TransportSuite): void {
  const { api, timeout } = suite;

  clauseTest(
    api,
    C.order,
    `delivers a burst of ${BURST} frames in order in both directions, multi-byte text intact`,
    () =>
      suite.withHarness(async (harness, rec) => {
        const { connection, client } = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 1, 'the session to open', timeout);
        const session = rec.opened[0] as DriftSession;
        const sent: string[] = [];
        const back: string[] = [];
        for (let i = 0; i < BURST; i++) {
          const up = JSON.stringify({
            type: 'heartbeat',
            seq: i,
            note: i % 7 === 0 ? 'ünï 🚀' : '',
          });
          const down = JSON.stringify({ type: 'welcome', n: i, note: i % 5 === 0 ? 'é' : '' });
          sent.push(up);
          back.push(down);
          connection.send(up);
          session.send(down);
        }
        await waitFor(
          () => rec.messages(session.id).length >= BURST,
          `${BURST} frames at the control plane (got ${rec.messages(session.id).length})`,
          timeout,
        ).catch(() => undefined);
        await waitFor(
          () => client.messages.length >= BURST,
          `${BURST} frames at the data plane`,
          timeout,
        ).catch(() => undefined);
        await grace();
        checkEqual(rec.messages(session.id).length, BURST, 'frames received by the control plane');
        checkEqual(client.messages.length, BURST, 'frames received by the data plane');
        checkEqual(rec.messages(session.id), sent, 'frames at the control plane, in order');
        checkEqual(client.messages, back, 'frames at the data plane, in order');
      }),
    timeout * 2,
  );

  clauseTest(
    api,
    C.isolation,
    'keeps the frames of two concurrent sessions apart',
    () =>
      suite.withHarness(async (harness, rec) => {
        const a = await suite.open(harness, 'token-a');
        const b = await suite.open(harness, 'token-b');
        await waitFor(() => rec.opened.length === 2, 'two sessions', timeout);
        const byNode = new Map(rec.opened.map((s) => [s.identity.node_id, s]));
        const sa = byNode.get('node-a') as DriftSession;
        const sb = byNode.get('node-b') as DriftSession;
        check(sa !== undefined && sb !== undefined, 'a session for each credential');
        for (let i = 0; i < 50; i++) {
          a.connection.send(`{"from":"a","i":${i}}`);
          b.connection.send(`{"from":"b","i":${i}}`);
          sb.send(`{"to":"b","i":${i}}`);
          sa.send(`{"to":"a","i":${i}}`);
        }
        await waitFor(
          () =>
            rec.messages(sa.id).length >= 50 &&
            rec.messages(sb.id).length >= 50 &&
            a.client.messages.length >= 50 &&
            b.client.messages.length >= 50,
          '50 frames on each side of each session',
          timeout,
        );
        await grace();
        const only = (list: string[], needle: string, what: string): void => {
          checkEqual(list.length, 50, `frames ${what}`);
          check(
            list.every((t) => t.includes(needle)),
            `${what} received a frame of the other session`,
          );
        };
        only(rec.messages(sa.id), '"from":"a"', 'session a at the control plane');
        only(rec.messages(sb.id), '"from":"b"', 'session b at the control plane');
        only(a.client.messages, '"to":"a"', 'connection a');
        only(b.client.messages, '"to":"b"', 'connection b');
      }),
    timeout,
  );

  clauseTest(
    api,
    C.frameLimit,
    'accepts a frame of exactly maxFrameBytes and closes with 1009 on a larger one',
    () =>
      suite.withHarness(async (harness, rec) => {
        const { connection, client } = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 1, 'the session to open', timeout);
        const session = rec.opened[0] as DriftSession;
        // 3-byte characters make the UTF-8 size differ from the string length: 2 + 1364 * 3 + 2 = 4096.
        const body = `"${'€'.repeat((MAX_FRAME - 4) / 3)}"`;
        const exact = `${body}  `;
        check(new TextEncoder().encode(exact).length === MAX_FRAME, 'test frame is the limit');
        connection.send(exact);
        await waitFor(
          () => rec.messages(session.id).length === 1,
          'the frame of exactly maxFrameBytes',
          timeout,
        );
        checkEqual(rec.messages(session.id)[0], exact, 'the frame at the limit, intact');
        connection.send(`${body}   `);
        await waitFor(
          () => rec.closes(session.id).length >= 1,
          'the session to close after a frame one byte over the limit',
          timeout,
        );
        checkEqual(rec.closes(session.id)[0]?.code, 1009, 'close code at the control plane');
        checkEqual(rec.messages(session.id).length, 1, 'frames delivered (the oversized one not)');
        await waitFor(() => client.closes.length === 1, 'the close at the data plane', timeout);
      }),
    timeout,
  );
}
