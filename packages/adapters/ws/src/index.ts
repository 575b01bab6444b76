/**
 * `@plumbline/ws`: the WebSocket drift transport. The control-plane server
 * ({@link createControlPlaneServer}) authenticates data planes on the upgrade (per-node tokens or
 * mTLS SPIFFE IDs), enforces limits with documented close codes and feeds a `FleetMonitor`; the
 * data-plane client ({@link connectDataPlane}) reports what a gateway loaded.
 *
 * @packageDocumentation
 */
export { CloseCode, type CloseCodeValue } from './close-codes.js';
export {
  anyAuthenticator,
  createMtlsAuthenticator,
  createTokenAuthenticator,
  hashToken,
  parseNodeTokens,
  type AuthFailureReason,
  type AuthResult,
  type MtlsAuthenticatorOptions,
  type NodeAuthenticator,
  type NodeIdentity,
  type NodeTokenEntry,
  type NodeTokenLimits,
  type NodeTokens,
  type TokenAuthenticator,
  type UpgradeRequestInfo,
} from './auth.js';
export { parseSpiffeId, type SpiffeId } from './spiffe.js';
export { defaultControlPlaneLimits, type ControlPlaneLimits } from './limits.js';
export type { UpgradeRejection, ViolationKind, WsTransportStats } from './stats.js';
export {
  createWsTransport,
  DEFAULT_WS_PATH,
  type WsTransport,
  type WsTransportOptions,
} from './transport.js';
export {
  createWsChannel,
  readTokenFile,
  type DataPlaneCredentials,
  type DataPlaneTlsOptions,
  type WsChannelOptions,
  type WsConnection,
} from './channel.js';
export {
  createControlPlaneServer,
  type ControlPlaneServer,
  type ControlPlaneServerOptions,
} from './server.js';
export { connectDataPlane, type ConnectDataPlaneOptions, type DataPlaneClient } from './client.js';
