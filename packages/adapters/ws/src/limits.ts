import { limitOption } from '@plumbline/core';

/**
 * Limits of the control-plane WebSocket server. Each is an option with a finite default; a
 * connection that breaks one is closed with a documented code and counted in the server's stats,
 * and the server stays healthy.
 *
 * @public
 */
export interface ControlPlaneLimits {
  /** Largest frame accepted, in bytes (default 65,536). Larger frames close with 1009. */
  readonly maxFrameBytes: number;
  /**
   * Time from TCP accept to a completed WebSocket upgrade, in ms (default 10,000). Slow or idle
   * handshakes (slow-loris) are destroyed. Applies to servers the control plane listens on itself.
   */
  readonly handshakeTimeoutMs: number;
  /** Time from the completed upgrade to an accepted `hello`, in ms (default 10,000); then 4408. */
  readonly helloTimeoutMs: number;
  /** Sustained messages per second per connection (default 10); more closes with 4429. */
  readonly messagesPerSecond: number;
  /** Burst of messages a connection may send at once above the rate (default 20). */
  readonly messageBurst: number;
  /** Concurrent WebSocket connections, authenticated or not (default 20,000); more get HTTP 503. */
  readonly maxConnections: number;
  /** Upgrades still being authenticated at once (default 1,024); more get HTTP 503. */
  readonly maxPendingUpgrades: number;
  /** Interval of WebSocket pings, in ms (default 30,000). A peer that missed the previous pong is terminated. */
  readonly pingIntervalMs: number;
}

/**
 * The default {@link ControlPlaneLimits}.
 *
 * @public
 */
export const defaultControlPlaneLimits: ControlPlaneLimits = Object.freeze({
  maxFrameBytes: 64 * 1024,
  handshakeTimeoutMs: 10_000,
  helloTimeoutMs: 10_000,
  messagesPerSecond: 10,
  messageBurst: 20,
  maxConnections: 20_000,
  maxPendingUpgrades: 1024,
  pingIntervalMs: 30_000,
});

/**
 * Fills in defaults and checks every limit is a positive finite number.
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_LIMIT_INVALID` naming the limit.
 * @internal
 */
export function resolveLimits(limits: Partial<ControlPlaneLimits> = {}): ControlPlaneLimits {
  const out: Record<string, number> = { ...defaultControlPlaneLimits, ...limits };
  for (const [key, value] of Object.entries(out)) {
    out[key] = limitOption(value, {
      name: `limits.${key}`,
      code: 'PLB_WS_LIMIT_INVALID',
      integer: false,
    });
  }
  return out as unknown as ControlPlaneLimits;
}
