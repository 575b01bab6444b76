import type { DriftConnection, DriftSession } from '../drift/transport.js';
import { check, checkEqual, clauseTest, waitFor } from './api.js';
import { TRANSPORT_CLAUSES as C } from './transport-clauses.js';
import { registerServeDriftTest } from './transport-serve-test.js';
import {
  IDENTITIES,
  type ClientRecord,
  type Recorded,
  type TransportHarness,
  type TransportSuite,
} from './transport-harness.js';
import { registerSharedClauses, type ModeSuite } from './transport-shared-clauses.js';
import { registerSharedDeliveryClauses } from './transport-shared-delivery.js';

/** The byte-for-byte mode: frames are sent and compared as the exact text, multi-byte text in both directions. */
function byteMode(
  suite: TransportSuite,
): ModeSuite<TransportHarness, DriftConnection, ClientRecord> {
  const heartbeat = (hash: string): string =>
    JSON.stringify({ type: 'heartbeat', artifact_hash: hash, note: 'ünï 🚀' });
  return {
    ...suite,
    applies: () => true,
    sizedFrame: 'frame',
    terminate: (harness, connection) => harness.terminate(connection),
    sendUp: (connection, hash) => connection.send(heartbeat(hash)),
    sendSized(connection, hash, bytes) {
      const text = sizedText(heartbeat(hash), bytes);
      connection.send(text);
      return text;
    },
    upSeen: (rec, id) => rec.messages(id),
    upExpected: heartbeat,
    downSeen: (client) => client.messages,
    downExpected: (text) => text,
  };
}

/**
 * `json` padded to exactly `bytes` UTF-8 bytes with a 3-byte character, so that the frame's
 * UTF-8 size differs from its length (a limit counting characters lets it through).
 */
function sizedText(json: string, bytes: number): string {
  const size = (text: string): number => new TextEncoder().encode(text).length;
  const head = `${json.slice(0, -1)},"pad":"`;
  const room = bytes - size(head) - 2;
  const text = `${head}${'€'.repeat(Math.floor(room / 3))}"}${' '.repeat(room % 3)}`;
  check(size(text) === bytes, 'test frame is the size asked for');
  return text;
}

function checkIdentityKept(rec: Recorded, session: DriftSession, token: string): void {
  const expected = JSON.stringify(IDENTITIES[token]);
  for (const event of rec.events.get(session.id) ?? []) {
    checkEqual(event.identity, expected, `session identity at ${event.kind}`);
  }
}

/** Every clause, frames compared byte for byte. @internal */
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

  const mode = byteMode(suite);
  registerSharedClauses(mode);
  registerSharedDeliveryClauses(mode);
  registerServeDriftTest(suite);
}
