import type { ContractClause } from './api.js';

/**
 * The rules of the drift transport contract that `describeTransportConformance` checks, each
 * named in the failures it causes.
 *
 * @public
 */
export const TRANSPORT_CLAUSES = {
  identity: {
    id: 'transport.identity',
    text:
      "a session's identity is the one bound to the credential it authenticated with, never what " +
      'the peer claims in its frames, and it stays the same from onOpen through onClose',
  },
  auth: {
    id: 'transport.auth',
    text:
      'a credential that is not exactly one of the configured ones (a prefix, an extension, ' +
      'another case, empty) is refused with PLB_DRIFT_UNAUTHENTICATED, reported to onAuthFailure ' +
      'without the secret, and opens no session',
  },
  order: {
    id: 'transport.order',
    text:
      'every frame of a session is delivered whole, once and in order, in both directions, ' +
      'however many are sent at once (none dropped, duplicated, reordered or merged)',
  },
  isolation: {
    id: 'transport.isolation',
    text: 'frames of one session reach only that session, in both directions',
  },
  frameLimit: {
    id: 'transport.frame-limit',
    text:
      'a frame of exactly maxFrameBytes (UTF-8 bytes) is delivered; a larger one is not delivered ' +
      'and closes the session with 1009',
  },
  lifecycle: {
    id: 'transport.lifecycle',
    text:
      'each session gets onOpen, then onMessage per frame, then exactly one onClose, and nothing ' +
      'after it; once either side closed, nothing sent on either side is delivered, and send and ' +
      'close never throw',
  },
  abrupt: {
    id: 'transport.abrupt-close',
    text: 'a connection dropped without a close handshake is reported once, as 1006, on both sides',
  },
  closeCodes: {
    id: 'transport.close-codes',
    text:
      'the close code and reason one side closes with are the ones the other side receives, ' +
      'each close reported once',
  },
  reconnect: {
    id: 'transport.reconnect',
    text: 'every new connection is a new session with an id never used before',
  },
  shutdown: {
    id: 'transport.shutdown',
    text:
      'close() closes every open session with 1001, has reported each close once when it ' +
      'resolves, and no session opens afterwards',
  },
  serveDrift: {
    id: 'transport.serve-drift',
    text:
      "run by core's serveDrift, a node's hello is welcomed and its reports reach the monitor (a " +
      'heartbeat that reports nothing keeps the last report), a ' +
      'hello claiming another node is refused with 4403, and a node that goes is disconnected',
  },
} as const satisfies Record<string, ContractClause>;
