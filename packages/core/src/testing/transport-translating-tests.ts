import type { DriftSession } from '../drift/transport.js';
import { check, checkEqual, clauseTest, waitFor } from './api.js';
import { TRANSPORT_CLAUSES as C } from './transport-clauses.js';
import { IDENTITIES, type Recorded } from './transport-harness.js';
import { registerSharedClauses, type ModeSuite } from './transport-shared-clauses.js';
import { registerSharedDeliveryClauses } from './transport-shared-delivery.js';
import { registerTranslatingServeTest } from './transport-translating-serve-test.js';
import type {
  TranslatedClientRecord,
  TranslatingConnection,
  TranslatingSuite,
  TranslatingTransportHarness,
  TransportFrame,
  WaivableTransportClause,
} from './transport-translating.js';

/** @internal A heartbeat by its meaning. */
export const heartbeat = (artifact_hash: string): TransportFrame => ({
  type: 'heartbeat',
  artifact_hash,
});

/** The meaning the suite compares of a data-plane frame. */
const up = (frame: TransportFrame): unknown => ({
  type: frame['type'],
  artifact_hash: frame['artifact_hash'],
});

/** The meaning the suite compares of a control-plane frame. */
const down = (frame: TransportFrame): unknown => ({
  type: frame['type'],
  message: frame['message'],
});

/** @internal The frames a session delivered after its hello, parsed. */
export function payload(rec: Recorded, id: string): TransportFrame[] {
  return rec.messages(id).flatMap((text) => {
    let frame: TransportFrame;
    try {
      frame = JSON.parse(text) as TransportFrame;
    } catch {
      return [{ type: 'not JSON', text }];
    }
    return frame['type'] === 'hello' ? [] : [frame];
  });
}

/** @internal Whether `clause` runs (it was not declared not applicable). */
export function applies(suite: TranslatingSuite, clause: WaivableTransportClause): boolean {
  return suite.notApplicable[clause] === undefined;
}

/** Identity by meaning: the credential's node and cluster, one identity from open to close. */
function checkIdentityMeaning(rec: Recorded, session: DriftSession, token: string): void {
  const expected = IDENTITIES[token];
  const events = rec.events.get(session.id) ?? [];
  for (const event of events) {
    const identity = JSON.parse(event.identity) as { node_id?: unknown; cluster?: unknown };
    checkEqual(
      { node_id: identity.node_id, cluster: identity.cluster },
      { node_id: expected?.node_id, cluster: expected?.cluster },
      `session identity at ${event.kind}`,
    );
    checkEqual(event.identity, events[0]?.identity, `session identity at ${event.kind}`);
  }
}

/** The translating mode: frames sent through the client adapter and compared by meaning. */
function translatingMode(
  suite: TranslatingSuite,
): ModeSuite<TranslatingTransportHarness, TranslatingConnection, TranslatedClientRecord> {
  return {
    ...suite,
    open: (harness, token) => suite.open(harness, token),
    applies: (clause) => applies(suite, clause),
    terminate: (_harness, connection) => connection.terminate(),
    sizedFrame: 'wire frame',
    sendUp: (connection, hash) => connection.send(heartbeat(hash)),
    sendSized(connection, hash, bytes) {
      const sendSized = connection.sendSized?.bind(connection);
      check(sendSized !== undefined, 'the client adapter has no sendSized');
      sendSized(heartbeat(hash), bytes);
      return up(heartbeat(hash));
    },
    upSeen: (rec, id) => payload(rec, id).map(up),
    upExpected: (hash) => up(heartbeat(hash)),
    downSeen: (client) => client.frames.map(down),
    downExpected: (text) => down(JSON.parse(text) as TransportFrame),
  };
}

/** Every clause, frames compared by meaning. @internal */
export function registerTranslatingTests(suite: TranslatingSuite): void {
  registerIdentityTests(suite);
  const mode = translatingMode(suite);
  registerSharedClauses(mode);
  registerSharedDeliveryClauses(mode);
  if (applies(suite, 'serveDrift')) registerTranslatingServeTest(suite);
}

function registerIdentityTests(suite: TranslatingSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.identity,
    'binds each session to the identity of its credential, whatever its hello claims',
    () =>
      suite.withHarness(async (harness, rec) => {
        // Each peer claims to be the other.
        const b = await suite.open(harness, 'token-b', { node_id: 'node-a', cluster: 'conf' });
        const a = await suite.open(harness, 'token-a', { node_id: 'node-b', cluster: 'conf-2' });
        await waitFor(() => rec.opened.length === 2, 'two sessions', timeout);
        const claimOf = (session: DriftSession): unknown =>
          (JSON.parse(rec.messages(session.id)[0] ?? '{}') as { node_id?: unknown }).node_id;
        b.connection.close(1000, 'done');
        a.connection.terminate();
        await waitFor(
          () => rec.opened.every((s) => rec.closes(s.id).length >= 1),
          'both closes',
          timeout,
        );
        for (const session of rec.opened) {
          checkIdentityMeaning(rec, session, claimOf(session) === 'node-a' ? 'token-b' : 'token-a');
        }
        check(new Set(rec.opened.map((s) => s.id)).size === 2, 'session ids are unique');
      }),
    timeout,
  );
}
