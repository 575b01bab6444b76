import type { AuditActor } from '../audit/index.js';
import {
  sessionAccepted,
  sessionRejected,
  type SessionRejectedDetails,
} from '../audit/catalogue.js';
import type { HelloFrame } from './protocol.js';
import type { DriftIdentity } from './transport.js';

/**
 * A refused session or connection, for the audit trail (`session.rejected`).
 *
 * @public
 */
export interface SessionRejection {
  /** The error code sent (`PLB_DRIFT_IDENTITY_MISMATCH`, `PLB_DRIFT_UNAUTHENTICATED`, ...). */
  readonly code: string;
  /**
   * Why, in words (the `error` frame message, or the transport's reason for a failed
   * authentication).
   */
  readonly reason: string;
  /** The close code the session was (or the connection would have been) closed with. */
  readonly close_code: number;
  /** The authenticated identity, when the transport had one. */
  readonly node_id?: string;
  /** The authenticated cluster, when the transport had an identity. */
  readonly cluster?: string;
  /** The authenticated principal (never a secret), when the transport had an identity. */
  readonly principal?: string;
  /** The peer's address, when the transport knows it. */
  readonly remoteAddress?: string;
  /** What the hello claimed, for identity mismatches. */
  readonly claimed?: { readonly node_id: string; readonly cluster: string };
}

type ReasonCode = SessionRejectedDetails['reason_code'];

/**
 * Every session rejection code and the audit `reason_code` it is written with: the one table
 * every transport's rejections go through (via `serveDrift`).
 *
 * @internal
 */
export const SESSION_REJECTION_REASONS: Readonly<Record<string, ReasonCode>> = {
  PLB_DRIFT_UNAUTHENTICATED: 'unauthenticated',
  PLB_DRIFT_IDENTITY_MISMATCH: 'identity_mismatch',
  PLB_DRIFT_NAME_COLLISION: 'identity_mismatch',
  PLB_DRIFT_UNSUPPORTED_PROTOCOL: 'protocol_mismatch',
  PLB_DRIFT_MALFORMED: 'malformed',
  PLB_DRIFT_OUT_OF_ORDER: 'malformed',
  PLB_DRIFT_HELLO_TIMEOUT: 'timeout',
  PLB_DRIFT_FLEET_FULL: 'rate_limited',
  PLB_DRIFT_RATE_LIMITED: 'rate_limited',
  PLB_DRIFT_SHUTDOWN: 'rate_limited',
  PLB_DRIFT_REPLACED: 'replaced',
  PLB_DRIFT_FRAME_TOO_BIG: 'too_large',
  PLB_DRIFT_TRANSPORT_FAULT: 'transport_fault',
};

function actorOf(rejection: {
  readonly principal?: string;
  readonly remoteAddress?: string;
}): AuditActor {
  const address = rejection.remoteAddress === undefined ? {} : { address: rejection.remoteAddress };
  const principal = rejection.principal;
  if (principal === undefined || principal === '') {
    return { type: 'anonymous', id: 'anonymous', ...address };
  }
  return {
    type: 'node',
    id: principal.slice(0, 512),
    ...(principal.startsWith('spiffe://') ? { spiffe_id: principal.slice(0, 2048) } : {}),
    ...address,
  };
}

/**
 * The `session.rejected` event of a rejection: the actor is the authenticated principal (or
 * anonymous), the subject the authenticated node, the claims go to `claimed_*`.
 *
 * @internal
 */
export function sessionRejectedEvent(
  rejection: SessionRejection,
  now: number,
): ReturnType<typeof sessionRejected> {
  return sessionRejected({
    actor: actorOf(rejection),
    reason: rejection.reason.slice(0, 1024),
    time: new Date(now).toISOString(),
    ...(rejection.node_id === undefined
      ? {}
      : { subject: { type: 'node', id: rejection.node_id.slice(0, 512) } }),
    details: {
      reason_code: SESSION_REJECTION_REASONS[rejection.code] ?? 'malformed',
      close_code: rejection.close_code,
      ...(rejection.claimed === undefined
        ? {}
        : {
            claimed_node_id: rejection.claimed.node_id.slice(0, 512),
            claimed_cluster: rejection.claimed.cluster.slice(0, 512),
          }),
    },
  });
}

/**
 * The `session.accepted` event of an accepted hello.
 *
 * @internal
 */
export function sessionAcceptedEvent(
  identity: DriftIdentity,
  remoteAddress: string | undefined,
  hello: HelloFrame,
  now: number,
): ReturnType<typeof sessionAccepted> {
  return sessionAccepted({
    actor: actorOf({
      principal: identity.principal,
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
    }),
    time: new Date(now).toISOString(),
    details: {
      node_id: identity.node_id,
      cluster: identity.cluster,
      instance_id: hello.instance_id,
      protocol: hello.protocol.slice(0, 512),
    },
  });
}
