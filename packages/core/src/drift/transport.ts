/**
 * Transport interfaces of the drift protocol. A transport moves JSON text frames between data
 * planes and a control plane and authenticates the data plane; everything else (hello checks,
 * `seq`, welcome, close codes, the fleet state) lives in core ({@link serveDrift} and
 * {@link DataPlaneReporter}). An integrator implements {@link DriftTransport} on the control-plane
 * side and {@link DriftChannel} on the data-plane side, then runs the conformance suite from
 * `@plumbline/core/testing` against them.
 *
 * @packageDocumentation
 */

/**
 * Who a data plane is, as established by the transport's authentication (a per-node token, an
 * mTLS SPIFFE ID, ...). Never taken from what the node claims in its `hello`.
 *
 * @public
 */
export interface DriftIdentity {
  /** The node id this credential belongs to. */
  readonly node_id: string;
  /** The cluster this credential belongs to. */
  readonly cluster: string;
  /**
   * The authenticated principal, for the audit trail: for example `token:gw-1` or
   * `spiffe://example.org/gw/gw-1`. Never the secret itself.
   */
  readonly principal: string;
}

/**
 * One authenticated connection of a data plane, as seen by the control plane.
 *
 * @public
 */
export interface DriftSession {
  /** Unique per session for the life of the transport (used in logs and to match `onClose`). */
  readonly id: string;
  /** The authenticated identity. */
  readonly identity: DriftIdentity;
  /** The peer's address when the transport knows it (for logs and audit). */
  readonly remoteAddress?: string;
  /**
   * `true` when the data plane's first message carries no report of what it runs (Barbacane's
   * `register` has no hash): the node is then `awaiting_report` until its first heartbeat with a
   * hash, not judged, and raises no alert. Default `false`.
   */
  readonly awaitsFirstReport?: boolean;
  /**
   * Sends one JSON text frame. Frames sent on one session arrive in order. Sending on a closed
   * session is a no-op; it never throws.
   */
  send(text: string): void;
  /**
   * Closes the session with a {@link DriftCloseCode} and a short reason (at most 123 bytes).
   * Idempotent; the transport reports the close through {@link DriftTransportHandler.onClose}.
   */
  close(code: number, reason?: string): void;
}

/**
 * Why a transport refused a connection before it became a session.
 *
 * @public
 */
export interface DriftAuthFailure {
  /** A short, non-secret reason such as `unknown token` or `certificate without SPIFFE ID`. */
  readonly reason: string;
  /** The peer's address when known. */
  readonly remoteAddress?: string;
}

/**
 * Callbacks a {@link DriftTransport} invokes. Each call for one session happens in order:
 * `onOpen`, then `onMessage` for every frame in the order received, then exactly one `onClose`.
 * Handlers never throw; a transport may ignore their return values.
 *
 * @public
 */
export interface DriftTransportHandler {
  /** A data plane authenticated and its session is open. */
  onOpen(session: DriftSession): void;
  /** One text frame arrived (already within the transport's frame size limit). */
  onMessage(session: DriftSession, text: string): void;
  /**
   * The session ended: `code` is the close code sent or received, 1006 when the peer vanished
   * without closing, 1009 when the transport closed it for an oversized frame.
   */
  onClose(session: DriftSession, code: number, reason: string): void;
  /** A connection was refused before it became a session (not authenticated). Optional. */
  onAuthFailure?(failure: DriftAuthFailure): void;
}

/**
 * The control-plane side of a transport: accepts authenticated sessions and delivers their
 * frames to one handler.
 *
 * Rules every implementation follows (and the conformance suite checks): authenticate before
 * `onOpen` and refuse unauthenticated peers with close code 4401 (reporting `onAuthFailure`);
 * close a session that sends a frame larger than `maxFrameBytes` with 1009; deliver frames of
 * a session in order; report every session's end exactly once; `close()` closes every open
 * session with 1001 and resolves when they are gone.
 *
 * @example
 * ```ts
 * const { transport, channel } = createMemoryTransport({ tokens: { t1: { node_id: 'gw-1', cluster: 'prod', principal: 'token:gw-1' } } });
 * const server = serveDrift({ transport, monitor });
 * await server.start();
 * ```
 * @public
 */
export interface DriftTransport {
  /** Starts accepting sessions; frames and session events go to `handler`. Called once. */
  start(handler: DriftTransportHandler): Promise<void>;
  /** Stops accepting, closes every open session with 1001, and resolves when all are closed. */
  close(): Promise<void>;
}

/**
 * Callbacks of the data-plane side. Called in order: `onMessage` for every frame the control
 * plane sent, then exactly one `onClose`.
 *
 * @public
 */
export interface DriftConnectionHandler {
  /** One text frame from the control plane (`welcome` or `error`). */
  onMessage(text: string): void;
  /** The connection ended, with the close code (1006 when it dropped without a close). */
  onClose(code: number, reason: string): void;
}

/**
 * An open data-plane connection.
 *
 * @public
 */
export interface DriftConnection {
  /** Sends one JSON text frame; in order; a no-op once closed; never throws. */
  send(text: string): void;
  /** Closes the connection (default code 1000). Idempotent. */
  close(code?: number, reason?: string): void;
}

/**
 * The data-plane side of a transport: opens one authenticated connection to the control plane.
 * The {@link DataPlaneReporter} calls `connect` again (with backoff) whenever a connection ends.
 *
 * @example
 * ```ts
 * const reporter = new DataPlaneReporter({ channel, node_id: 'gw-1', cluster: 'prod', source: () => state });
 * reporter.start();
 * ```
 * @public
 */
export interface DriftChannel {
  /**
   * Opens a connection. Resolves once it is open (authenticated), and rejects with a
   * `PlumblineError` when it cannot be opened: `PLB_DRIFT_UNAUTHENTICATED` when the control plane
   * refused the credentials, `PLB_DRIFT_CONNECT` for any other failure. `signal` aborts an
   * attempt in progress.
   */
  connect(handler: DriftConnectionHandler, signal?: AbortSignal): Promise<DriftConnection>;
}
