/**
 * Counters of the WebSocket transport: every refused upgrade and every close the server
 * initiated, by a bounded set of reasons (never a node id, token or address), so an operator
 * sees attacks and misconfigurations in `/metrics` while the server keeps serving.
 *
 * @public
 */
export interface WsTransportStats {
  /** Open WebSocket sessions right now. */
  readonly sessionsOpen: number;
  /** Upgrades being authenticated right now. */
  readonly upgradesPending: number;
  /** Sessions opened since start. */
  readonly sessionsOpened: number;
  /** Frames received from data planes. */
  readonly framesReceived: number;
  /** Upgrades refused, by reason. */
  readonly upgradesRejected: Readonly<Record<UpgradeRejection, number>>;
  /** Sessions closed, by close code (sent or received; 1006 for vanished peers). */
  readonly closes: Readonly<Record<string, number>>;
  /** Limit violations, by kind. */
  readonly violations: Readonly<Record<ViolationKind, number>>;
}

/**
 * Why an upgrade was refused before it became a session.
 *
 * @public
 */
export type UpgradeRejection =
  'unauthenticated' | 'capacity' | 'not_found' | 'shutting_down' | 'bad_request';

/**
 * Kinds of limit violations the transport counts.
 *
 * @public
 */
export type ViolationKind =
  | 'frame_too_big'
  | 'rate_limited'
  | 'binary_frame'
  | 'protocol_error'
  | 'handshake_timeout'
  | 'hello_timeout'
  | 'liveness_timeout'
  | 'credential_revoked';

/** Mutable counters behind {@link WsTransportStats}. @internal */
export class StatsRecorder {
  sessionsOpen = 0;
  upgradesPending = 0;
  sessionsOpened = 0;
  framesReceived = 0;
  readonly upgradesRejected: Record<UpgradeRejection, number> = {
    unauthenticated: 0,
    capacity: 0,
    not_found: 0,
    shutting_down: 0,
    bad_request: 0,
  };
  readonly closes: Record<string, number> = {};
  readonly violations: Record<ViolationKind, number> = {
    frame_too_big: 0,
    rate_limited: 0,
    binary_frame: 0,
    protocol_error: 0,
    handshake_timeout: 0,
    hello_timeout: 0,
    liveness_timeout: 0,
    credential_revoked: 0,
  };

  close(code: number): void {
    const key = String(code);
    this.closes[key] = (this.closes[key] ?? 0) + 1;
  }

  snapshot(): WsTransportStats {
    return {
      sessionsOpen: this.sessionsOpen,
      upgradesPending: this.upgradesPending,
      sessionsOpened: this.sessionsOpened,
      framesReceived: this.framesReceived,
      upgradesRejected: { ...this.upgradesRejected },
      closes: { ...this.closes },
      violations: { ...this.violations },
    };
  }
}
