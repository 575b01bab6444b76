import type { AddressInfo } from 'node:net';
import type { AuditLogger } from '@plumbline/core/audit';
import {
  serveDrift,
  type FleetMonitor,
  type FrameLimits,
  type SessionRejection,
} from '@plumbline/core/drift';
import type { WsTransportStats } from './stats.js';
import { createWsTransport, type WsTransport, type WsTransportOptions } from './transport.js';

/**
 * Options of {@link createControlPlaneServer}: where to listen (or which server to attach to),
 * how to authenticate nodes, the limits, the monitor to feed and an optional audit logger.
 *
 * @public
 */
export interface ControlPlaneServerOptions extends WsTransportOptions {
  /** The fleet monitor that receives hellos, heartbeats and disconnects. */
  readonly monitor: FleetMonitor;
  /**
   * Audit logger for accepted and refused sessions (`session.accepted`, `session.rejected`).
   * Failures are reported to `onError`.
   */
  readonly audit?: AuditLogger;
  /** Called for every refused session or connection (never with secrets). */
  readonly onRejected?: (rejection: SessionRejection) => void;
  /** Called when writing an audit event failed (the session is refused either way). */
  readonly onError?: (error: unknown) => void;
  /** Frame limits for parsing (`maxWorkers`); the size limit is `limits.maxFrameBytes`. */
  readonly frameLimits?: Omit<FrameLimits, 'maxFrameBytes'>;
}

/**
 * A running control-plane WebSocket endpoint.
 *
 * @public
 */
export interface ControlPlaneServer {
  /** The `ws://`/`wss://` URL of the data-plane endpoint. */
  readonly url: string;
  /** The bound address. */
  address(): AddressInfo;
  /** Open sessions that sent an accepted hello or are still within their hello deadline. */
  readonly sessions: number;
  /** Transport counters (refused upgrades, closes by code, limit violations). */
  stats(): WsTransportStats;
  /** The underlying transport. */
  readonly transport: WsTransport;
  /**
   * Stops accepting, closes every session with 1001 and waits for them. Does not close the
   * monitor (close it afterwards to flush the store) nor an attached server.
   */
  close(): Promise<void>;
}

/**
 * Starts the control plane's data-plane endpoint: a WebSocket server (on its own port or attached
 * to an existing `http`/`https` server) that authenticates every upgrade (per-node tokens or mTLS
 * SPIFFE IDs) before it completes, binds each session to the authenticated identity, and feeds
 * the `FleetMonitor` through core's `serveDrift`: a `hello` naming another node or cluster is
 * refused with 4403 and audited as `session.rejected`; a second session of the same node
 * replaces the first (4409). Limits (frame size 1009, hello deadline 4408, message rate 4429,
 * connections, handshake time, ping/pong) close offenders and count in {@link ControlPlaneServer.stats}.
 *
 * @example
 * ```ts
 * import { FleetMonitor } from '@plumbline/core/drift';
 * import { createControlPlaneServer, createTokenAuthenticator, hashToken } from '@plumbline/ws';
 * const monitor = await FleetMonitor.create();
 * const server = await createControlPlaneServer({
 *   port: 8443,
 *   monitor,
 *   auth: createTokenAuthenticator({ nodes: { 'gw-1': { cluster: 'prod-eu', token_sha256: hashToken(token) } } }),
 * });
 * console.log(server.url); // ws://127.0.0.1:8443/ws/data-plane
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_LIMIT_INVALID` for an invalid limit; the listen
 *   error (such as `EADDRINUSE`) when the port cannot be bound.
 * @public
 */
export async function createControlPlaneServer(
  options: ControlPlaneServerOptions,
): Promise<ControlPlaneServer> {
  const transport = createWsTransport(options);
  // Accepted and refused sessions are audited by core's session handler, the same way for every
  // transport.
  const drift = serveDrift({
    transport,
    monitor: options.monitor,
    helloTimeoutMs: transport.limits.helloTimeoutMs,
    limits: { ...options.frameLimits, maxFrameBytes: transport.limits.maxFrameBytes },
    ...(options.onRejected === undefined ? {} : { onRejected: options.onRejected }),
    ...(options.audit === undefined ? {} : { audit: options.audit }),
    ...(options.onError === undefined ? {} : { onAuditError: options.onError }),
  });
  await drift.start();
  return {
    get url() {
      return transport.url;
    },
    address: () => transport.address(),
    get sessions() {
      return drift.sessions;
    },
    stats: () => transport.stats(),
    transport,
    close: () => drift.close(),
  };
}
