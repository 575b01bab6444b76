import type { DriftSession } from '../drift/transport.js';
import { check, checkEqual, clauseTest, grace, waitFor } from './api.js';
import { TRANSPORT_CLAUSES as C } from './transport-clauses.js';
import { MAX_FRAME } from './transport-harness.js';
import { errorFrame, tagHash, type AnyModeSuite } from './transport-shared-clauses.js';

/** More frames than any reasonable send buffer or backlog holds at once. */
const BURST = 1000;

/** @internal Ordered delivery of bursts, isolation of sessions, and the frame limit. */
export function registerSharedDeliveryClauses(suite: AnyModeSuite): void {
  registerOrderClause(suite);
  if (suite.applies('isolation')) registerIsolationClause(suite);
  if (suite.applies('frameLimit')) registerFrameLimitClause(suite);
}

function registerOrderClause(suite: AnyModeSuite): void {
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
        const sent: unknown[] = [];
        const back: unknown[] = [];
        for (let i = 0; i < BURST; i++) {
          const down = errorFrame(`n=${i}${i % 7 === 0 ? ' ünï 🚀' : ''}`);
          sent.push(suite.upExpected(tagHash('0', i)));
          back.push(suite.downExpected(down));
          suite.sendUp(connection, tagHash('0', i));
          session.send(down);
        }
        const got = (): number => suite.upSeen(rec, session.id).length;
        await waitFor(() => got() >= BURST, `${BURST} frames (got ${got()})`, timeout).catch(
          () => undefined,
        );
        const gotBack = (): number => suite.downSeen(client).length;
        await waitFor(() => gotBack() >= BURST, `${BURST} frames`, timeout).catch(() => undefined);
        await grace();
        checkEqual(got(), BURST, 'frames received by the control plane');
        checkEqual(gotBack(), BURST, 'frames received by the data plane');
        checkEqual(suite.upSeen(rec, session.id), sent, 'frames at the control plane, in order');
        checkEqual(suite.downSeen(client), back, 'frames at the data plane, in order');
      }),
    timeout * 2,
  );
}

function registerIsolationClause(suite: AnyModeSuite): void {
  const { api, timeout } = suite;
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
          suite.sendUp(a.connection, tagHash('a', i));
          suite.sendUp(b.connection, tagHash('b', i));
          sb.send(errorFrame(`to b ${i}`));
          sa.send(errorFrame(`to a ${i}`));
        }
        await waitFor(
          () =>
            suite.upSeen(rec, sa.id).length >= 50 &&
            suite.upSeen(rec, sb.id).length >= 50 &&
            suite.downSeen(a.client).length >= 50 &&
            suite.downSeen(b.client).length >= 50,
          '50 frames on each side of each session',
          timeout,
        );
        await grace();
        const only = (list: readonly unknown[], needle: string, what: string): void => {
          checkEqual(list.length, 50, `frames ${what}`);
          check(
            list.every((f) => JSON.stringify(f).includes(needle)),
            `${what} received a frame of the other session`,
          );
        };
        only(suite.upSeen(rec, sa.id), 'sha256:a', 'session a at the control plane');
        only(suite.upSeen(rec, sb.id), 'sha256:b', 'session b at the control plane');
        only(suite.downSeen(a.client), 'to a ', 'connection a');
        only(suite.downSeen(b.client), 'to b ', 'connection b');
      }),
    timeout,
  );
}

function registerFrameLimitClause(suite: AnyModeSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.frameLimit,
    `accepts a ${suite.sizedFrame} of exactly maxFrameBytes and closes with 1009 on a larger one`,
    () =>
      suite.withHarness(async (harness, rec) => {
        const { connection, client } = await suite.open(harness, 'token-a');
        await waitFor(() => rec.opened.length === 1, 'the session to open', timeout);
        const session = rec.opened[0] as DriftSession;
        const atLimit = suite.sendSized(connection, tagHash('f', 1), MAX_FRAME);
        await waitFor(
          () => suite.upSeen(rec, session.id).length === 1,
          'the frame of exactly maxFrameBytes',
          timeout,
        );
        checkEqual(suite.upSeen(rec, session.id), [atLimit], 'the frame at the limit, intact');
        suite.sendSized(connection, tagHash('f', 2), MAX_FRAME + 1);
        await waitFor(
          () => rec.closes(session.id).length >= 1,
          'the session to close after a frame one byte over the limit',
          timeout,
        );
        checkEqual(rec.closes(session.id)[0]?.code, 1009, 'close code at the control plane');
        const delivered = suite.upSeen(rec, session.id).length;
        checkEqual(delivered, 1, 'frames delivered (the oversized one not)');
        await waitFor(() => client.closes.length === 1, 'the close at the data plane', timeout);
      }),
    timeout,
  );
}
