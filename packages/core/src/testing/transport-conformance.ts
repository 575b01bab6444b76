import type {
  DriftChannel,
  DriftConnection,
  DriftIdentity,
  DriftSession,
  DriftTransport,
  DriftAuthFailure,
} from '../drift/transport.js';
import {
  check,
  checkEqual,
  rejectsWith,
  resolveApi,
  waitFor,
  type ConformanceOptions,
} from './api.js';

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

interface Recorded {
  readonly opened: DriftSession[];
  readonly messages: Map<string, string[]>;
  readonly closes: Map<string, { code: number; reason: string }[]>;
  readonly authFailures: DriftAuthFailure[];
}

interface ClientRecord {
  readonly messages: string[];
  readonly closes: { code: number; reason: string }[];
}

const IDENTITIES: Record<string, DriftIdentity> = {
  'token-a': { node_id: 'node-a', cluster: 'conf', principal: 'token:node-a' },
  'token-b': { node_id: 'node-b', cluster: 'conf-2', principal: 'token:node-b' },
};
const MAX_FRAME = 4096;

/**
 * Registers the drift transport conformance suite: ordering in both directions, authenticated
 * identity, auth failure (4401), oversized frames (1009), abrupt close (1006), peer-initiated
 * closes with codes, reconnect, and shutdown (1001). Run it from a test file of the transport's
 * package (top-level `await` works in Vitest):
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
  const timeout = options.timeoutMs ?? 10_000;

  async function setup(): Promise<{
    harness: TransportHarness;
    rec: Recorded;
    done: () => Promise<void>;
  }> {
    const harness = await factory({ tokens: IDENTITIES, maxFrameBytes: MAX_FRAME });
    const rec: Recorded = { opened: [], messages: new Map(), closes: new Map(), authFailures: [] };
    await harness.transport.start({
      onOpen(session) {
        rec.opened.push(session);
        rec.messages.set(session.id, []);
        rec.closes.set(session.id, []);
      },
      onMessage(session, text) {
        rec.messages.get(session.id)?.push(text);
      },
      onClose(session, code, reason) {
        rec.closes.get(session.id)?.push({ code, reason });
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
        await harness.transport.close();
        await harness.dispose?.();
      },
    };
  }

  async function open(
    harness: TransportHarness,
    token: string,
  ): Promise<{ connection: DriftConnection; client: ClientRecord }> {
    const client: ClientRecord = { messages: [], closes: [] };
    const connection = await harness.channel(token).connect({
      onMessage: (text) => client.messages.push(text),
      onClose: (code, reason) => client.closes.push({ code, reason }),
    });
    return { connection, client };
  }

  async function withHarness(
    body: (harness: TransportHarness, rec: Recorded) => Promise<void>,
  ): Promise<void> {
    const { harness, rec, done } = await setup();
    try {
      await body(harness, rec);
    } finally {
      await done();
    }
  }

  api.describe(`drift transport conformance: ${name}`, () => {
    api.it(
      'authenticates sessions with the identity bound to the credential',
      () =>
        withHarness(async (harness, rec) => {
          await open(harness, 'token-a');
          await open(harness, 'token-b');
          await waitFor(() => rec.opened.length === 2, 'two sessions', timeout);
          const byNode = new Map(rec.opened.map((s) => [s.identity.node_id, s]));
          checkEqual(byNode.get('node-a')?.identity, IDENTITIES['token-a'], 'identity of token-a');
          checkEqual(byNode.get('node-b')?.identity, IDENTITIES['token-b'], 'identity of token-b');
          check(rec.opened[0]?.id !== rec.opened[1]?.id, 'session ids are unique');
        }),
      timeout,
    );

    api.it(
      'refuses unknown credentials (PLB_DRIFT_UNAUTHENTICATED) without opening a session',
      () =>
        withHarness(async (harness, rec) => {
          await rejectsWith(
            () => open(harness, 'wrong-token'),
            'PLB_DRIFT_UNAUTHENTICATED',
            'connect with an unknown token',
          );
          await waitFor(() => rec.authFailures.length === 1, 'onAuthFailure', timeout);
          checkEqual(rec.opened.length, 0, 'sessions opened');
          const reason = rec.authFailures[0]?.reason ?? '';
          check(
            !reason.includes('wrong-token'),
            'the auth failure reason must not contain the credential',
          );
        }),
      timeout,
    );

    api.it(
      'delivers frames in order in both directions, multi-byte text intact',
      () =>
        withHarness(async (harness, rec) => {
          const { connection, client } = await open(harness, 'token-a');
          await waitFor(() => rec.opened.length === 1, 'session', timeout);
          const session = rec.opened[0] as DriftSession;
          const sent: string[] = [];
          for (let i = 0; i < 200; i++) {
            const text = JSON.stringify({
              type: 'heartbeat',
              seq: i,
              note: i % 7 === 0 ? 'ünï 🚀' : '',
            });
            sent.push(text);
            connection.send(text);
          }
          const back: string[] = [];
          for (let i = 0; i < 200; i++) {
            const text = JSON.stringify({ type: 'welcome', n: i, note: 'é' });
            back.push(text);
            session.send(text);
          }
          await waitFor(
            () => (rec.messages.get(session.id)?.length ?? 0) >= 200,
            '200 frames at the server',
            timeout,
          );
          await waitFor(() => client.messages.length >= 200, '200 frames at the client', timeout);
          checkEqual(rec.messages.get(session.id), sent, 'frames at the server');
          checkEqual(client.messages, back, 'frames at the client');
        }),
      timeout,
    );

    api.it(
      'accepts a frame of exactly maxFrameBytes and closes with 1009 on a larger one',
      () =>
        withHarness(async (harness, rec) => {
          const { connection, client } = await open(harness, 'token-a');
          await waitFor(() => rec.opened.length === 1, 'session', timeout);
          const session = rec.opened[0] as DriftSession;
          // 3-byte characters make the UTF-8 size differ from the string length: 2 + 1364 * 3 + 2 = 4096.
          const body = `"${'€'.repeat((MAX_FRAME - 4) / 3)}"`;
          const exact = `${body}  `;
          check(
            new TextEncoder().encode(exact).length === MAX_FRAME,
            'test frame is exactly the limit',
          );
          connection.send(exact);
          await waitFor(
            () => (rec.messages.get(session.id)?.length ?? 0) === 1,
            'the frame at the limit',
            timeout,
          );
          checkEqual(rec.messages.get(session.id)?.[0], exact, 'the frame at the limit, intact');
          connection.send(`${body}   `);
          await waitFor(
            () => (rec.closes.get(session.id)?.length ?? 0) === 1,
            'server-side close',
            timeout,
          );
          checkEqual(rec.closes.get(session.id)?.[0]?.code, 1009, 'server-side close code');
          checkEqual(
            rec.messages.get(session.id)?.length,
            1,
            'frames delivered (the oversized one is not)',
          );
          await waitFor(() => client.closes.length === 1, 'client-side close', timeout);
        }),
      timeout,
    );

    api.it(
      'reports an abrupt close (no close handshake) once, as 1006',
      () =>
        withHarness(async (harness, rec) => {
          const { connection, client } = await open(harness, 'token-a');
          await waitFor(() => rec.opened.length === 1, 'session', timeout);
          const session = rec.opened[0] as DriftSession;
          harness.terminate(connection);
          await waitFor(
            () => (rec.closes.get(session.id)?.length ?? 0) >= 1,
            'server-side close',
            timeout,
          );
          await waitFor(() => client.closes.length >= 1, 'client-side close', timeout);
          await new Promise((resolve) => setTimeout(resolve, 20));
          checkEqual(
            rec.closes.get(session.id)?.map((c) => c.code),
            [1006],
            'server-side closes',
          );
          checkEqual(client.closes.length, 1, 'client-side closes');
          session.send('{"type":"welcome"}');
          connection.send('{"type":"heartbeat"}');
        }),
      timeout,
    );

    api.it(
      'carries close codes and reasons both ways, each close reported once',
      () =>
        withHarness(async (harness, rec) => {
          const first = await open(harness, 'token-a');
          await waitFor(() => rec.opened.length === 1, 'session', timeout);
          const s1 = rec.opened[0] as DriftSession;
          s1.send('{"type":"error","code":"PLB_DRIFT_REPLACED","message":"replaced"}');
          s1.close(4409, 'PLB_DRIFT_REPLACED');
          s1.close(4409, 'again');
          await waitFor(() => first.client.closes.length === 1, 'client-side close', timeout);
          checkEqual(
            first.client.closes[0],
            { code: 4409, reason: 'PLB_DRIFT_REPLACED' },
            'client-side close',
          );
          checkEqual(first.client.messages.length, 1, 'the frame sent before the close arrives');
          await waitFor(
            () => (rec.closes.get(s1.id)?.length ?? 0) === 1,
            'server-side close',
            timeout,
          );

          const second = await open(harness, 'token-b');
          await waitFor(() => rec.opened.length === 2, 'second session', timeout);
          const s2 = rec.opened[1] as DriftSession;
          second.connection.send('{"type":"heartbeat","seq":1}');
          second.connection.close(1000, 'bye');
          await waitFor(
            () => (rec.closes.get(s2.id)?.length ?? 0) === 1,
            'server-side close',
            timeout,
          );
          checkEqual(rec.closes.get(s2.id)?.[0]?.code, 1000, 'server-side close code');
          checkEqual(
            rec.messages.get(s2.id),
            ['{"type":"heartbeat","seq":1}'],
            'frame sent before the close',
          );
          await new Promise((resolve) => setTimeout(resolve, 20));
          checkEqual(rec.closes.get(s1.id)?.length, 1, 'closes of the first session');
          checkEqual(rec.closes.get(s2.id)?.length, 1, 'closes of the second session');
        }),
      timeout,
    );

    api.it(
      'reconnects: a new connection of the same credential is a new session',
      () =>
        withHarness(async (harness, rec) => {
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
            await waitFor(
              () => (rec.messages.get(session.id)?.length ?? 0) === 1,
              'frame',
              timeout,
            );
            session.send(`{"ack":${round}}`);
            await waitFor(() => received.length === 1, 'reply', timeout);
            if (round % 2 === 0) harness.terminate(connection);
            else connection.close(1000, 'done');
            await waitFor(
              () => closed && (rec.closes.get(session.id)?.length ?? 0) === 1,
              'close',
              timeout,
            );
          }
          checkEqual(new Set(rec.opened.map((s) => s.id)).size, 3, 'distinct session ids');
        }),
      timeout,
    );

    api.it(
      'closes every session with 1001 on close() and refuses new connections',
      () => {
        return (async () => {
          const { harness, rec, done } = await setup();
          try {
            const a = await open(harness, 'token-a');
            const b = await open(harness, 'token-b');
            await waitFor(() => rec.opened.length === 2, 'two sessions', timeout);
            await harness.transport.close();
            await waitFor(
              () => a.client.closes.length === 1 && b.client.closes.length === 1,
              'client closes',
              timeout,
            );
            checkEqual(a.client.closes[0]?.code, 1001, 'close code at client a');
            checkEqual(b.client.closes[0]?.code, 1001, 'close code at client b');
            for (const session of rec.opened) {
              checkEqual(
                rec.closes.get(session.id)?.length,
                1,
                `server-side closes of ${session.id}`,
              );
            }
            let refused = false;
            try {
              const late = await open(harness, 'token-a');
              await waitFor(
                () => late.client.closes.length === 1,
                'late connection closed',
                timeout,
              );
              refused = true;
            } catch {
              refused = true;
            }
            check(refused, 'a connection after close() is refused or closed at once');
            checkEqual(rec.opened.length, 2, 'no session opened after close()');
          } finally {
            await done();
          }
        })();
      },
      timeout,
    );
  });
}
