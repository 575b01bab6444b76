import { DriftCloseCode, type DriftCloseCodeValue } from '@plumbline/core/drift';

/**
 * WebSocket close codes of the drift protocol v1 (docs/protocol.md "Session rules and close codes"), the same values
 * as core's `DriftCloseCode`. Both ends use them: the control plane closes with them, and the
 * data-plane client decides from them how soon to reconnect.
 *
 * @example
 * ```ts
 * import { CloseCode } from '@plumbline/ws';
 * socket.close(CloseCode.IdentityMismatch, 'identity mismatch');
 * ```
 * @public
 */
export const CloseCode = DriftCloseCode;

/**
 * One of the {@link CloseCode} values.
 *
 * @public
 */
export type CloseCodeValue = DriftCloseCodeValue;

/**
 * The `reason` text sent with each close code (short, no secrets, at most 123 bytes).
 *
 * @internal
 */
export const closeReason: Readonly<Record<number, string>> = {
  1001: 'shutdown',
  1009: 'frame too big',
  4400: 'malformed message',
  4401: 'unauthenticated',
  4403: 'identity mismatch',
  4408: 'timeout',
  4409: 'replaced by a newer session',
  4429: 'rate limited',
};
